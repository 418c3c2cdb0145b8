import { diag, type Diagnostic } from '../../../diagnostics/index.js';
import { emptyQueueStats, workerQueues, type QueueInlineSummary, type QueueLayout } from '../../inline/index.js';
import type { LogSchema, LogValue } from '../../logs/index.js';
import type { Notice } from '../../policy/index.js';
import type { WorkerHandle, WorkerLauncher } from './launcher.js';
import { asFromWorker, type FromWorker, type WorkerStart } from './messages.js';

/**
 * Several inline queue workers sharing each failMode's queue (issue 13): the queue setup makes
 * each queue a range (inline/queue/queue-setup.ts, which says how the kernel spreads flows over
 * it), and each worker is a whole engine and judge bound to its own queue of each range.
 *
 * Workers are child processes, not worker_threads: a queue is bound to its netlink socket, and
 * only the end of a process closes the sockets of a worker that died or hung (a thread's
 * would stay bound, and its flows held, until the whole monitor went); a crash in the native
 * addon costs one worker, not all; `kill -9` of one pid is what a test or an operator can do.
 * The price is a copy of every log row and notice over the IPC channel (batched per turn of the
 * worker's event loop), paid off the packets' path.
 *
 * Everything the workers produce reaches the monitor's own log writer and notice callback, so
 * files, formats and uids are those of one worker (each worker draws uids from its own random
 * seed, as every monitor does); rows are whole, in each worker's order. A worker that dies is
 * reported and started again on the same queues after a pause (1 s, doubled after each one
 * that dies or fails before binding, up to 30 s; given up after 6 such in a row): meanwhile its
 * queues have no listener, so the kernel applies its flows' failMode, and the others keep
 * judging theirs. The new engine meets its flows mid-stream, as a restarted monitor does. The
 * pause keeps a worker that dies at once from taking the cores the others judge on. State
 * shared across connections (SYN-flood counts, suppression) is per worker, and since the kernel
 * hashes only addresses, all of a host pair's connections meet in one worker.
 */
export interface QueueWorkersOptions {
  layout: QueueLayout;
  /** What every worker starts with (its index and queues are added). */
  start: Omit<WorkerStart, 't' | 'index' | 'queues'>;
  launcher: WorkerLauncher;
  /** The monitor's log writer. */
  logs: { write(schema: LogSchema, values: readonly LogValue[]): void };
  onNotice(n: Notice): void;
  /** Installs the namespace's steering for the ranges, before any worker binds. */
  install?: () => Promise<Diagnostic[]>;
  /** How long the workers get to bind their queues, and to finish when stopped (ms). */
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
  /** The pause before a dead worker is started again (ms; default 1000), doubled after each that dies before binding. */
  restartDelayMs?: number;
}

export interface QueueWorkerReport extends QueueInlineSummary {
  index: number;
  pid: number | null;
  /** Its queue of each range. */
  bound: { open: number; closed: number };
  /** How its last process ended, when it did: null while it runs. */
  exit: { code: number | null; signal: string | null } | null;
  /** How each of its processes that was started again had ended, oldest first. */
  restarts: { code: number | null; signal: string | null }[];
}

export interface QueueWorkersSummary extends QueueInlineSummary {
  workers: QueueWorkerReport[];
}

export interface QueueWorkersRun {
  /** Installs the steering, launches every worker and waits until all have bound their queues (else stops them all). */
  start(): Promise<Diagnostic[]>;
  /** Asks every worker to stop, waits for its last rows, kills the ones that do not end in time. */
  stop(): Promise<void>;
  summary(): QueueWorkersSummary;
  diagnostics(): Diagnostic[];
}

const MAX_REPORTED_ERRORS = 20;
/** Deaths before binding in a row after which a worker is left dead, and the longest pause before a new start. */
const MAX_FAILED_STARTS = 6;
const MAX_RESTART_DELAY_MS = 30_000;

function emptySummary(): QueueInlineSummary {
  return {
    connections: 0,
    passed: 0,
    blocked: 0,
    packets: 0,
    answered: 0,
    unqueued: 0,
    missed: 0,
    queues: { open: emptyQueueStats(), closed: emptyQueueStats() },
    errors: 0,
  };
}

