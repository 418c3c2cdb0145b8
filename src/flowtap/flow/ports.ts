/**
 * Set arithmetic on 16-bit port constraints that combine a bitwise match with a range.
 * OVS matches ports only bitwise; flowtap adds ranges, so the two must be intersected,
 * compared and, for OpenFlow, decomposed back into bitwise matches exactly.
 */
import type { Masked, PortMatch, PortRange } from './fields.js';

const PORT_FULL = 0xffff;

/** Smallest x >= from with (x & mask) === value (value within mask), or -1 when there is none. */
export function minMatch(value: number, mask: number, from: number): number {
  if (from <= 0) return value;
  if (from > PORT_FULL) return -1;
  if ((from & mask) === value) return from;
  const free = ~mask & PORT_FULL;
  let best = -1;
  for (let i = 15; i >= 0; i--) {
    const bit = 1 << i;
    const high = ~((bit << 1) - 1) & PORT_FULL;
    // Candidates below this bit keep `from`'s bits above it; that needs the fixed bits to agree.
    if ((from & high & mask) !== (value & high)) break;
    if (from & bit) continue;
    if (free & bit || value & bit) best = (from & high) | bit | (value & (bit - 1));
  }
  return best;
}

/** Largest x <= to with (x & mask) === value, or -1 when there is none. */
export function maxMatch(value: number, mask: number, to: number): number {
  if (to < 0) return -1;
  // x <= to  <=>  ~x >= ~to, and complementing x flips the fixed bits.
  const r = minMatch(~value & mask & PORT_FULL, mask, ~Math.min(to, PORT_FULL) & PORT_FULL);
  return r < 0 ? -1 : ~r & PORT_FULL;
}

function isPrefixMask(mask: number): boolean {
  const inv = ~mask & PORT_FULL;
  return (inv & (inv + 1)) === 0;
}

/**
 * Canonical form of `(p & mask) === value && from <= p <= to`: the range is tightened to the
 * first and last matching port, dropped when the mask alone says the same, and the mask is
 * dropped when it is a prefix block that the range already describes. null = no port at all.
 * A result with mask 0 and no range is the wildcard.
 */
export function normalisePort(value: number, mask: number, range?: PortRange): PortMatch | null {
  mask &= PORT_FULL;
  value &= mask;
  if (!range || (range.from <= 0 && range.to >= PORT_FULL)) return { value, mask };
  const lo = minMatch(value, mask, range.from);
  if (lo < 0 || lo > range.to) return null;
  const hi = maxMatch(value, mask, range.to);
  if (lo === hi) return { value: lo, mask: PORT_FULL };
  const blockLo = value;
  const blockHi = value | (~mask & PORT_FULL);
  if (lo === blockLo && hi === blockHi) return { value, mask };
  if (isPrefixMask(mask)) return { value: 0, mask: 0, range: { from: lo, to: hi } };
  return { value, mask, range: { from: lo, to: hi } };
}

export function isWildPort(p: PortMatch): boolean {
  return p.mask === 0 && !p.range;
}

export function portContains(p: PortMatch, port: number): boolean {
  if ((port & p.mask) !== p.value) return false;
  return !p.range || (port >= p.range.from && port <= p.range.to);
}

export function intersectPort(a: PortMatch, b: PortMatch): PortMatch | null {
  if ((a.value & b.mask) !== (b.value & a.mask)) return null;
  const mask = a.mask | b.mask;
  const value = a.value | b.value;
  let range: PortRange | undefined;
  if (a.range || b.range) {
    const ra = a.range ?? { from: 0, to: PORT_FULL };
    const rb = b.range ?? { from: 0, to: PORT_FULL };
    range = { from: Math.max(ra.from, rb.from), to: Math.min(ra.to, rb.to) };
    if (range.from > range.to) return null;
  }
  return normalisePort(value, mask, range);
}

/** First and last port of a (non-empty, normalised) constraint. */
export function portBounds(p: PortMatch): PortRange {
  const from = p.range?.from ?? 0;
  const to = p.range?.to ?? PORT_FULL;
  return { from: minMatch(p.value, p.mask, from), to: maxMatch(p.value, p.mask, to) };
}

/** Calls fn for every port the constraint admits, in increasing order, until fn returns false. */
export function forEachPort(p: PortMatch, fn: (port: number) => boolean | undefined): void {
  const { from, to } = portBounds(p);
  if (from < 0) return;
  for (let x = from; x >= 0 && x <= to; x = x === PORT_FULL ? -1 : minMatch(p.value, p.mask, x + 1)) if (fn(x) === false) return;
}

/** Every port admitted by `inner` is admitted by `outer`. */
export function portSubset(inner: PortMatch, outer: PortMatch): boolean {
  const b = portBounds(inner);
  if (b.from < 0) return true;
  if (outer.range && (b.from < outer.range.from || b.to > outer.range.to)) return false;
  if ((outer.mask & ~inner.mask) === 0) return (inner.value & outer.mask) === outer.value;
  // The outer mask tests bits the inner mask leaves free; only inner's range can pin them.
  let all = true;
  forEachPort(inner, (x) => (all = (x & outer.mask) === outer.value));
  return all;
}

/** A range as the fewest aligned value/mask blocks that cover exactly it (OVS's recipe). */
export function decomposeRange(from: number, to: number): Masked[] {
  const out: Masked[] = [];
  let lo = from;
  while (lo <= to) {
    let size = 1;
    while (size <= PORT_FULL && lo % (size * 2) === 0 && lo + size * 2 - 1 <= to) size *= 2;
    out.push({ value: lo, mask: ~(size - 1) & PORT_FULL });
    lo += size;
  }
  return out;
}

/** A port constraint as bitwise matches only, admitting exactly the same ports. */
export function portToMasks(p: PortMatch): Masked[] {
  if (!p.range) return [{ value: p.value, mask: p.mask }];
  const out: Masked[] = [];
  for (const block of decomposeRange(p.range.from, p.range.to)) {
    if ((block.value & p.mask) !== (p.value & block.mask)) continue;
    out.push({ value: block.value | p.value, mask: block.mask | p.mask });
  }
  return out;
}
