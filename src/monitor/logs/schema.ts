/**
 * Log schemas: Zeek's field names and types, in Zeek's order, so tools written for Zeek
 * (zeek-cut, SIEM parsers) read flowtap's logs unchanged. sql.log and nats.log are flowtap's
 * own, written in the same style.
 */

export type ZeekType =
  | 'time'
  | 'interval'
  | 'string'
  | 'addr'
  | 'port'
  | 'enum'
  | 'count'
  | 'bool'
  | 'double'
  | 'set[string]'
  | 'set[enum]'
  | 'vector[string]';

export interface LogSchema {
  /** File stem and `#path`: conn, http, ... */
  readonly path: string;
  readonly fields: readonly string[];
  readonly types: readonly ZeekType[];
}

/** A field value: null/undefined is unset (`-`); arrays are sets or vectors. */
export type LogValue = string | number | boolean | null | undefined | readonly string[];

function schema(path: string, cols: readonly (readonly [string, ZeekType])[]): LogSchema {
  return { path, fields: cols.map((c) => c[0]), types: cols.map((c) => c[1]) };
}

const ID: readonly (readonly [string, ZeekType])[] = [
  ['id.orig_h', 'addr'],
  ['id.orig_p', 'port'],
  ['id.resp_h', 'addr'],
  ['id.resp_p', 'port'],
];

export const CONN_LOG = schema('conn', [
  ['ts', 'time'],
  ['uid', 'string'],
  ...ID,
  ['proto', 'enum'],
  ['service', 'string'],
  ['duration', 'interval'],
  ['orig_bytes', 'count'],
  ['resp_bytes', 'count'],
  ['conn_state', 'string'],
  ['local_orig', 'bool'],
  ['local_resp', 'bool'],
  ['missed_bytes', 'count'],
  ['history', 'string'],
  ['orig_pkts', 'count'],
  ['orig_ip_bytes', 'count'],
  ['resp_pkts', 'count'],
  ['resp_ip_bytes', 'count'],
  ['tunnel_parents', 'set[string]'],
]);

export const HTTP_LOG = schema('http', [
  ['ts', 'time'],
  ['uid', 'string'],
  ...ID,
  ['trans_depth', 'count'],
  ['method', 'string'],
  ['host', 'string'],
  ['uri', 'string'],
  ['referrer', 'string'],
  ['version', 'string'],
  ['user_agent', 'string'],
  ['origin', 'string'],
  ['request_body_len', 'count'],
  ['response_body_len', 'count'],
  ['status_code', 'count'],
  ['status_msg', 'string'],
  ['info_code', 'count'],
  ['info_msg', 'string'],
  ['tags', 'set[enum]'],
  ['username', 'string'],
  ['password', 'string'],
  ['proxied', 'set[string]'],
  ['orig_fuids', 'vector[string]'],
  ['orig_filenames', 'vector[string]'],
  ['orig_mime_types', 'vector[string]'],
  ['resp_fuids', 'vector[string]'],
  ['resp_filenames', 'vector[string]'],
  ['resp_mime_types', 'vector[string]'],
]);

export const NOTICE_LOG = schema('notice', [
  ['ts', 'time'],
  ['uid', 'string'],
  ...ID,
  ['fuid', 'string'],
  ['file_mime_type', 'string'],
  ['file_desc', 'string'],
  ['proto', 'enum'],
  ['note', 'enum'],
  ['msg', 'string'],
  ['sub', 'string'],
  ['src', 'addr'],
  ['dst', 'addr'],
  ['p', 'port'],
  ['n', 'count'],
  ['peer_descr', 'string'],
  ['actions', 'set[enum]'],
  ['email_dest', 'set[string]'],
  ['suppress_for', 'interval'],
  ['remote_location.country_code', 'string'],
  ['remote_location.region', 'string'],
  ['remote_location.city', 'string'],
  ['remote_location.latitude', 'double'],
  ['remote_location.longitude', 'double'],
]);

export const WEIRD_LOG = schema('weird', [
  ['ts', 'time'],
  ['uid', 'string'],
  ...ID,
  ['name', 'string'],
  ['addl', 'string'],
  ['notice', 'bool'],
  ['peer', 'string'],
  ['source', 'string'],
]);

/** flowtap's PostgreSQL log: one row per query with its outcome. */
export const SQL_LOG = schema('sql', [
  ['ts', 'time'],
  ['uid', 'string'],
  ...ID,
  ['user', 'string'],
  ['database', 'string'],
  ['query', 'string'],
  ['kind', 'string'],
  ['tables', 'set[string]'],
  ['success', 'bool'],
  ['rows', 'count'],
  ['error', 'string'],
]);

/** flowtap's NATS log: one row per PUB/HPUB, SUB, UNSUB and MSG/HMSG. */
export const NATS_LOG = schema('nats', [
  ['ts', 'time'],
  ['uid', 'string'],
  ...ID,
  ['command', 'string'],
  ['subject', 'string'],
  ['reply', 'string'],
  ['size', 'count'],
  ['sid', 'string'],
  ['queue', 'string'],
]);

/**
 * stats.log: the capture's health, a row every few seconds of a live capture and one at its
 * end. Zeek's stats.log fields where they fit, with Zeek's meaning (counts since the previous
 * row): `pkts_proc` what the capture program handed over, `bytes_recv` the bytes of it,
 * `pkts_dropped` what the kernel dropped, `pkts_link` what passed the filter, `pkt_lag` wall
 * clock minus the newest packet's time, `mem` the monitor's resident memory (MB). flowtap adds
 * `run` (the capture process: a restarted monitor starts a new run, its counts from 0) and the
 * run's totals, so a reader that missed rows still has the whole count.
 */
export const STATS_LOG = schema('stats', [
  ['ts', 'time'],
  ['peer', 'string'],
  ['mem', 'count'],
  ['pkts_proc', 'count'],
  ['bytes_recv', 'count'],
  ['pkts_dropped', 'count'],
  ['pkts_link', 'count'],
  ['pkt_lag', 'interval'],
  ['run', 'string'],
  ['run_pkts_proc', 'count'],
  ['run_pkts_dropped', 'count'],
  ['run_pkts_link', 'count'],
]);

export const LOG_SCHEMAS: readonly LogSchema[] = [CONN_LOG, HTTP_LOG, NOTICE_LOG, WEIRD_LOG, SQL_LOG, NATS_LOG, STATS_LOG];
