/**
 * The record store at scale: one PostgreSQL table, a row per record, the same indexes as the
 * embedded store (by time, kind, tenant/app, node, service, instance, provenance), batches
 * inserted with one statement over arrays (`unnest`), counters in a one-row table updated in the
 * same transactions. The counter row is locked first by every append, which serialises appends
 * so that ids become visible in increasing order: a follower paging with afterId never skips a
 * batch that committed late.
 */
import pg from 'pg';
import { FlowtapError, diag, fail, ok, type Diagnostic, type Result } from '../diagnostics/index.js';
import type { RecordQuery, RecordStore, RetentionPolicy, RetentionReport, StoreStats } from './broker.js';
import type { RecordKind, StoredRecord } from './record.js';
import { asciiLower, checkQuery, checkRetention, encodeBatch, kindsOf, recordBytes, type NormalQuery } from './validate.js';

export interface PgStoreOptions {
  /** postgres://user:pass@host:port/db (anything node-postgres accepts). */
  connectionString: string;
  /** Schema that holds flowtap's tables; created when missing. Default: public. */
  schema?: string;
  /** Shown in diagnostics instead of the connection string (which may hold a password). */
  label?: string;
  connectTimeoutMs?: number;
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
/** Rows scanned per step while looking for the size cut. */
const SIZE_SCAN = 10_000;

function ident(s: string): string {
  return '"' + s.replace(/"/g, '""') + '"';
}

/** Network-level failures mean "unreachable"; anything the server said means "unavailable". */
function pgDiagnostic(label: string, what: string, e: unknown): Diagnostic {
  const err = e as { code?: string; message?: string };
  const message = err?.message || String(e);
  // A five-character SQLSTATE comes from the server; socket errors (ECONNREFUSED...) and
  // node-postgres' own timeouts mean no server answered.
  if (typeof err?.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code))
    return diag('E_BROKER_UNAVAILABLE', `PostgreSQL ${label}: ${what}: ${message} (SQLSTATE ${err.code})`);
  return diag('E_BROKER_UNREACHABLE', `PostgreSQL ${label}: ${what}: ${message}`);
}

export class PgStore implements RecordStore {
  private closed = false;
  private readonly t: string;
  private readonly meta: string;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly label: string,
    schema: string,
  ) {
    this.t = `${ident(schema)}.flowtap_records`;
    this.meta = `${ident(schema)}.flowtap_record_store_meta`;
  }

  static async open(opts: PgStoreOptions): Promise<Result<PgStore>> {
    const schema = opts.schema ?? 'public';
    const label = opts.label ?? 'store';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
      return fail(diag('E_BROKER_URL', `PostgreSQL schema "${schema}" must be a lowercase SQL identifier`, { field: 'schema' }));
    const pool = new pg.Pool({ connectionString: opts.connectionString, max: 4, connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000 });
    // An idle client that loses its server must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    // A client whose server goes away mid-query emits 'error' too; the failing query already reports it.
    pool.on('connect', (c) => c.on('error', () => undefined));
    const store = new PgStore(pool, label, schema);
    try {
      await store.migrate(schema);
    } catch (e) {
      await pool.end().catch(() => undefined);
      return fail(pgDiagnostic(label, 'opening the store', e));
    }
    return ok(store);
  }

  private async migrate(schema: string): Promise<void> {
    const c = await this.pool.connect();
    try {
      // Already made (its last table exists, and the whole schema is made in one transaction):
      // nothing to lock. Running CREATE INDEX IF NOT EXISTS anyway would take a lock on the table
      // that agents are appending to, and deadlock with them (SQLSTATE 40P01).
      const made = await c.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [this.meta]);
      if (made.rows[0]?.t) return;
      await c.query('BEGIN');
      // Two processes opening a fresh database at once must not race on CREATE.
      await c.query("SELECT pg_advisory_xact_lock(hashtext('flowtap_record_store'))");
      if (schema !== 'public') await c.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
      const t = this.t;
      const ix = (name: string) => ident(`flowtap_records_${name}`);
      await c.query(`
        CREATE TABLE IF NOT EXISTS ${t} (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          ts bigint NOT NULL,
          kind text NOT NULL,
          tenant text NOT NULL,
          app text NOT NULL,
          node text,
          service text,
          instance text,
          provenance text,
          data json NOT NULL,
          bytes integer NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ${ix('ts')} ON ${t} (ts, id);
        CREATE INDEX IF NOT EXISTS ${ix('kind')} ON ${t} (kind, ts);
        CREATE INDEX IF NOT EXISTS ${ix('tenant_app')} ON ${t} (tenant, app, ts);
        CREATE INDEX IF NOT EXISTS ${ix('app')} ON ${t} (app, ts);
        CREATE INDEX IF NOT EXISTS ${ix('node')} ON ${t} (node, ts);
        CREATE INDEX IF NOT EXISTS ${ix('service')} ON ${t} (service, ts);
        CREATE INDEX IF NOT EXISTS ${ix('instance')} ON ${t} (instance, ts);
        CREATE INDEX IF NOT EXISTS ${ix('provenance')} ON ${t} (provenance) WHERE provenance IS NOT NULL;
        CREATE TABLE IF NOT EXISTS ${this.meta} (
          one integer PRIMARY KEY CHECK (one = 1),
          records bigint NOT NULL,
          bytes bigint NOT NULL,
          appended bigint NOT NULL,
          dropped_by_age bigint NOT NULL,
          dropped_by_size bigint NOT NULL
        );
        INSERT INTO ${this.meta} VALUES (1, 0, 0, 0, 0, 0) ON CONFLICT DO NOTHING;
      `);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  private guard(): void {
    if (this.closed) throw new FlowtapError(diag('E_BROKER_CLOSED', `the PostgreSQL store ${this.label} is closed`));
  }

  private async tx<T>(what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw new FlowtapError(pgDiagnostic(this.label, what, e));
    }
    try {
      await c.query('BEGIN');
      const v = await fn(c);
      await c.query('COMMIT');
      c.release();
      return v;
    } catch (e) {
      // A client whose ROLLBACK fails lost its server: destroyed, not handed out again.
      const broken = await c.query('ROLLBACK').then(
        () => false,
        () => true,
      );
      c.release(broken);
      throw e instanceof FlowtapError ? e : new FlowtapError(pgDiagnostic(this.label, what, e));
    }
  }

