/**
 * IPv4 blocks minus other blocks, as a list of blocks: OpenFlow has no negated match, so
 * "outside the application's network" or "this block except those" becomes the blocks that are
 * left (at most 32 per block taken out).
 */
import { cidrsOverlap, cidrSize, formatCidr, parseIpv4Cidr, type Ipv4Cidr } from '../../net/index.js';

function inside(inner: Ipv4Cidr, outer: Ipv4Cidr): boolean {
  return inner.prefix >= outer.prefix && inner.base >= outer.base && inner.base < outer.base + cidrSize(outer.prefix);
}

/** `from` minus every block of `minus`, in address order. */
function ipv4Minus(from: Ipv4Cidr, minus: readonly Ipv4Cidr[]): Ipv4Cidr[] {
  if (minus.some((m) => inside(from, m))) return [];
  const cut = minus.filter((m) => cidrsOverlap(m, from));
  if (!cut.length) return [from];
  // Some block taken out is strictly inside: halve and recurse (depth at most 32).
  const half = from.prefix + 1;
  const lo = { base: from.base, prefix: half };
  const hi = { base: from.base + cidrSize(half), prefix: half };
  return [...ipv4Minus(lo, cut), ...ipv4Minus(hi, cut)];
}

/** The same for texts (`a.b.c.d/n`); undefined when one does not parse. */
export function ipv4MinusText(from: string, minus: readonly string[]): string[] | undefined {
  const f = parseIpv4Cidr(from, { bare: true, hostBits: 'clear' });
  const m = minus.map((x) => parseIpv4Cidr(x, { bare: true, hostBits: 'clear' }));
  if (!f.ok || m.some((x) => !x.ok)) return undefined;
  return ipv4Minus(
    f.cidr,
    m.map((x) => (x as { ok: true; cidr: Ipv4Cidr }).cidr),
  ).map((c) => formatCidr(c));
}