/** Adds the counters of `b` into `a`: a worker's processes as one, the workers as one monitor. */
function addSummary(a: QueueInlineSummary, b: QueueInlineSummary): void {
  addInto(a as unknown as Record<string, unknown>, b as unknown as Record<string, unknown>);
}

/** Adds every numeric field of `b` into `a` (recursively). */
function addInto(a: Record<string, unknown>, b: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(b)) {
    if (typeof v === 'number' && typeof a[k] === 'number') a[k] = (a[k] as number) + v;
    else if (typeof v === 'object' && v !== null && typeof a[k] === 'object' && a[k] !== null)
      addInto(a[k] as Record<string, unknown>, v as Record<string, unknown>);
  }
}

interface Worker {
  index: number;
  queues: { open: number; closed: number };
  handle: WorkerHandle | null;
  state: 'starting' | 'ready' | 'failed' | 'ended';
  last: QueueInlineSummary;
  /** The counters of its processes before this one. */
  past: QueueInlineSummary;
  restarts: { code: number | null; signal: string | null }[];
  /** Deaths before binding since it last bound (the pause doubles with each). */
  failedStarts: number;
  timer: ReturnType<typeof setTimeout> | null;
  done: boolean;
  exit: { code: number | null; signal: string | null } | null;
  schemas: Map<string, LogSchema>;
  diagnostics: Diagnostic[];
}

