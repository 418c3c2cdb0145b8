import { STATS_LOG, type LogValue } from './schema.js';

/** What a stats.log row is made from: a report of the capture program's counts (LiveCaptureStats). */
export interface CaptureStatsSample {
  ts: number;
  run: string;
  total: { captured: number; received: number; dropped: number };
  interval: { captured: number; received: number; dropped: number };
  bytes: number;
  lagSeconds: number | null;
}

/** The stats.log row of one report (see STATS_LOG); `memBytes` is the monitor's resident memory. */
export function statsRow(s: CaptureStatsSample, peer: string, memBytes: number): LogValue[] {
  const row: Record<(typeof STATS_LOG.fields)[number], LogValue> = {
    ts: s.ts,
    peer,
    mem: Math.round(memBytes / (1024 * 1024)),
    pkts_proc: s.interval.captured,
    bytes_recv: s.bytes,
    pkts_dropped: s.interval.dropped,
    pkts_link: s.interval.received,
    pkt_lag: s.lagSeconds,
    run: s.run,
    run_pkts_proc: s.total.captured,
    run_pkts_dropped: s.total.dropped,
    run_pkts_link: s.total.received,
  };
  return STATS_LOG.fields.map((f) => row[f]);
}
