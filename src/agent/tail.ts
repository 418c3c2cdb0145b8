/**
 * Follows a growing text file from where it was when following began: only new lines. A file
 * that shrinks was truncated (a restarted monitor reopens its logs) and is read from its
 * start; one whose inode changed was replaced and is read from the start of the new one. A
 * missing file is waited for. A partial last line waits for its newline.
 */
import type { Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

/** Longest line kept whole; longer ones are cut (and marked) so one line cannot stall a period. */
export const MAX_LINE = 16 * 1024;

export interface TailLine {
  text: string;
  truncated?: boolean;
}

export class FileTail {
  private offset = -1;
  private ino = -1;
  private partial = '';
  /** The file's size at the last read: more than the offset means a capped read left some for the next. */
  private size = 0;
  // A multi-byte character cut by the read size waits for its other bytes.
  private decoder = new StringDecoder('utf8');

  constructor(
    readonly path: string,
    /** Read at most this much per call, so a burst is shipped over several periods, not at once. */
    private readonly maxBytes = 1 << 20,
  ) {}

  /** Starts following at the current end (or at 0 for a file that does not exist yet). */
  async begin(): Promise<void> {
    try {
      const s = await stat(this.path);
      this.offset = s.size;
      this.ino = s.ino;
    } catch {
      this.offset = 0;
      this.ino = -1;
    }
    this.partial = '';
    this.decoder = new StringDecoder('utf8');
  }

  /** Whether the last read stopped at its cap with more of the file still unread. */
  get behind(): boolean {
    return this.size > this.offset;
  }

  async read(): Promise<TailLine[]> {
    if (this.offset < 0) await this.begin();
    let s: Stats;
    try {
      s = await stat(this.path);
    } catch {
      this.size = this.offset;
      return [];
    }
    if ((this.ino !== -1 && s.ino !== this.ino) || s.size < this.offset) {
      this.offset = 0;
      this.partial = '';
      this.decoder = new StringDecoder('utf8');
    }
    this.ino = s.ino;
    this.size = s.size;
    if (s.size === this.offset) return [];
    const len = Math.min(s.size - this.offset, this.maxBytes);
    const buf = Buffer.alloc(len);
    const fh = await open(this.path, 'r');
    let n = 0;
    try {
      n = (await fh.read(buf, 0, len, this.offset)).bytesRead;
    } finally {
      await fh.close();
    }
    this.offset += n;
    // The file shrank between stat and read: the next read sees it truncated, not something to catch up on.
    if (n < len) this.size = this.offset;
    const text = this.partial + this.decoder.write(buf.subarray(0, n));
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    const out: TailLine[] = [];
    for (const p of parts) {
      const line = p.endsWith('\r') ? p.slice(0, -1) : p;
      if (line === '') continue;
      out.push(line.length > MAX_LINE ? { text: line.slice(0, MAX_LINE), truncated: true } : { text: line });
    }
    if (this.partial.length > MAX_LINE) {
      out.push({ text: this.partial.slice(0, MAX_LINE), truncated: true });
      this.partial = '';
    }
    return out;
  }
}
