/**
 * Records, for each tuple, how it first appeared: from the input facts, from a fact in
 * the program, or from a rule with the rows of the body tuples used. Stored as flat
 * integer arrays so recording costs little more than the insertion itself.
 */

/** Origin codes below zero; rules use their index (>= 0). */
export const ORIGIN_INPUT = -1;
/** A program fact k is recorded as `ORIGIN_PROGRAM_FACT - k`. */
export const ORIGIN_PROGRAM_FACT = -2;

class Column {
  data = new Int32Array(16);
  set(i: number, v: number): void {
    if (i >= this.data.length) {
      let len = this.data.length * 2;
      while (len <= i) len *= 2;
      const d = new Int32Array(len);
      d.set(this.data);
      this.data = d;
    }
    this.data[i] = v;
  }
}

export class ProvenanceLog {
  private readonly origin: Column[] = [];
  private readonly offset: Column[] = [];
  private pool = new Int32Array(1024);
  private poolSize = 0;

  private columns(rel: number): [Column, Column] {
    while (this.origin.length <= rel) {
      this.origin.push(new Column());
      this.offset.push(new Column());
    }
    return [this.origin[rel], this.offset[rel]];
  }

  record(rel: number, row: number, origin: number, premises?: Int32Array, count = 0): void {
    const [o, off] = this.columns(rel);
    o.set(row, origin);
    off.set(row, this.poolSize);
    if (count === 0 || !premises) return;
    if (this.poolSize + count > this.pool.length) {
      let len = this.pool.length * 2;
      while (len < this.poolSize + count) len *= 2;
      const p = new Int32Array(len);
      p.set(this.pool.subarray(0, this.poolSize));
      this.pool = p;
    }
    this.pool.set(premises.subarray(0, count), this.poolSize);
    this.poolSize += count;
  }

  originOf(rel: number, row: number): number {
    return this.origin[rel].data[row];
  }

  /** Rows of the premises, in the order of the rule's positive body atoms. */
  premisesOf(rel: number, row: number, count: number): Int32Array {
    const start = this.offset[rel].data[row];
    return this.pool.subarray(start, start + count);
  }
}