  async append(records: Parameters<RecordStore['append']>[0]): Promise<void> {
    this.guard();
    const enc = encodeBatch(records);
    if (!enc.ok) throw new FlowtapError(enc.errors);
    const { records: rs, jsons } = enc.value;
    const n = rs.length;
    if (n === 0) return;
    const cols = {
      ts: new Array<number>(n),
      kind: new Array<string>(n),
      tenant: new Array<string>(n),
      app: new Array<string>(n),
      node: new Array<string | null>(n),
      service: new Array<string | null>(n),
      instance: new Array<string | null>(n),
      provenance: new Array<string | null>(n),
      bytes: new Array<number>(n),
    };
    let total = 0;
    for (let i = 0; i < n; i++) {
      const r = rs[i];
      cols.ts[i] = r.ts;
      cols.kind[i] = r.kind;
      cols.tenant[i] = r.tenant;
      cols.app[i] = r.app;
      cols.node[i] = r.node ?? null;
      cols.service[i] = r.service ?? null;
      cols.instance[i] = r.instance ?? null;
      cols.provenance[i] = r.provenance ?? null;
      const b = recordBytes(r, jsons[i]);
      cols.bytes[i] = b;
      total += b;
    }
    await this.tx('append', async (c) => {
      // The counter row first: its lock orders appends, hence the ids they draw (see top).
      await c.query(`UPDATE ${this.meta} SET records = records + $1, bytes = bytes + $2, appended = appended + $1 WHERE one = 1`, [
        n,
        total,
      ]);
      await c.query(
        `INSERT INTO ${this.t} (ts, kind, tenant, app, node, service, instance, provenance, data, bytes)
         SELECT ts, kind, tenant, app, node, service, instance, provenance, data, bytes
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::json[], $10::integer[])
           WITH ORDINALITY AS u (ts, kind, tenant, app, node, service, instance, provenance, data, bytes, ord)
         ORDER BY ord`,
        [cols.ts, cols.kind, cols.tenant, cols.app, cols.node, cols.service, cols.instance, cols.provenance, jsons, cols.bytes],
      );
    });
  }

  async query(q: RecordQuery): Promise<StoredRecord[]> {
    this.guard();
    const checked = checkQuery(q);
    if (!checked.ok) throw new FlowtapError(checked.errors);
    const { sql, params } = this.querySql(checked.value);
    let res: pg.QueryResult;
    try {
      res = await this.pool.query({ text: sql, values: params, rowMode: 'array' });
    } catch (e) {
      throw new FlowtapError(pgDiagnostic(this.label, 'query', e));
    }
    return res.rows.map((row: unknown[]) => {
      const [id, ts, kind, tenant, app, node, service, instance, provenance, data] = row as [
        string,
        string,
        RecordKind,
        string,
        string,
        string | null,
        string | null,
        string | null,
        string | null,
        Record<string, unknown>,
      ];
      const r: StoredRecord = { id: Number(id), ts: Number(ts), kind, tenant, app, data };
      if (node !== null) r.node = node;
      if (service !== null) r.service = service;
      if (instance !== null) r.instance = instance;
      if (provenance !== null) r.provenance = provenance;
      return r;
    });
  }

