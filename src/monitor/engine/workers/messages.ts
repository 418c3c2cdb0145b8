import type { Diagnostic } from '../../../diagnostics/index.js';
import type { QueueInlineSummary } from '../../inline/index.js';
import type { LogSchema, LogValue } from '../../logs/index.js';
import type { Notice } from '../../policy/index.js';
import type { PolicyOverrides } from '../monitor-engine.js';

/**
 * What the monitor and its queue workers (pool.ts) say to each other over the fork's
 * IPC channel (structured clone). Each worker is a whole engine: it loads the model itself
 * from the same files, so only paths and options cross.
 */
export interface WorkerStart {
  t: 'start';
  index: number;
  app?: string;
  addressing?: string;
  policy?: PolicyOverrides;
  /** This worker's queue of each failMode's range. */
  queues: { open: number; closed: number };
  tunnels: string[];
  tapIf?: string;
  maxlen?: number;
  batchMax?: number;
}

export type ToWorker = WorkerStart | { t: 'stop' };

/**
 * Rows and notices in the order the worker's engine produced them. A schema crosses once, with
 * the first row of its log; later rows name it by path.
 */
export interface WorkerBatch {
  t: 'batch';
  schemas: LogSchema[];
  rows: [path: string, values: LogValue[]][];
  notices: Notice[];
}

export type FromWorker =
  | { t: 'ready' }
  | { t: 'failed'; diagnostics: Diagnostic[] }
  | WorkerBatch
  /** The worker's counters, a second apart: what the monitor reports of a worker that died. */
  | { t: 'stats'; summary: QueueInlineSummary }
  | { t: 'done'; summary: QueueInlineSummary; diagnostics: Diagnostic[] };

const KINDS = new Set(['ready', 'failed', 'batch', 'stats', 'done']);

/** A message from a worker, or null: the channel carries only what a worker sends, but a bug must not throw here. */
export function asFromWorker(m: unknown): FromWorker | null {
  if (typeof m !== 'object' || m === null) return null;
  const t = (m as { t?: unknown }).t;
  if (typeof t !== 'string' || !KINDS.has(t)) return null;
  if (t === 'batch') {
    const b = m as Partial<WorkerBatch>;
    if (!Array.isArray(b.schemas) || !Array.isArray(b.rows) || !Array.isArray(b.notices)) return null;
  }
  if ((t === 'stats' || t === 'done') && typeof (m as { summary?: unknown }).summary !== 'object') return null;
  if ((t === 'failed' || t === 'done') && !Array.isArray((m as { diagnostics?: unknown }).diagnostics)) return null;
  return m as FromWorker;
}
