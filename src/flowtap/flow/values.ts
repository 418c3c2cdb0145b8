/**
 * Value syntaxes of the flow language (numbers, IPv4, IPv6, MAC, 64-bit IDs) and the bit
 * arithmetic on the stored forms. Parsers return undefined on malformed text; callers turn that
 * into a positioned diagnostic.
 */

const HEX_RE = /^0x[0-9a-f]+$/i;
const DEC_RE = /^[0-9]+$/;

/** Decimal or 0x-hex unsigned integer; values too large to be exact come back as Infinity. */
export function parseUint(s: string): number | undefined {
  if (HEX_RE.test(s)) {
    const digits = s.slice(2).replace(/^0+/, '');
    if (digits.length > 13) return Infinity;
    return digits === '' ? 0 : parseInt(digits, 16);
  }
  if (DEC_RE.test(s)) {
    const digits = s.replace(/^0+/, '');
    if (digits.length > 15) return Infinity;
    return digits === '' ? 0 : Number(digits);
  }
  return undefined;
}

export function parseIPv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    // Leading zeros are refused: "010" reads as 8 to some tools and 10 to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const b = Number(p);
    if (b > 255) return undefined;
    n = n * 256 + b;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Mask with the top `len` of 32 bits set. */
export function prefixMask32(len: number): number {
  return len <= 0 ? 0 : len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
}

/** Length of a contiguous high-bit mask over `bits` bits, or -1 if the mask has holes. */
export function prefixLength(mask: number, bits: number): number {
  const full = bits >= 32 ? 0xffffffff : (1 << bits) - 1;
  const inverted = (~mask & full) >>> 0;
  // A contiguous high mask inverts to a run of low ones: x & (x + 1) === 0.
  if ((inverted & (inverted + 1)) !== 0) return -1;
  let zeros = 0;
  for (let v = inverted; v !== 0; v >>>= 1) zeros++;
  return bits - zeros;
}

function parseHexGroup(g: string): number | undefined {
  return /^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : undefined;
}

/** IPv6 text (RFC 4291 forms, including `::` and a trailing dotted quad) to 8 words. */
export function parseIPv6(s: string): number[] | undefined {
  if (s.length === 0 || s.length > 45) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseSide = (side: string, last: boolean): number[] | undefined => {
    if (side === '') return [];
    const groups = side.split(':');
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (last && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
        continue;
      }
      const w = parseHexGroup(g);
      if (w === undefined) return undefined;
      out.push(w);
    }
    return out;
  };
  if (halves.length === 1) {
    const words = parseSide(halves[0], true);
    return words && words.length === 8 ? words : undefined;
  }
  const head = parseSide(halves[0], false);
  const tail = parseSide(halves[1], true);
  if (!head || !tail || head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero words as `::`. */
export function formatIPv6(words: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number, b: number) => words.slice(a, b).map((w) => w.toString(16)).join(':');
  if (bestLen < 2) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

export function parseMac(s: string): number[] | undefined {
  const parts = s.split(':');
  if (parts.length !== 6) return undefined;
  const bytes: number[] = [];
  for (const p of parts) {
    if (!/^[0-9a-f]{1,2}$/i.test(p)) return undefined;
    bytes.push(parseInt(p, 16));
  }
  return [(bytes[0] << 8) | bytes[1], (bytes[2] << 8) | bytes[3], (bytes[4] << 8) | bytes[5]];
}

export function formatMac(words: readonly number[]): string {
  const out: string[] = [];
  for (const w of words) out.push(((w >>> 8) & 255).toString(16).padStart(2, '0'), (w & 255).toString(16).padStart(2, '0'));
  return out.join(':');
}

/** Decimal or 0x-hex integer of up to `words * 16` bits, as big-endian 16-bit words. */
export function parseWideUint(s: string, words: number): number[] | 'range' | undefined {
  if (!HEX_RE.test(s) && !DEC_RE.test(s)) return undefined;
  let n: bigint;
  try {
    n = BigInt(s);
  } catch {
    return undefined;
  }
  if (n >= 1n << BigInt(words * 16)) return 'range';
  const out = new Array<number>(words);
  for (let i = words - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffffn);
    n >>= 16n;
  }
  return out;
}

export function formatWideHex(words: readonly number[]): string {
  let n = 0n;
  for (const w of words) n = (n << 16n) | BigInt(w);
  return '0x' + n.toString(16);
}

export function wideFull(words: number): number[] {
  return new Array<number>(words).fill(0xffff);
}

export function wideZero(words: number): number[] {
  return new Array<number>(words).fill(0);
}

export function wideIsZero(a: readonly number[]): boolean {
  for (const w of a) if (w !== 0) return false;
  return true;
}

export function wideIsFull(a: readonly number[]): boolean {
  for (const w of a) if (w !== 0xffff) return false;
  return true;
}

export function wideEqual(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Mask with the top `len` bits set over `words` 16-bit words. */
export function widePrefixMask(len: number, words: number): number[] {
  const out = new Array<number>(words);
  for (let i = 0; i < words; i++) {
    const bits = Math.max(0, Math.min(16, len - i * 16));
    out[i] = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
  }
  return out;
}

/** Prefix length of a wide mask, or -1 if it is not contiguous from the top. */
export function widePrefixLength(mask: readonly number[]): number {
  let len = 0;
  let i = 0;
  for (; i < mask.length && mask[i] === 0xffff; i++) len += 16;
  if (i === mask.length) return len;
  const p = prefixLength(mask[i], 16);
  if (p < 0) return -1;
  len += p;
  for (i++; i < mask.length; i++) if (mask[i] !== 0) return -1;
  return len;
}
