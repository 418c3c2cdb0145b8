/**
 * The SQLite store keeps records in chunks: the records of one batch that share tenant, app,
 * node, service and instance, stored as one row. A batch of 1,000 records from an agent becomes
 * a dozen or two rows, so the store maintains its indexes per chunk instead of per record (a row
 * and seven index entries per record ingest at a fraction of the rate; bench/broker.ts measures
 * both). The high-volume kinds share a chunk; every other kind (notices, reactions, topology,
 * configuration...) gets chunks of its own, which the kind index finds directly. Queries find
 * chunks through the indexes and filter their records exactly, so chunking never changes an
 * answer.
 */
import type { BrokerRecord } from './record.js';
import { byteLength, nameBytes, type EncodedBatch } from './validate.js';

/** Kinds that collectors produce in volume; they share a chunk per instance. */
export const BULK_KINDS: ReadonlySet<string> = new Set(['counter', 'interface', 'flow', 'log', 'monitor-log', 'syscall']);

/** A chunk never spans more time than this, so a window query can bound its index scan. */
export const CHUNK_MAX_SPAN_MS = 5 * 60_000;
/** Nor more records than this, so a query that needs one record parses few others. */
const CHUNK_MAX_RECORDS = 256;

export interface Chunk {
  /** The kind of every record in the chunk, or null when it mixes (bulk) kinds; see `kinds`. */
  kind: string | null;
  /** Each record's kind. */
  kinds: string[];
  tenant: string;
  app: string;
  node: string | null;
  service: string | null;
  instance: string | null;
  /** Bytes of the names above (not the kind), part of every record's size. */
  nameBytes: number;
  ids: number[];
  tss: number[];
  provs: (string | null)[];
  hasProvenance: boolean;
  jsons: string[];
  tsMin: number;
  tsMax: number;
  minId: number;
  maxId: number;
  /** Bytes of the kinds and provenance ids; with the data's and the names', the records' sizes. */
  extraBytes: number;
}

function emptyLike(c: Pick<Chunk, 'kind' | 'tenant' | 'app' | 'node' | 'service' | 'instance' | 'nameBytes'>): Chunk {
  return {
    kind: c.kind,
    kinds: [],
    tenant: c.tenant,
    app: c.app,
    node: c.node,
    service: c.service,
    instance: c.instance,
    nameBytes: c.nameBytes,
    ids: [],
    tss: [],
    provs: [],
    hasProvenance: false,
    jsons: [],
    tsMin: Infinity,
    tsMax: -Infinity,
    minId: Infinity,
    maxId: -Infinity,
    extraBytes: 0,
  };
}

function newChunk(r: BrokerRecord): Chunk {
  return emptyLike({
    kind: r.kind,
    tenant: r.tenant,
    app: r.app,
    node: r.node ?? null,
    service: r.service ?? null,
    instance: r.instance ?? null,
    nameBytes: nameBytes(r),
  });
}

function add(c: Chunk, kind: string, id: number, ts: number, prov: string | null, json: string): void {
  if (c.kind !== kind && c.kinds.length > 0) c.kind = null;
  c.kinds.push(kind);
  c.ids.push(id);
  c.tss.push(ts);
  c.provs.push(prov);
  c.extraBytes += kind.length;
  if (prov !== null) {
    c.hasProvenance = true;
    c.extraBytes += byteLength(prov);
  }
  c.jsons.push(json);
  if (ts < c.tsMin) c.tsMin = ts;
  if (ts > c.tsMax) c.tsMax = ts;
  if (id < c.minId) c.minId = id;
  if (id > c.maxId) c.maxId = id;
}

type Level = Map<string | undefined, unknown>;

// One map level per name instead of a joined key string: no allocation per record.
function level(m: Level, k: string | undefined): Level {
  let v = m.get(k) as Level | undefined;
  if (v === undefined) {
    v = new Map();
    m.set(k, v);
  }
  return v;
}

/**
 * Splits a checked batch, whose records get ids firstId, firstId+1, ... in order, into chunks
 * ordered by their smallest id (the store inserts them in that order, so chunk row order
 * follows record id order).
 */
export function chunkBatch(batch: EncodedBatch, firstId: number, maxSpanMs = CHUNK_MAX_SPAN_MS, maxRecords = CHUNK_MAX_RECORDS): Chunk[] {
  const root: Level = new Map();
  const out: Chunk[] = [];
  const { records, jsons } = batch;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    // Bulk kinds group under '' (no kind is empty); the others under their own name.
    const leaf = level(level(level(level(level(root, BULK_KINDS.has(r.kind) ? '' : r.kind), r.tenant), r.app), r.node), r.service);
    let c = leaf.get(r.instance) as Chunk | undefined;
    if (c === undefined || c.ids.length >= maxRecords) {
      c = newChunk(r);
      leaf.set(r.instance, c);
      out.push(c);
    }
    add(c, r.kind, firstId + i, r.ts, r.provenance ?? null, jsons[i]);
  }
  let split = false;
  const spanned: Chunk[] = [];
  for (const c of out) {
    if (c.tsMax - c.tsMin > maxSpanMs) {
      split = true;
      spanned.push(...splitBySpan(c, maxSpanMs));
    } else spanned.push(c);
  }
  // Discovery order is already smallest-id order unless a split reordered records.
  if (split) spanned.sort((a, b) => a.minId - b.minId);
  return spanned;
}

/** Records sorted by time, cut wherever a run would span more than maxSpanMs. */
function splitBySpan(c: Chunk, maxSpanMs: number): Chunk[] {
  const order = c.ids.map((_, i) => i).sort((a, b) => c.tss[a] - c.tss[b] || c.ids[a] - c.ids[b]);
  const parts: Chunk[] = [];
  let cur: Chunk | null = null;
  for (const i of order) {
    if (cur === null || c.tss[i] - cur.tsMin > maxSpanMs) {
      cur = emptyLike({ ...c, kind: c.kinds[i] });
      parts.push(cur);
    }
    add(cur, c.kinds[i], c.ids[i], c.tss[i], c.provs[i], c.jsons[i]);
  }
  return parts;
}

/** The data of a chunk's records as one JSON array, without parsing and re-serialising them. */
export function chunkBody(jsons: string[]): string {
  return '[' + jsons.join(',') + ']';
}

/**
 * The sizes of a chunk's records together (see recordBytes), from its body: one byte count for
 * the whole array, less its brackets and commas, instead of one per record.
 */
export function chunkBytes(c: Chunk, body: string): number {
  const n = c.ids.length;
  return Buffer.byteLength(body) - (n + 1) + c.extraBytes + n * c.nameBytes;
}

/**
 * Provenance ids as words for the full-text index (FTS5 splits at punctuation; a lookup matches
 * the phrase and then compares exactly), or null when no record of the chunk has one.
 */
export function provenanceText(c: Pick<Chunk, 'provs' | 'hasProvenance'>): string | null {
  if (!c.hasProvenance) return null;
  let s = '';
  for (const p of c.provs) if (p !== null) s += (s ? ' \n ' : '') + p;
  return s;
}
