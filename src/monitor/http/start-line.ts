import { isTchar, isWs, skipWs, trimWsEnd } from '../stream/index.js';

/** Decodes `buf[s, e)` of the line being parsed; the caller decides how (see MessageReader.text). */
export type TextOf = (s: number, e: number) => string;

export interface RequestLine {
  method: string;
  uri: string;
  /** `1.1`, `1.0`, ... or `0.9` when the line carries no version; `` when the line was cut before it. */
  version: string;
  uriHasWhitespace: boolean;
  /** Accepted although not in RFC 9112's form (see `Loose`). */
  loose: number;
}

export interface StatusLine {
  version: string;
  status: number;
  reason: string;
  loose: number;
}

/** Deviations from the strict grammar that real servers accept anyway; each is worth a weird. */
export const LOOSE_VERSION = 1;
export const LOOSE_LEADING_WS = 2;

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

const MAX_VERSION_DIGITS = 3;

/**
 * `HTTP/major[.minor]` at `buf[s, e)` exactly, in any case, as servers read it: `HTTP/1.1`
 * strictly, and loosely `http/1.1`, `HTTP/1.`, `HTTP/1`, `HTTP/01.10`. Returns `major.minor`
 * (numbers without leading zeros, a missing minor read as 0) with `loose` set when not strict,
 * or null.
 */
/** Set by readVersion: whether the version it read was loosely written (saves an object per line). */
let versionLoose = false;

function readVersion(buf: Uint8Array, s: number, e: number): string | null {
  if (e - s < 6) return null;
  if ((buf[s] | 0x20) !== 0x68 || (buf[s + 1] | 0x20) !== 0x74 || (buf[s + 2] | 0x20) !== 0x74 || (buf[s + 3] | 0x20) !== 0x70) return null;
  if (buf[s + 4] !== 0x2f) return null;
  let i = s + 5;
  let major = 0;
  const ms = i;
  while (i < e && isDigit(buf[i]) && i - ms < MAX_VERSION_DIGITS) major = major * 10 + buf[i++] - 0x30;
  if (i === ms) return null;
  let minor = 0;
  let minorDigits = 0;
  let dot = false;
  if (i < e && buf[i] === 0x2e) {
    dot = true;
    i++;
    const ns = i;
    while (i < e && isDigit(buf[i]) && i - ns < MAX_VERSION_DIGITS) minor = minor * 10 + buf[i++] - 0x30;
    minorDigits = i - ns;
  }
  if (i !== e) return null;
  const strict =
    e - s === 8 && buf[s] === 0x48 && buf[s + 1] === 0x54 && buf[s + 2] === 0x54 && buf[s + 3] === 0x50 && dot && minorDigits === 1;
  versionLoose = !strict;
  if (major === 1) {
    if (minor === 1) return '1.1';
    if (minor === 0) return '1.0';
  }
  return `${major}.${minor}`;
}

function hasControl(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const b = buf[i];
    if ((b < 0x20 && b !== 0x09) || b === 0x7f) return true;
  }
  return false;
}

function hasWs(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (isWs(buf[i])) return true;
  return false;
}

/**
 * `method SP uri SP HTTP/d.d`, as leniently as the servers that would act on it: runs of blanks,
 * blanks before the method, any token as the method, a loosely written version (readVersion).
 * The version is the last token, so a URI with blanks in it is still found (and flagged).
 * `GET uri` alone is an HTTP/0.9 simple request. With `cut` (the connection ended inside the
 * line), `method uri` followed by anything is accepted with an empty version. Returns null for
 * anything else, including control characters in the URI.
 */
export function parseRequestLine(buf: Uint8Array, s: number, e: number, text: TextOf, cut = false): RequestLine | null {
  let loose = 0;
  let i = s;
  if (i < e && isWs(buf[i])) {
    i = skipWs(buf, i, e);
    loose |= LOOSE_LEADING_WS;
  }
  const ms = i;
  while (i < e && isTchar(buf[i])) i++;
  const methodEnd = i;
  if (methodEnd === ms || i >= e || !isWs(buf[i])) return null;
  i = skipWs(buf, i, e);
  const end = trimWsEnd(buf, i, e);
  if (i >= end) return null;
  let t = end;
  while (t > i && !isWs(buf[t - 1])) t--;
  let uriEnd = end;
  let version: string;
  const v = readVersion(buf, t, end);
  if (v !== null && t === i) return null;
  if (v !== null) {
    uriEnd = trimWsEnd(buf, i, t);
    version = v;
    if (versionLoose) loose |= LOOSE_VERSION;
  } else if (cut) {
    uriEnd = i;
    while (uriEnd < end && !isWs(buf[uriEnd])) uriEnd++;
    version = '';
  } else if (t === i && methodEnd - ms === 3 && buf[ms] === 0x47 && buf[ms + 1] === 0x45 && buf[ms + 2] === 0x54) {
    version = '0.9';
  } else {
    return null;
  }
  if (hasControl(buf, i, uriEnd)) return null;
  return {
    method: text(ms, methodEnd),
    uri: text(i, uriEnd),
    version,
    uriHasWhitespace: hasWs(buf, i, uriEnd),
    loose,
  };
}

/** `HTTP/d.d SP ddd [SP reason]`, the version read as in requests, blanks tolerated, the reason optional. */
export function parseStatusLine(buf: Uint8Array, s: number, e: number, text: TextOf): StatusLine | null {
  let vEnd = s;
  while (vEnd < e && !isWs(buf[vEnd])) vEnd++;
  const v = readVersion(buf, s, vEnd);
  if (v === null) return null;
  let i = vEnd;
  if (i >= e) return null;
  i = skipWs(buf, i, e);
  if (e - i < 3 || !isDigit(buf[i]) || !isDigit(buf[i + 1]) || !isDigit(buf[i + 2])) return null;
  const status = (buf[i] - 0x30) * 100 + (buf[i + 1] - 0x30) * 10 + (buf[i + 2] - 0x30);
  if (status < 100) return null;
  i += 3;
  if (i < e && !isWs(buf[i])) return null;
  const r = skipWs(buf, i, e);
  return { version: v, status, reason: text(r, trimWsEnd(buf, r, e)), loose: versionLoose ? LOOSE_VERSION : 0 };
}
