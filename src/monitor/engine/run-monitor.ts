import { diag, formatDiagnostic, type Diagnostic } from '../../diagnostics/index.js';
import { liveCaptures, readPcapFile, type CaptureSummary, type LiveCaptureStats } from '../capture/index.js';
import {
  DirLogTarget,
  NOTICE_LOG,
  NullLogTarget,
  STATS_LOG,
  statsRow,
  ZeekLogWriter,
  type LogFormat,
  type LogTarget,
} from '../logs/index.js';
import {
  createInline,
  createQueueInline,
  frameTag,
  INLINE_LOG,
  installQueueSetup,
  queueLayout,
  queuePorts,
  type InlineOptions,
  type InlineRun,
  type InlineSummary,
  type QueueInlineOptions,
  type QueueInlineRun,
  type QueueInlineSummary,
} from '../inline/index.js';
import { chooseAnalyzer } from './analyzer-choice.js';
import { loadMonitorModel } from './load-model.js';
import { OverloadDetector, type Notice } from '../policy/index.js';
import { MonitorEngine, type MonitorSummary, type PolicyOverrides } from './monitor-engine.js';
import { createQueueWorkers, forkWorkers, type QueueWorkerReport, type QueueWorkersRun, type WorkerLauncher } from './workers/index.js';
import { realSystem } from '../../system/index.js';

export interface RunMonitorOptions {
  /** Read this pcap/pcapng file... */
  pcap?: string;
  /** ...or capture live on this interface (tcpdump). */
  iface?: string;
  /** BPF filter for live capture. */
  filter?: string;
  /** Application descriptor (YAML); without it parsers are chosen by port and only the SYN-flood policy runs. */
  app?: string;
  /** Addressing state (JSON: instance → {ip, ...}); default: the local cloud's planned addresses. */
  addressing?: string;
  /** Write conn.log, http.log, ... here; without it logs are formatted and dropped (notices are still reported). */
  logDir?: string;
  format?: LogFormat;
  policy?: PolicyOverrides;
  /** Live capture: a stats.log row (capture counts and kernel drops) this often, and one at the end (default 10 s). */
  statsSeconds?: number;
  /** Live capture: stop when aborted... */
  signal?: AbortSignal;
  /** ...or after this many seconds. */
  durationSeconds?: number;
  /** Exit code 1 when any notice was raised (for scripts that gate on a clean capture). */
  failOnNotice?: boolean;
  /** Called for each notice as it is raised (the CLI prints them). */
  onNotice?: (n: Notice) => void;
  /** Clock for `#open`/`#close` (tests). */
  now?: () => number;
  /**
   * Stand in the path of redirected flows (live capture in a monitor namespace of the local
   * cloud): pass or block each request, inline.log; see monitor/inline. Each flow's failMode
   * comes with its packets (the redirect tag), so it needs no option here. `{ mode: 'queue' }`:
   * the netfilter-queue mode (inline/queue), which takes redirected packets from the queues
   * itself; the live capture then brings only the copies.
   */
  inline?: boolean | InlineOptions | QueueInlineMode;
}

/**
 * The inline monitor's queue mode, as runMonitor takes it. `workers` N > 1: N processes judge
 * the queues, each its own share of the flows (workers/pool.ts); 1 (default) judges in this one.
 */
export type QueueInlineMode = { mode: 'queue'; launcher?: WorkerLauncher } & QueueInlineOptions;

const isQueueMode = (i: RunMonitorOptions['inline']): i is QueueInlineMode => typeof i === 'object' && 'mode' in i && i.mode === 'queue';

export interface MonitorRunResult {
  /** 0: input processed; 1: processed, notices raised and `failOnNotice`; 2: could not run (bad arguments, model or input). */
  exitCode: number;
  diagnostics: Diagnostic[];
  summary: MonitorSummary | null;
  capture: CaptureSummary | null;
  /** Every notice raised, in order. */
  notices: Notice[];
  /** Inline mode: its decisions and nft traffic. */
  inline?: InlineSummary;
  /** Inline queue mode: its decisions and queue traffic (with several workers, their sum, and each worker's). */
  queue?: QueueInlineSummary & { workers?: QueueWorkerReport[] };
}

/**
 * The monitor as a command: load the model, read a capture file or a live interface through the
 * engine, write the logs, and report. Problems with the arguments, the model or the input are
 * returned as diagnostics with exit code 2; nothing here throws for bad input.
 */
