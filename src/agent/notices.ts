/**
 * The notices path: every monitor's notice.log, followed as it is written, each new row
 * handed over as a 'notice' record at once. Notices are alerts, not context: the controller
 * reacts to them within milliseconds, so they do not wait for a collector's period or level.
 *
 * A row is seen through fs.watch on notice.log (on its folder until the file exists), with a
 * slow poll behind it for an event that was missed, a file replaced, or a folder that does not
 * exist yet. Reads are capped
 * (a burst is handed over in pieces, one right after the other) and so is a line: a giant line
 * is cut, counted and skipped, as is a row that is not a notice.
 */
import { type FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';
import type { Draft } from './collector.js';
import { instancesByIp, type MonitorRow, parseRow, rowAbout, rowTs } from './monitor-row.js';
import type { InstanceSpec, MonitorSpec } from './options.js';
import { FileTail, type TailLine } from './tail.js';

const NOTICE_LOG_FILE = 'notice.log';
/** The poll behind the watch: only for what the watch missed, so it can be slow. */
const NOTICE_POLL_MS = 1000;
/** At most this much of a notice.log per read. */
const NOTICE_READ_BYTES = 256 * 1024;

export interface NoticeStats {
  /** Notice rows handed over. */
  rows: number;
  /** Lines that were not a notice row (not JSON, no `note`), skipped. */
  malformed: number;
  /** Lines longer than a row can be, cut and skipped. */
  cut: number;
  /** Reads that failed (the file vanished between looking and reading, a permission): retried at the next event. */
  readErrors: number;
}

export interface NoticeWatchOptions {
  monitors: MonitorSpec[];
  instances: InstanceSpec[];
  /** Given the notices of one read, in file order; `seenAt` is when the agent read them. */
  deliver: (drafts: Draft[]) => void;
  pollMs?: number;
  maxReadBytes?: number;
  now?: () => number;
  /** Told once per monitor of the first skipped line, so a monitor writing rows of another shape is visible. */
  log?: (line: string) => void;
}

/**
 * A notice row's record: the connection uid as provenance, the instance of its addresses, and
 * what the controller needs to act without reading the row: the note, the message, source,
 * destination and port, and the structured evidence the monitor wrote (as JSON in `sub`).
 * Null for a row that is not a notice.
 */
export function noticeDraft(monitor: string, row: MonitorRow, byIp: Map<string, InstanceSpec>, seenAt: number): Draft | null {
  if (typeof row.note !== 'string' || row.note === '') return null;
  const evidence = evidenceOf(row.sub);
  return {
    kind: 'notice',
    ts: rowTs(row, seenAt),
    ...rowAbout(row, byIp),
    data: {
      monitor,
      note: row.note,
      msg: row.msg,
      sub: row.sub,
      // A notice about no single source (a SYN flood counted over all sources) says so: `*`, not
      // the address of the connection that happened to cross the threshold, which a controller would block.
      src: row.src ?? (evidence?.src === '*' ? '*' : row['id.orig_h']),
      dst: row.dst ?? row['id.resp_h'],
      p: row.p ?? row['id.resp_p'],
      // The source port: flowtap's own probe connects from a reserved range (net/probe-ports.ts).
      ...(typeof row['id.orig_p'] === 'number' ? { sp: row['id.orig_p'] } : {}),
      ...(typeof row.n === 'number' ? { n: row.n } : {}),
      ...(evidence ? { evidence } : {}),
      seenAt,
    },
  };
}

/** The monitor writes a notice's evidence as a JSON object in `sub`; anything else there is only text. */
function evidenceOf(sub: unknown): Record<string, unknown> | null {
  if (typeof sub !== 'string' || !sub.startsWith('{')) return null;
  const v = parseRow(sub);
  return v && Object.keys(v).length > 0 ? v : null;
}

class MonitorNotices {
  readonly tail: FileTail;
  private watcher: FSWatcher | null = null;
  private reading: Promise<void> | null = null;
  private again = false;
  private warned = false;

  constructor(
    readonly monitor: MonitorSpec,
    private readonly o: Required<Pick<NoticeWatchOptions, 'deliver' | 'now' | 'log'>>,
    private readonly byIp: Map<string, InstanceSpec>,
    private readonly stats: NoticeStats,
    maxReadBytes: number,
  ) {
    this.tail = new FileTail(join(monitor.logDir, NOTICE_LOG_FILE), maxReadBytes);
  }

  /**
   * Watches notice.log itself once it exists: the other logs of the folder grow with every
   * request, and a folder watch would wake the agent for each of their writes. Until the file
   * exists the folder is watched for its creation. A file replaced or removed ends the watch;
   * the poll sets it up again. False when neither exists (yet): the poll tries again.
   */
  watch(): boolean {
    if (this.watcher) return true;
    const file = join(this.monitor.logDir, NOTICE_LOG_FILE);
    try {
      this.watcher = watch(file, { persistent: false }, (event) => {
        if (event === 'rename') this.unwatch();
        this.wake();
      });
    } catch {
      try {
        this.watcher = watch(this.monitor.logDir, { persistent: false }, (_event, name) => {
          // Other logs of the folder change all the time; a null name may be ours.
          if (name !== null && name !== NOTICE_LOG_FILE) return;
          this.unwatch();
          this.watch();
          this.wake();
        });
      } catch {
        return false;
      }
    }
    // A folder removed (a monitor's run folder cleaned) ends the watch: the poll sets it up again.
    this.watcher.on('error', () => this.unwatch());
    return true;
  }

  unwatch(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  /** Reads now, or right after the read in progress: events during a read are not lost. */
  wake(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.drain().finally(() => {
      this.reading = null;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  idle(): Promise<void> {
    return this.reading ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    do {
      let lines: TailLine[];
      try {
        lines = await this.tail.read();
      } catch {
        this.stats.readErrors++;
        return;
      }
      const seenAt = this.o.now();
      const drafts: Draft[] = [];
      for (const l of lines) {
        if (l.truncated) {
          this.stats.cut++;
          this.skipped(`a line longer than ${l.text.length} characters`);
          continue;
        }
        // TSV logs have header lines; the local cloud's monitors write JSON, where there are none.
        if (l.text.startsWith('#')) continue;
        const row = parseRow(l.text);
        const d = row && noticeDraft(this.monitor.name, row, this.byIp, seenAt);
        if (!d) {
          this.stats.malformed++;
          this.skipped(`a line that is not a notice row: ${l.text.slice(0, 120)}`);
          continue;
        }
        drafts.push(d);
      }
      if (drafts.length) {
        this.stats.rows += drafts.length;
        this.o.deliver(drafts);
      }
      // A capped read: hand over this piece first, then the next, so memory stays bounded.
    } while (this.tail.behind);
  }

  private skipped(what: string): void {
    if (this.warned) return;
    this.warned = true;
    this.o.log(`${this.monitor.name}/${NOTICE_LOG_FILE}: skipped ${what} (further ones are only counted)`);
  }
}

/** Follows every monitor's notice.log from the moment it starts; `stop` ends the watches and waits for reads in progress. */
export class NoticeWatcher {
  private readonly monitors: MonitorNotices[];
  private readonly pollMs: number;
  private poller: NodeJS.Timeout | null = null;
  private readonly counts: NoticeStats = { rows: 0, malformed: 0, cut: 0, readErrors: 0 };

  constructor(o: NoticeWatchOptions) {
    const byIp = instancesByIp(o.instances);
    const inner = { deliver: o.deliver, now: o.now ?? Date.now, log: o.log ?? (() => undefined) };
    this.monitors = o.monitors.map((m) => new MonitorNotices(m, inner, byIp, this.counts, o.maxReadBytes ?? NOTICE_READ_BYTES));
    this.pollMs = o.pollMs ?? NOTICE_POLL_MS;
  }

  async start(): Promise<void> {
    // The watch first: a row written while following begins is then either before the start or seen.
    for (const m of this.monitors) m.watch();
    await Promise.all(this.monitors.map((m) => m.tail.begin()));
    this.poller = setInterval(() => {
      for (const m of this.monitors) {
        m.watch();
        m.wake();
      }
    }, this.pollMs);
    this.poller.unref();
  }

  stats(): NoticeStats {
    return { ...this.counts };
  }

  async stop(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    for (const m of this.monitors) m.unwatch();
    await Promise.all(this.monitors.map((m) => m.idle()));
  }
}
