/**
 * Value syntaxes of the flow language (numbers, MAC, 64-bit IDs; addresses are src/net's) and the
 * bit arithmetic on the stored forms. Parsers return undefined on malformed text; callers turn
 * that into a positioned diagnostic.
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

/** As C's `%#x`, which OVS prints 64-bit fields with: zero is plain `0`. */
export function formatWideHex(words: readonly number[]): string {
  let n = 0n;
  for (const w of words) n = (n << 16n) | BigInt(w);
  return n === 0n ? '0' : '0x' + n.toString(16);
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