export async function runMonitor(opts: RunMonitorOptions): Promise<MonitorRunResult> {
  const failed = (d: Diagnostic[]): MonitorRunResult => ({ exitCode: 2, diagnostics: d, summary: null, capture: null, notices: [] });
  if ((opts.pcap === undefined) === (opts.iface === undefined))
    return failed([diag('E_MONITOR_ARGS', 'give exactly one of --pcap FILE or --iface IF')]);
  if (opts.addressing !== undefined && opts.app === undefined) return failed([diag('E_MONITOR_ARGS', '--addressing needs --app')]);
  if (opts.format !== undefined && opts.format !== 'tsv' && opts.format !== 'json')
    return failed([diag('E_MONITOR_ARGS', `--format must be tsv or json, not "${String(opts.format)}"`)]);
  if (opts.statsSeconds !== undefined && !(opts.statsSeconds > 0 && opts.statsSeconds <= 86_400))
    return failed([diag('E_MONITOR_ARGS', `statsSeconds must be more than 0 and at most a day, not ${String(opts.statsSeconds)}`)]);
  if (opts.inline && opts.iface === undefined)
    return failed([diag('E_MONITOR_ARGS', '--inline needs a live interface (--iface), not a capture file')]);
  const layout = isQueueMode(opts.inline) ? queueLayout(opts.inline) : null;
  if (layout !== null && 'code' in layout) return failed([diag('E_MONITOR_ARGS', layout.message)]);

  let model = null;
  if (opts.app !== undefined) {
    const loaded = loadMonitorModel(opts.app, opts.addressing);
    if (!loaded.ok) return failed(loaded.errors);
    model = loaded.value;
  }

  let target: LogTarget;
  try {
    target = opts.logDir !== undefined ? new DirLogTarget(opts.logDir) : new NullLogTarget();
    // A JSON notice.log exists from the start (empty, which is a valid JSON log; a TSV one needs
    // its header and is still made with its first row): a node agent then follows that one file,
    // not every write of every log in the folder.
    if (opts.format === 'json') target.write(NOTICE_LOG.path, '');
  } catch (e) {
    return failed([diag('E_MONITOR_LOGDIR', `cannot use log directory: ${(e as Error).message}`, { file: opts.logDir })]);
  }
  const notices: Notice[] = [];
  const logs = new ZeekLogWriter(target, { format: opts.format ?? 'tsv', now: opts.now });
  // The gate asks which connections get a request parser: the engine's own choice (made once the engine exists).
  let view: MonitorEngine['policy']['view'] = null;
  const hasParser = (ip: string, port: number) => chooseAnalyzer(view, ip, port) !== null;
  const pool: QueueWorkersRun | null =
    isQueueMode(opts.inline) && layout !== null && layout.workers > 1
      ? queueWorkers(opts, opts.inline, layout, logs, (n) => {
          notices.push(n);
          opts.onNotice?.(n);
        })
      : null;
  const queue: QueueInlineRun | null =
    isQueueMode(opts.inline) && !pool ? createQueueInline(opts.inline, hasParser, (row) => logs.write(INLINE_LOG, row)) : null;
  const inline: InlineRun | null =
    opts.inline && !isQueueMode(opts.inline)
      ? createInline(opts.inline === true ? {} : (opts.inline as InlineOptions), hasParser, (row) => logs.write(INLINE_LOG, row))
      : null;
  const engine = new MonitorEngine({
    model,
    logs,
    policy: opts.policy,
    onNotice: (n) => {
      notices.push(n);
      opts.onNotice?.(n);
    },
    ...(inline ? { observer: inline.observer } : queue ? { observer: queue.observer } : {}),
  });
  view = engine.policy.view;
  if (queue) {
    engine.policy.decisions = (d) => queue.decision(d);
    const problems = await queue.start(engine);
    if (problems.length) {
      queue.stop();
      return failed(problems);
    }
  }
  if (pool) {
    const problems = await pool.start();
    if (problems.length) return failed(problems);
  }
  if (inline) {
    engine.policy.decisions = (d) => inline.decision(d);
    const problems = await inline.start();
    if (problems.length) {
      await inline.stop();
      return failed(problems);
    }
  }

  let capture: CaptureSummary;
  try {
    const stats = (s: LiveCaptureStats) => logs.write(STATS_LOG, statsRow(s, opts.iface!, process.memoryUsage.rss()));
    capture =
      opts.pcap !== undefined ? await readPcapFile(opts.pcap, (p) => engine.packet(p)) : await runLive(engine, opts.iface!, opts, stats);
  } catch (e) {
    await inline?.stop();
    queue?.stop();
    await pool?.stop();
    engine.finish();
    return failed([diag('E_MONITOR_IO', `writing logs failed: ${(e as Error).message}`, { file: opts.logDir })]);
  }
  // Every flow back to its failMode before the logs close: the process is going away.
  await inline?.stop();
  queue?.stop();
  // The workers' last rows go through this process's writer: they must arrive before it closes.
  await pool?.stop();
  let summary: MonitorSummary;
  try {
    summary = engine.finish();
  } catch (e) {
    return failed([diag('E_MONITOR_IO', `writing logs failed: ${(e as Error).message}`, { file: opts.logDir })]);
  }
  const diagnostics = [
    ...capture.diagnostics,
    ...(inline?.diagnostics() ?? []),
    ...(queue?.diagnostics() ?? []),
    ...(pool?.diagnostics() ?? []),
  ];
  // A capture that could not be opened or read at all is a failed run; a truncated tail is only reported.
  const fatal = diagnostics.some(
    (d) => d.code === 'E_CAPTURE_OPEN' || d.code === 'E_CAPTURE_FORMAT' || d.code === 'E_CAPTURE_LIVE' || d.code === 'E_CAPTURE_EMPTY',
  );
  const exitCode = fatal ? 2 : opts.failOnNotice && notices.length > 0 ? 1 : 0;
  return {
    exitCode,
    diagnostics,
    summary,
    capture,
    notices,
    ...(inline ? { inline: inline.summary() } : {}),
    ...(queue ? { queue: queue.summary() } : {}),
    ...(pool ? { queue: pool.summary() } : {}),
  };
}

