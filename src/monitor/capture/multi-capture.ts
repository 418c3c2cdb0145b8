import type { CaptureSummary, PacketCallback } from './captured-packet.js';
import { liveCapture, type LiveCapture, type LiveCaptureOptions, type LiveCaptureStats } from './live-capture.js';
import type { CaptureCounts } from './tcpdump-stats.js';

/**
 * One live capture over several interfaces: a capture process each, their packets to one
 * callback, their counts reported as one run.
 *
 * Why not tcpdump's `any`: it writes Linux cooked headers, and the kernel's socket filter sees
 * the packet from its network header on, so a filter on a link-layer address (the redirect tag
 * the queue mode leaves to its queues) cannot run in the kernel: libpcap then filters in user
 * space, and every frame crossing the namespace is copied to tcpdump and wakes it, only to be
 * dropped there (under pgbench -S through an inline redirect, some 3,500 times a second). On one
 * Ethernet interface the same filter runs in the kernel.
 *
 * Counts: each report of one process becomes a report of the whole, its totals the sum of every
 * process's latest (so they only grow, like one process's) and its interval that process's. The
 * run id is this capture's own. When one process ends by itself the others are stopped, as the
 * end of a single capture ends a run; the summary adds up theirs.
 */
export function liveCaptures(
  ifaces: readonly string[],
  onPacket: PacketCallback,
  optsFor: (iface: string) => LiveCaptureOptions,
): LiveCapture {
  if (ifaces.length === 1) return liveCapture(ifaces[0], onPacket, optsFor(ifaces[0]));
  const opts = ifaces.map((i) => optsFor(i));
  const now = opts[0].now ?? (() => Date.now() / 1000);
  const run = `${process.pid}-${Math.round(now() * 1000)}-x${ifaces.length}`;
  const totals: CaptureCounts[] = ifaces.map(() => ({ captured: 0, received: 0, dropped: 0, ifDropped: 0 }));
  const finals = ifaces.map(() => false);
  let latest: LiveCaptureStats | null = null;
  let stopping = false;
  const caps = ifaces.map((iface, i) => {
    const o = opts[i];
    const onStats = o.onStats;
    return liveCapture(iface, onPacket, {
      ...o,
      onStats: (s) => {
        totals[i] = s.total;
        if (s.final) finals[i] = true;
        const total = totals.reduce(
          (a, t) => ({
            captured: a.captured + t.captured,
            received: a.received + t.received,
            dropped: a.dropped + t.dropped,
            ifDropped: a.ifDropped + t.ifDropped,
          }),
          { captured: 0, received: 0, dropped: 0, ifDropped: 0 },
        );
        latest = { ...s, run, total, final: finals.every(Boolean) };
        onStats?.(latest);
      },
    });
  });
  const stopAll = (): Promise<CaptureSummary[]> => {
    stopping = true;
    return Promise.all(caps.map((c) => c.stop()));
  };
  // The first to end by itself ends them all.
  for (const c of caps) void c.done.then(() => (stopping ? undefined : stopAll()));
  const done = Promise.all(caps.map((c) => c.done)).then(mergeSummaries);
  return {
    done,
    ready: Promise.all(caps.map((c) => c.ready)).then(() => undefined),
    stats: () => latest,
    stop: () => stopAll().then(() => done),
  };
}

function mergeSummaries(all: CaptureSummary[]): CaptureSummary {
  const s = all[0].stats;
  return {
    stats: {
      format: s.format,
      packets: all.reduce((n, x) => n + x.stats.packets, 0),
      bytes: all.reduce((n, x) => n + x.stats.bytes, 0),
      errors: all.reduce((n, x) => n + x.stats.errors, 0),
      skippedBytes: all.reduce((n, x) => n + x.stats.skippedBytes, 0),
      stopped: all.some((x) => x.stats.stopped),
    },
    diagnostics: all.flatMap((x) => x.diagnostics),
  };
}
