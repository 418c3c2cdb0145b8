import { seededUint32 } from '../../random/index.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * Zeek-style connection uids: "C" followed by 17 base62 characters, drawn from the project's
 * seeded generator so that a given seed always yields the same sequence (tests, replays).
 */
export class UidGenerator {
  private readonly next32: () => number;

  constructor(seed?: number) {
    this.next32 = seededUint32(seed ?? Math.floor(Math.random() * 0x100000000));
  }

  next(prefix = 'C'): string {
    let s = prefix;
    for (let i = 0; i < 17; i++) s += BASE62[this.next32() % 62];
    return s;
  }
}
