/** `flowtap monitor`: the Zeek-like security monitor on a pcap file or a live interface. */
import { diag, FlowtapError } from '../diagnostics/index.js';
import { formatNotice, formatRunReport, runMonitor } from '../monitor/index.js';
import type { Io } from './exit.js';

export interface MonitorCliOptions {
  pcap?: string;
  iface?: string;
  app?: string;
  addressing?: string;
  logDir?: string;
  format: string;
  duration?: string;
  failOnNotice: boolean;
  /** Comma-separated instances whose incoming requests reach this monitor. */
  observes?: string;
  inline: boolean;
  json: boolean;
}

export async function cmdMonitor(io: Io, o: MonitorCliOptions): Promise<number> {
  if (!o.pcap === !o.iface) throw new FlowtapError(diag('E_CLI_OPTION', 'give exactly one of --pcap FILE or --iface IF', { field: '--pcap' }));
  if (o.format !== 'tsv' && o.format !== 'json')
    throw new FlowtapError(diag('E_CLI_OPTION', `--format must be tsv or json, not "${o.format}"`, { field: '--format' }));
  const duration = o.duration === undefined ? undefined : Number(o.duration);
  if (duration !== undefined && !(duration > 0)) throw new FlowtapError(diag('E_CLI_OPTION', `--duration must be a positive number of seconds`, { field: '--duration' }));
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const r = await runMonitor({
      ...(o.pcap ? { pcap: o.pcap } : { iface: o.iface! }),
      ...(o.app ? { app: o.app } : {}),
      ...(o.addressing ? { addressing: o.addressing } : {}),
      ...(o.logDir ? { logDir: o.logDir } : {}),
      format: o.format,
      signal: ac.signal,
      ...(duration ? { durationSeconds: duration } : {}),
      failOnNotice: o.failOnNotice,
      ...(o.inline ? { inline: true } : {}),
      ...(o.observes !== undefined ? { policy: { integrity: { observed: o.observes.split(',').filter(Boolean) } } } : {}),
      onNotice: (n) => io.out(o.json ? JSON.stringify(n) : formatNotice(n)),
    });
    if (r.diagnostics.length && r.exitCode === 2) throw new FlowtapError(r.diagnostics);
    io.err(formatRunReport(r));
    return r.exitCode;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
