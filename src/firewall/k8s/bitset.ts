/**
 * Fixed-size sets of small integers (endpoint indices) as 32-bit words: the selector
 * index and the policy tiers combine thousands of pod sets, and word-wise AND/OR keeps
 * that linear in (sets x endpoints / 32) instead of (sets x endpoints).
 */
export class Bitset {
  readonly words: Uint32Array;

  constructor(readonly size: number) {
    this.words = new Uint32Array((size + 31) >>> 5);
  }

  static full(size: number): Bitset {
    const b = new Bitset(size);
    b.words.fill(0xffffffff);
    const tail = size & 31;
    if (tail) b.words[b.words.length - 1] = (1 << tail) - 1;
    return b;
  }

  static of(size: number, members: Iterable<number>): Bitset {
    const b = new Bitset(size);
    for (const m of members) b.add(m);
    return b;
  }

  add(i: number): void {
    this.words[i >>> 5] |= 1 << (i & 31);
  }

  has(i: number): boolean {
    return (this.words[i >>> 5] & (1 << (i & 31))) !== 0;
  }

  copy(): Bitset {
    const b = new Bitset(this.size);
    b.words.set(this.words);
    return b;
  }

  /** In place; returns this. */
  and(other: Bitset): this {
    const w = this.words;
    const o = other.words;
    for (let i = 0; i < w.length; i++) w[i] &= o[i];
    return this;
  }

  /** In place; returns this. */
  or(other: Bitset): this {
    const w = this.words;
    const o = other.words;
    for (let i = 0; i < w.length; i++) w[i] |= o[i];
    return this;
  }

  /** In place: removes every member of `other`; returns this. */
  andNot(other: Bitset): this {
    const w = this.words;
    const o = other.words;
    for (let i = 0; i < w.length; i++) w[i] &= ~o[i];
    return this;
  }

  isEmpty(): boolean {
    for (const x of this.words) if (x !== 0) return false;
    return true;
  }

  /** Members in ascending order. */
  forEach(f: (i: number) => void): void {
    const w = this.words;
    for (let k = 0; k < w.length; k++) {
      let x = w[k];
      while (x !== 0) {
        const low = x & -x;
        f((k << 5) + 31 - Math.clz32(low));
        x ^= low;
      }
    }
  }

  toArray(): number[] {
    const out: number[] = [];
    this.forEach((i) => {
      out.push(i);
    });
    return out;
  }
}
