import { LineReader, isWs, skipWs, type Dir } from '../stream/index.js';
import type { NatsOptions } from './types.js';

export const ST_LINE = 0;
export const ST_PAYLOAD = 1;
/** After a payload: CR LF (or a bare LF) must follow. */
export const ST_CR = 2;
export const ST_LF = 3;
export const ST_STOPPED = 4;

/** Control-line fields kept: the operation and up to 5 arguments (HMSG), plus one to detect excess. */
const MAX_FIELDS = 7;

/** One direction: control lines, and the payload that PUB/HPUB/MSG/HMSG announce. */
export class NatsHalf {
  state = ST_LINE;
  readonly lines: LineReader;
  readonly fs = new Int32Array(MAX_FIELDS);
  readonly fe = new Int32Array(MAX_FIELDS);
  nf = 0;
  // The message whose payload is being read.
  subject = '';
  reply = '';
  sid = '';
  size = 0;
  hdrSize = 0;
  got = 0;
  incomplete = false;
  private header: Buffer = Buffer.alloc(0);
  headerKept = 0;
  readonly prefix: Uint8Array;
  prefixLen = 0;

  constructor(
    readonly dir: Dir,
    readonly opts: NatsOptions,
  ) {
    this.lines = new LineReader(opts.maxControlLine);
    this.prefix = new Uint8Array(Math.max(0, opts.payloadPrefixBytes | 0));
  }

  /** Splits `line[s, e)` at runs of blanks; returns false if there are more than MAX_FIELDS - 1 fields. */
  split(line: Uint8Array, s: number, e: number): boolean {
    let n = 0;
    let i = skipWs(line, s, e);
    while (i < e) {
      if (n === MAX_FIELDS) return false;
      let j = i;
      while (j < e && !isWs(line[j])) j++;
      this.fs[n] = i;
      this.fe[n] = j;
      n++;
      i = skipWs(line, j, e);
    }
    this.nf = n;
    return n < MAX_FIELDS;
  }

  beginPayload(subject: string, reply: string, sid: string, hdrSize: number, size: number): void {
    this.subject = subject;
    this.reply = reply;
    this.sid = sid;
    this.hdrSize = hdrSize;
    this.size = size;
    this.got = 0;
    this.headerKept = 0;
    this.prefixLen = 0;
    this.incomplete = false;
    this.state = ST_PAYLOAD;
  }

  /** Takes `buf[s, s+n)` of the payload: header bytes (kept if small enough), then a body prefix. */
  take(buf: Buffer, s: number, n: number): void {
    let i = s;
    const end = s + n;
    if (this.got < this.hdrSize) {
      const k = Math.min(end - i, this.hdrSize - this.got);
      if (this.hdrSize <= this.opts.maxHeaderBytes && !this.incomplete) {
        if (this.header.length < this.hdrSize) this.header = Buffer.allocUnsafe(Math.max(this.hdrSize, 256));
        buf.copy(this.header, this.headerKept, i, i + k);
        this.headerKept += k;
      }
      this.got += k;
      i += k;
    }
    if (i < end) {
      const room = this.prefix.length - this.prefixLen;
      if (room > 0 && !this.incomplete) {
        const k = Math.min(room, end - i);
        this.prefix.set(buf.subarray(i, i + k), this.prefixLen);
        this.prefixLen += k;
      }
      this.got += end - i;
    }
  }

  headerBlock(): Buffer {
    return this.header;
  }
}
