import { CR, LF } from './bytes.js';

/** `next` found no LF yet: every byte was kept and the line continues in the next piece. */
export const LINE_PARTIAL = -1;
/** The line passed the limit; what was kept is dropped. */
export const LINE_TOO_LONG = -2;

/**
 * Splits a byte stream into lines ending in LF (a CR before the LF is dropped, a bare LF accepted
 * as real servers do). A line wholly inside one piece is returned as a view of that piece, with
 * no copy; only a line that straddles pieces is copied, into a buffer bounded by `maxLen`.
 *
 * The limit counts the raw bytes before the LF (a CR included), so the verdict is the same however
 * the stream was split.
 */
export class LineReader {
  /** After `next` returned a position: the line is `line[start, end)`, valid until the next call. */
  line: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;
  /** Bytes the last complete line took on the wire, CR and LF included. */
  raw = 0;
  private acc: Buffer = Buffer.alloc(0);
  private accLen = 0;

  constructor(readonly maxLen: number) {}

  /** Bytes of an unfinished line kept from earlier pieces. */
  get pending(): number {
    return this.accLen;
  }

  reset(): void {
    this.accLen = 0;
  }

  /** Reads from `buf[pos..]`; returns the position after the LF, or LINE_PARTIAL, or LINE_TOO_LONG. */
  next(buf: Buffer, pos: number): number {
    const lf = buf.indexOf(LF, pos);
    if (lf < 0) {
      const n = buf.length - pos;
      if (this.accLen + n > this.maxLen) {
        this.accLen = 0;
        return LINE_TOO_LONG;
      }
      this.append(buf, pos, buf.length);
      return LINE_PARTIAL;
    }
    if (this.accLen + (lf - pos) > this.maxLen) {
      this.accLen = 0;
      return LINE_TOO_LONG;
    }
    this.raw = this.accLen + (lf - pos) + 1;
    if (this.accLen === 0) {
      this.line = buf;
      this.start = pos;
      this.end = lf;
    } else {
      this.append(buf, pos, lf);
      this.line = this.acc;
      this.start = 0;
      this.end = this.accLen;
      this.accLen = 0;
    }
    if (this.end > this.start && this.line[this.end - 1] === CR) this.end--;
    return lf + 1;
  }

  /** Discards up to and including the next LF; returns the position after it or LINE_PARTIAL. */
  skipLine(buf: Buffer, pos: number): number {
    this.accLen = 0;
    const lf = buf.indexOf(LF, pos);
    return lf < 0 ? LINE_PARTIAL : lf + 1;
  }

  private append(buf: Buffer, from: number, to: number): void {
    const need = this.accLen + (to - from);
    if (need > this.acc.length) {
      let size = Math.max(256, this.acc.length * 2);
      while (size < need) size *= 2;
      const grown = Buffer.allocUnsafe(Math.min(size, Math.max(need, this.maxLen)));
      this.acc.copy(grown, 0, 0, this.accLen);
      this.acc = grown;
    }
    buf.copy(this.acc, this.accLen, from, to);
    this.accLen = need;
  }
}
