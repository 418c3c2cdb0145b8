/**
 * The embedded record store: SQLite through better-sqlite3, records kept in chunks (chunk.ts)
 * with indexes per chunk, provenance ids in an FTS5 index (its writes are log-structured, so
 * random connection uids cost no random B-tree writes), and counters (records, bytes, appended,
 * dropped) in the same file, updated in the same transactions, so they survive a restart and
 * never disagree with the rows.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { FlowtapError, diag } from '../diagnostics/index.js';
import type { RecordQuery, RecordStore, RetentionPolicy, RetentionReport, StoreStats } from './broker.js';
import { BULK_KINDS, CHUNK_MAX_SPAN_MS, chunkBatch, chunkBody, chunkBytes, provenanceText } from './chunk.js';
import type { RecordKind, StoredRecord } from './record.js';
import { sqliteError, type SqliteDb, type SqliteFile, type SqliteStatement } from './sqlite-file.js';
import {
  asciiLower,
  byteLength,
  checkQuery,
  checkRetention,
  encodeBatch,
  kindsOf,
  type EncodedBatch,
  type NormalQuery,
} from './validate.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS record_chunks (
  id INTEGER PRIMARY KEY,
  kind TEXT,
  kinds INTEGER NOT NULL,
  kind_seq TEXT,
  tenant TEXT NOT NULL,
  app TEXT NOT NULL,
  node TEXT,
  service TEXT,
  instance TEXT,
  ts_min INTEGER NOT NULL,
  ts_max INTEGER NOT NULL,
  min_id INTEGER NOT NULL,
  max_id INTEGER NOT NULL,
  n INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  ids TEXT NOT NULL,
  tss TEXT NOT NULL,
  provs TEXT,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS record_chunks_ts ON record_chunks (ts_min);
CREATE INDEX IF NOT EXISTS record_chunks_max_id ON record_chunks (max_id);
CREATE INDEX IF NOT EXISTS record_chunks_kind ON record_chunks (kind, ts_min);
CREATE INDEX IF NOT EXISTS record_chunks_app ON record_chunks (app, tenant, ts_min);
CREATE INDEX IF NOT EXISTS record_chunks_node ON record_chunks (node, ts_min);
CREATE INDEX IF NOT EXISTS record_chunks_service ON record_chunks (service, ts_min);
CREATE INDEX IF NOT EXISTS record_chunks_instance ON record_chunks (instance, ts_min);
CREATE VIRTUAL TABLE IF NOT EXISTS record_provenance USING fts5 (p, content = '', contentless_delete = 1, detail = none, tokenize = 'ascii');
CREATE TABLE IF NOT EXISTS record_kinds (
  code INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS record_store_meta (
  one INTEGER PRIMARY KEY CHECK (one = 1),
  next_id INTEGER NOT NULL,
  records INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  appended INTEGER NOT NULL,
  dropped_by_age INTEGER NOT NULL,
  dropped_by_size INTEGER NOT NULL
);
INSERT OR IGNORE INTO record_store_meta VALUES (1, 1, 0, 0, 0, 0, 0);
`;

/** Chunks deleted per transaction by retention, so appends interleave with a long purge. */
const RETAIN_ROUND = 2000;
/** Chunks weighed per round of retention by size (it parses them to size their records). */
const SIZE_ROUND = 200;

interface ChunkRow {
  id: number;
  kind: string | null;
  kind_seq: string | null;
  tenant: string;
  app: string;
  node: string | null;
  service: string | null;
  instance: string | null;
  ids: string;
  tss: string;
  provs: string | null;
  body: string;
}

/**
 * Kinds are numbered per file (record_kinds), so that a chunk can keep the set of its kinds as a
 * bit mask (`kinds`, which SQL tests) and each record's kind as one character (`kind_seq`).
 */
const KIND_CHAR_BASE = 65;
const MAX_KIND_CODE = 52;

const CHUNK_COLUMNS = 'id, kind, kind_seq, tenant, app, node, service, instance, ids, tss, provs, body';

