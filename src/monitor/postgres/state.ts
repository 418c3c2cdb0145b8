import type { Dir } from '../stream/index.js';
import { PG_WEIRDS as W, type PgError, type PgOptions, type PgQuery, type PgResult, type PgSink } from './types.js';

export interface Prepared {
  sql: string;
  paramTypes: number[];
  truncated: boolean;
  /** Approximate bytes held, for the memory budget. */
  cost: number;
}

export interface Portal extends Prepared {
  statementName: string;
  params: (string | null)[];
}

/**
 * Queries whose results are still due, in the unit the server answers with ReadyForQuery:
 * one simple Query, or the extended-protocol messages up to a Sync.
 */
export interface Batch {
  items: PgQuery[];
  /** Index of the query the next result belongs to. */
  next: number;
  /** Approximate bytes its queries hold, for the memory budget. */
  cost: number;
}

/** Approximate bytes a query or prepared statement holds: its SQL and parameters plus overhead. */
export function costOf(sql: string, params: readonly (string | null)[] = []): number {
  let n = 64 + sql.length;
  for (const p of params) n += 16 + (p === null ? 0 : p.length);
  return n;
}

/** Connection-wide state shared by the frontend and backend decoders. */
export class PgState {
  ts = 0;
  /** The first ReadyForQuery (end of startup) has been seen, or the capture began mid-stream. */
  startupDone = false;
  backendSeen = false;
  /** SSLRequest/GSSENCRequest sent and not yet answered. */
  awaitingAnswers = 0;
  encryptionRequested = false;
  lastAuthCode = -1;
  rows = 0;
  private queryId = 0;
  readonly statements = new Map<string, Prepared>();
  readonly portals = new Map<string, Portal>();
  private preparedBytes = 0;
  private batches: Batch[] = [];
  private head = 0;
  private pendingQueries = 0;
  private pendingBytes = 0;
  /** The extended-protocol batch being sent (no Sync yet), also already queued. */
  open: Batch | null = null;
  private reported = new Set<string>();

  constructor(
    readonly sink: PgSink,
    readonly opts: PgOptions,
  ) {}

  weird(name: string, detail: string, dir: Dir): void {
    this.sink.weird?.(name, detail, dir, this.ts);
  }

  /** Reports a condition once per connection, for those that could otherwise repeat per message. */
  weirdOnce(name: string, detail: string, dir: Dir): void {
    if (this.reported.has(name)) return;
    this.reported.add(name);
    this.weird(name, detail, dir);
  }

  nextQueryId(): number {
    return ++this.queryId;
  }

  /**
   * Remembers a prepared statement or portal, forgetting the oldest beyond the count limit or
   * the shared byte budget (a hostile client could otherwise park large SQL in many statements).
   */
  remember<T extends Prepared>(map: Map<string, T>, name: string, value: T): void {
    const old = map.get(name);
    if (old) {
      this.preparedBytes -= old.cost;
      map.delete(name);
    }
    const other: Map<string, Prepared> = (map as Map<string, Prepared>) === this.statements ? this.portals : this.statements;
    while (map.size > 0 && (map.size >= this.opts.maxPrepared || this.preparedBytes + value.cost > this.opts.maxPreparedBytes)) {
      this.evictOldest(map);
    }
    while (other.size > 0 && this.preparedBytes + value.cost > this.opts.maxPreparedBytes) this.evictOldest(other);
    map.set(name, value);
    this.preparedBytes += value.cost;
  }

  forget(map: Map<string, Prepared>, name: string): void {
    const old = map.get(name);
    if (!old) return;
    this.preparedBytes -= old.cost;
    map.delete(name);
  }

  private evictOldest(map: Map<string, Prepared>): void {
    const oldest = map.keys().next().value as string;
    this.forget(map, oldest);
    this.weirdOnce(
      W.preparedOverflow,
      `more than ${this.opts.maxPrepared} prepared statements or portals, or above ${this.opts.maxPreparedBytes} bytes`,
      0,
    );
  }

  private enqueue(b: Batch): void {
    if (this.batches.length - this.head >= this.opts.maxPendingBatches) {
      this.dropFront();
      this.weirdOnce(W.pendingOverflow, `more than ${this.opts.maxPendingBatches} batches without ReadyForQuery`, 0);
    }
    this.batches.push(b);
  }

