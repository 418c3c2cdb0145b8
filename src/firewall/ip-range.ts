/**
 * IPv4 address sets as sorted, disjoint inclusive intervals of unsigned 32-bit
 * integers. CIDR blocks with exceptions (Kubernetes ipBlock, ruleset `cidr` peers)
 * become interval lists, and the outside address space is cut into the disjoint
 * intervals that every mentioned block boundary induces.
 */
import { formatIpv4, ipv4Range, parseIpv4Cidr } from '../net/index.js';

export interface IpInterval {
  /** First address, as an unsigned 32-bit integer. */
  lo: number;
  /** Last address (inclusive). */
  hi: number;
}

export type IpSet = readonly IpInterval[];

const MAX_IPV4 = 0xffffffff;
export const ALL_IPV4: IpSet = Object.freeze([Object.freeze({ lo: 0, hi: MAX_IPV4 })]);

/** `a.b.c.d-e.f.g.h`, the spelling Kubernetes network-policy analyzers print. */
export function formatInterval(iv: IpInterval): string {
  return `${formatIpv4(iv.lo)}-${formatIpv4(iv.hi)}`;
}

/**
 * The block's first and last address. Null unless the text is an IPv4 block as src/net reads
 * it, host bits clear: the loaders reject anything else with the reason before it gets here.
 */
export function cidrInterval(text: string): IpInterval | null {
  const r = parseIpv4Cidr(text);
  return r.ok ? ipv4Range(r.cidr) : null;
}

/** `cidr` minus every `except` block; null if any of them does not parse. */
export function cidrSet(cidr: string, except: readonly string[] = []): IpSet | null {
  const base = cidrInterval(cidr);
  if (!base) return null;
  let set: IpSet = [base];
  for (const e of except) {
    const iv = cidrInterval(e);
    if (!iv) return null;
    set = subtractIps(set, [iv]);
  }
  return set;
}

export function ipSetContains(set: IpSet, ip: number): boolean {
  let lo = 0;
  let hi = set.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const iv = set[mid];
    if (ip < iv.lo) hi = mid - 1;
    else if (ip > iv.hi) lo = mid + 1;
    else return true;
  }
  return false;
}

/** True when every address of `a` is in `b`. */
export function ipSetCovers(b: IpSet, a: IpSet): boolean {
  return subtractIps(a, b).length === 0;
}

export function subtractIps(a: IpSet, b: IpSet): IpSet {
  if (a.length === 0 || b.length === 0) return a;
  const out: IpInterval[] = [];
  let j = 0;
  for (const r of a) {
    let lo = r.lo;
    while (j < b.length && b[j].hi < lo) j++;
    let k = j;
    while (k < b.length && b[k].lo <= r.hi) {
      if (b[k].lo > lo) out.push({ lo, hi: b[k].lo - 1 });
      lo = Math.max(lo, b[k].hi + 1);
      if (b[k].hi >= r.hi) break;
      k++;
    }
    if (lo <= r.hi) out.push({ lo, hi: r.hi });
  }
  return out;
}

/**
 * Cuts the whole IPv4 space at every block boundary: each block [lo, hi] starts a
 * piece at lo and another at hi+1. The pieces are the coarsest partition in which
 * every listed block is a union of pieces.
 */
export function partitionByBlocks(blocks: readonly IpInterval[]): IpInterval[] {
  const cuts = new Set<number>([0]);
  for (const b of blocks) {
    cuts.add(b.lo);
    if (b.hi < MAX_IPV4) cuts.add(b.hi + 1);
  }
  const starts = [...cuts].sort((x, y) => x - y);
  return starts.map((lo, i) => ({ lo, hi: i + 1 < starts.length ? starts[i + 1] - 1 : MAX_IPV4 }));
}