export function createQueueWorkers(opts: QueueWorkersOptions): QueueWorkersRun {
  const n = opts.layout.workers;
  const workers: Worker[] = Array.from({ length: n }, (_, index) => ({
    index,
    queues: workerQueues(opts.layout, index),
    handle: null,
    state: 'starting',
    last: emptySummary(),
    past: emptySummary(),
    restarts: [],
    failedStarts: 0,
    timer: null,
    done: false,
    exit: null,
    schemas: new Map(),
    diagnostics: [],
  }));
  const errors: Diagnostic[] = [];
  let errorCount = 0;
  const report = (d: Diagnostic) => {
    errorCount++;
    if (errors.length < MAX_REPORTED_ERRORS) errors.push(d);
  };
  let stopping = false;
  // Whoever waits for the workers (start, stop) is woken by each change of theirs.
  let wake: (() => void) | null = null;
  const changed = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const until = (done: () => boolean, ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        wake = null;
        resolve(done());
      }, ms);
      const check = () => {
        if (done()) {
          clearTimeout(timer);
          resolve(true);
        } else wake = check;
      };
      check();
    });

  const name = (w: Worker) => `worker ${w.index} (queues ${w.queues.open}, ${w.queues.closed})`;

  const onMessage = (w: Worker, raw: unknown) => {
    const m: FromWorker | null = asFromWorker(raw);
    if (m === null) {
      report(diag('E_INLINE_QUEUE_WORKER', `${name(w)} sent a message that is not one of the protocol's`));
      return;
    }
    switch (m.t) {
      case 'ready':
        if (w.state === 'starting') w.state = 'ready';
        w.failedStarts = 0;
        break;
      case 'failed':
        w.state = 'failed';
        if (started && !stopping) {
          // Started again and could not bind: reported, and ended, so that it is tried again later.
          for (const d of m.diagnostics) report(d);
          w.handle?.kill('SIGTERM');
        } else w.diagnostics.push(...m.diagnostics);
        break;
      case 'batch':
        for (const s of m.schemas) w.schemas.set(s.path, s);
        for (const [path, values] of m.rows) {
          const schema = w.schemas.get(path);
          if (schema) opts.logs.write(schema, values);
          else report(diag('E_INLINE_QUEUE_WORKER', `${name(w)} sent a ${path}.log row before its schema`));
        }
        for (const notice of m.notices) opts.onNotice(notice);
        break;
      case 'stats':
        w.last = m.summary;
        break;
      case 'done':
        w.last = m.summary;
        w.done = true;
        w.diagnostics.push(...m.diagnostics);
        break;
    }
    changed();
  };

  const launch = (w: Worker) => {
    w.handle = opts.launcher.launch(w.index, {
      message: (m) => onMessage(w, m),
      exit: (code, signal) => onExit(w, code, signal),
    });
    w.handle.send({ t: 'start', index: w.index, queues: w.queues, ...opts.start });
  };

  // Started once all have bound: until then a death fails the start (start() says why).
  let started = false;
  const onExit = (w: Worker, code: number | null, signal: string | null) => {
    w.exit = { code, signal };
    const was = w.state;
    w.state = 'ended';
    if (!stopping && started) {
      const how = signal ?? `exit ${code}`;
      if (was !== 'ready') w.failedStarts++;
      if (w.failedStarts >= MAX_FAILED_STARTS)
        report(
          diag(
            'E_INLINE_QUEUE_WORKER',
            `${name(w)} ended (${how}) before binding its queues ${w.failedStarts} times in a row: not started again; its flows follow their failMode in the kernel`,
          ),
        );
      else {
        const ms = (opts.restartDelayMs ?? 1000) * 2 ** w.failedStarts;
        const pause = Math.min(ms, MAX_RESTART_DELAY_MS);
        report(
          diag(
            'E_INLINE_QUEUE_WORKER',
            `${name(w)} ended (${how}): started again in ${pause} ms; meanwhile its flows follow their failMode in the kernel, the other workers keep judging theirs`,
          ),
        );
        w.timer = setTimeout(() => {
          w.timer = null;
          if (stopping) return;
          addSummary(w.past, w.last);
          w.last = emptySummary();
          w.restarts.push({ code, signal });
          w.state = 'starting';
          w.done = false;
          w.exit = null;
          launch(w);
        }, pause);
      }
    }
    changed();
  };

  const stopAll = async (): Promise<void> => {
    stopping = true;
    for (const w of workers)
      if (w.timer) {
        clearTimeout(w.timer);
        w.timer = null;
      }
    for (const w of workers) if (w.state !== 'ended') w.handle?.send({ t: 'stop' });
    const ms = opts.stopTimeoutMs ?? 5000;
    if (!(await until(() => workers.every((w) => w.state === 'ended' || w.handle === null), ms))) {
      for (const w of workers)
        if (w.state !== 'ended') {
          report(diag('E_INLINE_QUEUE_WORKER', `${name(w)} did not stop within ${ms} ms: killed`));
          w.handle?.kill('SIGKILL');
        }
      await until(() => workers.every((w) => w.state === 'ended' || w.handle === null), 1000);
    }
  };

  return {
    async start() {
      const installed = (await opts.install?.()) ?? [];
      if (installed.length) return installed;
      for (const w of workers) launch(w);
      const ms = opts.startTimeoutMs ?? 15_000;
      const settled = () =>
        workers.every((w) => w.state !== 'starting') || workers.some((w) => w.state !== 'ready' && w.state !== 'starting');
      await until(settled, ms);
      if (workers.every((w) => w.state === 'ready')) {
        started = true;
        return [];
      }
      const problems = workers.flatMap((w) =>
        w.state === 'ready'
          ? []
          : w.diagnostics.length
            ? w.diagnostics
            : [
                diag(
                  'E_INLINE_QUEUE_WORKER',
                  w.state === 'starting'
                    ? `${name(w)} did not bind its queues within ${ms} ms`
                    : `${name(w)} ended before binding its queues (${w.exit?.signal ?? `exit ${w.exit?.code}`})`,
                ),
              ],
      );
      await stopAll();
      return problems;
    },
    stop: stopAll,
    summary() {
      const total = emptySummary();
      const reports = workers.map((w) => {
        const own = emptySummary();
        addSummary(own, w.past);
        addSummary(own, w.last);
        addSummary(total, own);
        return { ...own, index: w.index, pid: w.handle?.pid ?? null, bound: w.queues, exit: w.exit, restarts: [...w.restarts] };
      });
      total.errors += errorCount;
      return { ...total, workers: reports };
    },
    diagnostics: () => [
      ...errors,
      ...(errorCount > errors.length ? [diag('E_INLINE_QUEUE_WORKER', `${errorCount - errors.length} more worker errors`)] : []),
      ...workers.flatMap((w) => (w.state === 'failed' ? [] : w.diagnostics)),
    ],
  };
}
