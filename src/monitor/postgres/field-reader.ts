/**
 * Reads the fields of one protocol message, totally: reading past the end never throws, it sets
 * `short` and yields zeros or what is there. Decoders check `short` once at the end.
 */
export class FieldReader {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;
  /** A read went past the end of the message (or of what was kept of it). */
  short = false;

  reset(buf: Buffer, start: number, end: number): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.short = false;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  byte(): number {
    if (this.pos + 1 > this.end) return this.fail();
    return this.buf[this.pos++];
  }

  int16(): number {
    if (this.pos + 2 > this.end) return this.fail();
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    if (this.pos + 4 > this.end) return this.fail();
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A NUL-terminated UTF-8 string; without a NUL, the rest of the message (and `short`). */
  cstr(): string {
    const nul = this.buf.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) {
      const s = this.buf.toString('utf8', this.pos, this.end);
      this.pos = this.end;
      this.short = true;
      return s;
    }
    const s = nul > this.pos ? this.buf.toString('utf8', this.pos, nul) : '';
    this.pos = nul + 1;
    return s;
  }

  /** Advances over `n` bytes; returns where they started. Past the end: clamps and sets `short`. */
  advance(n: number): number {
    const at = this.pos;
    if (n < 0 || at + n > this.end) {
      this.pos = this.end;
      this.short = true;
    } else this.pos = at + n;
    return at;
  }

  private fail(): number {
    this.pos = this.end;
    this.short = true;
    return 0;
  }
}
