/**
 * Storage for the tuples of one predicate: rows of interned ids packed in one
 * Int32Array, an open-addressing hash set over rows for de-duplication, and hash
 * indexes on column subsets built lazily on first use and kept up to date
 * incrementally. Rows are append-only, so "the tuples of iteration k" is a row range:
 * semi-naive evaluation needs no separate delta relations.
 */
import { finish, mix, SEED } from './hash.js';

const MIN_ROWS = 16;

export class Relation {
  size = 0;
  data: Int32Array;
  /**
   * Visible row window for the current evaluation step, set by the evaluator:
   * rows [winStart, winEnd) are the delta, [0, winStart) the old tuples.
   */
  winStart = 0;
  winEnd = 0;
  private cap = MIN_ROWS;
  /** Open addressing, interleaved [row + 1, hash] pairs so a probe touches one cache line. */
  private table: Int32Array;
  /** Number of slots - 1 (each slot is two ints). */
  private tmask: number;
  private readonly indexes = new Map<string, ColumnIndex>();

  constructor(
    readonly name: string,
    readonly arity: number,
    readonly id: number,
  ) {
    this.data = new Int32Array(this.cap * arity);
    this.table = new Int32Array(MIN_ROWS * 4);
    this.tmask = MIN_ROWS * 2 - 1;
  }

  private hashOf(t: ArrayLike<number>): number {
    let h = SEED;
    for (let i = 0; i < this.arity; i++) h = mix(h, t[i]);
    return finish(h);
  }

  private sameRow(row: number, t: ArrayLike<number>): boolean {
    const a = this.arity;
    const data = this.data;
    const base = row * a;
    for (let i = 0; i < a; i++) if (data[base + i] !== t[i]) return false;
    return true;
  }

  /** Row of the tuple `t[0..arity)`, or -1. */
  find(t: ArrayLike<number>): number {
    const h = this.hashOf(t);
    const table = this.table;
    const mask = this.tmask;
    for (let slot = (h & mask) << 1; ; slot = (slot + 2) & ((mask << 1) | 1)) {
      const e = table[slot];
      if (e === 0) return -1;
      if (table[slot + 1] === h && this.sameRow(e - 1, t)) return e - 1;
    }
  }

  /** Append `t[0..arity)` unless present; returns the new row, or -1 for a duplicate. */
  insert(t: ArrayLike<number>): number {
    const h = this.hashOf(t);
    const table = this.table;
    const mask = this.tmask;
    let slot = (h & mask) << 1;
    for (; ; slot = (slot + 2) & ((mask << 1) | 1)) {
      const e = table[slot];
      if (e === 0) break;
      if (table[slot + 1] === h && this.sameRow(e - 1, t)) return -1;
    }
    const row = this.size;
    if (row === this.cap) this.grow();
    const a = this.arity;
    const data = this.data;
    const base = row * a;
    for (let i = 0; i < a; i++) data[base + i] = t[i];
    table[slot] = row + 1;
    table[slot + 1] = h;
    this.size = row + 1;
    if (this.size * 2 > mask) this.rehash();
    return row;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const data = new Int32Array(cap * this.arity);
    data.set(this.data);
    this.data = data;
    this.cap = cap;
  }

  private rehash(): void {
    const table = new Int32Array(this.table.length * 2);
    const mask = (table.length >> 1) - 1;
    const old = this.table;
    for (let i = 0; i < old.length; i += 2) {
      const e = old[i];
      if (e === 0) continue;
      const h = old[i + 1];
      let slot = (h & mask) << 1;
      while (table[slot] !== 0) slot = (slot + 2) & ((mask << 1) | 1);
      table[slot] = e;
      table[slot + 1] = h;
    }
    this.table = table;
    this.tmask = mask;
  }

  /** The index on `cols` (in that order), created on first request. */
  index(cols: readonly number[]): ColumnIndex {
    const key = cols.join(',');
    let idx = this.indexes.get(key);
    if (!idx) {
      idx = new ColumnIndex(this, cols);
      this.indexes.set(key, idx);
    }
    return idx;
  }

