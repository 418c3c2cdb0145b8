import { diag } from '../../../diagnostics/index.js';
import { createQueueInline, INLINE_LOG, type PacketQueues } from '../../inline/index.js';
import { NullLogTarget, ZeekLogWriter, type LogSchema, type LogValue } from '../../logs/index.js';
import type { Notice } from '../../policy/index.js';
import { chooseAnalyzer } from '../analyzer-choice.js';
import { loadMonitorModel } from '../load-model.js';
import { MonitorEngine } from '../monitor-engine.js';
import type { FromWorker, ToWorker, WorkerBatch, WorkerStart } from './messages.js';

/**
 * Rows wait this long, or until this many, before they cross: a message per queue batch cost
 * the monitor about one message per request under wrk (bench/inline.ts), and the log files are
 * themselves written a second apart.
 */
const FLUSH_MS = 25;
const FLUSH_ROWS = 512;

/** The worker's side of the channel (real: its process's IPC, entry.ts). */
export interface WorkerPort {
  send(m: FromWorker): void;
  onMessage(handler: (m: ToWorker) => void): void;
  /** The monitor is gone: the worker must not outlive it (its queues go to the kernel). */
  onGone(handler: () => void): void;
  exit(code: number): void;
}

export interface QueueWorkerDeps {
  /** The queues (default: the native addon). */
  packetQueues?: PacketQueues;
  now?: () => number;
  /** How often the worker's counters go to the monitor, in ms (default 1000). */
  statsEveryMs?: number;
}

/**
 * Rows go to the monitor instead of a file: the monitor's own writer formats them, so every
 * worker's rows land in the same files, as whole lines, with one TSV header a log.
 */
class ForwardingLogWriter extends ZeekLogWriter {
  constructor(private readonly forward: (schema: LogSchema, values: readonly LogValue[]) => void) {
    super(new NullLogTarget());
  }
  override write(schema: LogSchema, values: readonly LogValue[]): void {
    this.forward(schema, values);
  }
}

/**
 * One queue worker (pool.ts): a whole engine judging its own queue of each
 * failMode's range. Its logs and notices leave in batches (FLUSH_MS, FLUSH_ROWS), in order.
 */
export function serveQueueWorker(port: WorkerPort, deps: QueueWorkerDeps = {}): void {
  let stop: (() => void) | null = null;
  let started = false;
  port.onMessage((m) => {
    if (m.t === 'start' && !started) {
      started = true;
      void start(m).then((s) => {
        stop = s;
      });
    } else if (m.t === 'stop') {
      if (stop) stop();
      else port.exit(0);
    }
  });
  port.onGone(() => {
    if (stop) stop();
    port.exit(0);
  });

  async function start(m: WorkerStart): Promise<(() => void) | null> {
    let model = null;
    if (m.app !== undefined) {
      const loaded = loadMonitorModel(m.app, m.addressing);
      if (!loaded.ok) {
        port.send({ t: 'failed', diagnostics: loaded.errors });
        return null;
      }
      model = loaded.value;
    }
    let out: WorkerBatch = { t: 'batch', schemas: [], rows: [], notices: [] };
    const known = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (out.rows.length === 0 && out.notices.length === 0) return;
      port.send(out);
      out = { t: 'batch', schemas: [], rows: [], notices: [] };
    };
    const later = () => {
      if (out.rows.length >= FLUSH_ROWS) return flush();
      if (timer === undefined) timer = setTimeout(flush, FLUSH_MS);
    };
    const logs = new ForwardingLogWriter((schema, values) => {
      if (!known.has(schema.path)) {
        known.add(schema.path);
        out.schemas.push(schema);
      }
      // The engine may reuse its arrays; the message is cloned only when it leaves.
      out.rows.push([schema.path, values.slice()]);
      later();
    });
    let engine: MonitorEngine | null = null;
    const run = createQueueInline(
      {
        install: false,
        queues: m.queues,
        tunnels: m.tunnels,
        ...(m.tapIf !== undefined ? { tapIf: m.tapIf } : {}),
        ...(m.maxlen !== undefined ? { maxlen: m.maxlen } : {}),
        ...(m.batchMax !== undefined ? { batchMax: m.batchMax } : {}),
        ...(deps.packetQueues ? { packetQueues: deps.packetQueues } : {}),
        ...(deps.now ? { now: deps.now } : {}),
      },
      (ip, p) => chooseAnalyzer(engine?.policy.view ?? null, ip, p) !== null,
      (row) => logs.write(INLINE_LOG, row),
    );
    const eng = new MonitorEngine({
      model,
      logs,
      ...(m.policy ? { policy: m.policy } : {}),
      observer: run.observer,
      onNotice: (n: Notice) => {
        out.notices.push(n);
        later();
      },
    });
    engine = eng;
    eng.policy.decisions = (d) => run.decision(d);
    const problems = await run.start(eng);
    if (problems.length) {
      run.stop();
      port.send({
        t: 'failed',
        diagnostics: problems.map((p) => diag('E_INLINE_QUEUE_WORKER', `worker ${m.index}: ${p.message}`, p.loc)),
      });
      return null;
    }
    port.send({ t: 'ready' });
    const stats = setInterval(() => port.send({ t: 'stats', summary: run.summary() }), deps.statsEveryMs ?? 1000);
    stats.unref();
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      clearInterval(stats);
      // Queues first: from here on the kernel applies each flow's failMode, as with one worker.
      run.stop();
      eng.finish();
      flush();
      port.send({ t: 'done', summary: run.summary(), diagnostics: run.diagnostics() });
      port.exit(0);
    };
  }
}
