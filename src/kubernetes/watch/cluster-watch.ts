/** Every kind the adapter follows, each in its own resilient list+watch, behind one cache. */
import type { Diagnostic } from '../../diagnostics/index.js';
import { RESOURCE_KINDS, type ResourceKind } from './kinds.js';
import type { KubeObject } from './object.js';
import { type CacheEvent, ResourceWatch, type ResourceWatchOptions, type WatchCounters } from './resource-watch.js';
import type { WatchSource } from './source.js';

export interface ClusterWatchOptions extends Omit<ResourceWatchOptions, 'onProblem'> {
  kinds?: readonly ResourceKind[];
  /** Keeps the latest problems (malformed events, failed lists and watches), at most this many (default 100). */
  keepProblems?: number;
}

export type KindCounters = WatchCounters & { resourceVersion: string; objects: number };

export class ClusterWatch {
  private readonly watches = new Map<string, ResourceWatch>();
  private readonly recent: Diagnostic[] = [];

  constructor(sourceOf: (k: ResourceKind) => WatchSource, opts: ClusterWatchOptions = {}) {
    const keep = opts.keepProblems ?? 100;
    for (const k of opts.kinds ?? RESOURCE_KINDS) {
      const w = new ResourceWatch(k.kind, sourceOf(k), {
        ...opts,
        onProblem: (d) => {
          // Bounded: a server failing for hours must not grow memory.
          this.recent.push(d);
          if (this.recent.length > keep) this.recent.splice(0, this.recent.length - keep);
        },
      });
      this.watches.set(k.kind, w);
    }
  }

  /** Resolves once every kind has been listed once. */
  async start(): Promise<void> {
    await Promise.all([...this.watches.values()].map((w) => w.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.watches.values()].map((w) => w.stop()));
  }

  onEvent(listener: (e: CacheEvent) => void): () => void {
    const offs = [...this.watches.values()].map((w) => w.onEvent(listener));
    return () => {
      for (const off of offs) off();
    };
  }

  /** The cached objects of a kind (none for a kind not followed). */
  objects(kind: string): IterableIterator<KubeObject> {
    return (this.watches.get(kind)?.cache ?? new Map<string, KubeObject>()).values();
  }

  get(kind: string, key: string): KubeObject | undefined {
    return this.watches.get(kind)?.cache.get(key);
  }

  /** Per kind: the counters, the last resource version seen and how many objects are cached. */
  counters(): Record<string, KindCounters> {
    const out: Record<string, KindCounters> = {};
    for (const [kind, w] of this.watches) out[kind] = { ...w.counters, resourceVersion: w.resourceVersion, objects: w.cache.size };
    return out;
  }

  /** The counters summed over every kind. */
  totals(): WatchCounters {
    const t: WatchCounters = { relists: 0, reconnects: 0, events: 0, bookmarks: 0, malformed: 0, failures: 0 };
    for (const w of this.watches.values()) for (const k of Object.keys(t) as (keyof WatchCounters)[]) t[k] += w.counters[k];
    return t;
  }

  problems(): Diagnostic[] {
    return [...this.recent];
  }
}
