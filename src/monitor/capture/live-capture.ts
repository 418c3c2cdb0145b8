import { diag } from '../../diagnostics/index.js';
import { realSystem, type System } from '../../system/index.js';
import type { CaptureSummary, PacketCallback } from './captured-packet.js';
import { CaptureReader } from './capture-reader.js';
import { countDelta, TcpdumpStatsParser, type CaptureCounts } from './tcpdump-stats.js';

/** One report of the capture program's counts (see TcpdumpStatsParser), with the interval since the last. */
export interface LiveCaptureStats {
  /** When it came, in seconds since the epoch. */
  ts: number;
  /** This capture process (its pid and start, ms): counts start again from 0 with a new one. */
  run: string;
  /** Since the capture began (32-bit wraps undone, so they only grow). */
  total: CaptureCounts;
  /** Since the previous report (the first: since the capture began). */
  interval: CaptureCounts;
  /** Packets and bytes the reader handed over in the interval. */
  packets: number;
  bytes: number;
  /** Wall clock minus the newest packet's timestamp, when a packet came in the interval. */
  lagSeconds: number | null;
  /** The report the program wrote as it exited: the last word on what it captured and dropped. */
  final: boolean;
}

export interface LiveCaptureOptions {
  /** Program that writes a pcap stream to stdout (default `tcpdump`). */
  command?: string;
  /** Its arguments (default `-i IFACE -U -w - -s 0 -n`, plus `filter` if given). */
  args?: string[];
  /** A BPF filter expression appended to tcpdump's arguments. */
  filter?: string;
  /** Runs the capture program (default: the real system). */
  system?: System;
  /** Network namespace of the interface (default: the one this process runs in). */
  ns?: string;
  /**
   * Ask the program for its counts this often (SIGUSR1, which tcpdump answers on Linux); they
   * also come when it exits. Default: never ask (a program that does not handle the signal
   * would die of it). Asked only once it says it is listening, when its handler is in place.
   */
  statsEveryMs?: number;
  /** Each report of its counts, periodic and final. */
  onStats?: (s: LiveCaptureStats) => void;
  /** Clock for the reports (seconds; default the wall clock). */
  now?: () => number;
}

export interface LiveCapture {
  /** Stop capturing; resolves with the summary once the capture process has exited. */
  stop(): Promise<CaptureSummary>;
  /** Resolves when the capture process exits by itself or after stop(). */
  readonly done: Promise<CaptureSummary>;
  /** The latest report of the program's counts, if any came. */
  stats(): LiveCaptureStats | null;
  /**
   * Resolves once capturing has begun (tcpdump reports "listening on", or data arrives), or
   * when the process ends first. tcpdump needs a moment to attach: traffic sent before this
   * resolves may be missed.
   */
  readonly ready: Promise<void>;
}

const ZERO: CaptureCounts = { captured: 0, received: 0, dropped: 0, ifDropped: 0 };

/**
 * Capture from a live interface by running tcpdump and parsing its pcap output as it streams.
 * The process goes through the system driver. Failure to start, or a non-zero exit, is reported
 * as a diagnostic in the summary. With `statsEveryMs`, the program's counts (what it captured,
 * what the kernel dropped) are asked for periodically and reported through `onStats`.
 */
export function liveCapture(iface: string, onPacket: PacketCallback, opts: LiveCaptureOptions = {}): LiveCapture {
  const command = opts.command ?? 'tcpdump';
  const args = opts.args ?? ['-i', iface, '-U', '-w', '-', '-s', '0', '-n', ...(opts.filter ? [opts.filter] : [])];
  const now = opts.now ?? (() => Date.now() / 1000);
  // Packets, bytes and the newest timestamp since the last report: a counter and a store per packet.
  let packets = 0;
  let bytes = 0;
  let newest = -1;
  const reader = new CaptureReader(
    opts.onStats
      ? (p) => {
          packets++;
          bytes += p.caplen;
          newest = p.ts;
          onPacket(p);
        }
      : onPacket,
    { file: `${command}:${iface}` },
  );
  const child = (opts.system ?? realSystem).spawn([command, ...args], { ns: opts.ns, stdout: true, stderr: true });
  const run = `${child.pid ?? 0}-${Math.round(now() * 1000)}`;
  let stopping = false;
  let exited = false;
  let stderr = '';
  let listening = false;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const parser = new TcpdumpStatsParser();
  let latest: LiveCaptureStats | null = null;
  let last = ZERO;
  let total = ZERO;
  const report = (counts: CaptureCounts, final: boolean): void => {
    const interval: CaptureCounts = {
      captured: countDelta(last.captured, counts.captured),
      received: countDelta(last.received, counts.received),
      dropped: countDelta(last.dropped, counts.dropped),
      ifDropped: countDelta(last.ifDropped, counts.ifDropped),
    };
    last = counts;
    total = {
      captured: total.captured + interval.captured,
      received: total.received + interval.received,
      dropped: total.dropped + interval.dropped,
      ifDropped: total.ifDropped + interval.ifDropped,
    };
    const ts = now();
    latest = { ts, run, total, interval, packets, bytes, lagSeconds: packets > 0 ? Math.max(0, ts - newest) : null, final };
    packets = 0;
    bytes = 0;
    opts.onStats?.(latest);
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    markReady();
    reader.push(chunk);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (stderr.length < 4096) stderr += text;
    if (!listening && (stderr.includes('listening on') || text.includes('listening on'))) {
      listening = true;
      markReady();
    }
    for (const r of parser.push(text)) report(r.counts, r.atExit);
  });
  // tcpdump installs its SIGUSR1 handler before it says it is listening; before that the signal would kill it.
  const poll =
    opts.statsEveryMs !== undefined && opts.statsEveryMs > 0
      ? setInterval(() => {
          if (listening && !stopping && !exited) child.kill('SIGUSR1');
        }, opts.statsEveryMs)
      : undefined;
  poll?.unref();
  const done = Promise.all([child.startError, child.exited]).then(([startError, status]): CaptureSummary => {
    exited = true;
    if (poll) clearInterval(poll);
    markReady();
    // The report written at exit is the last word on what was captured and dropped.
    for (const r of parser.end()) report(r.counts, r.atExit);
    const summary = reader.end();
    const problem = startError
      ? `cannot run ${command}: ${startError.message}`
      : stopping || status.code === 0
        ? null
        : `${command} exited with ${status.code !== null ? `code ${status.code}` : `signal ${status.signal}`}: ${stderr.trim()}`;
    if (problem) summary.diagnostics.push(diag('E_CAPTURE_LIVE', problem, { file: `${command}:${iface}` }));
    return summary;
  });
  return {
    done,
    ready,
    stats: () => latest,
    stop(): Promise<CaptureSummary> {
      stopping = true;
      if (!exited) child.kill('SIGTERM');
      return done;
    },
  };
}
