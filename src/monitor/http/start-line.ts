import { isTchar, isWs, skipWs, trimWsEnd } from '../stream/index.js';

/** Decodes `buf[s, e)` of the line being parsed; the caller decides how (see MessageReader.text). */
export type TextOf = (s: number, e: number) => string;

export interface RequestLine {
  method: string;
  uri: string;
  /** `1.1`, `1.0`, ... or `0.9` when the line carries no version. */
  version: string;
  uriHasWhitespace: boolean;
}

export interface StatusLine {
  version: string;
  status: number;
  reason: string;
}

/** `HTTP/d.d` at `buf[s, e)` exactly. */
function isHttpVersion(buf: Uint8Array, s: number, e: number): boolean {
  return (
    e - s === 8 &&
    buf[s] === 0x48 &&
    buf[s + 1] === 0x54 &&
    buf[s + 2] === 0x54 &&
    buf[s + 3] === 0x50 &&
    buf[s + 4] === 0x2f &&
    isDigit(buf[s + 5]) &&
    buf[s + 6] === 0x2e &&
    isDigit(buf[s + 7])
  );
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
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
 * `method SP uri SP HTTP/d.d`, tolerating runs of blanks; the version is the last token, so a URI
 * with blanks in it is still found (and flagged). `GET uri` alone is an HTTP/0.9 simple request.
 * Returns null for anything else, including control characters in the URI.
 */
export function parseRequestLine(buf: Uint8Array, s: number, e: number, text: TextOf): RequestLine | null {
  let i = s;
  while (i < e && isTchar(buf[i])) i++;
  const methodEnd = i;
  if (methodEnd === s || i >= e || !isWs(buf[i])) return null;
  i = skipWs(buf, i, e);
  const end = trimWsEnd(buf, i, e);
  if (i >= end) return null;
  let t = end;
  while (t > i && !isWs(buf[t - 1])) t--;
  let uriEnd = end;
  let version: string;
  if (isHttpVersion(buf, t, end)) {
    if (t === i) return null;
    uriEnd = trimWsEnd(buf, i, t);
    version = text(t + 5, end);
  } else if (t === i && methodEnd - s === 3 && buf[s] === 0x47 && buf[s + 1] === 0x45 && buf[s + 2] === 0x54) {
    version = '0.9';
  } else {
    return null;
  }
  if (hasControl(buf, i, uriEnd)) return null;
  return {
    method: text(s, methodEnd),
    uri: text(i, uriEnd),
    version,
    uriHasWhitespace: hasWs(buf, i, uriEnd),
  };
}

/** `HTTP/d.d SP ddd [SP reason]`, tolerating runs of blanks and a missing reason. */
export function parseStatusLine(buf: Uint8Array, s: number, e: number, text: TextOf): StatusLine | null {
  if (!isHttpVersion(buf, s, Math.min(e, s + 8))) return null;
  let i = s + 8;
  if (i >= e || !isWs(buf[i])) return null;
  i = skipWs(buf, i, e);
  if (e - i < 3 || !isDigit(buf[i]) || !isDigit(buf[i + 1]) || !isDigit(buf[i + 2])) return null;
  const status = (buf[i] - 0x30) * 100 + (buf[i + 1] - 0x30) * 10 + (buf[i + 2] - 0x30);
  if (status < 100) return null;
  i += 3;
  if (i < e && !isWs(buf[i])) return null;
  const r = skipWs(buf, i, e);
  return { version: text(s + 5, s + 8), status, reason: text(r, trimWsEnd(buf, r, e)) };
}
