import type { Connection, Direction } from './connection.js';
import { EndpointState } from './tcp-state.js';

/** What a stream needs from its owner: delivery, accounting and reporting. */
export interface StreamHost {
  /** Bytes of delivered data each direction keeps to compare retransmissions against (0: none). */
  readonly retainBytes: number;
  deliver(conn: Connection, dir: Direction, buf: Uint8Array, off: number, len: number): void;
  gap(conn: Connection, dir: Direction, len: number, atClose: boolean): void;
  overlap(conn: Connection, dir: Direction, differs: boolean): void;
  buffered(conn: Connection, delta: number): void;
  /** A ring of `retainBytes` for a direction (pooled: connections come and go quickly). */
  takeRing(): Uint8Array;
  returnRing(ring: Uint8Array): void;
}

interface Segment {
  off: number;
  data: Uint8Array;
}

/**
 * One direction of a connection: counters, TCP state, history bookkeeping, and the
 * reassembly of its byte stream. Stream offsets are 0 at the first data byte; sequence
 * numbers map to offsets relative to the delivery point, so wrap-around needs no care
 * as long as segments lie within 2 GiB of it.
 */
export class Endpoint {
  state: number = EndpointState.INACTIVE;
  prevState: number = EndpointState.INACTIVE;
  pkts = 0;
  ipBytes = 0;
  /** Payload bytes as seen on the wire, retransmissions included. */
  payloadBytes = 0;

  hasSeq = false;
  /** Sequence number of stream offset `next`. */
  nextSeq = 0;
  /** Stream offset up to which data has been delivered (or skipped as a gap). */
  next = 0;
  /** One past the highest stream offset seen: Zeek's seq-based size. */
  maxEnd = 0;
  finSeen = false;
  finOffset = 0;

  segs: Segment[] = [];
  bufferedBytes = 0;
  private ring: Uint8Array | null = null;
  /** Ring contents are valid only from here (a gap leaves stale bytes behind). */
  private ringFrom = 0;

  // history bookkeeping
  lastSynSeq = -1;
  lastFinSeq = -1;
  lastRstSeq = -1;
  rexmits = 0;
  rexmitMark = 1;
  zeroWindows = 0;
  zeroWindowMark = 1;
  gaps = 0;
  gapMark = 1;

  constructor(
    readonly conn: Connection,
    readonly dir: Direction,
  ) {}

  setState(s: number): void {
    this.prevState = this.state;
    this.state = s;
  }

  /** Start the sequence space: `firstDataSeq` becomes stream offset 0. */
  initSeq(firstDataSeq: number): void {
    this.hasSeq = true;
    this.nextSeq = firstDataSeq >>> 0;
    this.next = 0;
    this.maxEnd = 0;
  }

  offsetOf(seq: number): number {
    return this.next + ((seq - this.nextSeq) | 0);
  }

  /** Accept payload bytes `buf[p, p+len)` at stream offset `off`. */
  segment(host: StreamHost, off: number, buf: Uint8Array, p: number, len: number): void {
    if (off + len <= this.next) {
      // Entirely old data: a retransmission. Compare with what was delivered when possible.
      if (this.differsFromDelivered(host, off, buf, p, len)) host.overlap(this.conn, this.dir, true);
      return;
    }
    if (off < this.next) {
      const cut = this.next - off;
      host.overlap(this.conn, this.dir, this.differsFromDelivered(host, off, buf, p, cut));
      p += cut;
      len -= cut;
      off = this.next;
    }
    if (off === this.next && this.segs.length === 0) {
      this.deliver(host, buf, p, len);
      return;
    }
    this.insert(host, off, buf, p, len);
    this.flush(host);
  }

  /** Skip the hole before the first buffered segment and deliver what follows it. */
  skipToFirst(host: StreamHost): void {
    const first = this.segs[0];
    if (!first) return;
    this.skipGap(host, first.off - this.next, false);
    this.flush(host);
  }

  /** The peer acknowledged up to `ack`: data below it that never arrived is a gap. */
  ackTo(host: StreamHost, ack: number): void {
    let target = this.offsetOf(ack);
    if (this.finSeen && target > this.finOffset) target = this.finOffset;
    // Acks far ahead are broken or hostile rather than evidence of loss.
    if (target <= this.next || target - this.next > 0x40000000) return;
    while (this.next < target) {
      const first = this.segs[0];
      if (first && first.off <= this.next) {
        this.flush(host);
        continue;
      }
      const end = first ? Math.min(first.off, target) : target;
      this.skipGap(host, end - this.next, false);
      this.flush(host);
    }
    if (target > this.maxEnd) this.maxEnd = target;
  }

