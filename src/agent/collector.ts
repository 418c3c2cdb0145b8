/**
 * A collector turns one source of security context on the node into records. The agent owns
 * when it runs (level, period) and stamps tenant, app and node; a collector only says what it
 * saw, about which instance where it knows.
 */
import type { BrokerRecord } from '../broker/index.js';
import type { CollectorName, CollectorSetting } from './settings.js';

/** A record before the agent stamps it: tenant, app and node are the agent's. */
export type Draft = Omit<BrokerRecord, 'tenant' | 'app' | 'node' | 'ts'> & { ts?: number };

export interface CollectResult {
  records: Draft[];
  /** Problems of this run (a command that failed, lines that did not parse): shown in the cost record. */
  errors?: string[];
}

export interface Collector {
  readonly name: CollectorName;
  /** When the collector becomes active, or its settings change while active. */
  start?(setting: CollectorSetting): Promise<void>;
  /** Settings changed while active (period, filters): a collector whose work depends on them adapts. */
  update?(setting: CollectorSetting): Promise<void>;
  /** One period's worth: what changed since the previous run. */
  collect(setting: CollectorSetting, now: number): Promise<CollectResult>;
  /** When it becomes inactive or the agent stops; children it started are ended here. */
  stop?(): Promise<void>;
  /** Long-running children whose CPU counts as this collector's. */
  childPids?(): number[];
}
