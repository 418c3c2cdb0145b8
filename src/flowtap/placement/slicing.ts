/**
 * Slicing a flow group by source-port range.
 *
 * Why source ports: clients draw the source port of every new connection from the ephemeral range
 * (Linux picks it pseudo-randomly, and NAT re-randomises it), so connections are spread roughly
 * uniformly over the range. The load of a port range is therefore about proportional to its width,
 * and a slice is one `tp_src` match (a prefix/mask set in OpenFlow, an interval in nftables) that
 * needs no state and survives restarts. That is why a slice's share is defined as its width over
 * the flow's width: share and ports can never disagree. A flow dominated by one long-lived
 * connection has one source port and cannot be split this way; such groups are not sliceable.
 */
import { DEFAULT_SRC_PORT_RANGE, type FlowGroup, type SrcPortSlice } from './types.js';

export function srcPortRange(flow: FlowGroup): [number, number] {
  const r = flow.srcPortRange ?? DEFAULT_SRC_PORT_RANGE;
  return [r[0], r[1]];
}

/** Fraction of a flow carried by ports `from..to` of a range `width` ports wide. */
export function portShare(from: number, to: number, width: number): number {
  return (to - from + 1) / width;
}

/**
 * Most ports (at most `limit`) of a flow of `load` Mbit/s over `width` ports that a monitor with
 * `used` of `capacity` Mbit/s can still take. Verified with the very expression the placer charges
 * (`used + (k / width) * load <= capacity`), so a rounding in the estimate can never overload it.
 */
export function portsThatFit(used: number, capacity: number, load: number, width: number, limit: number): number {
  if (!(used <= capacity)) return 0;
  if (load === 0) return limit;
  let k = Math.min(limit, Math.floor(((capacity - used) / load) * width));
  while (k > 0 && used + (k / width) * load > capacity) k--;
  return k;
}

/**
 * Whether `slices` are contiguous, non-overlapping and cover `lo..hi` exactly: the property every
 * sliced flow must have so that each source port is tapped to exactly one monitor (or is reported
 * as unmonitored).
 */
export function slicesPartition(slices: ReadonlyArray<Pick<SrcPortSlice, 'from' | 'to'>>, lo: number, hi: number): boolean {
  const sorted = [...slices].sort((a, b) => a.from - b.from);
  let next = lo;
  for (const s of sorted) {
    if (!Number.isInteger(s.from) || !Number.isInteger(s.to) || s.from !== next || s.to < s.from) return false;
    next = s.to + 1;
  }
  return next === hi + 1;
}
