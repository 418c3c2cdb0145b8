/**
 * The monitors of one placement run as flat arrays (capacity, load so far) plus cached answers to
 * "which monitors may take a flow of this kind and application, and which of them are on node N".
 * Flows share few distinct (kind, app, node) keys, so the caches make each lookup O(1) after the
 * first and keep 10k flows well under a millisecond of bookkeeping.
 */
import type { PlacementMonitor, PlacementStrategy } from './types.js';

export class MonitorPool {
  readonly count: number;
  readonly names: string[];
  readonly nodes: string[];
  readonly caps: Float64Array;
  /** Mbit/s placed so far. */
  readonly used: Float64Array;
  readonly byName = new Map<string, number>();
  /**
   * How many kinds a monitor accepts (Infinity for `any`). Placing a flow on the most specialised
   * monitor that can take it keeps versatile capacity for the kinds only versatile monitors parse.
   */
  readonly versatility: Float64Array;
  private readonly apps: Array<string | undefined>;
  private readonly inspectsAny: Uint8Array;
  private readonly kinds: Array<Set<string>>;
  private readonly byNode = new Map<string, number[]>();
  /** Monitors by owning application ('' key: shared ones), so eligibility never scans them all. */
  private readonly byApp = new Map<string | undefined, number[]>();
  private readonly eligibleCache = new Map<string, number[]>();
  private readonly localCache = new Map<string, number[]>();

  constructor(
    monitors: readonly PlacementMonitor[],
    readonly strategy: PlacementStrategy,
  ) {
    const n = monitors.length;
    this.count = n;
    this.names = new Array<string>(n);
    this.nodes = new Array<string>(n);
    this.apps = new Array<string | undefined>(n);
    this.kinds = new Array<Set<string>>(n);
    this.caps = new Float64Array(n);
    this.used = new Float64Array(n);
    this.inspectsAny = new Uint8Array(n);
    this.versatility = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const m = monitors[i];
      this.names[i] = m.name;
      this.nodes[i] = m.node;
      this.apps[i] = m.app;
      this.kinds[i] = new Set(m.inspects);
      this.inspectsAny[i] = m.inspects.includes('any') ? 1 : 0;
      this.versatility[i] = this.inspectsAny[i] ? Infinity : this.kinds[i].size;
      this.caps[i] = m.capacity;
      this.byName.set(m.name, i);
      const list = this.byNode.get(m.node);
      if (list) list.push(i);
      else this.byNode.set(m.node, [i]);
      const owned = this.byApp.get(m.app);
      if (owned) owned.push(i);
      else this.byApp.set(m.app, [i]);
    }
  }

  /** Whether monitor `m` may receive a flow of `kind` from application `app` under the strategy. */
  accepts(m: number, kind: string, app: string | undefined): boolean {
    if (!this.inspectsAny[m] && !this.kinds[m].has(kind)) return false;
    const owner = this.apps[m];
    // per-app: only the application's own monitors; per-node: shared node monitors or its own.
    return this.strategy === 'per-app' ? owner === app : owner === undefined || owner === app;
  }

  /** Monitors that may take flows of this kind and application, in input order. */
  eligible(kind: string, app: string | undefined): number[] {
    const key = eligibilityKey(kind, app);
    let list = this.eligibleCache.get(key);
    if (!list) {
      const own = this.byApp.get(app) ?? [];
      const shared = this.strategy === 'per-node' && app !== undefined ? (this.byApp.get(undefined) ?? []) : [];
      list = [...own, ...shared].filter((m) => this.accepts(m, kind, app)).sort((a, b) => a - b);
      this.eligibleCache.set(key, list);
    }
    return list;
  }

  /** Eligible monitors on `node`. */
  local(kind: string, app: string | undefined, node: string): number[] {
    const key = eligibilityKey(kind, app) + '\u0000' + node;
    let list = this.localCache.get(key);
    if (!list) {
      list = (this.byNode.get(node) ?? []).filter((m) => this.accepts(m, kind, app));
      this.localCache.set(key, list);
    }
    return list;
  }

  /**
   * Whether `load` more Mbit/s fit on `m`. Written exactly as a reader checks the output (running
   * sum + load <= capacity): assignments are emitted in the order they were charged, so summing
   * them in output order reproduces these very float additions and can never exceed a capacity.
   */
  fits(m: number, load: number): boolean {
    return this.used[m] + load <= this.caps[m];
  }

  /** Mbit/s still free on `m`, for ordering and messages. */
  room(m: number): number {
    return this.caps[m] - this.used[m];
  }
}

function eligibilityKey(kind: string, app: string | undefined): string {
  // '\u0001' marks a present app so that "no app" and an app named '' can never share a key.
  return app === undefined ? kind : kind + '\u0000\u0001' + app;
}
