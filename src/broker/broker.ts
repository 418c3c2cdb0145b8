/**
 * The context broker's interface: a store (records, queried by time and by who they are
 * about, with retention) and a bus (subjects with wildcards, durable consumers, replay).
 * SQLite + an in-process bus are the embedded default; PostgreSQL + NATS JetStream serve at
 * scale. One shared test suite runs against every implementation.
 */
import type { BrokerRecord, RecordKind, StoredRecord } from './record.js';

export interface RecordQuery {
  /** Inclusive lower and exclusive upper bound on `ts` (ms). */
  from?: number;
  to?: number;
  kinds?: RecordKind[];
  tenant?: string;
  app?: string;
  node?: string;
  service?: string;
  instance?: string;
  provenance?: string;
  /** Substring looked for in the record's data (as JSON). */
  text?: string;
  /** Only records with an id greater than this (paging, following). */
  afterId?: number;
  /** Default 1000; the store caps it. */
  limit?: number;
  /** By id; default ascending. */
  order?: 'asc' | 'desc';
}

export interface RetentionPolicy {
  /** Drop records older than this many milliseconds. */
  maxAgeMs?: number;
  /** Then drop the oldest records until the data kept is at most this many bytes (of JSON). */
  maxBytes?: number;
}

export interface RetentionReport {
  droppedByAge: number;
  droppedBySize: number;
}

export interface StoreStats {
  records: number;
  bytes: number;
  /** Everything retention has dropped since the store was created. */
  droppedByAge: number;
  droppedBySize: number;
  appended: number;
}

export interface RecordStore {
  /** Appends a batch in one transaction: all of it is stored or none. */
  append(records: BrokerRecord[]): Promise<void>;
  query(q: RecordQuery): Promise<StoredRecord[]>;
  retain(policy: RetentionPolicy, now?: number): Promise<RetentionReport>;
  stats(): Promise<StoreStats>;
  close(): Promise<void>;
}

export interface BusMessage {
  subject: string;
  /** Position in the stream, increasing. */
  seq: number;
  /** When it was published (ms). */
  ts: number;
  data: unknown;
}

export interface SubscribeOptions {
  /** A named consumer: it resumes after the last message it acknowledged, across restarts. */
  durable?: string;
  /** Replay from this time (ms) instead of only new messages. */
  fromTime?: number;
}

export interface Subscription {
  unsubscribe(): Promise<void>;
}

/**
 * Subjects are dot-separated tokens; in a pattern `*` matches one token and `>` the rest
 * (NATS' conventions, so JetStream needs no translation). A handler's message is
 * acknowledged when the handler returns (or its promise resolves).
 */
export interface MessageBus {
  publish(subject: string, data: unknown): Promise<void>;
  subscribe(pattern: string, handler: (m: BusMessage) => void | Promise<void>, opts?: SubscribeOptions): Promise<Subscription>;
  close(): Promise<void>;
}

export interface Broker {
  store: RecordStore;
  bus: MessageBus;
  close(): Promise<void>;
}
