/**
 * Ships records in batches (the owner calls `flush` on its schedule): appended to the store (one transaction a batch) and published on
 * the bus so the controller can react. While the store is unreachable a buffer bounded by
 * bytes keeps the newest records; what it has to drop is counted (by kind, with its time
 * span), and reported in a record when the store answers again — nothing is lost silently.
 */
import type { BrokerRecord, RecordKind } from '../broker/index.js';
import type { MessageBus, RecordStore } from '../broker/index.js';

export interface ShipperOptions {
  store: RecordStore;
  bus?: MessageBus;
  subjectOf: (r: BrokerRecord) => string;
  /** Bound of the buffer, in bytes of JSON (default 16 MiB). */
  maxBufferBytes?: number;
  /** Records per append (default 1000). */
  batchSize?: number;
  /** Retry delay after a failure: doubles from min to max (defaults 500 ms, 10 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** The record that reports an outage and what it cost; the shipper fills the counts. */
  lossRecord: (loss: LossReport) => BrokerRecord;
  /** Told what was shipped, per source (the collector that made the records). */
  onShipped?: (source: string, records: number, bytes: number) => void;
  onError?: (message: string) => void;
  now?: () => number;
}

export interface LossReport {
  /** Records dropped from the buffer because it was full. */
  dropped: number;
  droppedBytes: number;
  byKind: Partial<Record<RecordKind, number>>;
  /** Time span of the dropped records. */
  firstTs?: number;
  lastTs?: number;
  /** Records stored but not published on the bus (the bus refused them). */
  notPublished: number;
  /** When the store first failed, how long until it answered, and how many appends failed. */
  outageStart?: number;
  outageMs?: number;
  failures: number;
  lastError?: string;
}

interface Entry {
  record: BrokerRecord;
  bytes: number;
  source: string;
  /** Already on the bus (a notice, published the moment it was read): only stored here. */
  published: boolean;
}

export interface ShipperStats {
  buffered: number;
  bufferedBytes: number;
  shipped: number;
  shippedBytes: number;
  dropped: number;
  droppedBytes: number;
  notPublished: number;
  failures: number;
  /** Whether the last append succeeded. */
  connected: boolean;
}

const emptyLoss = (): LossReport => ({ dropped: 0, droppedBytes: 0, byKind: {}, notPublished: 0, failures: 0 });

export class Shipper {
  private queue: Entry[] = [];
  private head = 0;
  private bytes = 0;
  private loss: LossReport = emptyLoss();
  private flushing: Promise<boolean> | null = null;
  private retryMs: number;
  private nextTry = 0;
  private totals = { shipped: 0, shippedBytes: 0, dropped: 0, droppedBytes: 0, notPublished: 0, failures: 0 };
  private connected = true;
  private readonly max: number;
  private readonly batch: number;
  private readonly now: () => number;

  constructor(private readonly o: ShipperOptions) {
    this.max = o.maxBufferBytes ?? 16 << 20;
    this.batch = o.batchSize ?? 1000;
    this.retryMs = o.retryMinMs ?? 500;
    this.now = o.now ?? Date.now;
  }

  get length(): number {
    return this.queue.length - this.head;
  }

  /**
   * Buffers a record; returns its size in bytes (as shipped). One the owner already published
   * on the bus is only stored, so the controller does not see it twice.
   */
  enqueue(record: BrokerRecord, source: string, published = false): number {
    const bytes = Buffer.byteLength(JSON.stringify(record));
    this.queue.push({ record, bytes, source, published });
    this.bytes += bytes;
    this.bound();
    return bytes;
  }