  /** At close: deliver everything buffered, reporting holes, and the hole before a FIN. */
  drain(host: StreamHost): void {
    while (this.segs.length > 0) {
      const first = this.segs[0];
      if (first.off > this.next) this.skipGap(host, first.off - this.next, true);
      this.flush(host);
    }
    if (this.finSeen && this.finOffset > this.next && this.finOffset - this.next <= 0x40000000)
      this.skipGap(host, this.finOffset - this.next, true);
  }

  /** Give the retained-bytes ring back to the host (the connection is finished). */
  release(host: StreamHost): void {
    if (this.ring) host.returnRing(this.ring);
    this.ring = null;
  }

  private skipGap(host: StreamHost, len: number, atClose: boolean): void {
    if (len <= 0) return;
    this.next += len;
    this.nextSeq = (this.nextSeq + len) >>> 0;
    this.ringFrom = this.next;
    host.gap(this.conn, this.dir, len, atClose);
  }

  private deliver(host: StreamHost, buf: Uint8Array, p: number, len: number): void {
    host.deliver(this.conn, this.dir, buf, p, len);
    const r = host.retainBytes;
    if (r > 0) this.remember(host, r, buf, p, len);
    this.next += len;
    this.nextSeq = (this.nextSeq + len) >>> 0;
  }

  private remember(host: StreamHost, r: number, buf: Uint8Array, p: number, len: number): void {
    this.ring ??= host.takeRing();
    const ring = this.ring;
    let start = this.next;
    if (len > r) {
      p += len - r;
      start += len - r;
      len = r;
    }
    const at = start % r;
    const first = Math.min(len, r - at);
    ring.set(buf.subarray(p, p + first), at);
    if (first < len) ring.set(buf.subarray(p + first, p + len), 0);
  }

  /** Whether bytes at [off, off+len) (all below `next`) differ from the retained delivered bytes. */
  private differsFromDelivered(host: StreamHost, off: number, buf: Uint8Array, p: number, len: number): boolean {
    const ring = this.ring;
    if (!ring) return false;
    const r = host.retainBytes;
    const from = Math.max(off, this.ringFrom, this.next - r);
    const to = Math.min(off + len, this.next);
    for (let o = from; o < to; o++) if (ring[o % r] !== buf[p + (o - off)]) return true;
    return false;
  }

  /** Buffer the parts of [off, off+len) not already buffered; the first bytes received win. */
  private insert(host: StreamHost, off: number, buf: Uint8Array, p: number, len: number): void {
    const segs = this.segs;
    const end = off + len;
    let pos = off;
    let overlapped = false;
    let differs = false;
    let added = 0;
    let i = 0;
    while (i < segs.length && segs[i].off + segs[i].data.length <= off) i++;
    const pieces: Segment[] = [];
    for (let j = i; j < segs.length && pos < end; j++) {
      const s = segs[j];
      const sEnd = s.off + s.data.length;
      if (s.off >= end) break;
      if (s.off > pos) pieces.push({ off: pos, data: buf.slice(p + (pos - off), p + (s.off - off)) });
      const os = Math.max(s.off, pos);
      const oe = Math.min(sEnd, end);
      overlapped = true;
      if (!differs) {
        for (let o = os; o < oe; o++) {
          if (s.data[o - s.off] !== buf[p + (o - off)]) {
            differs = true;
            break;
          }
        }
      }
      pos = Math.max(pos, sEnd);
    }
    if (pos < end) pieces.push({ off: pos, data: buf.slice(p + (pos - off), p + len) });
    for (const piece of pieces) {
      let k = i;
      while (k < segs.length && segs[k].off < piece.off) k++;
      segs.splice(k, 0, piece);
      added += piece.data.length;
    }
    if (added > 0) {
      this.bufferedBytes += added;
      host.buffered(this.conn, added);
    }
    if (overlapped) host.overlap(this.conn, this.dir, differs);
  }

  /** Deliver buffered segments that now start at or before the delivery point. */
  private flush(host: StreamHost): void {
    const segs = this.segs;
    let removed = 0;
    let n = 0;
    while (n < segs.length && segs[n].off <= this.next) {
      const s = segs[n++];
      const end = s.off + s.data.length;
      if (end > this.next) {
        const start = this.next - s.off;
        this.deliver(host, s.data, start, s.data.length - start);
      }
      removed += s.data.length;
    }
    if (n > 0) {
      segs.splice(0, n);
      this.bufferedBytes -= removed;
      host.buffered(this.conn, -removed);
    }
  }
}
