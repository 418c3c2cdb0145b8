/** What `runAgent` is given: who it collects for, where, and the broker it ships to. */
import { diag, fail, ok, type Diagnostic, type Result } from '../diagnostics/index.js';
import type { Broker } from '../broker/index.js';
import type { OwnedTable } from '../dataplane/index.js';
import type { System } from '../system/index.js';
import type { Collector } from './collector.js';
import type { ConfigPush } from './config-push.js';
import type { NetnsProbe } from './netns.js';
import type { CollectorName, CollectorSetting } from './settings.js';
import type { ShipperOptions } from './shipper.js';

export interface InstanceSpec {
  name: string;
  service: string;
  /** The instance's network namespace (`ip netns` name): system calls are attributed by it. */
  ns: string;
  /** The instance process's log file; its new lines become 'log' records. */
  logFile?: string;
  /** Its address: flows and monitor rows about it are attributed to it. */
  ip?: string;
  /** Its port on the node (the node side of its veth): interface statistics are attributed by it. */
  iface?: string;
}

export interface MonitorSpec {
  name: string;
  /** Where it writes conn.log, http.log, ... (JSON rows, one per line). */
  logDir: string;
}

export interface AgentOptions {
  tenant: string;
  app: string;
  node: string;
  /** The node's namespace; commands run there unless the agent already does. */
  nodeNs?: string;
  /** The node's Open vSwitch bridge; without it, pushed Open vSwitch configurations are refused. */
  ovsBridge?: string;
  instances: InstanceSpec[];
  monitors: MonitorSpec[];
  broker: Pick<Broker, 'store' | 'bus'>;
  system: System;
  /** Starting level of every collector (default 1) and period (default 5 s). */
  level?: number;
  periodMs?: number;
  settings?: Partial<Record<CollectorName, Partial<CollectorSetting>>>;
  /** nft tables whose rule counters are read (default: the firewall and the taps). */
  tables?: readonly OwnedTable[];
  /** Monitor logs that are shipped (default conn, http, sql, nats, notice, weird, stats). */
  monitorLogs?: string[];
  shipping?: Pick<ShipperOptions, 'maxBufferBytes' | 'batchSize' | 'retryMinMs' | 'retryMaxMs'>;
  /** The longest a buffered record waits to be shipped (default 5 s); a period's records go right after its run. */
  flushMs?: number;
  /** The notices path reads on file events; this poll (default 1 s) only catches what an event missed. */
  noticePollMs?: number;
  /** How often the agent reports its own overhead (shipping, control); default 5 s. */
  costPeriodMs?: number;
  /**
   * Configuration pushes other than the data plane (e.g. which monitors observe what); the
   * agent acknowledges with what this returns. Without it such pushes are acknowledged as
   * unsupported.
   */
  onConfig?: (push: ConfigPush) => Promise<Result<string>>;
  /** Replay verbosity changes from the start of the bus, so a restarted agent resumes its level (default true). */
  replayControl?: boolean;
  /**
   * Where that replay starts (ms since the epoch; default 0, the start of the bus): the time its
   * deployment began, so changes made for an earlier deployment of the same app do not apply.
   */
  controlSince?: number;
  /** Problems the agent cannot ship (the broker is down): default stderr. */
  log?: (line: string) => void;
  /** Tests: replace a collector, the clock, the namespace probe. */
  collectors?: Partial<Record<CollectorName, Collector>>;
  now?: () => number;
  netns?: NetnsProbe;
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** What checkOptions looks at: an agent spec file has these fields too. */
type CheckedFields = Pick<AgentOptions, 'tenant' | 'app' | 'node' | 'nodeNs' | 'instances' | 'monitors' | 'level' | 'periodMs'>;

export function checkOptions<T extends CheckedFields>(o: T): Result<T> {
  const errors: Diagnostic[] = [];
  for (const f of ['tenant', 'app', 'node'] as const)
    if (typeof o[f] !== 'string' || !NAME.test(o[f]))
      errors.push(diag('E_AGENT_OPTION', `${f} must be a name (letters, digits, _ . -), not ${JSON.stringify(o[f])}`, { field: f }));
  const seen = new Set<string>();
  o.instances.forEach((i, n) => {
    if (!i.name || !i.ns) errors.push(diag('E_AGENT_OPTION', 'an instance needs a name and a namespace', { field: `instances[${n}]` }));
    if (seen.has(i.name)) errors.push(diag('E_AGENT_OPTION', `instance ${i.name} is listed twice`, { field: `instances[${n}].name` }));
    seen.add(i.name);
    if (o.nodeNs !== undefined && i.ns === o.nodeNs)
      errors.push(
        diag('E_AGENT_OPTION', `instance ${i.name} shares the node's namespace ${i.ns}: the agent must run outside every instance`, {
          field: `instances[${n}].ns`,
        }),
      );
  });
  o.monitors.forEach((m, n) => {
    if (!m.name || !m.logDir) errors.push(diag('E_AGENT_OPTION', 'a monitor needs a name and a log folder', { field: `monitors[${n}]` }));
  });
  if (o.level !== undefined && !(Number.isInteger(o.level) && o.level >= 0 && o.level <= 4))
    errors.push(diag('E_AGENT_OPTION', `level must be an integer from 0 to 4, not ${o.level}`, { field: 'level' }));
  if (o.periodMs !== undefined && !(o.periodMs >= 100))
    errors.push(diag('E_AGENT_OPTION', `period must be at least 100 ms, not ${o.periodMs}`, { field: 'periodMs' }));
  return errors.length ? fail(errors) : ok(o);
}