  private querySql(q: NormalQuery): { sql: string; params: unknown[] } {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    // ts is an integer column: a fractional bound rounds the way that keeps the same records.
    if (q.from !== undefined) where.push(`ts >= ${p(Math.ceil(q.from))}`);
    if (q.to !== undefined) where.push(`ts < ${p(Math.ceil(q.to))}`);
    const kinds = kindsOf(q);
    if (kinds) where.push(`kind = ANY(${p(kinds)}::text[])`);
    for (const f of ['tenant', 'app', 'node', 'service', 'instance', 'provenance'] as const)
      if (q[f] !== undefined) where.push(`${f} = ${p(q[f])}`);
    if (q.afterId !== undefined) where.push(`id > ${p(q.afterId)}`);
    if (q.text !== undefined && q.text !== '')
      where.push(`position(${p(asciiLower(q.text))} in translate(data::text, '${UPPER}', '${LOWER}')) > 0`);
    const sql =
      `SELECT id, ts, kind, tenant, app, node, service, instance, provenance, data FROM ${this.t}` +
      (where.length ? ' WHERE ' + where.join(' AND ') : '') +
      ` ORDER BY id ${q.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${q.limit}`;
    return { sql, params };
  }

  async retain(policy: RetentionPolicy, now: number = Date.now()): Promise<RetentionReport> {
    this.guard();
    const checked = checkRetention(policy);
    if (!checked.ok) throw new FlowtapError(checked.errors);
    const report: RetentionReport = { droppedByAge: 0, droppedBySize: 0 };
    const { maxAgeMs, maxBytes } = checked.value;
    if (maxAgeMs !== undefined) {
      report.droppedByAge = await this.tx('retention', async (c) => {
        await c.query(`SELECT 1 FROM ${this.meta} WHERE one = 1 FOR UPDATE`);
        const r = await c.query(
          `WITH d AS (DELETE FROM ${this.t} WHERE ts < $1 RETURNING bytes) SELECT count(*)::bigint AS n, coalesce(sum(bytes), 0)::bigint AS b FROM d`,
          [Math.ceil(now - maxAgeMs)],
        );
        const n = Number(r.rows[0].n);
        if (n > 0)
          await c.query(
            `UPDATE ${this.meta} SET records = records - $1, bytes = bytes - $2, dropped_by_age = dropped_by_age + $1 WHERE one = 1`,
            [n, Number(r.rows[0].b)],
          );
        return n;
      });
    }
    if (maxBytes !== undefined) {
      report.droppedBySize = await this.tx('retention', async (c) => {
        const m = await c.query(`SELECT bytes FROM ${this.meta} WHERE one = 1 FOR UPDATE`);
        const excess = Number(m.rows[0].bytes) - maxBytes;
        if (excess <= 0) return 0;
        // Oldest first, by (ts, id): walk the index until the bytes seen cover the excess.
        let acc = 0;
        let after: [string, string] | null = null;
        let cut: [string, string] | null = null;
        while (cut === null) {
          const step: pg.QueryArrayConfig<string[]> = {
            text: `SELECT ts, id, bytes FROM ${this.t}${after ? ' WHERE (ts, id) > ($1, $2)' : ''} ORDER BY ts, id LIMIT ${SIZE_SCAN}`,
            values: after ?? [],
            rowMode: 'array',
          };
          const page = await c.query(step);
          for (const [ts, id, bytes] of page.rows as [string, string, number][]) {
            acc += bytes;
            if (acc >= excess) {
              cut = [ts, id];
              break;
            }
          }
          if (cut === null) {
            if (page.rows.length < SIZE_SCAN) {
              const last = page.rows[page.rows.length - 1] as [string, string] | undefined;
              cut = last ? [last[0], last[1]] : after;
              if (cut === null) return 0;
            } else {
              const last = page.rows[page.rows.length - 1] as [string, string];
              after = [last[0], last[1]];
            }
          }
        }
        const r = await c.query(
          `WITH d AS (DELETE FROM ${this.t} WHERE (ts, id) <= ($1, $2) RETURNING bytes) SELECT count(*)::bigint AS n, coalesce(sum(bytes), 0)::bigint AS b FROM d`,
          cut,
        );
        const n = Number(r.rows[0].n);
        if (n > 0)
          await c.query(
            `UPDATE ${this.meta} SET records = records - $1, bytes = bytes - $2, dropped_by_size = dropped_by_size + $1 WHERE one = 1`,
            [n, Number(r.rows[0].b)],
          );
        return n;
      });
    }
    return report;
  }

  async stats(): Promise<StoreStats> {
    this.guard();
    let r: pg.QueryResult;
    try {
      r = await this.pool.query(`SELECT records, bytes, appended, dropped_by_age, dropped_by_size FROM ${this.meta} WHERE one = 1`);
    } catch (e) {
      throw new FlowtapError(pgDiagnostic(this.label, 'stats', e));
    }
    const m = r.rows[0];
    return {
      records: Number(m.records),
      bytes: Number(m.bytes),
      appended: Number(m.appended),
      droppedByAge: Number(m.dropped_by_age),
      droppedBySize: Number(m.dropped_by_size),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end().catch(() => undefined);
  }
}
