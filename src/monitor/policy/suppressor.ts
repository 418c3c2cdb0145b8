/**
 * Zeek-style notice suppression: a notice with an identifier already raised less than
 * `interval` seconds ago is dropped (and counted), so an attack that repeats does not flood
 * the log. Entries expire with time, bounding memory.
 */
export class Suppressor {
  private readonly until = new Map<string, number>();
  suppressed = 0;

  constructor(private readonly maxEntries = 100_000) {}

  /** True when a notice with this identifier may be raised at `ts`; records it. */
  allow(identifier: string, ts: number, interval: number): boolean {
    const u = this.until.get(identifier);
    if (u !== undefined && ts < u) {
      this.suppressed++;
      return false;
    }
    if (this.until.size >= this.maxEntries) this.prune(ts);
    this.until.delete(identifier);
    this.until.set(identifier, ts + interval);
    return true;
  }

  private prune(ts: number): void {
    for (const [k, u] of this.until) {
      if (u <= ts || this.until.size >= this.maxEntries) this.until.delete(k);
      else break;
    }
  }
}