/** The workers of a queue mode with N > 1, fed from this run's options; the steering is installed here, once, for every range. */
function queueWorkers(
  opts: RunMonitorOptions,
  mode: QueueInlineMode,
  layout: Exclude<ReturnType<typeof queueLayout>, Diagnostic>,
  logs: ZeekLogWriter,
  onNotice: (n: Notice) => void,
): QueueWorkersRun {
  const tunnels = queuePorts(mode).slice(1);
  return createQueueWorkers({
    layout,
    start: {
      ...(opts.app !== undefined ? { app: opts.app } : {}),
      ...(opts.addressing !== undefined ? { addressing: opts.addressing } : {}),
      ...(opts.policy ? { policy: opts.policy } : {}),
      tunnels: [...tunnels],
      ...(mode.tapIf !== undefined ? { tapIf: mode.tapIf } : {}),
      ...(mode.maxlen !== undefined ? { maxlen: mode.maxlen } : {}),
      ...(mode.batchMax !== undefined ? { batchMax: mode.batchMax } : {}),
    },
    launcher: mode.launcher ?? forkWorkers,
    logs,
    onNotice,
    ...(mode.install !== false
      ? {
          install: () => installQueueSetup(mode.system ?? realSystem, { ...mode, tunnels, queues: layout.queues, replies: layout.replies }),
        }
      : {}),
  });
}

/**
 * A capture filter for frames carrying a redirect tag (`02:66:7x:...` as source address), on an
 * Ethernet interface: the queue mode takes them from its netfilter queues, so copying each one
 * to tcpdump and on to the engine only to skip it cost a busy monitor most of its time (the tag
 * is also checked in the engine, so a filter that misses costs time, never a frame judged twice).
 */
export const TAGGED_FRAMES = 'ether[6:2] = 0x0266 and ether[8] & 0xfc = 0x70';

/**
 * What the queue mode captures copies on: asked for `any`, the ports redirected frames come in
 * by (the tap interface and each tap tunnel: copies come the same way), one capture each, so the
 * filter that leaves tagged frames to the queues runs in the kernel; any other interface as given.
 */
export function captureInterfaces(iface: string, mode: QueueInlineMode): string[] {
  return iface === 'any' ? queuePorts(mode) : [iface];
}

