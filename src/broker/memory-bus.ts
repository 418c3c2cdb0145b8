/**
 * The embedded bus. Messages go through a table of the broker's SQLite file (an in-memory
 * database when the store is elsewhere), and every subscription reads that table from a cursor:
 * live delivery, replay from a time and a durable consumer's resume are then one code path, so
 * nothing falls between a replay and the live stream. A durable consumer's cursor (the last
 * message its handler returned from) is kept in the same file, so it resumes across restarts.
 * Other processes that open the same file see the messages too (the bus polls for their rows).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { FlowtapError, diag } from '../diagnostics/index.js';
import type { BusMessage, MessageBus, SubscribeOptions, Subscription } from './broker.js';
import { sqliteError, type SqliteDb, type SqliteFile, type SqliteStatement } from './sqlite-file.js';
import { checkDurable, checkPattern, compilePattern, encodeMessage, type SubjectMatcher } from './subject.js';

export interface MemoryBusOptions {
  /** Messages kept for replay and for consumers that are behind (oldest dropped first). Default 100,000. */
  maxMessages?: number;
  /** And at most this old. Default one day. */
  maxAgeMs?: number;
  /** How often to look for messages that other processes wrote to the file. Default 200 ms. */
  pollMs?: number;
  /** A handler that throws sees the same message again after this long. Default 1 s. */
  redeliveryDelayMs?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS bus_messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  ts INTEGER NOT NULL,
  subject TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bus_messages_ts ON bus_messages (ts);