  /** Number of indexes built so far (for tests and diagnostics). */
  indexCount(): number {
    return this.indexes.size;
  }
}

/**
 * Hash index from the values of some columns to the rows holding them. Rows with
 * equal keys form a chain through `next`, newest first, so a scan restricted to a row
 * window can skip rows that are too new and stop at the first row that is too old.
 */
export class ColumnIndex {
  /** Next older row with the same key, or -1. */
  next: Int32Array;
  private readonly cols: Int32Array;
  private heads: Int32Array;
  private slotHash: Int32Array;
  private tmask: number;
  private groups = 0;
  private upTo = 0;

  constructor(
    private readonly rel: Relation,
    cols: readonly number[],
  ) {
    this.cols = Int32Array.from(cols);
    this.next = new Int32Array(Math.max(MIN_ROWS, rel.size));
    this.heads = new Int32Array(MIN_ROWS * 2);
    this.slotHash = new Int32Array(MIN_ROWS * 2);
    this.tmask = this.heads.length - 1;
  }

  private sync(): void {
    const rel = this.rel;
    const end = rel.size;
    if (this.next.length < end) {
      let len = this.next.length * 2;
      while (len < end) len *= 2;
      const next = new Int32Array(len);
      next.set(this.next);
      this.next = next;
    }
    const a = rel.arity;
    const cols = this.cols;
    const nc = cols.length;
    for (let row = this.upTo; row < end; row++) {
      const data = rel.data;
      const base = row * a;
      let h = SEED;
      for (let j = 0; j < nc; j++) h = mix(h, data[base + cols[j]]);
      h = finish(h);
      const mask = this.tmask;
      let slot = h & mask;
      for (;;) {
        const e = this.heads[slot];
        if (e === 0) {
          this.heads[slot] = row + 1;
          this.slotHash[slot] = h;
          this.next[row] = -1;
          if (++this.groups * 2 > this.heads.length) this.rehash();
          break;
        }
        if (this.slotHash[slot] === h && this.sameKeyRows(e - 1, row)) {
          this.next[row] = e - 1;
          this.heads[slot] = row + 1;
          break;
        }
        slot = (slot + 1) & mask;
      }
    }
    this.upTo = end;
  }

  private sameKeyRows(r1: number, r2: number): boolean {
    const data = this.rel.data;
    const a = this.rel.arity;
    const cols = this.cols;
    for (let j = 0; j < cols.length; j++) if (data[r1 * a + cols[j]] !== data[r2 * a + cols[j]]) return false;
    return true;
  }

  private rehash(): void {
    const heads = new Int32Array(this.heads.length * 2);
    const slotHash = new Int32Array(heads.length);
    const mask = heads.length - 1;
    for (let s = 0; s < this.heads.length; s++) {
      const e = this.heads[s];
      if (e === 0) continue;
      const h = this.slotHash[s];
      let slot = h & mask;
      while (heads[slot] !== 0) slot = (slot + 1) & mask;
      heads[slot] = e;
      slotHash[slot] = h;
    }
    this.heads = heads;
    this.slotHash = slotHash;
    this.tmask = mask;
  }

  /** Newest row whose indexed columns equal `key[0..cols)`, or -1; follow `next` for older ones. */
  lookup(key: ArrayLike<number>): number {
    if (this.upTo < this.rel.size) this.sync();
    const cols = this.cols;
    const nc = cols.length;
    let h = SEED;
    for (let j = 0; j < nc; j++) h = mix(h, key[j]);
    h = finish(h);
    const heads = this.heads;
    const mask = this.tmask;
    const data = this.rel.data;
    const a = this.rel.arity;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const e = heads[slot];
      if (e === 0) return -1;
      if (this.slotHash[slot] !== h) continue;
      const base = (e - 1) * a;
      let same = true;
      for (let j = 0; j < nc; j++) {
        if (data[base + cols[j]] !== key[j]) {
          same = false;
          break;
        }
      }
      if (same) return e - 1;
    }
  }
}