interface Decoded {
  ids: number[];
  tss: number[];
  provs: (string | null)[] | null;
  data: unknown[];
}

/** A (ts, id) position: retention drops every record at or before it. */
interface Cut {
  ts: number;
  id: number;
}

// FTS5's ascii tokenizer: words are runs of ASCII letters and digits and of non-ASCII characters.
const WORDS = /[A-Za-z0-9\u0080-\uffff]+/g;

/** Every word of a provenance id (the index keeps no positions: a superset, compared exactly after). */
function ftsWords(s: string): string | null {
  const words = s.match(WORDS);
  return words ? words.map((w) => '"' + w + '"').join(' AND ') : null;
}

function likeContains(s: string): string {
  return '%' + s.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
}

export class SqliteStore implements RecordStore {
  private readonly db: SqliteDb;
  private closed = false;
  private readonly statements = new Map<string, SqliteStatement>();
  private readonly appendTx: (batch: EncodedBatch) => void;
  private readonly kindCode = new Map<string, number>();
  private readonly kindName: string[] = [];

  constructor(private readonly file: SqliteFile) {
    this.db = file.db;
    this.db.exec(SCHEMA);
    file.retain();
    this.loadKinds();
    const nextId = this.db.prepare('SELECT next_id FROM record_store_meta').pluck();
    const insert = this.db.prepare(
      `INSERT INTO record_chunks (kind, kinds, kind_seq, tenant, app, node, service, instance, ts_min, ts_max, min_id, max_id, n, bytes, ids, tss, provs, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertProv = this.db.prepare('INSERT INTO record_provenance (rowid, p) VALUES (?, ?)');
    const bump = this.db.prepare(
      'UPDATE record_store_meta SET next_id = next_id + @n, records = records + @n, bytes = bytes + @bytes, appended = appended + @n',
    );
    const tx = this.db.transaction((batch: EncodedBatch) => {
      const first = nextId.get() as number;
      let bytes = 0;
      for (const c of chunkBatch(batch, first)) {
        const provs = c.hasProvenance ? JSON.stringify(c.provs) : null;
        const { mask, seq } = this.encodeKinds(c.kind, c.kinds);
        const body = chunkBody(c.jsons);
        const size = chunkBytes(c, body);
        const { lastInsertRowid } = insert.run(
          c.kind,
          mask,
          seq,
          c.tenant,
          c.app,
          c.node,
          c.service,
          c.instance,
          c.tsMin,
          c.tsMax,
          c.minId,
          c.maxId,
          c.ids.length,
          size,
          JSON.stringify(c.ids),
          JSON.stringify(c.tss),
          provs,
          body,
        );
        const words = provenanceText(c);
        if (words !== null) insertProv.run(lastInsertRowid, words);
        bytes += size;
      }
      bump.run({ n: batch.records.length, bytes });
    });
    // IMMEDIATE: take the write lock before reading next_id, so two processes never share ids.
    this.appendTx = (b) => tx.immediate(b);
  }

  private loadKinds(): void {
    for (const { code, name } of this.db.prepare('SELECT code, name FROM record_kinds').all() as { code: number; name: string }[]) {
      this.kindCode.set(name, code);
      this.kindName[code] = name;
    }
  }

  /** Numbers kinds not seen before, outside the append transaction (another process may too). */
  private registerKinds(batch: EncodedBatch): void {
    const fresh = new Set<string>();
    for (const r of batch.records) if (!this.kindCode.has(r.kind)) fresh.add(r.kind);
    if (fresh.size === 0) return;
    const add = this.db.prepare('INSERT OR IGNORE INTO record_kinds (code, name) SELECT coalesce(max(code) + 1, 0), ? FROM record_kinds');
    this.db
      .transaction(() => {
        for (const k of fresh) add.run(k);
      })
      .immediate();
    this.loadKinds();
    for (const k of fresh)
      if ((this.kindCode.get(k) ?? Infinity) > MAX_KIND_CODE) throw new Error(`too many record kinds for one store (${k})`);
  }

  private encodeKinds(kind: string | null, kinds: string[]): { mask: number; seq: string | null } {
    if (kind !== null) return { mask: 2 ** (this.kindCode.get(kind) as number), seq: null };
    let mask = 0;
    let seq = '';
    for (const k of kinds) {
      const code = this.kindCode.get(k) as number;
      const bit = 2 ** code;
      // Bits are disjoint powers of two: adding a new one is OR without 32-bit truncation.
      if (Math.floor(mask / bit) % 2 === 0) mask += bit;
      seq += String.fromCharCode(KIND_CHAR_BASE + code);
    }
    return { mask, seq };
  }

  private maskOf(kinds: readonly string[]): number {
    // Another process may have numbered a kind since this one last read the table.
    if (kinds.some((k) => !this.kindCode.has(k))) this.loadKinds();
    let mask = 0;
    for (const k of new Set(kinds)) {
      const code = this.kindCode.get(k);
      if (code !== undefined) mask += 2 ** code;
    }
    return mask;
  }

  private stmt(sql: string): SqliteStatement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare<unknown[], unknown>(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private guard(): void {
    if (this.closed) throw new FlowtapError(diag('E_BROKER_CLOSED', `the SQLite store ${this.file.path} is closed`));
  }

  private io(what: string, e: unknown): FlowtapError {
    return e instanceof FlowtapError ? e : new FlowtapError(sqliteError(this.file.path, what, e));
  }

  async append(records: Parameters<RecordStore['append']>[0]): Promise<void> {
    this.guard();
    const batch = encodeBatch(records);
    if (!batch.ok) throw new FlowtapError(batch.errors);
    if (batch.value.records.length === 0) return;
    try {
      this.file.writing();
      this.registerKinds(batch.value);
      this.appendTx(batch.value);
    } catch (e) {
      throw this.io('append', e);
    }
  }

  async query(q: RecordQuery): Promise<StoredRecord[]> {
    this.guard();
    const checked = checkQuery(q);
    if (!checked.ok) throw new FlowtapError(checked.errors);
    try {
      return this.runQuery(checked.value);
    } catch (e) {
      throw this.io('query', e);
    }
  }

  private runQuery(q: NormalQuery): StoredRecord[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.from !== undefined) {
      // A chunk spans at most CHUNK_MAX_SPAN_MS: the lower bound on ts_min lets an index range-scan.
      where.push('ts_max >= ?', 'ts_min >= ?');
      params.push(q.from, q.from - CHUNK_MAX_SPAN_MS);
    }
    if (q.to !== undefined) {
      where.push('ts_min < ?');
      params.push(q.to);
    }
    const kinds = kindsOf(q);
    if (kinds) {
      where.push('(kinds & ?) != 0');
      params.push(this.maskOf(kinds));
      // Kinds that never share a chunk are also the chunk's own kind: the kind index finds them.
      if (kinds.every((k) => !BULK_KINDS.has(k))) {
        where.push(`kind IN (${kinds.map(() => '?').join(', ')})`);
        params.push(...kinds);
      }
    }
    for (const f of ['tenant', 'app', 'node', 'service', 'instance'] as const) {
      if (q[f] === undefined) continue;
      where.push(`${f} = ?`);
      params.push(q[f]);
    }
    if (q.afterId !== undefined) {
      where.push('max_id > ?');
      params.push(q.afterId);
    }
    if (q.provenance !== undefined) {
      const words = ftsWords(q.provenance);
      if (words !== null) {
        where.push('id IN (SELECT rowid FROM record_provenance WHERE record_provenance MATCH ?)');
        params.push(words);
      } else {
        where.push('instr(provs, ?) > 0');
        params.push(JSON.stringify(q.provenance));
      }
    }
    const needle = q.text !== undefined && q.text !== '' ? asciiLower(q.text) : undefined;
    if (needle !== undefined) {
      where.push("body LIKE ? ESCAPE '\\'");
      params.push(likeContains(needle));
    }
    const asc = q.order === 'asc';
    const sql =
      `SELECT id, min_id, max_id FROM record_chunks${where.length ? ' WHERE ' + where.join(' AND ') : ''}` +
      (asc ? ' ORDER BY min_id' : ' ORDER BY max_id DESC');
    const candidates = this.stmt(sql).raw(true);
    const fetch = this.stmt(`SELECT ${CHUNK_COLUMNS} FROM record_chunks WHERE id = ?`);

    const out: StoredRecord[] = [];
    const byId = asc ? (a: StoredRecord, b: StoredRecord) => a.id - b.id : (a: StoredRecord, b: StoredRecord) => b.id - a.id;
    let threshold = asc ? Infinity : -Infinity;
    for (const [chunkId, minId, maxId] of candidates.iterate(...params) as Iterable<[number, number, number]>) {
      // Chunks come in order of their first (last) id: once one starts past the page, all do.
      if (out.length >= q.limit && (asc ? minId > threshold : maxId < threshold)) break;
      const row = fetch.get(chunkId) as ChunkRow;
      this.collect(row, q, needle, out);
      if (out.length >= q.limit) {
        out.sort(byId);
        out.length = q.limit;
        threshold = out[q.limit - 1].id;
      }
    }
    out.sort(byId);
    if (out.length > q.limit) out.length = q.limit;
    return out;
  }

  private kindAt(row: ChunkRow, i: number): RecordKind {
    if (row.kind !== null) return row.kind as RecordKind;
    const code = (row.kind_seq as string).charCodeAt(i) - KIND_CHAR_BASE;
    // Another process sharing the file may have numbered a kind since we loaded the table.
    if (this.kindName[code] === undefined) this.loadKinds();
    return this.kindName[code] as RecordKind;
  }

  private collect(row: ChunkRow, q: NormalQuery, needle: string | undefined, out: StoredRecord[]): void {
    const ids = JSON.parse(row.ids) as number[];
    const tss = JSON.parse(row.tss) as number[];
    const provs = row.provs === null ? null : (JSON.parse(row.provs) as (string | null)[]);
    const kinds = row.kind === null ? kindsOf(q) : undefined;
    const hits: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const ts = tss[i];
      if (kinds !== undefined && !kinds.includes(this.kindAt(row, i))) continue;
      if (q.from !== undefined && ts < q.from) continue;
      if (q.to !== undefined && ts >= q.to) continue;
      if (q.afterId !== undefined && ids[i] <= q.afterId) continue;
      if (q.provenance !== undefined && (provs === null || provs[i] !== q.provenance)) continue;
      hits.push(i);
    }
    if (hits.length === 0) return;
    const data = JSON.parse(row.body) as Record<string, unknown>[];
    for (const i of hits) {
      if (needle !== undefined && !asciiLower(JSON.stringify(data[i])).includes(needle)) continue;
      const r: StoredRecord = { id: ids[i], ts: tss[i], kind: this.kindAt(row, i), tenant: row.tenant, app: row.app, data: data[i] };
      if (row.node !== null) r.node = row.node;
      if (row.service !== null) r.service = row.service;
      if (row.instance !== null) r.instance = row.instance;
      const p = provs?.[i];
      if (p !== undefined && p !== null) r.provenance = p;
      out.push(r);
    }
  }

  async retain(policy: RetentionPolicy, now: number = Date.now()): Promise<RetentionReport> {
    this.guard();
    const checked = checkRetention(policy);
    if (!checked.ok) throw new FlowtapError(checked.errors);
    const report: RetentionReport = { droppedByAge: 0, droppedBySize: 0 };
    try {
      if (checked.value.maxAgeMs !== undefined) {
        // ts < cutoff is, for integer ts, every id at or before ts = ceil(cutoff) - 1.
        const cutoff = now - checked.value.maxAgeMs;
        report.droppedByAge = await this.dropThrough({ ts: Math.ceil(cutoff) - 1, id: Number.MAX_SAFE_INTEGER }, 'age');
      }
      const maxBytes = checked.value.maxBytes;
      if (maxBytes !== undefined) {
        for (;;) {
          this.guard();
          const cut = this.sizeCut(maxBytes);
          if (cut === null) break;
          report.droppedBySize += await this.dropThrough(cut, 'size');
          await yieldToLoop();
        }
      }
    } catch (e) {
      throw this.io('retention', e);
    }
    return report;
  }

  /**
   * The smallest prefix of records in (ts, id) order whose bytes cover the excess over
   * maxBytes, bounded to a round's worth so one pass never holds millions of records in memory;
   * the caller repeats until nothing is in excess, which drops exactly the same records.
   */
  private sizeCut(maxBytes: number): Cut | null {
    const total = this.stmt('SELECT bytes FROM record_store_meta').pluck().get() as number;
    if (total <= maxBytes) return null;
    const excess = total - maxBytes;
    // Oldest chunks first: every record of those walked is at or before T0 (their latest), so
    // dropping through T0 covers the round's target and the exact cut is at or before T0.
    let acc = 0;
    let t0 = -Infinity;
    let walked = 0;
    for (const [tsMax, bytes] of this.stmt('SELECT ts_max, bytes FROM record_chunks ORDER BY ts_min').raw(true).iterate() as Iterable<
      [number, number]
    >) {
      acc += bytes;
      t0 = Math.max(t0, tsMax);
      if (acc >= excess || ++walked >= SIZE_ROUND) break;
    }
    const target = Math.min(excess, acc);
    const candidates: [number, number, number][] = [];
    const rows = this.stmt(`SELECT ${CHUNK_COLUMNS} FROM record_chunks WHERE ts_min <= ?`).iterate(t0) as Iterable<ChunkRow>;
    for (const row of rows) {
      const d = this.decode(row);
      for (let i = 0; i < d.ids.length; i++) if (d.tss[i] <= t0) candidates.push([d.tss[i], d.ids[i], this.sizeAt(row, d, i)]);
    }
    candidates.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let sum = 0;
    for (const [ts, id, size] of candidates) {
      sum += size;
      if (sum >= target) return { ts, id };
    }
    const last = candidates[candidates.length - 1];
    return last ? { ts: last[0], id: last[1] } : null;
  }

  /** Drops every record at or before the cut, whole chunks first, in bounded transactions. */
  private async dropThrough(cut: Cut, why: 'age' | 'size'): Promise<number> {
    const column = why === 'age' ? 'dropped_by_age' : 'dropped_by_size';
    const count = this.stmt(`UPDATE record_store_meta SET records = records - ?, bytes = bytes - ?, ${column} = ${column} + ?`);
    const wholeSql = 'SELECT id, n, bytes, provs IS NOT NULL FROM record_chunks WHERE ts_min < @ts AND ts_max < @ts LIMIT @limit';
    const delChunk = this.stmt('DELETE FROM record_chunks WHERE id = ?');
    const delProv = this.stmt('DELETE FROM record_provenance WHERE rowid = ?');
    let dropped = 0;
    const wholeRound = this.db.transaction((): number => {
      const rows = this.stmt(wholeSql).raw(true).all({ ts: cut.ts, limit: RETAIN_ROUND }) as [number, number, number, number][];
      let n = 0;
      let bytes = 0;
      for (const [id, rn, rb, hasProv] of rows) {
        if (hasProv) delProv.run(id);
        delChunk.run(id);
        n += rn;
        bytes += rb;
      }
      if (n > 0) count.run(n, bytes, n);
      dropped += n;
      return rows.length;
    });
    while (wholeRound.immediate() === RETAIN_ROUND) {
      await yieldToLoop();
      this.guard();
    }
    // Chunks that straddle the cut keep their records after it.
    const straddle = this.db.transaction(() => {
      const rows = this.stmt(`SELECT ${CHUNK_COLUMNS} FROM record_chunks WHERE ts_min <= @ts AND ts_max >= @ts AND ts_min >= @lowest`).all({
        ts: cut.ts,
        lowest: cut.ts - CHUNK_MAX_SPAN_MS,
      }) as ChunkRow[];
      let n = 0;
      let bytes = 0;
      for (const row of rows) {
        const r = this.trim(row, cut);
        n += r.n;
        bytes += r.bytes;
      }
      if (n > 0) count.run(n, bytes, n);
      dropped += n;
    });
    straddle.immediate();
    return dropped;
  }

  /** A chunk's columns parsed: what retention needs of it. */
  private decode(row: ChunkRow): Decoded {
    return {
      ids: JSON.parse(row.ids) as number[],
      tss: JSON.parse(row.tss) as number[],
      provs: row.provs === null ? null : (JSON.parse(row.provs) as (string | null)[]),
      data: JSON.parse(row.body) as unknown[],
    };
  }

  /** A stored record's size as recordBytes counted it when it came (its JSON serialises back alike). */
  private sizeAt(row: ChunkRow, d: Decoded, i: number): number {
    return (
      Buffer.byteLength(JSON.stringify(d.data[i])) +
      this.kindAt(row, i).length +
      byteLength(d.provs?.[i]) +
      byteLength(row.tenant) +
      byteLength(row.app) +
      byteLength(row.node) +
      byteLength(row.service) +
      byteLength(row.instance)
    );
  }

  /** Rewrites a chunk without its records at or before the cut; returns what went. */
  private trim(row: ChunkRow, cut: Cut): { n: number; bytes: number } {
    const d = this.decode(row);
    const { ids, tss, provs, data } = d;
    const keep: number[] = [];
    for (let i = 0; i < ids.length; i++) if (tss[i] > cut.ts || (tss[i] === cut.ts && ids[i] > cut.id)) keep.push(i);
    if (keep.length === ids.length) return { n: 0, bytes: 0 };
    let gone = 0;
    const kept = new Set(keep);
    for (let i = 0; i < ids.length; i++) if (!kept.has(i)) gone += this.sizeAt(row, d, i);
    if (row.provs !== null) this.stmt('DELETE FROM record_provenance WHERE rowid = ?').run(row.id);
    if (keep.length === 0) {
      this.stmt('DELETE FROM record_chunks WHERE id = ?').run(row.id);
      return { n: ids.length, bytes: gone };
    }
    const kIds = keep.map((i) => ids[i]);
    const kKinds = keep.map((i) => this.kindAt(row, i));
    const single = kKinds.every((k) => k === kKinds[0]) ? kKinds[0] : null;
    const { mask, seq } = this.encodeKinds(single, kKinds);
    const kTss = keep.map((i) => tss[i]);
    const kProvs = provs === null ? null : keep.map((i) => provs[i]);
    const hasProvenance = kProvs?.some((p) => p !== null) ?? false;
    this.stmt(
      `UPDATE record_chunks SET kind = ?, kinds = ?, kind_seq = ?, ts_min = ?, ts_max = ?, min_id = ?, max_id = ?, n = ?, bytes = bytes - ?, ids = ?, tss = ?, provs = ?, body = ?
       WHERE id = ?`,
    ).run(
      single,
      mask,
      seq,
      Math.min(...kTss),
      Math.max(...kTss),
      Math.min(...kIds),
      Math.max(...kIds),
      keep.length,
      gone,
      JSON.stringify(kIds),
      JSON.stringify(kTss),
      hasProvenance ? JSON.stringify(kProvs) : null,
      JSON.stringify(keep.map((i) => data[i])),
      row.id,
    );
    const words = provenanceText({ provs: kProvs ?? [], hasProvenance });
    if (words !== null) this.stmt('INSERT INTO record_provenance (rowid, p) VALUES (?, ?)').run(row.id, words);
    return { n: ids.length - keep.length, bytes: gone };
  }

  async stats(): Promise<StoreStats> {
    this.guard();
    const m = this.stmt('SELECT records, bytes, appended, dropped_by_age, dropped_by_size FROM record_store_meta').get() as {
      records: number;
      bytes: number;
      appended: number;
      dropped_by_age: number;
      dropped_by_size: number;
    };
    return { records: m.records, bytes: m.bytes, appended: m.appended, droppedByAge: m.dropped_by_age, droppedBySize: m.dropped_by_size };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    await this.file.release();
  }
}