CREATE TABLE IF NOT EXISTS bus_consumers (
  name TEXT PRIMARY KEY,
  pattern TEXT NOT NULL,
  acked INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** Rows a subscription reads at a time. */
const READ_AHEAD = 256;
/**
 * A durable cursor that only skipped other subjects is written back once it is this far ahead:
 * a consumer woken by everyone else's publishes (an agent by the records of every node) then
 * does not write on each wake, and a restart re-reads at most this many rows it would skip.
 */
const SKIP_SAVE_ROWS = 10_000;
/** Prune the message table after this many publishes (or PRUNE_EVERY_MS), not on each. */
const PRUNE_EVERY = 2000;
const PRUNE_EVERY_MS = 10_000;

interface Pending {
  subject: string;
  ts: number;
  json: string;
  resolve: () => void;
  reject: (e: unknown) => void;
}

type Row = [seq: number, ts: number, subject: string, data: string];

/** The literal tokens before a pattern's first wildcard: lets SQLite skip other subjects. */
function literalPrefix(pattern: string): { exact: boolean; prefix: string } {
  const tokens = pattern.split('.');
  const wild = tokens.findIndex((t) => t === '*' || t === '>');
  if (wild === -1) return { exact: true, prefix: pattern };
  return {
    exact: false,
    prefix: tokens
      .slice(0, wild)
      .map((t) => t + '.')
      .join(''),
  };
}

export class MemoryBus implements MessageBus {
  private readonly db: SqliteDb;
  private readonly maxMessages: number;
  private readonly maxAgeMs: number;
  private readonly pollMs: number;
  readonly redeliveryDelayMs: number;
  private pending: Pending[] = [];
  private flushScheduled = false;
  private readonly subs = new Set<MemorySubscription>();
  private readonly durables = new Set<string>();
  private lastSeq = 0;
  private poller: NodeJS.Timeout | null = null;
  private sincePrune = 0;
  private lastPrune = Date.now();
  private closed = false;
  readonly inHandler = new AsyncLocalStorage<MemorySubscription>();
  private readonly insertTx: (batch: Pending[]) => void;
  private readonly headStmt: SqliteStatement;
  private readonly statements = new Map<string, SqliteStatement>();

  constructor(
    private readonly file: SqliteFile,
    opts: MemoryBusOptions = {},
  ) {
    this.db = file.db;
    this.db.exec(SCHEMA);
    file.retain();
    this.maxMessages = opts.maxMessages ?? 100_000;
    this.maxAgeMs = opts.maxAgeMs ?? 24 * 3600_000;
    this.pollMs = opts.pollMs ?? 200;
    this.redeliveryDelayMs = opts.redeliveryDelayMs ?? 1000;
    const insert = this.db.prepare('INSERT INTO bus_messages (ts, subject, data) VALUES (?, ?, ?)');
    const tx = this.db.transaction((batch: Pending[]) => {
      for (const p of batch) insert.run(p.ts, p.subject, p.json);
    });
    this.insertTx = (batch) => tx.immediate(batch);
    this.headStmt = this.db.prepare<unknown[], unknown>("SELECT seq FROM sqlite_sequence WHERE name = 'bus_messages'").pluck();
    this.lastSeq = this.headSeq();
  }

  /** The last sequence number given out, by any process (AUTOINCREMENT never reuses one). */
  headSeq(): number {
    const v = this.headStmt.get();
    return typeof v === 'number' ? v : 0;
  }

  stmt(sql: string): SqliteStatement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare<unknown[], unknown>(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** The position just before the first message at or after `ts`. */
  private seqBefore(ts: number): number {
    const v = this.stmt('SELECT min(seq) FROM bus_messages WHERE ts >= ?').pluck().get(ts);
    return typeof v === 'number' ? v - 1 : this.headSeq();
  }

  private guard(): void {
    if (this.closed) throw new FlowtapError(diag('E_BROKER_CLOSED', 'the bus is closed'));
  }

  async publish(subject: string, data: unknown): Promise<void> {
    this.guard();
    const json = encodeMessage(subject, data);
    const text = json;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ subject, ts: Date.now(), json: text, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Publishes issued together (Promise.all over a batch) share one transaction.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    try {
      this.file.writing();
      this.insertTx(batch);
    } catch (e) {
      const err = new FlowtapError(sqliteError(this.file.path, 'publish', e));
      for (const p of batch) p.reject(err);
      return;
    }
    this.lastSeq = this.headSeq();
    for (const p of batch) p.resolve();
    for (const s of this.subs) s.wake();
    this.sincePrune += batch.length;
    if (this.sincePrune >= PRUNE_EVERY || Date.now() - this.lastPrune >= PRUNE_EVERY_MS) this.prune();
  }

  /** Bounded retention: the newest maxMessages, none older than maxAgeMs. */
  prune(now = Date.now()): void {
    this.sincePrune = 0;
    this.lastPrune = now;
    try {
      this.stmt('DELETE FROM bus_messages WHERE seq <= ?').run(this.headSeq() - this.maxMessages);
      this.stmt('DELETE FROM bus_messages WHERE ts < ?').run(now - this.maxAgeMs);
    } catch {
      // Another process may hold the write lock past busy_timeout; the next prune catches up.
    }
  }

  async subscribe(pattern: string, handler: (m: BusMessage) => void | Promise<void>, opts: SubscribeOptions = {}): Promise<Subscription> {
    this.guard();
    const bad = checkPattern(pattern);
    if (bad) throw new FlowtapError(bad);
    if (opts.fromTime !== undefined && (typeof opts.fromTime !== 'number' || !Number.isFinite(opts.fromTime)))
      throw new FlowtapError(diag('E_BROKER_QUERY', `fromTime must be a time in ms, got ${String(opts.fromTime)}`, { field: 'fromTime' }));
    let cursor: number;
    const durable = opts.durable;
    if (durable !== undefined) {
      const badName = checkDurable(durable);
      if (badName) throw new FlowtapError(badName);
      if (this.durables.has(durable))
        throw new FlowtapError(diag('E_BROKER_DURABLE', `durable consumer "${durable}" is already subscribed`, { field: 'durable' }));
      const row = this.stmt('SELECT pattern, acked FROM bus_consumers WHERE name = ?').get(durable) as
        | { pattern: string; acked: number }
        | undefined;
      if (row) {
        if (row.pattern !== pattern)
          throw new FlowtapError(
            diag('E_BROKER_DURABLE', `durable consumer "${durable}" follows "${row.pattern}", not "${pattern}"; use another name`, {
              field: 'durable',
            }),
          );
        // An existing durable resumes where it stopped; fromTime only places a new one.
        cursor = row.acked;
      } else {
        cursor = opts.fromTime !== undefined ? this.seqBefore(opts.fromTime) : this.headSeq();
        this.stmt('INSERT INTO bus_consumers (name, pattern, acked) VALUES (?, ?, ?)').run(durable, pattern, cursor);
      }
      this.durables.add(durable);
    } else {
      cursor = opts.fromTime !== undefined ? this.seqBefore(opts.fromTime) : this.headSeq();
    }
    const sub = new MemorySubscription(this, pattern, handler, cursor, durable);
    this.subs.add(sub);
    this.startPolling();
    sub.start();
    return sub;
  }

  /** Called by a subscription when its pump has stopped. */
  forget(sub: MemorySubscription): void {
    this.subs.delete(sub);
    if (sub.durable !== undefined) this.durables.delete(sub.durable);
    if (this.subs.size === 0 && this.poller) {
      clearInterval(this.poller);
      this.poller = null;
    }
  }

  private startPolling(): void {
    if (this.poller || this.file.path === ':memory:') return;
    this.poller = setInterval(() => {
      if (this.closed) return;
      let head: number;
      try {
        head = this.headSeq();
      } catch {
        return;
      }
      if (head === this.lastSeq) return;
      this.lastSeq = head;
      for (const s of this.subs) s.wake();
    }, this.pollMs);
    this.poller.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    await Promise.all([...this.subs].map((s) => s.unsubscribe()));
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    await this.file.release();
  }
}

class MemorySubscription implements Subscription {
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private running: Promise<void> = Promise.resolve();
  private readonly matches: SubjectMatcher;
  private readonly select: SqliteStatement;
  private readonly filterArgs: unknown[];
  private persisted: number;

  constructor(
    private readonly bus: MemoryBus,
    pattern: string,
    private readonly handler: (m: BusMessage) => void | Promise<void>,
    private cursor: number,
    readonly durable: string | undefined,
  ) {
    this.matches = compilePattern(pattern);
    this.persisted = cursor;
    const { exact, prefix } = literalPrefix(pattern);
    const filter = exact ? ' AND subject = ?' : prefix ? ' AND substr(subject, 1, ?) = ?' : '';
    this.filterArgs = exact ? [prefix] : prefix ? [prefix.length, prefix] : [];
    this.select = this.bus
      .stmt(`SELECT seq, ts, subject, data FROM bus_messages WHERE seq > ? AND seq <= ?${filter} ORDER BY seq LIMIT ${READ_AHEAD}`)
      .raw(true);
  }

  start(): void {
    this.running = this.pump().finally(() => this.bus.forget(this));
  }

  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private save(delivered = true): void {
    if (this.durable === undefined || this.persisted === this.cursor) return;
    if (!delivered && this.cursor - this.persisted < SKIP_SAVE_ROWS) return;
    try {
      this.bus.stmt('UPDATE bus_consumers SET acked = ? WHERE name = ?').run(this.cursor, this.durable);
      this.persisted = this.cursor;
    } catch {
      // Retried after the next message; a crash before then redelivers, never loses.
    }
  }

  private async pump(): Promise<void> {
    while (!this.stopped) {
      const head = this.bus.headSeq();
      const rows = this.select.all(this.cursor, head, ...this.filterArgs) as Row[];
      let delivered = false;
      for (const [seq, ts, subject, data] of rows) {
        if (this.stopped) break;
        if (this.matches(subject)) {
          if (!(await this.deliver({ subject, seq, ts, data: JSON.parse(data) as unknown }))) break;
          delivered = true;
        }
        this.cursor = seq;
      }
      // Fewer rows than asked: nothing else up to head matches, so skip past it.
      if (!this.stopped && rows.length < READ_AHEAD) this.cursor = Math.max(this.cursor, head);
      this.save(delivered);
      if (this.stopped) break;
      if (rows.length < READ_AHEAD) {
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
          // A publish may have landed between reading head and waiting.
          if (this.bus.headSeq() !== head) this.wake();
        });
      }
    }
    this.save();
  }

  /** Runs the handler until it returns; false when stopped before it did (not acknowledged). */
  private async deliver(m: BusMessage): Promise<boolean> {
    for (;;) {
      try {
        await this.bus.inHandler.run(this, () => this.handler(m));
        return true;
      } catch {
        if (this.stopped) return false;
        await sleep(this.bus.redeliveryDelayMs);
        if (this.stopped) return false;
      }
    }
  }

  async unsubscribe(): Promise<void> {
    this.stopped = true;
    this.wake();
    // From inside this subscription's own handler, waiting for the pump would wait for itself.
    if (this.bus.inHandler.getStore() === this) return;
    await this.running;
  }
}
