/**
 * IPv4 and IPv6 addresses and prefixes, parsed into bytes so that containment is a
 * bitwise prefix comparison. Malformed text is "not contained", never an exception:
 * these strings come from descriptors and the network.
 */

export interface Prefix {
  v6: boolean;
  bytes: Uint8Array;
  bits: number;
}

export function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^[0-9]{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

export function parseIPv6(s: string): Uint8Array | undefined {
  if (s.length === 0 || s.length > 45) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const words: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i];
      if (i === items.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (!v4) return undefined;
        words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      words.push(parseInt(g, 16));
    }
    return words;
  };
  const head = groupsOf(halves[0]);
  if (!head) return undefined;
  let words: number[];
  if (halves.length === 2) {
    const tail = groupsOf(halves[1]);
    if (!tail) return undefined;
    // An embedded IPv4 is only allowed at the very end.
    if (halves[0].includes('.')) return undefined;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    words = head;
    if (words.length !== 8) return undefined;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i] >> 8;
    out[2 * i + 1] = words[i] & 0xff;
  }
  return out;
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a host prefix). */
export function parsePrefix(s: string): Prefix | undefined {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const v6 = addr.includes(':');
  const bytes = v6 ? parseIPv6(addr) : parseIPv4(addr);
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  let bits = max;
  if (slash >= 0) {
    const len = s.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(len)) return undefined;
    bits = Number(len);
    if (bits > max) return undefined;
  }
  return { v6, bytes, bits };
}

/** True when every address of `inner` lies in `outer`. */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  if (outer.v6 !== inner.v6 || inner.bits < outer.bits) return false;
  const full = outer.bits >> 3;
  for (let i = 0; i < full; i++) if (outer.bytes[i] !== inner.bytes[i]) return false;
  const rest = outer.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (outer.bytes[full] & mask) === (inner.bytes[full] & mask);
}

const cache = new Map<string, Prefix | null>();
const CACHE_LIMIT = 4096;

function cachedPrefix(s: string): Prefix | undefined {
  let p = cache.get(s);
  if (p === undefined) {
    p = parsePrefix(s) ?? null;
    // Bounded so hostile inputs cannot grow it without limit.
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(s, p);
  }
  return p ?? undefined;
}

/** `cidr_contains(Cidr, IpOrCidr)`: false for malformed text or mixed families. */
export function cidrContains(outer: string, inner: string): boolean {
  const o = cachedPrefix(outer);
  const i = cachedPrefix(inner);
  return o !== undefined && i !== undefined && prefixContains(o, i);
}
