import { CR, LF, indexOfByte, isWs, skipWs, startsWithAscii, trimWsEnd } from '../stream/index.js';
import type { NatsHeader } from './types.js';

export interface HeaderBlock {
  status: string;
  headers: NatsHeader[];
  /** Why the block is malformed, or ''. */
  problem: string;
}

/** End of the line starting at `pos` (a CR before the LF dropped), or -1 without an LF before `end`. */
function lineEnd(buf: Uint8Array, pos: number, end: number): number {
  const lf = indexOfByte(buf, LF, pos, end);
  if (lf < 0) return -1;
  return lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
}

/** Position after the LF that ends the line ending at `le`. */
function afterLine(buf: Uint8Array, le: number): number {
  return buf[le] === CR ? le + 2 : le + 1;
}

/** `NATS/1.0[ status[ description]]` CRLF, then `Name: value` lines, then an empty line. */
export function parseHeaderBlock(buf: Buffer, start: number, end: number): HeaderBlock {
  const out: HeaderBlock = { status: '', headers: [], problem: '' };
  const firstEnd = lineEnd(buf, start, end);
  if (firstEnd < 0 || !startsWithAscii(buf, start, firstEnd, 'NATS/1.0')) {
    out.problem = 'header block does not start with NATS/1.0';
    return out;
  }
  const st = skipWs(buf, start + 8, firstEnd);
  let se = st;
  while (se < firstEnd && !isWs(buf[se])) se++;
  out.status = buf.toString('utf8', st, se);
  let pos = afterLine(buf, firstEnd);
  for (;;) {
    const le = lineEnd(buf, pos, end);
    if (le < 0) {
      out.problem = 'header block not terminated by an empty line';
      return out;
    }
    const ls = pos;
    pos = afterLine(buf, le);
    if (le === ls) break;
    const colon = indexOfByte(buf, 0x3a, ls, le);
    const nameEnd = colon < 0 ? ls : trimWsEnd(buf, ls, colon);
    if (nameEnd <= ls) {
      if (!out.problem) out.problem = 'header line without a name and colon';
      continue;
    }
    const vs = skipWs(buf, colon + 1, le);
    out.headers.push([buf.toString('utf8', ls, nameEnd), buf.toString('utf8', vs, trimWsEnd(buf, vs, le))]);
  }
  if (pos < end && !out.problem) out.problem = 'bytes after the end of the header block';
  return out;
}
