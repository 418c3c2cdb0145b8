/**
 * Live records for the SSE stream: ONE poller per deployment reads the store (after the last
 * id it saw, every pollMs) and hands each new record to every client following that
 * deployment whose filters it passes, so a hundred dashboards cost one query a tick, not a
 * hundred. A client resuming after an id (Last-Event-ID) first catches up with a query of its
 * own, paged, then joins the live feed without a gap or a repeat (records are ordered by id).
 * Each client has a bounded queue: one that does not read fast enough is dropped and counted,
 * never allowed to grow the server's memory. A client's token is asked about again at every
 * tick (`lapsed`): a stream opened with a token revoked since ends, saying why.
 */
import type { StoredRecord } from '../broker/index.js';
import type { Fleet, RecordFilter } from './fleet.js';

/** The filters of a stream (a record query's, without paging). */
export type StreamFilter = Omit<RecordFilter, 'afterId' | 'limit' | 'order'>;

export interface HubOptions {
  /** Default 250 ms. */
  pollMs?: number;
  /** Records waiting for one client before it is dropped (default 5000). */
  queueMax?: number;
  /** Records read per query (default 1000). */
  pageSize?: number;
  log?: (line: string) => void;
  /** Why a token (by id) no longer admits anyone, null while it does (TokenStore.lapsed); none: never asked. */
  lapsed?: (tokenId: string) => string | null;
}

export interface HubStats {
  clients: number;
  pollers: number;
  polls: number;
  /** Records written to clients. */
  delivered: number;
  /** Clients dropped for falling behind. */
  dropped: number;
  /** Clients ended because their token no longer admits them. */
  ended: number;
  pollErrors: number;
}

const asciiLower = (s: string) => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());

/** The store's filters, applied to a record in memory (text: a substring of the data's JSON, ASCII case folded). */
function passes(f: StreamFilter, r: StoredRecord): boolean {
  if (f.kinds && f.kinds.length > 0 && !f.kinds.includes(r.kind)) return false;
  if (f.from !== undefined && r.ts < f.from) return false;
  if (f.to !== undefined && r.ts >= f.to) return false;
  if (f.node !== undefined && r.node !== f.node) return false;
  if (f.service !== undefined && r.service !== f.service) return false;
  if (f.instance !== undefined && r.instance !== f.instance) return false;
  if (f.provenance !== undefined && r.provenance !== f.provenance) return false;
  if (f.text !== undefined && !asciiLower(JSON.stringify(r.data)).includes(asciiLower(f.text))) return false;
  return true;
}

/** One client's feed. */
export class Subscriber {
  private queue: StoredRecord[] = [];
  private wake: (() => void) | null = null;
  /** Live records that came while catching up. */
  buffer: StoredRecord[] | null = null;
  closed = false;
  dropped = false;
  /** Why the stream was ended for its client (its token lapsed); null otherwise. */
  endedBecause: string | null = null;
  private onClose: (() => void)[] = [];

  constructor(
    readonly filter: StreamFilter,
    /** The last id this client has (or skipped): nothing at or below it is sent. */
    public cursor: number,
    private readonly queueMax: number,
    /** The id of the token the stream was opened with (none: not asked about again). */
    readonly tokenId: string | null = null,
  ) {}

  /** False when the client was dropped for it. */
  push(records: readonly StoredRecord[]): boolean {
    for (const r of records) {
      if (r.id <= this.cursor) continue;
      this.cursor = r.id;
      if (passes(this.filter, r)) this.queue.push(r);
    }
    if (this.queue.length > this.queueMax) {
      this.dropped = true;
      this.close();
      return false;
    }
    this.notify();
    return true;
  }

  pending(): number {
    return this.queue.length;
  }

  take(): StoredRecord[] {
    const out = this.queue;
    this.queue = [];
    return out;
  }

