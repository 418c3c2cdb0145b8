/**
 * The bounded change history, the stand-in's etcd log: watches replay from it and paged lists
 * read their snapshot through it. It holds the latest `capacity` changes across all resources;
 * a resourceVersion at or above `floor` can be served, an older one is Expired (410), just as
 * an etcd revision below the compaction point is.
 */
import type { KubeObject } from './object.js';
import type { ResourceType } from './resources.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  rv: number;
  type: ChangeType;
  resource: ResourceType;
  /** After the change; for DELETED the last state, stamped with the deletion's resourceVersion. */
  object: KubeObject;
  /** Before the change (absent for ADDED). */
  prev?: KubeObject;
}

export class History {
  private readonly ring: (Change | undefined)[];
  private start = 0;
  private count = 0;
  /** Changes up to and including this resourceVersion are no longer all held. */
  floor = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`history capacity must be a positive integer, not ${capacity}`);
    this.ring = new Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(change: Change): void {
    if (this.count === this.capacity) {
      const evicted = this.ring[this.start]!;
      this.floor = evicted.rv;
      this.ring[this.start] = undefined;
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
    this.ring[(this.start + this.count) % this.capacity] = change;
    this.count++;
  }

  /** Forgets every change; resourceVersions below `rv` expire. */
  compact(rv: number): void {
    this.ring.fill(undefined);
    this.start = 0;
    this.count = 0;
    this.floor = Math.max(this.floor, rv);
  }

  /** The changes after `rv`, oldest first; undefined when some of them are gone. */
  since(rv: number): Change[] | undefined {
    if (rv < this.floor) return undefined;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.get(mid).rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    const out: Change[] = [];
    for (let i = lo; i < this.count; i++) out.push(this.get(i));
    return out;
  }

  private get(i: number): Change {
    return this.ring[(this.start + i) % this.capacity]!;
  }
}
