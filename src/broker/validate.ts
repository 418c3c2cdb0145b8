/**
 * What every store checks before it touches its database, so that all backends refuse the same
 * inputs with the same diagnostics: a batch with one bad record is refused whole, naming the
 * record and the field.
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../diagnostics/index.js';
import type { RecordQuery, RetentionPolicy } from './broker.js';
import { RECORD_KINDS, type BrokerRecord, type RecordKind } from './record.js';

const KINDS: ReadonlySet<string> = new Set(RECORD_KINDS);
const MAX_NAME = 1024;
/** Queries return at most this many records at once; more is paging. */
export const MAX_QUERY_LIMIT = 10_000;
const DEFAULT_QUERY_LIMIT = 1000;

/** A batch checked, and each record's data serialised once. */
export interface EncodedBatch {
  records: BrokerRecord[];
  jsons: string[];
}

function badName(v: unknown): string | null {
  if (typeof v !== 'string') return `must be a string, got ${v === null ? 'null' : typeof v}`;
  if (v.length === 0) return 'must not be empty';
  if (v.length > MAX_NAME) return `is longer than ${MAX_NAME} characters`;
  // PostgreSQL text cannot hold NUL; refusing it everywhere keeps the backends interchangeable.
  if (v.includes('\0')) return 'contains a NUL character';
  return null;
}

export function byteLength(s: string | undefined | null): number {
  return s === undefined || s === null ? 0 : Buffer.byteLength(s);
}

/** Bytes of the names a record shares with the others of its chunk (tenant, app, node, service, instance). */
export function nameBytes(r: BrokerRecord): number {
  return byteLength(r.tenant) + byteLength(r.app) + byteLength(r.node) + byteLength(r.service) + byteLength(r.instance);
}

/**
 * A record's size as retention by size counts it: the UTF-8 bytes of its data's JSON, its kind,
 * its provenance and its names.
 */
export function recordBytes(r: BrokerRecord, json: string): number {
  return Buffer.byteLength(json) + r.kind.length + byteLength(r.provenance) + nameBytes(r);
}

function checkName(v: unknown, prev: unknown, optional: boolean, i: number, f: string): Diagnostic | null {
  if (v === undefined && optional) return null;
  // Records of a batch mostly repeat the previous (valid) one's names: checked once, compared after.
  if (v !== undefined && v === prev) return null;
  const why = badName(v);
  return why ? diag('E_BROKER_RECORD', `record ${i}: ${f} ${why}`, { field: `records[${i}].${f}` }) : null;
}

function checkRecord(r: BrokerRecord, i: number, prev: BrokerRecord | undefined): Diagnostic | null {
  if (typeof r !== 'object' || r === null || Array.isArray(r))
    return diag('E_BROKER_RECORD', `record ${i} is not an object`, { field: `records[${i}]` });
  const ts: unknown = r.ts;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0)
    return diag('E_BROKER_RECORD', `record ${i}: ts must be a non-negative integer (ms since the epoch), got ${String(ts)}`, {
      field: `records[${i}].ts`,
    });
  if ((prev === undefined || r.kind !== prev.kind) && (typeof r.kind !== 'string' || !KINDS.has(r.kind)))
    return diag('E_BROKER_RECORD', `record ${i}: kind "${String(r.kind)}" is not one of ${RECORD_KINDS.join(', ')}`, {
      field: `records[${i}].kind`,
    });
  const bad =
    checkName(r.tenant, prev?.tenant, false, i, 'tenant') ??
    checkName(r.app, prev?.app, false, i, 'app') ??
    checkName(r.node, prev?.node, true, i, 'node') ??
    checkName(r.service, prev?.service, true, i, 'service') ??
    checkName(r.instance, prev?.instance, true, i, 'instance') ??
    checkName(r.provenance, prev?.provenance, true, i, 'provenance');
  if (bad) return bad;
  const data: unknown = r.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return diag('E_BROKER_RECORD', `record ${i}: data must be an object`, { field: `records[${i}].data` });
  return null;
}

/** Checks and serialises a batch; the first bad record refuses it all. */
export function encodeBatch(records: unknown): Result<EncodedBatch> {
  if (!Array.isArray(records)) return fail(diag('E_BROKER_RECORD', 'append expects an array of records', { field: 'records' }));
  const n = records.length;
  const jsons: string[] = new Array(n);
  let prev: BrokerRecord | undefined;
  for (let i = 0; i < n; i++) {
    const r = records[i] as BrokerRecord;
    const bad = checkRecord(r, i, prev);
    if (bad) return fail(bad);
    prev = r;
    let json: string;
    try {
      json = JSON.stringify(r.data);
    } catch (e) {
      return fail(
        diag('E_BROKER_RECORD', `record ${i}: data cannot be serialised as JSON (${(e as Error).message})`, {
          field: `records[${i}].data`,
        }),
      );
    }
    jsons[i] = json;
  }
  return ok({ records: records as BrokerRecord[], jsons });
}

/** A query with its defaults filled in. */
export interface NormalQuery extends RecordQuery {
  limit: number;
  order: 'asc' | 'desc';
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function checkQuery(q: RecordQuery | undefined): Result<NormalQuery> {
  const query = q ?? {};
  const bad = (field: string, message: string) => fail<NormalQuery>(diag('E_BROKER_QUERY', message, { field }));
  for (const f of ['from', 'to'] as const)
    if (query[f] !== undefined && (typeof query[f] !== 'number' || !Number.isFinite(query[f])))
      return bad(f, `${f} must be a time in ms, got ${String(query[f])}`);
  if (query.from !== undefined && query.to !== undefined && query.from > query.to)
    return bad('from', `from (${query.from}) is after to (${query.to})`);
  if (query.kinds !== undefined) {
    if (!Array.isArray(query.kinds)) return bad('kinds', 'kinds must be a list');
    for (const k of query.kinds) if (!KINDS.has(k)) return bad('kinds', `unknown record kind "${String(k)}"`);
  }
  for (const f of ['tenant', 'app', 'node', 'service', 'instance', 'provenance', 'text'] as const)
    if (query[f] !== undefined && typeof query[f] !== 'string') return bad(f, `${f} must be a string`);
  if (query.afterId !== undefined && !isNonNegInt(query.afterId))
    return bad('afterId', `afterId must be a non-negative integer, got ${String(query.afterId)}`);
  const limit = query.limit ?? DEFAULT_QUERY_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1) return bad('limit', `limit must be a positive integer, got ${String(query.limit)}`);
  const order = query.order ?? 'asc';
  if (order !== 'asc' && order !== 'desc') return bad('order', `order must be "asc" or "desc", got ${String(order)}`);
  return ok({ ...query, limit: Math.min(limit, MAX_QUERY_LIMIT), order });
}

export function checkRetention(p: RetentionPolicy | undefined): Result<RetentionPolicy> {
  const policy = p ?? {};
  for (const f of ['maxAgeMs', 'maxBytes'] as const)
    if (policy[f] !== undefined && !isNonNegInt(policy[f]))
      return fail(diag('E_BROKER_RETENTION', `${f} must be a non-negative integer, got ${String(policy[f])}`, { field: f }));
  return ok(policy);
}

/**
 * The text filter of every store: a substring of the data's JSON, ignoring the case of ASCII
 * letters (SQLite's LIKE folds exactly those, and the PostgreSQL store folds the same set).
 */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

export function kindsOf(q: RecordQuery): RecordKind[] | undefined {
  return q.kinds && q.kinds.length > 0 ? q.kinds : undefined;
}