/** Live capture until aborted or the duration ends; a one-second timer expires idle connections. */
async function runLive(
  engine: MonitorEngine,
  iface: string,
  opts: RunMonitorOptions,
  onStats: (s: LiveCaptureStats) => void,
): Promise<CaptureSummary> {
  const queueMode = isQueueMode(opts.inline) ? opts.inline : null;
  const queued = queueMode !== null;
  // Queue mode: redirected frames come from their queue, so the capture leaves them in the kernel
  // (one capture per interface: see multi-capture.ts). Inline: frames a monitor passes leave again
  // (outbound); judge each frame once, as it arrives.
  const inline = queued ? `inbound and not (${TAGGED_FRAMES})` : opts.inline ? 'inbound' : '';
  const filter = inline ? (opts.filter ? `${inline} and (${opts.filter})` : inline) : opts.filter;
  // Inline verdicts, and notices a controller reacts to, wait for the capture: --immediate-mode hands each
  // packet over at once instead of per filled block (which waits up to libpcap's timeout when traffic is light).
  const argsFor = (i: string): string[] => ['-i', i, '--immediate-mode', '-U', '-w', '-', '-s', '0', '-n', ...(filter ? [filter] : [])];
  // Falling behind the capture is reported as a notice, so the controller can lighten the load.
  // The clock is read for one packet in 16 (a sustained lag of a second shows all the same), so
  // the check costs the hot path a counter, not a clock read per packet.
  const overload = new OverloadDetector(iface);
  let seen = 0;
  const cap = liveCaptures(
    queueMode ? captureInterfaces(iface, queueMode) : [iface],
    (p) => {
      if ((++seen & 15) === 0) overload.packet(p.ts, Date.now() / 1000, 16);
      // Queue mode: redirected frames (tagged) reach the engine from their queue, once; the capture brings the copies.
      if (queued && frameTag(p.linktype, p.data) !== null) return;
      engine.packet(p);
    },
    // tcpdump reports its kernel drops only when asked (SIGUSR1) or at exit: ask, so they are known while it runs.
    (i) => ({ filter, args: argsFor(i), statsEveryMs: (opts.statsSeconds ?? 10) * 1000, onStats }),
  );
  const timer = setInterval(() => {
    const now = Date.now() / 1000;
    engine.tick(now);
    const behind = overload.second(now);
    if (behind) engine.health(behind);
  }, 1000);
  const stop = (): void => void cap.stop();
  opts.signal?.addEventListener('abort', stop, { once: true });
  if (opts.signal?.aborted) stop();
  const limit = opts.durationSeconds !== undefined ? setTimeout(stop, opts.durationSeconds * 1000) : undefined;
  try {
    return await cap.done;
  } finally {
    clearInterval(timer);
    if (limit) clearTimeout(limit);
    opts.signal?.removeEventListener('abort', stop);
  }
}

/** One line per notice, for a terminal. */
export function formatNotice(n: Notice): string {
  return `${noticeTime(n.ts)} ${n.note} ${n.uid ?? '-'} ${n.msg}`;
}

/**
 * ISO time, or the bare epoch seconds when a capture's timestamp lies beyond what a Date holds
 * (±275,000 years): toISOString would throw, and a notice must still print.
 */
function noticeTime(ts: number): string {
  const d = new Date(ts * 1000);
  return Number.isNaN(d.getTime()) ? `${ts}s` : d.toISOString();
}

/** The closing report of a run, for a terminal. */
export function formatRunReport(r: MonitorRunResult): string {
  const lines: string[] = r.diagnostics.map(formatDiagnostic);
  const s = r.summary;
  if (s) {
    lines.push(`packets ${s.packets} (${s.bytes} bytes), connections ${s.tracker.connections}, notices ${s.notices}`);
    const malformed = Object.entries(s.decode).filter(([k]) => !['packets', 'decoded'].includes(k));
    if (malformed.length > 0) lines.push(`decoder: ${malformed.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    const byType = Object.entries(s.policy.notices);
    if (byType.length > 0) lines.push(`notices by type: ${byType.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    const logs = Object.entries(s.logs);
    if (logs.length > 0) lines.push(`log rows: ${logs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  const i = r.inline;
  if (i)
    lines.push(
      `inline: connections ${i.connections}, passed ${i.passed}, blocked ${i.blocked}, approvals ${i.approvals}, timeouts ${i.timeouts}, fallbacks ${i.fallbacks}, nft lines ${i.nftLines} (errors ${i.nftErrors})`,
    );
  const q = r.queue;
  if (q)
    lines.push(
      `inline (queue): connections ${q.connections}, passed ${q.passed}, blocked ${q.blocked}, packets ${q.packets}, answered ${q.answered}, errors ${q.errors}`,
    );
  for (const w of q?.workers ?? [])
    lines.push(
      `  worker ${w.index} (queues ${w.bound.open}, ${w.bound.closed}): connections ${w.connections}, passed ${w.passed}, blocked ${w.blocked}, packets ${w.packets}${w.restarts.length ? `, started again ${w.restarts.length} times (after ${w.restarts.map((r) => r.signal ?? `exit ${r.code}`).join(', ')})` : ''}${w.exit?.signal ? `, ended by ${w.exit.signal}` : ''}`,
    );
  return lines.join('\n');
}