  /** Drops the oldest records until the buffer fits its bound. */
  private bound(): void {
    while (this.bytes > this.max && this.length > 0) {
      const e = this.queue[this.head];
      this.head++;
      this.bytes -= e.bytes;
      this.countDrop(e);
    }
    // Compact now and then: shifting an array on every drop is quadratic.
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private countDrop(e: Entry): void {
    const l = this.loss;
    l.dropped++;
    l.droppedBytes += e.bytes;
    l.byKind[e.record.kind] = (l.byKind[e.record.kind] ?? 0) + 1;
    l.firstTs = l.firstTs === undefined ? e.record.ts : Math.min(l.firstTs, e.record.ts);
    l.lastTs = l.lastTs === undefined ? e.record.ts : Math.max(l.lastTs, e.record.ts);
    this.totals.dropped++;
    this.totals.droppedBytes += e.bytes;
  }

  /** Whether a full batch is waiting. */
  get full(): boolean {
    return this.length >= this.batch;
  }

  /**
   * Ships everything buffered, batch by batch; false when the store failed (the rest stays
   * buffered). After a failure it waits out the retry delay unless `force` (a last attempt).
   */
  flush(force = false): Promise<boolean> {
    if (this.flushing) return this.flushing;
    if (force) this.nextTry = 0;
    this.flushing = this.drain().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private pendingLoss(): boolean {
    const l = this.loss;
    return l.dropped > 0 || l.notPublished > 0 || l.failures > 0;
  }

  private async drain(): Promise<boolean> {
    if (this.now() < this.nextTry) return false;
    // One loss report a drain: a bus that keeps refusing must not make reports of reports forever.
    let reportedNow = false;
    while (this.length > 0 || (this.pendingLoss() && !reportedNow)) {
      const batch = this.queue.slice(this.head, this.head + this.batch);
      this.head += batch.length;
      for (const e of batch) this.bytes -= e.bytes;
      // The loss report leads the first batch that gets through, so it lands with the records kept.
      const reported = this.pendingLoss() && !reportedNow ? this.snapshotLoss() : null;
      const records = batch.map((e) => e.record);
      if (reported) records.unshift(this.o.lossRecord(reported));
      try {
        await this.o.store.append(records);
      } catch (err) {
        this.fail(batch, err);
        return false;
      }
      if (reported) {
        this.subtractLoss(reported);
        reportedNow = true;
      }
      this.connected = true;
      this.retryMs = this.o.retryMinMs ?? 500;
      this.totals.shipped += batch.length;
      const bySource = new Map<string, { n: number; bytes: number }>();
      for (const e of batch) {
        const s = bySource.get(e.source) ?? { n: 0, bytes: 0 };
        s.n++;
        s.bytes += e.bytes;
        bySource.set(e.source, s);
        this.totals.shippedBytes += e.bytes;
      }
      for (const [source, s] of bySource) this.o.onShipped?.(source, s.n, s.bytes);
      const unpublished = batch.filter((e) => !e.published).map((e) => e.record);
      await this.publish(reported ? [records[0], ...unpublished] : unpublished, reported ? records[0] : null);
    }
    return true;
  }

  private fail(batch: Entry[], err: unknown): void {
    // Back to the front, in order; the bound then drops the oldest if the buffer grew meanwhile.
    this.queue = [...batch, ...this.queue.slice(this.head)];
    this.head = 0;
    for (const e of batch) this.bytes += e.bytes;
    this.bound();
    const msg = err instanceof Error ? err.message : String(err);
    if (this.connected) {
      this.loss.outageStart ??= this.now();
      this.o.onError?.(`cannot ship to the store: ${msg}; buffering up to ${this.max} bytes`);
    }
    this.connected = false;
    this.loss.failures++;
    this.loss.lastError = msg;
    this.totals.failures++;
    this.nextTry = this.now() + this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.o.retryMaxMs ?? 10_000);
  }

  private snapshotLoss(): LossReport {
    const l = this.loss;
    return {
      ...l,
      byKind: { ...l.byKind },
      ...(l.outageStart !== undefined ? { outageMs: this.now() - l.outageStart } : {}),
    };
  }

  /** What was reported is no longer pending; what happened while reporting stays for the next report. */
  private subtractLoss(r: LossReport): void {
    const l = this.loss;
    const byKind: Partial<Record<RecordKind, number>> = {};
    for (const [k, n] of Object.entries(l.byKind) as [RecordKind, number][]) {
      const left = n - (r.byKind[k] ?? 0);
      if (left > 0) byKind[k] = left;
    }
    const left = l.dropped - r.dropped;
    this.loss = {
      dropped: left,
      droppedBytes: l.droppedBytes - r.droppedBytes,
      byKind,
      ...(left > 0 ? { firstTs: l.firstTs, lastTs: l.lastTs } : {}),
      notPublished: l.notPublished - r.notPublished,
      failures: l.failures - r.failures,
    };
  }

  /** A loss report that the bus refuses is not itself a loss to report: it is in the store. */
  private async publish(records: BrokerRecord[], report: BrokerRecord | null): Promise<void> {
    const bus = this.o.bus;
    if (!bus) return;
    const bySubject = new Map<string, BrokerRecord[]>();
    for (const r of records) {
      const s = this.o.subjectOf(r);
      const list = bySubject.get(s);
      if (list) list.push(r);
      else bySubject.set(s, [r]);
    }
    for (const [subject, list] of bySubject) {
      try {
        await bus.publish(subject, { records: list });
      } catch (err) {
        // Stored, so not lost; but the controller did not see them live: that is reported too.
        const n = list.filter((r) => r !== report).length;
        this.loss.notPublished += n;
        this.totals.notPublished += n;
        this.o.onError?.(`cannot publish ${list.length} records on ${subject}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  stats(): ShipperStats {
    return { buffered: this.length, bufferedBytes: this.bytes, ...this.totals, connected: this.connected };
  }
}
