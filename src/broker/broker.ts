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
  /** Any of these kinds; an empty list filters nothing. */
  kinds?: RecordKind[];
  tenant?: string;
  app?: string;
  node?: string;
  service?: string;
  instance?: string;
  provenance?: string;
  /** Substring looked for in the record's data (as JSON), ignoring the case of ASCII letters. */
  text?: string;
  /** Only records with an id greater than this (paging, following). */
  afterId?: number;
  /** Default 1000; the store caps it at 10,000 (MAX_QUERY_LIMIT). */
  limit?: number;
  /** By id; default ascending. */
  order?: 'asc' | 'desc';
}

export interface RetentionPolicy {
  /** Drop records older than this many milliseconds. */
  maxAgeMs?: number;
  /**
   * Then drop the oldest records (by ts, then id) until the records kept weigh at most this
   * many bytes: UTF-8 bytes of each record's data as JSON, kind, names and provenance.
   */
  maxBytes?: number;
}

export interface RetentionReport {
  droppedByAge: number;
  droppedBySize: number;
}

export interface StoreStats {
  records: number;
  /** What retention by size counts (see RetentionPolicy.maxBytes). */
  bytes: number;
  /** Everything retention has dropped since the store was created. */
  droppedByAge: number;
  droppedBySize: number;
  appended: number;
}

/** Every method rejects with a FlowtapError carrying E_BROKER_* diagnostics. */
export interface RecordStore {
  /** Appends a batch in one transaction: all of it is stored or none (one bad record refuses it). */
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
  /**
   * A named consumer: it resumes after the last message it acknowledged, across restarts. A
   * name is bound to the pattern it was first used with; one subscription at a time per name
   * in a process. Names: 1-64 of letters, digits, `_`, `-`.
   */
  durable?: string;
  /**
   * Replay from this time (ms) instead of only new messages. For a durable, only where a new
   * one starts: an existing durable resumes where it stopped.
   */
  fromTime?: number;
}

export interface Subscription {
  unsubscribe(): Promise<void>;
}

/**
 * Subjects are dot-separated tokens; in a pattern `*` matches one token and `>` the rest
 * (NATS' conventions, so JetStream needs no translation). A handler's message is
 * acknowledged when the handler returns (or its promise resolves); a handler that throws gets
 * the same message again (after a second), before any later one. Without `durable` or
 * `fromTime` a subscription receives what is published after subscribe() resolves. `publish`
 * resolves once the message is stored (JetStream: acknowledged by the server); data must be
 * JSON-serialisable.
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
