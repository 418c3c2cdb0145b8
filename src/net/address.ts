/**
 * IPv4 and IPv6 addresses, text to numbers and back: the one definition of a valid address
 * for descriptors, rulesets, flow syntax, Datalog and the monitor.
 *
 * - Text is validated by node's `net.isIPv4`/`net.isIPv6`. They refuse leading zeros in a
 *   dotted quad, which is what we want: "010" is 8 to inet_aton and 10 to most other parsers,
 *   so accepting it would let two tools read one rule differently. IPv6 zone ids ("fe80::1%eth0")
 *   are refused as well: they name an interface of one host, not a network address.
 * - An IPv4 address is an unsigned 32-bit integer. An IPv6 address is four unsigned 32-bit words,
 *   most significant first (wire order), which the packet decoder fills without allocating; code
 *   that does its arithmetic per 16-bit group (the flow language) uses the eight-group form.
 * - Text out is canonical (RFC 5952): lower case, no leading zeros, the first longest run of two
 *   or more zero groups as `::`, IPv4-mapped addresses as `::ffff:a.b.c.d`.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A dotted quad as an unsigned 32-bit integer; undefined for anything else. */
export function parseIpv4(text: string): number | undefined {
  if (!isIPv4(text)) return undefined;
  let n = 0;
  let octet = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      n = n * 256 + octet;
      octet = 0;
    } else octet = octet * 10 + (c - 0x30);
  }
  return n * 256 + octet;
}

/** Dotted quad of the low 32 bits of `n` (signed results of bit operations are fine). */
export function formatIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Hex groups of one side of `::` (or of the whole text), with a trailing dotted quad as two groups. */
function pushGroups(side: string, out: number[]): boolean {
  if (side === '') return true;
  const items = side.split(':');
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item.includes('.')) {
      const v4 = parseIpv4(item);
      if (v4 === undefined || i !== items.length - 1) return false;
      out.push(v4 >>> 16, v4 & 0xffff);
    } else out.push(parseInt(item, 16));
  }
  return true;
}

/** Any RFC 4291 text form (`::`, embedded IPv4) as eight 16-bit groups; undefined for anything else. */
export function parseIpv6Groups(text: string): number[] | undefined {
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const gap = text.indexOf('::');
  const head: number[] = [];
  const tail: number[] = [];
  if (!pushGroups(gap < 0 ? text : text.slice(0, gap), head)) return undefined;
  if (gap >= 0 && !pushGroups(text.slice(gap + 2), tail)) return undefined;
  const missing = 8 - head.length - tail.length;
  // isIPv6 has vouched for the shape; this only guards against a disagreement with it.
  if (gap < 0 ? missing !== 0 : missing < 1) return undefined;
  for (let i = 0; i < missing; i++) head.push(0);
  for (const g of tail) head.push(g);
  return head;
}

/** IPv6 text as four 32-bit words, most significant first; undefined for anything else. */
export function parseIpv6(text: string): Uint32Array | undefined {
  const g = parseIpv6Groups(text);
  if (!g) return undefined;
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((g[2 * i] << 16) | g[2 * i + 1]) >>> 0;
  return w;
}

// Formatting reads its groups from here, so formatting a decoded address allocates only the string.
const scratch = new Uint16Array(8);

/** RFC 5952 text of eight 16-bit groups. */
export function formatIpv6Groups(groups: ArrayLike<number>): string {
  for (let i = 0; i < 8; i++) scratch[i] = groups[i];
  return formatScratch();
}

/** RFC 5952 text of four 32-bit words (most significant first). */
export function formatIpv6(words: ArrayLike<number>): string {
  for (let i = 0; i < 4; i++) {
    scratch[2 * i] = words[i] >>> 16;
    scratch[2 * i + 1] = words[i] & 0xffff;
  }
  return formatScratch();
}

function formatScratch(): string {
  const g = scratch;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${g[6] >>> 8}.${g[6] & 255}.${g[7] >>> 8}.${g[7] & 255}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== best + bestLen) s += ':';
    s += g[i].toString(16);
  }
  return s;
}

const DOTTED_NUMBERS = /^\d+(?:\.\d+)*$/;

/**
 * Why `text` is not an address of the family (either family when omitted), as a clause for an
 * error message: `"${text}" is not an IPv4 address: ${why}`. Names the two mistakes a person
 * makes most, leading zeros and octets over 255, so that the message says how to fix them.
 */
export function addressProblem(text: string, family?: 4 | 6): string {
  if (text.includes('%')) return 'a zone id (the "%..." suffix) names an interface, not an address';
  const quad = text.slice(text.lastIndexOf(':') + 1);
  if (DOTTED_NUMBERS.test(quad) && quad.includes('.')) {
    const parts = quad.split('.');
    const zero = parts.find((p) => p.length > 1 && p[0] === '0');
    if (zero !== undefined) return `leading zeros are not allowed ("${zero}" is octal to some tools, decimal to others)`;
    const big = parts.find((p) => Number(p) > 255);
    if (big !== undefined) return `${big} is over 255`;
    if (parts.length !== 4) return `a dotted quad has 4 numbers, not ${parts.length}`;
  }
  if (family === 4) return 'expected four numbers 0-255 separated by dots, like 10.0.0.1';
  if (family === 6) return 'expected eight hex groups separated by ":" (one run of zero groups may be "::"), like 2001:db8::1';
  return 'expected an IPv4 address like 10.0.0.1 or an IPv6 address like 2001:db8::1';
}
