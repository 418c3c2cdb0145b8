import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Where formatted log text goes, one stream per log path (conn, http, ...). */
export interface LogTarget {
  write(path: string, text: string): void;
  /** Push buffered rows out now (live capture does this every second so logs are current). */
  flush?(): void;
  /** Flush and release; called once. */
  close(): void;
}

/** Keeps every log in memory (tests, and callers that ship logs elsewhere). */
export class MemoryLogTarget implements LogTarget {
  readonly texts = new Map<string, string[]>();

  write(path: string, text: string): void {
    let list = this.texts.get(path);
    if (!list) {
      list = [];
      this.texts.set(path, list);
    }
    list.push(text);
  }

  /** The whole text written to `path` ('' if none). */
  text(path: string): string {
    return (this.texts.get(path) ?? []).join('');
  }

  /** Lines of `path`, without their newlines. */
  lines(path: string): string[] {
    const t = this.text(path);
    return t === '' ? [] : t.replace(/\n$/, '').split('\n');
  }

  close(): void {}
}

/** Discards everything (benchmarks measure the formatting, not the disk). */
export class NullLogTarget implements LogTarget {
  bytes = 0;
  write(_path: string, text: string): void {
    this.bytes += text.length;
  }
  close(): void {}
}

const FLUSH_AT = 64 * 1024;

/**
 * Writes `<dir>/<path>.log` files. Text is buffered per file and written synchronously in
 * large pieces: the monitor is single-threaded and a log must never lag far behind packets.
 */
export class DirLogTarget implements LogTarget {
  private readonly files = new Map<string, { fd: number; buf: string[]; size: number }>();
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly suffix = '.log',
  ) {
    mkdirSync(dir, { recursive: true });
  }

  write(path: string, text: string): void {
    if (this.closed) return;
    let f = this.files.get(path);
    if (!f) {
      f = { fd: openSync(join(this.dir, path + this.suffix), 'w'), buf: [], size: 0 };
      this.files.set(path, f);
    }
    f.buf.push(text);
    f.size += text.length;
    if (f.size >= FLUSH_AT) this.flushFile(f);
  }

  flush(): void {
    for (const f of this.files.values()) this.flushFile(f);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    for (const f of this.files.values()) closeSync(f.fd);
    this.closed = true;
  }

  private flushFile(f: { fd: number; buf: string[]; size: number }): void {
    if (f.size === 0) return;
    writeSync(f.fd, f.buf.join(''));
    f.buf = [];
    f.size = 0;
  }
}
