import { isWs } from '../stream/index.js';

/** Content-Length not yet seen. */
export const CL_NONE = -1;
/** Content-Length not a plain decimal within the limit. */
export const CL_INVALID = -2;
/** Several Content-Length values that disagree: a request-smuggling signature. */
export const CL_CONFLICT = -3;

/**
 * Folds one Content-Length field value into what earlier fields gave (`prev`).
 * `5, 5` and repeated equal fields are accepted as RFC 9110 allows; signs, blanks inside digits,
 * empty values and values above `max` are invalid.
 */
export function foldContentLength(prev: number, value: string, max: number): number {
  if (prev === CL_INVALID) return prev;
  let acc = prev;
  let i = 0;
  const n = value.length;
  while (i <= n) {
    let j = value.indexOf(',', i);
    if (j < 0) j = n;
    let s = i;
    let e = j;
    while (s < e && isWs(value.charCodeAt(s))) s++;
    while (e > s && isWs(value.charCodeAt(e - 1))) e--;
    if (s === e) return CL_INVALID;
    let v = 0;
    for (let k = s; k < e; k++) {
      const d = value.charCodeAt(k) - 0x30;
      if (d < 0 || d > 9) return CL_INVALID;
      v = v * 10 + d;
      if (v > max) return CL_INVALID;
    }
    if (acc === CL_CONFLICT) {
      // keep scanning so that an invalid element still wins over a conflict
    } else if (acc >= 0 && acc !== v) acc = CL_CONFLICT;
    else acc = v;
    i = j + 1;
  }
  return acc;
}

/** Whether `chunked` is the final transfer coding of a Transfer-Encoding list. */
export function chunkedIsFinal(te: string): boolean {
  let e = te.length;
  while (e > 0) {
    while (e > 0 && (isWs(te.charCodeAt(e - 1)) || te.charCodeAt(e - 1) === 0x2c)) e--;
    let s = e;
    while (s > 0 && te.charCodeAt(s - 1) !== 0x2c) s--;
    let ts = s;
    while (ts < e && isWs(te.charCodeAt(ts))) ts++;
    if (ts < e) return te.slice(ts, e).toLowerCase() === 'chunked';
    e = s;
  }
  return false;
}

export const CHUNK_INVALID = -1;
export const CHUNK_TOO_LARGE = -2;

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * `hex [BWS] [; extensions]` from a chunk-size line. Leading zeros are allowed (some servers pad);
 * the value is checked against `max` digit by digit so huge sizes are rejected without overflow.
 */
export function parseChunkSize(buf: Uint8Array, s: number, e: number, max: number): number {
  let i = s;
  let v = 0;
  while (i < e) {
    const d = hexValue(buf[i]);
    if (d < 0) break;
    v = v * 16 + d;
    if (v > max) return CHUNK_TOO_LARGE;
    i++;
  }
  if (i === s) return CHUNK_INVALID;
  while (i < e && isWs(buf[i])) i++;
  if (i < e && buf[i] !== 0x3b) return CHUNK_INVALID;
  return v;
}