  private dropFront(): void {
    const b = this.batches[this.head];
    this.pendingQueries -= b.items.length;
    this.pendingBytes -= b.cost;
    this.head++;
    if (this.head > 32 && this.head * 2 > this.batches.length) {
      this.batches = this.batches.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Queues `q` for its results. Beyond the budgets the oldest batches are forgotten (a one-way tap
   * never sees ReadyForQuery); a single batch beyond them stops tracking its further queries.
   */
  private track(b: Batch, q: PgQuery): void {
    const cost = costOf(q.sql, q.params);
    const over = () => this.pendingQueries + 1 > this.opts.maxPendingQueries || this.pendingBytes + cost > this.opts.maxPendingBytes;
    while (over() && this.front() !== b && this.front() !== undefined) {
      this.dropFront();
      this.weirdOnce(
        W.pendingOverflow,
        `more than ${this.opts.maxPendingQueries} queries or ${this.opts.maxPendingBytes} bytes awaiting results`,
        0,
      );
    }
    if (over()) {
      this.weirdOnce(
        W.pendingOverflow,
        `more than ${this.opts.maxPendingQueries} queries or ${this.opts.maxPendingBytes} bytes awaiting results`,
        0,
      );
      return;
    }
    b.items.push(q);
    b.cost += cost;
    this.pendingQueries++;
    this.pendingBytes += cost;
  }

  front(): Batch | undefined {
    return this.head < this.batches.length ? this.batches[this.head] : undefined;
  }

  /** Removes the batch a ReadyForQuery ends. */
  shift(): Batch | undefined {
    const b = this.front();
    if (b) this.dropFront();
    return b;
  }

  /** The batch extended-protocol messages belong to, opened on first use. */
  openBatch(): Batch {
    if (!this.open) {
      this.open = { items: [], next: 0, cost: 0 };
      this.enqueue(this.open);
    }
    return this.open;
  }

  /** An Execute: its query joins the open batch. */
  extended(q: PgQuery): void {
    this.track(this.openBatch(), q);
  }

  /** A simple Query (or FunctionCall, with no query): it ends any open batch, ReadyForQuery follows. */
  simple(q: PgQuery | null): void {
    const b = this.open ?? { items: [], next: 0, cost: 0 };
    if (!this.open) this.enqueue(b);
    this.open = null;
    if (q) this.track(b, q);
  }

  emitQuery(q: PgQuery): void {
    this.sink.query?.(q);
  }

  emitResult(query: PgQuery | undefined, tag: string, extra: Partial<PgResult> = {}): void {
    const r: PgResult = { ts: this.ts, query, tag, rows: this.rows, affected: affectedRows(tag), ...extra };
    this.rows = 0;
    this.sink.result?.(r);
  }

  /** CommandComplete, EmptyQueryResponse or PortalSuspended: answers the current query. */
  complete(tag: string, extra: Partial<PgResult> = {}): void {
    const b = this.front();
    const q = b?.items[b.next];
    if (!b || !q) {
      this.weird(W.unmatchedResult, tag ? `result '${tag}' with no query pending` : 'result with no query pending', 1);
      this.emitResult(undefined, tag, extra);
      return;
    }
    // A simple query may hold several statements: it keeps receiving results until ReadyForQuery.
    if (q.kind === 'extended') b.next++;
    this.emitResult(q, tag, extra);
  }

  /** ErrorResponse: the current query failed; the server skips the rest of an extended batch. */
  failed(error: PgError): void {
    const b = this.startupDone ? this.front() : undefined;
    const q = b?.items[b.next];
    if (!b || !q) {
      this.rows = 0;
      this.sink.error?.(error, this.ts);
      return;
    }
    this.emitResult(q, '', { error });
    if (q.kind !== 'extended') return;
    b.next++;
    while (b.next < b.items.length) {
      const skipped = b.items[b.next++];
      if (skipped.kind === 'extended') this.emitResult(skipped, '', { skipped: true });
    }
  }
}

/** The count at the end of a command tag: `INSERT 0 1` → 1, `SELECT 5` → 5, `CREATE TABLE` → null. */
function affectedRows(tag: string): number | null {
  const sp = tag.lastIndexOf(' ');
  if (sp < 0 || sp === tag.length - 1) return null;
  let v = 0;
  for (let i = sp + 1; i < tag.length; i++) {
    const d = tag.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  return v <= Number.MAX_SAFE_INTEGER ? v : null;
}
