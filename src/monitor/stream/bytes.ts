/** Byte helpers shared by the protocol parsers: scanning and one-shot decoding, no per-byte strings. */

export const CR = 13;
export const LF = 10;
export const SP = 32;
export const HT = 9;

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/**
 * A Buffer over exactly `buf[off, off+len)`, clamped to the array so that a caller's bad
 * offsets cannot make us read outside it. Views let us use the native `indexOf` and `toString`.
 */
export function viewOf(buf: Uint8Array, off: number, len: number): Buffer {
  const start = off > 0 ? Math.min(off | 0, buf.length) : 0;
  const n = len > 0 ? Math.min(len | 0, buf.length - start) : 0;
  return Buffer.from(buf.buffer, buf.byteOffset + start, n);
}

export function isWs(b: number): boolean {
  return b === SP || b === HT;
}

/** First index of `byte` in `buf[start, end)`, or -1. Used for short ranges where a bounded scan matters. */
export function indexOfByte(buf: Uint8Array, byte: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (buf[i] === byte) return i;
  return -1;
}

export function skipWs(buf: Uint8Array, start: number, end: number): number {
  while (start < end && isWs(buf[start])) start++;
  return start;
}

export function trimWsEnd(buf: Uint8Array, start: number, end: number): number {
  while (end > start && isWs(buf[end - 1])) end--;
  return end;
}

/** Bytes as a string with one char per byte: lossless for any input, used for HTTP fields. */
export function latin1(buf: Buffer, start: number, end: number): string {
  return end > start ? buf.toString('latin1', start, end) : '';
}

export function utf8(buf: Buffer, start: number, end: number): string {
  return end > start ? buf.toString('utf8', start, end) : '';
}

/** RFC 9110 tchar: the characters of methods and header names. */
const TCHAR = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of "!#$%&'*+-.^_`|~") t[ch.charCodeAt(0)] = 1;
  return t;
})();

export function isTchar(b: number): boolean {
  return TCHAR[b] === 1;
}

/**
 * Up to `max` bytes as printable ASCII with `\xNN` escapes, for weird details: a person can read
 * it and hostile bytes cannot inject control characters into logs.
 */
export function printable(buf: Uint8Array, start: number, end: number, max = 64): string {
  let s = '';
  const stop = Math.min(end, start + max);
  for (let i = start; i < stop; i++) {
    const b = buf[i];
    if (b >= 0x20 && b < 0x7f && b !== 0x5c) s += String.fromCharCode(b);
    else s += '\\x' + (b < 16 ? '0' : '') + b.toString(16);
  }
  return end > stop ? s + '...' : s;
}

/**
 * Decimal digits in `buf[start, end)` as a number, or -1 if empty, not all digits, or above `max`.
 * Stops as soon as the value passes `max`, so absurd inputs cost nothing and never lose precision.
 */
export function parseDecimal(buf: Uint8Array, start: number, end: number, max: number): number {
  if (end <= start) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
    if (v > max) return -1;
  }
  return v;
}

export function asciiLowerEquals(buf: Uint8Array, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let b = buf[start + i];
    if (b >= 0x41 && b <= 0x5a) b += 0x20;
    if (b !== lower.charCodeAt(i)) return false;
  }
  return true;
}

export function startsWithAscii(buf: Uint8Array, start: number, end: number, prefix: string): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** A string (e.g. a decoded header value) made safe and short for a weird detail. */
export function printableText(s: string, max = 64): string {
  let out = '';
  const stop = Math.min(s.length, max);
  for (let i = 0; i < stop; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x5c) out += s[i];
    else if (c > 0xff) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += '\\x' + (c < 16 ? '0' : '') + c.toString(16);
  }
  return s.length > stop ? out + '...' : out;
}
