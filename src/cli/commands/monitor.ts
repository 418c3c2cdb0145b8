/** `flowtap monitor`: the Zeek-like security monitor on a pcap file or a live interface. */
import { diag, FlowtapError } from '../../diagnostics/index.js';
import { formatNotice, formatRunReport, runMonitor } from '../../monitor/index.js';
import { CliCode } from '../codes.js';
import type { Io } from '../exit.js';
import type { InlineMode, LogFormat } from '../options.js';

export interface MonitorOptions {
  pcap?: string;
  iface?: string;
  app?: string;
  addressing?: string;
  logDir?: string;
  format: LogFormat;
  /** Live capture: stop after this many seconds (> 0). */
  duration?: number;
  failOnNotice?: boolean;
  /** Instances whose incoming requests reach this monitor. */
  observes?: string[];
  /** `--inline` alone is hold (today's mode); `--inline=queue` the netfilter-queue mode. */
  inline?: boolean | InlineMode;
  /** With `--inline=queue`: worker processes sharing the queues (default 1: judged in this process). */
  workers?: number;
  /** Notices as JSON lines on stdout; the closing report as one JSON document on stderr. */
  json?: boolean;
}

export async function cmdMonitor(io: Io, o: MonitorOptions): Promise<number> {
  // Commander rejects both together; neither is this check's.
  const input = o.pcap ? { pcap: o.pcap } : o.iface ? { iface: o.iface } : undefined;
  if (!input) throw new FlowtapError(diag(CliCode.OPTION, 'give one of --pcap FILE or --iface IF', { field: '--pcap' }));
  if (o.workers !== undefined && o.inline !== 'queue')
    throw new FlowtapError(diag(CliCode.OPTION, '--workers needs --inline=queue', { field: '--workers' }));
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const r = await runMonitor({
      ...input,
      ...(o.app ? { app: o.app } : {}),
      ...(o.addressing ? { addressing: o.addressing } : {}),
      ...(o.logDir ? { logDir: o.logDir } : {}),
      format: o.format,
      signal: ac.signal,
      ...(o.duration ? { durationSeconds: o.duration } : {}),
      failOnNotice: o.failOnNotice === true,
      ...(o.inline === 'queue'
        ? { inline: { mode: 'queue' as const, ...(o.workers !== undefined ? { workers: o.workers } : {}) } }
        : o.inline
          ? { inline: true }
          : {}),
      ...(o.observes !== undefined ? { policy: { integrity: { observed: o.observes } } } : {}),
      onNotice: (n) => io.out(o.json ? JSON.stringify(n) : formatNotice(n)),
    });
    if (r.diagnostics.length && r.exitCode === 2) throw new FlowtapError(r.diagnostics);
    // stdout stays a stream of notices that a program can read line by line.
    if (o.json) {
      const { notices: _raised, ...report } = r;
      io.err(JSON.stringify(report));
    } else io.err(formatRunReport(r));
    return r.exitCode;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
