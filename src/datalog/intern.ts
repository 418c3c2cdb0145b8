/**
 * Values are interned to small non-negative integers so tuples are rows of an
 * Int32Array and joins compare integers. Strings and numbers live in separate maps
 * because "1" and 1 are different constants.
 */
import type { Value } from './ast.js';

export class Interner {
  readonly values: Value[] = [];
  private readonly strings = new Map<string, number>();
  private readonly numbers = new Map<number, number>();

  intern(v: Value): number {
    const map = typeof v === 'string' ? this.strings : this.numbers;
    let id = map.get(v as never);
    if (id === undefined) {
      id = this.values.length;
      // -0 and 0 are one constant (Map already treats them as one key).
      this.values.push(typeof v === 'number' && Object.is(v, -0) ? 0 : v);
      map.set(v as never, id);
    }
    return id;
  }

  /** The id of a value, or -1 when it was never interned (so no tuple can hold it). */
  lookup(v: Value): number {
    const id = typeof v === 'string' ? this.strings.get(v) : this.numbers.get(v);
    return id ?? -1;
  }

  value(id: number): Value {
    return this.values[id];
  }
}
