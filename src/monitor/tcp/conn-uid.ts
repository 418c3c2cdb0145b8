const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * Zeek-style connection uids: "C" followed by 17 base62 characters, drawn from a small seeded
 * generator (mulberry32) so that a given seed always yields the same sequence (tests, replays).
 */
export class UidGenerator {
  private state: number;

  constructor(seed?: number) {
    this.state = (seed ?? Math.floor(Math.random() * 0x100000000)) >>> 0;
  }

  private next32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  next(prefix = 'C'): string {
    let s = prefix;
    for (let i = 0; i < 17; i++) s += BASE62[this.next32() % 62];
    return s;
  }
}