  /** Resolves when records wait, the client is closed, or `ms` have passed. */
  wait(ms: number): Promise<void> {
    if (this.queue.length || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }

  private notify(): void {
    this.wake?.();
  }

  whenClosed(fn: () => void): void {
    if (this.closed) fn();
    else this.onClose.push(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.notify();
    for (const fn of this.onClose.splice(0)) fn();
  }
}

class Poller {
  readonly subs = new Set<Subscriber>();
  cursor: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private started: Promise<number> | null = null;
  private failing = false;

  constructor(
    private readonly hub: RecordHub,
    private readonly app: string,
  ) {}

  /** The id the live feed starts after: the newest record when the poller starts. */
  start(): Promise<number> {
    if (!this.started) {
      this.started = this.hub.fleet.records(this.app, { order: 'desc', limit: 1 }).then((r) => {
        this.cursor = r[0]?.id ?? 0;
        this.timer = setInterval(() => void this.tick(), this.hub.pollMs);
        this.timer.unref();
        return this.cursor;
      });
      this.started.catch(() => (this.started = null));
    }
    return this.started;
  }

  /** Ends the streams whose token no longer admits anyone; each token is asked once a tick. */
  private recheck(): void {
    const lapsed = this.hub.lapsed;
    if (!lapsed) return;
    const answers = new Map<string, string | null>();
    for (const s of [...this.subs]) {
      if (s.tokenId === null) continue;
      let why = answers.get(s.tokenId);
      if (why === undefined) {
        why = lapsed(s.tokenId);
        answers.set(s.tokenId, why);
      }
      if (why !== null) this.hub.end(s, why);
    }
  }

  private async tick(): Promise<void> {
    if (this.busy || this.cursor === null) return;
    this.recheck();
    if (this.subs.size === 0) return;
    this.busy = true;
    try {
      // A burst is read in a few pages at once; more waits for the next tick.
      for (let page = 0; page < 10; page++) {
        this.hub.stats.polls++;
        const records = await this.hub.fleet.records(this.app, { afterId: this.cursor, limit: this.hub.pageSize, order: 'asc' });
        if (records.length === 0) break;
        this.cursor = records[records.length - 1].id;
        for (const s of this.subs) {
          if (s.buffer) {
            s.buffer.push(...records);
            if (s.buffer.length > this.hub.queueMax) this.hub.drop(s);
          } else if (!s.push(records)) this.hub.countDrop();
        }
        if (records.length < this.hub.pageSize) break;
      }
      this.failing = false;
    } catch (e) {
      this.hub.stats.pollErrors++;
      if (!this.failing) this.hub.log(`records of ${this.app} cannot be read: ${(e as Error).message}`);
      this.failing = true;
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

export class RecordHub {
  readonly pollMs: number;
  readonly queueMax: number;
  readonly pageSize: number;
  readonly log: (line: string) => void;
  readonly lapsed: ((tokenId: string) => string | null) | undefined;
  private readonly pollers = new Map<string, Poller>();
  private readonly all = new Set<Subscriber>();
  readonly stats: HubStats = { clients: 0, pollers: 0, polls: 0, delivered: 0, dropped: 0, ended: 0, pollErrors: 0 };

  constructor(
    readonly fleet: Fleet,
    o: HubOptions = {},
  ) {
    this.pollMs = o.pollMs ?? 250;
    this.queueMax = o.queueMax ?? 5000;
    this.pageSize = o.pageSize ?? 1000;
    this.log = o.log ?? (() => {});
    this.lapsed = o.lapsed;
  }

  /**
   * A client following `app`: from now (afterId null) or after a record it already has, with
   * the token it was let in by (asked about again at every tick). Rejects when the
   * deployment's store cannot be read.
   */
  async subscribe(app: string, filter: StreamFilter, afterId: number | null, tokenId: string | null = null): Promise<Subscriber> {
    let poller = this.pollers.get(app);
    if (!poller) {
      poller = new Poller(this, app);
      this.pollers.set(app, poller);
      this.stats.pollers = this.pollers.size;
    }
    let start: number;
    try {
      start = await poller.start();
    } catch (e) {
      if (poller.subs.size === 0) this.forget(app, poller);
      throw e;
    }
    // Its last client left while this one waited: the poller is stopped, start another.
    if (this.pollers.get(app) !== poller) return this.subscribe(app, filter, afterId, tokenId);
    const sub = new Subscriber(filter, afterId ?? poller.cursor ?? start, this.queueMax, tokenId);
    poller.subs.add(sub);
    this.all.add(sub);
    this.stats.clients = this.all.size;
    const joined = poller;
    sub.whenClosed(() => {
      joined.subs.delete(sub);
      this.all.delete(sub);
      this.stats.clients = this.all.size;
      if (joined.subs.size === 0) this.forget(app, joined);
    });
    if (afterId !== null && afterId < (poller.cursor ?? 0)) void this.catchUp(app, sub);
    return sub;
  }

  /** Pages the records a resuming client missed, then hands it the live ones that came meanwhile. */
  private async catchUp(app: string, sub: Subscriber): Promise<void> {
    sub.buffer = [];
    try {
      for (;;) {
        const page = await this.fleet.records(app, { ...sub.filter, afterId: sub.cursor, limit: this.pageSize, order: 'asc' });
        if (sub.closed) return;
        if (page.length && !sub.push(page)) return this.countDrop();
        if (page.length < this.pageSize) break;
        // A client that does not read what it asked for is not read ahead for.
        while (sub.pending() > this.queueMax / 2 && !sub.closed) await new Promise((r) => setTimeout(r, 50));
      }
      const live = sub.buffer;
      sub.buffer = null;
      if (!sub.push(live)) this.countDrop();
    } catch (e) {
      this.log(`catching up on ${app} failed: ${(e as Error).message}`);
      sub.close();
    }
  }

  drop(sub: Subscriber): void {
    sub.dropped = true;
    sub.close();
    this.countDrop();
  }

  /** Ends a client's stream for a reason it is told (its token lapsed). */
  end(sub: Subscriber, why: string): void {
    if (sub.closed) return;
    sub.endedBecause = why;
    sub.close();
    this.stats.ended++;
  }

  countDrop(): void {
    this.stats.dropped++;
  }

  private forget(app: string, poller: Poller): void {
    poller.stop();
    if (this.pollers.get(app) === poller) this.pollers.delete(app);
    this.stats.pollers = this.pollers.size;
  }

  close(): void {
    for (const s of [...this.all]) s.close();
    for (const [app, p] of this.pollers) this.forget(app, p);
  }
}
