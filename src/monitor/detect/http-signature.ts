import { SNIFF_WINDOW, Sig, startsWithWord, type SigResult } from './signature.js';

/**
 * Methods trusted without seeing the version: RFC 9110's, PATCH, WebDAV's, and PRI (the HTTP/2
 * connection preface, which a prior-knowledge client sends instead of a request).
 */
const METHODS: readonly string[] = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'PRI',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'REPORT',
  'SEARCH',
];
/** Longest method token looked at: longer ones are not HTTP for our purpose. */
const MAX_METHOD = 16;

function knownMethod(buf: Uint8Array, off: number, n: number): boolean {
  for (const name of METHODS) {
    if (name.length !== n) continue;
    let same = true;
    for (let i = 0; i < n && same; i++) same = buf[off + i] === name.charCodeAt(i);
    if (same) return true;
  }
  return false;
}

function targetByte(b: number): boolean {
  return (b > 0x20 && b < 0x7f) || b >= 0x80;
}

/** First byte of a request target: origin-form `/`, asterisk-form `*`, absolute-form or authority-form (a letter or digit). */
function targetStart(b: number): boolean {
  return b === 0x2f || b === 0x2a || (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5b;
}

/**
 * An HTTP request line: a method (upper-case letters), one space, a request target, one space
 * and `HTTP/`. For a known method a target still running at the window's end is enough (long
 * URIs are common; the rest is the HTTP parser's to judge); any other token needs the version,
 * so that a text protocol's `WORD arg arg` is not taken for HTTP.
 */
export function matchHttpRequest(buf: Uint8Array, off: number, len: number): SigResult {
  const end = off + Math.min(len, SNIFF_WINDOW);
  const full = end - off >= SNIFF_WINDOW;
  let i = off;
  while (i < end && i - off < MAX_METHOD && buf[i] >= 0x41 && buf[i] <= 0x5a) i++;
  if (i === end) return full ? Sig.NO : Sig.MORE;
  const methodLen = i - off;
  if (methodLen === 0 || buf[i] !== 0x20) return Sig.NO;
  i++;
  if (i === end) return full ? Sig.NO : Sig.MORE;
  if (!targetStart(buf[i])) return Sig.NO;
  while (i < end && targetByte(buf[i])) i++;
  if (i === end) return !full ? Sig.MORE : knownMethod(buf, off, methodLen) ? Sig.YES : Sig.NO;
  if (buf[i] !== 0x20) return Sig.NO;
  const version = startsWithWord(buf, i + 1, end - i - 1, 'HTTP/', false);
  if (version !== Sig.MORE || !full) return version;
  // The window ended inside the version: as with a long target.
  return knownMethod(buf, off, methodLen) ? Sig.YES : Sig.NO;
}

const DIGIT = -1;
/** What follows `HTTP/` in a status line; DIGIT stands for any decimal digit. */
const STATUS_SHAPE: readonly number[] = [DIGIT, 0x2e, DIGIT, 0x20, DIGIT, DIGIT, DIGIT];

/** An HTTP/1.x status line's start: `HTTP/` DIGIT `.` DIGIT SP DIGIT DIGIT DIGIT. */
export function matchHttpStatus(buf: Uint8Array, off: number, len: number): SigResult {
  const head = startsWithWord(buf, off, len, 'HTTP/', false);
  if (head !== Sig.YES) return head;
  for (let k = 0; k < STATUS_SHAPE.length; k++) {
    if (5 + k >= len) return Sig.MORE;
    const b = buf[off + 5 + k];
    const want = STATUS_SHAPE[k];
    if (want === DIGIT ? b < 0x30 || b > 0x39 : b !== want) return Sig.NO;
  }
  return Sig.YES;
}
