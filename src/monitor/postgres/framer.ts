import type { Dir } from '../stream/index.js';
import { PG_WEIRDS as W, type PgOptions } from './types.js';

/** Frontend before StartupMessage: messages without a type byte (Int32 length, Int32 code). */
export const F_UNTYPED = 0;
/** Backend while the client waits for its one-byte answer to SSLRequest/GSSENCRequest. */
export const F_ANSWER = 1;
export const F_TYPED = 2;
/** Nothing more is expected (after CancelRequest or Terminate); more data is reported once. */
export const F_DONE = 3;
export const F_STOPPED = 4;

/** Startup packets are at most 10000 bytes (PostgreSQL's MAX_STARTUP_PACKET_LENGTH). */
const MAX_STARTUP = 10000;

export interface FramerOwner {
  /** Whether the body of message `type` is decoded (and so must be kept). */
  wants(dir: Dir, type: number): boolean;
  /** A whole message: `buf[s, e)` is what was kept of its body; `cut` if that is not all of it. */
  message(dir: Dir, type: number, buf: Buffer, s: number, e: number, cut: boolean, bodyLen: number): void;
  /** A byte where a one-byte answer to SSLRequest/GSSENCRequest may be; false if it is not one. */
  answer(byte: number): boolean;
  /** The first byte of a frontend message in F_UNTYPED that cannot start a startup packet. */
  untypedStart(byte: number): void;
  weird(name: string, detail: string, dir: Dir): void;
}

/** Untyped messages are reported with this pseudo type. */
export const UNTYPED = -1;

/**
 * Cuts one direction into messages: `type(1) length(4) body`, or `length(4) body` before
 * startup. Bodies are kept only when decoded and only up to `maxDecodeBytes`; a body wholly
 * inside one piece is handed over without a copy.
 */
export class PgFramer {
  state: number;
  private readonly hdr = Buffer.alloc(5);
  private hdrLen = 0;
  private inBody = false;
  private type = 0;
  private bodyLen = 0;
  private got = 0;
  private keep = 0;
  private kept = 0;
  private body: Buffer = Buffer.alloc(0);
  private doneReported = false;

  constructor(
    readonly dir: Dir,
    initial: number,
    private readonly opts: PgOptions,
    private readonly owner: FramerOwner,
  ) {
    this.state = initial;
  }

  stop(): void {
    this.state = F_STOPPED;
  }

  /** In the middle of a message (for end-of-connection reporting). */
  get midMessage(): boolean {
    return this.hdrLen > 0 || this.inBody;
  }

  feed(b: Buffer): void {
    let pos = 0;
    while (pos < b.length) {
      const st = this.state;
      if (st === F_STOPPED) return;
      if (st === F_DONE) {
        if (!this.doneReported) {
          this.doneReported = true;
          this.owner.weird(W.dataAfterEnd, `${this.dir === 0 ? 'client' : 'server'} sent data after the conversation ended`, this.dir);
        }
        return;
      }
      if (this.inBody) {
        pos = this.readBody(b, pos);
        continue;
      }
      if (st === F_ANSWER && this.hdrLen === 0) {
        if (this.owner.answer(b[pos])) pos++;
        else this.state = F_TYPED;
        continue;
      }
      if (st === F_UNTYPED && this.hdrLen === 0 && b[pos] !== 0) {
        this.owner.untypedStart(b[pos]);
        if (this.state === F_UNTYPED) this.state = F_STOPPED;
        continue;
      }
      const need = st === F_UNTYPED ? 4 : 5;
      while (this.hdrLen < need && pos < b.length) this.hdr[this.hdrLen++] = b[pos++];
      if (this.hdrLen === need) this.startBody(need);
    }
  }

  private startBody(need: number): void {
    const untyped = need === 4;
    const len = this.hdr.readInt32BE(need - 4);
    this.type = untyped ? UNTYPED : this.hdr[0];
    this.hdrLen = 0;
    if (untyped ? len < 8 || len > MAX_STARTUP : len < 4 || len > this.opts.maxMessageBytes) {
      const what = untyped ? 'startup packet' : `message '${printableType(this.type)}'`;
      this.owner.weird(untyped ? W.badStartup : W.badLength, `${what} with length ${len}`, this.dir);
      this.state = F_STOPPED;
      return;
    }
    this.bodyLen = len - 4;
    this.got = 0;
    this.kept = 0;
    this.keep = this.owner.wants(this.dir, this.type) ? Math.min(this.bodyLen, this.opts.maxDecodeBytes) : 0;
    this.inBody = true;
    if (this.bodyLen === 0) this.finish(this.hdr, 0, 0);
  }

  private readBody(b: Buffer, pos: number): number {
    const n = Math.min(this.bodyLen - this.got, b.length - pos);
    if (this.got === 0 && n === this.bodyLen && this.keep === this.bodyLen) {
      this.got = n;
      this.finish(b, pos, pos + n);
      return pos + n;
    }
    const k = Math.min(n, this.keep - this.kept);
    if (k > 0) {
      if (this.body.length < this.keep)
        this.body = Buffer.allocUnsafe(Math.max(this.keep, Math.min(this.body.length * 2, this.opts.maxDecodeBytes)));
      b.copy(this.body, this.kept, pos, pos + k);
      this.kept += k;
    }
    this.got += n;
    if (this.got === this.bodyLen) this.finish(this.body, 0, this.kept);
    return pos + n;
  }

  private finish(buf: Buffer, s: number, e: number): void {
    this.inBody = false;
    const cut = e - s < this.bodyLen;
    this.owner.message(this.dir, this.type, buf, s, e, cut, this.bodyLen);
    // A big message should not pin a big buffer for the rest of the connection.
    if (this.body.length > 64 * 1024 && this.state !== F_STOPPED) this.body = Buffer.alloc(0);
  }

  gap(len: number): void {
    if (this.state === F_STOPPED || this.state === F_DONE) return;
    if (this.inBody && this.hdrLen === 0 && len <= this.bodyLen - this.got) {
      this.owner.weird(W.contentGap, `${len} bytes missing from message '${printableType(this.type)}'`, this.dir);
      // Bytes after the hole would be misplaced: keep what came before it only.
      this.keep = this.kept;
      this.got += len;
      if (this.got === this.bodyLen) this.finish(this.body, 0, this.kept);
      return;
    }
    this.owner.weird(W.gapLostSync, `${len} byte gap between messages; stopped parsing this direction`, this.dir);
    this.state = F_STOPPED;
  }
}

export function printableType(t: number): string {
  if (t === UNTYPED) return 'startup';
  return t >= 0x20 && t < 0x7f && t !== 0x27 && t !== 0x5c ? String.fromCharCode(t) : `\\x${t.toString(16).padStart(2, '0')}`;
}
