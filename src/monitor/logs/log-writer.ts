import { formatJsonRow } from './json-format.js';
import type { LogTarget } from './log-target.js';
import type { LogSchema, LogValue } from './schema.js';
import { formatTsvClose, formatTsvHeader, formatTsvRow } from './tsv-format.js';

export type LogFormat = 'tsv' | 'json';

export interface LogWriterOptions {
  format?: LogFormat;
  /** Clock for `#open`/`#close` (default: wall clock, seconds). */
  now?: () => number;
}

/**
 * Formats rows for a target. A TSV log gets its header before its first row and `#close` at
 * the end, like Zeek; a log with no rows is never created.
 */
export class ZeekLogWriter {
  readonly format: LogFormat;
  private readonly now: () => number;
  private readonly opened = new Set<string>();
  private readonly counts = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly target: LogTarget,
    opts: LogWriterOptions = {},
  ) {
    this.format = opts.format ?? 'tsv';
    this.now = opts.now ?? (() => Date.now() / 1000);
  }

  write(schema: LogSchema, values: readonly LogValue[]): void {
    if (this.closed) return;
    const path = schema.path;
    if (!this.opened.has(path)) {
      this.opened.add(path);
      if (this.format === 'tsv') this.target.write(path, formatTsvHeader(schema, this.now()));
    }
    this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
    this.target.write(path, this.format === 'tsv' ? formatTsvRow(schema, values) : formatJsonRow(schema, values));
  }

  flush(): void {
    if (!this.closed) this.target.flush?.();
  }

  /** Rows written per log path. */
  rowCounts(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.format === 'tsv') {
      const ts = this.now();
      for (const path of this.opened) this.target.write(path, formatTsvClose(ts));
    }
    this.target.close();
  }
}
