import type { LogSchema, LogValue } from '../logs/index.js';
import type { MonitorPolicy } from '../policy/index.js';
import type { ConnSession } from './conn-session.js';

/** What a protocol analyzer may use: the log writer, the policies, weird reporting. */
export interface AnalyzerEnv {
  readonly policy: MonitorPolicy;
  log(schema: LogSchema, values: readonly LogValue[]): void;
  /** A protocol oddity on a connection (weird.log, once per name per connection). */
  weird(s: ConnSession, name: string, addl: string, ts: number, source: string): void;
}
