import type { Dir } from '../stream/index.js';

interface PgStartup {
  ts: number;
  /** `3.0`, or `3.2` for newer clients. */
  protocol: string;
  user: string;
  /** The database asked for; PostgreSQL uses the user name when it is absent. */
  database: string;
  applicationName: string;
  /** Every startup parameter in order (user, database, options, application_name, ...). */
  params: [name: string, value: string][];
}

interface PgCancel {
  ts: number;
  pid: number;
  /** The secret key as hex (4 bytes in protocol 3.0, longer in 3.2). */
  key: string;
}

export interface PgQuery {
  /** 1-based sequence of query events on this connection. */
  id: number;
  ts: number;
  kind: 'simple' | 'extended';
  sql: string;
  /** Prepared statement name ('' for the unnamed one); '' for simple queries. */
  statementName: string;
  portal: string;
  /** Bind parameters: text format decoded as UTF-8, binary as `\x` + hex, SQL NULL as null. */
  params: (string | null)[];
  /** Parameter type OIDs from Parse (0 = unspecified). */
  paramTypes: number[];
  /** SQL or parameters were cut: message above the decode limit, a parameter above its limit, or a gap. */
  truncated: boolean;
}

export interface PgError {
  /** Non-localized severity (V field) when sent, else the S field: ERROR, FATAL, PANIC, WARNING, NOTICE, ... */
  severity: string;
  /** SQLSTATE, e.g. `42P01`, `28P01`. */
  code: string;
  message: string;
  detail: string;
}

export interface PgResult {
  ts: number;
  /** The query this answers, first-in first-out; undefined if none was pending (e.g. capture started mid-stream). */
  query: PgQuery | undefined;
  /** CommandComplete tag, e.g. `INSERT 0 1`, `SELECT 5`; '' for an empty query, an error or a suspended portal. */
  tag: string;
  /** DataRow messages seen for this result. */
  rows: number;
  /** The row count at the end of the tag (`INSERT 0 1` → 1), or null. */
  affected: number | null;
  error?: PgError;
  /** Execute reached its row limit (PortalSuspended). */
  suspended?: true;
  /** Not executed: an earlier message of the same extended-protocol batch failed. */
  skipped?: true;
}

interface PgAuthentication {
  ts: number;
  /** Authentication request code: 0 ok, 3 cleartext, 5 md5, 10 SASL, 11 SASL continue, 12 SASL final, ... */
  code: number;
  method: string;
  /** SASL mechanisms offered (code 10). */
  mechanisms: string[];
}

/** Event callbacks; all optional. */
export interface PgSink {
  /** The client asked for encryption (SSLRequest or GSSENCRequest). */
  sslRequest?(kind: 'ssl' | 'gss', ts: number): void;
  /** The server's one-byte answer; after `S` or `G` the rest is encrypted and parsing stops. */
  sslResponse?(answer: 'S' | 'N' | 'G', ts: number): void;
  /** The client started TLS without a visible `S` answer (a TLS record where a message was due). */
  tls?(dir: Dir, ts: number): void;
  startup?(s: PgStartup): void;
  cancel?(c: PgCancel): void;
  authentication?(a: PgAuthentication): void;
  /** The client answered an authentication request; the secret itself is never reported. */
  password?(p: { ts: number; method: string; mechanism: string }): void;
  parameterStatus?(name: string, value: string, ts: number): void;
  backendKey?(pid: number, key: string, ts: number): void;
  ready?(status: string, ts: number): void;
  query?(q: PgQuery): void;
  result?(r: PgResult): void;
  /** An ErrorResponse that answers no query (startup and authentication failures, shutdowns). */
  error?(e: PgError, ts: number): void;
  notice?(n: PgError, ts: number): void;
  notification?(n: { pid: number; channel: string; payload: string; ts: number }): void;
  terminate?(ts: number): void;
  weird?(name: string, detail: string, dir: Dir, ts: number): void;
}

export interface PgOptions {
  /** Largest message length believed; above it the direction is abandoned. */
  maxMessageBytes: number;
  /** Bytes of a message kept for decoding (Query, Parse, Bind, ...); the rest is skipped and the result marked truncated. */
  maxDecodeBytes: number;
  /** Bytes kept of each Bind parameter value. */
  maxParamBytes: number;
  /** Prepared statements and portals remembered per connection (each kind). */
  maxPrepared: number;
  /** Bytes of SQL and parameters those may hold together; the oldest are forgotten beyond it. */
  maxPreparedBytes: number;
  /** Batches (Query or Parse..Sync) awaiting ReadyForQuery; beyond it the oldest is forgotten. */
  maxPendingBatches: number;
  /** Queries awaiting results, and the bytes of SQL and parameters they hold, over all batches. */
  maxPendingQueries: number;
  maxPendingBytes: number;
}

export const DEFAULT_PG_OPTIONS: PgOptions = {
  maxMessageBytes: 64 * 1024 * 1024,
  maxDecodeBytes: 1024 * 1024,
  maxParamBytes: 4096,
  maxPrepared: 1024,
  maxPreparedBytes: 16 * 1024 * 1024,
  maxPendingBatches: 256,
  maxPendingQueries: 4096,
  maxPendingBytes: 32 * 1024 * 1024,
};

export const PG_WEIRDS = {
  badLength: 'pg_bad_length',
  badStartup: 'pg_bad_startup',
  unsupportedProtocol: 'pg_unsupported_protocol',
  unknownMessage: 'pg_unknown_message',
  malformed: 'pg_malformed_message',
  truncated: 'pg_message_truncated',
  contentGap: 'pg_content_gap',
  gapLostSync: 'pg_gap_lost_sync',
  endInsideMessage: 'pg_truncated_at_end',
  midstream: 'pg_midstream',
  unmatchedResult: 'pg_unmatched_result',
  unmatchedReady: 'pg_unmatched_ready',
  unknownPortal: 'pg_unknown_portal',
  unknownStatement: 'pg_unknown_statement',
  pendingOverflow: 'pg_too_many_pending_queries',
  preparedOverflow: 'pg_too_many_prepared',
  dataAfterEnd: 'pg_data_after_end',
} as const;
