/**
 * Synthetic clouds for placement tests and benchmarks, deterministic for a seed.
 *
 * Shape, chosen to resemble a real cluster rather than a uniform toy:
 * - services are grouped into applications of lognormal size (median ~10 services);
 * - service load is lognormal with σ = 1.5 (heavy tail: the top 1% of services carry ~15% of the
 *   traffic), split over 1-3 replicas on distinct random nodes;
 * - each instance yields one flow group for the service's protocol, and one in five also a second
 *   group for a backend protocol it talks to (database, message queue);
 * - NATS groups are one long-lived connection each, so not sliceable; others mostly are, and some
 *   use Linux's default ephemeral range 32768-60999 instead of the full 1024-65535;
 * - no monitor exceeds a worker size (three quarters of an average node's capacity); a node or an
 *   application that needs more runs several;
 * - `per-node` monitors: one or two per node (or more on busy nodes), all `any` except that a pair
 *   often has an `http`-only second; sized by an operator who looked at the traffic: half of the
 *   capacity spread evenly over the nodes, half by node demand;
 * - `per-app` monitors: each application gets about one per half worker of capacity it needs, on
 *   the nodes where most of its load runs;
 * - a few flows are 1.2-1.6 times the worker size, so larger than any monitor; finally the other
 *   loads are scaled so the total is `utilisation` (default 75%) of the total capacity.
 */
import type { FlowGroup, PlacementInput, PlacementMonitor, PlacementStrategy } from './types.js';

export interface CloudOptions {
  nodes: number;
  services: number;
  seed: number;
  /** Total load over total capacity; default 0.75. */
  utilisation?: number;
  /** Flows made larger than any monitor; default 5. */
  bigFlows?: number;
  /** Which monitors to deploy, and the strategy of the returned input; default `per-node`. */
  strategy?: PlacementStrategy;
}

/** xorshift32 with a multiplicative output scramble: fast, seedable, plenty for synthetic data. */
function random(seed: number): () => number {
  let x = (seed ^ 0x5bd1e995) >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return (Math.imul(x, 0x9e3779bb) >>> 0) / 4294967296;
  };
}

function normal(rnd: () => number): number {
  // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

const KINDS: ReadonlyArray<[string, number]> = [
  ['http', 0.55],
  ['postgres', 0.15],
  ['nats', 0.12],
  ['mysql', 0.08],
  ['dns', 0.1],
];

function pickKind(rnd: () => number): string {
  let u = rnd();
  for (const [k, p] of KINDS) {
    if (u < p) return k;
    u -= p;
  }
  return 'http';
}

function checkOptions(o: CloudOptions): void {
  const posInt = (v: number): boolean => Number.isInteger(v) && v > 0;
  if (!posInt(o.nodes) || !posInt(o.services)) throw new RangeError('generateCloud: nodes and services must be positive integers');
  if (!Number.isFinite(o.seed)) throw new RangeError('generateCloud: seed must be a finite number');
  const u = o.utilisation ?? 0.75;
  if (!(u > 0 && u <= 1)) throw new RangeError('generateCloud: utilisation must be in (0, 1]');
  const b = o.bigFlows ?? 5;
  if (!Number.isInteger(b) || b < 0) throw new RangeError('generateCloud: bigFlows must be an integer >= 0');
}

/** Throws RangeError on nonsensical options: this is a tool for tests and benches, not an input path. */
export function generateCloud(options: CloudOptions): PlacementInput {
  checkOptions(options);
  const rnd = random(options.seed);
  const utilisation = options.utilisation ?? 0.75;
  const strategy = options.strategy ?? 'per-node';
  const nodes = Array.from({ length: options.nodes }, (_, i) => `node-${pad(i, 3)}`);
  const flows = generateFlows(rnd, nodes, options.services);

  // Monitors are bounded like real inspection workers: no single one exceeds `largest`, which is
  // sized to three quarters of an average node's capacity; busier nodes or apps run more of them.
  const regular = flows.reduce((s, f) => s + f.load, 0);
  const largest = Math.max(100, Math.round((0.75 * regular) / utilisation / nodes.length / 100) * 100);

  // Flows bigger than any monitor exercise slicing. They exist before the operator sizes the
  // monitors, so their nodes (or apps) get more capacity, as they would in a real deployment.
  const sliceable = flows.filter((f) => f.sliceable);
  const big = new Set<FlowGroup>();
  const wanted = Math.min(options.bigFlows ?? 5, sliceable.length);
  while (big.size < wanted) big.add(sliceable[Math.floor(rnd() * sliceable.length)]);
  for (const f of big) f.load = Math.round(largest * (1.2 + 0.4 * rnd()));

  const monitors =
    strategy === 'per-node' ? perNodeMonitors(rnd, nodes, flows, utilisation, largest) : perAppMonitors(rnd, flows, utilisation, largest);

  // Capacities were rounded; scale the ordinary flows so the total hits the utilisation target.
  const totalCap = monitors.reduce((s, m) => s + m.capacity, 0);
  let bigSum = 0;
  for (const f of big) bigSum += f.load;
  const rest = flows.reduce((s, f) => (big.has(f) ? s : s + f.load), 0);
  const factor = rest > 0 ? Math.max(0.05, (utilisation * totalCap - bigSum) / rest) : 1;
  for (const f of flows) if (!big.has(f)) f.load = round3(f.load * factor);

  return { monitors, flows, strategy };
}

function generateFlows(rnd: () => number, nodes: readonly string[], services: number): FlowGroup[] {
  const flows: FlowGroup[] = [];
  let app = 0;
  let left = 0;
  for (let s = 0; s < services; s++) {
    if (left === 0) {
      app++;
      left = Math.min(80, Math.max(1, Math.round(Math.exp(2.3 + 0.7 * normal(rnd)))));
    }
    left--;
    const appName = `app-${pad(app, 4)}`;
    const service = `svc-${pad(s, 5)}`;
    const kind = pickKind(rnd);
    const load = 4 * Math.exp(1.5 * normal(rnd));
    const u = rnd();
    const replicas = Math.min(nodes.length, u < 0.5 ? 1 : u < 0.8 ? 2 : 3);
    const backend = rnd() < 0.2 ? (rnd() < 0.6 ? 'postgres' : 'nats') : undefined;
    const narrow = rnd() < 0.3;
    const used = new Set<number>();
    const weights = Array.from({ length: replicas }, () => 0.8 + 0.4 * rnd());
    const wsum = weights.reduce((a, b) => a + b, 0);
    for (let r = 0; r < replicas; r++) {
      let n = Math.floor(rnd() * nodes.length);
      while (used.has(n)) n = (n + 1) % nodes.length;
      used.add(n);
      const instance = `${service}-${r}`;
      const add = (k: string, l: number): void => {
        const f: FlowGroup = {
          id: `${instance}/${k}`,
          instance,
          service,
          app: appName,
          node: nodes[n],
          kind: k,
          load: l,
          sliceable: k !== 'nats' && rnd() < 0.95,
        };
        if (narrow && f.sliceable) f.srcPortRange = [32768, 60999];
        flows.push(f);
      };
      const share = (load * weights[r]) / wsum;
      add(kind, share);
      if (backend && backend !== kind) add(backend, share * (0.2 + 0.3 * rnd()));
    }
  }
  return flows;
}

function demandBy(flows: readonly FlowGroup[], key: (f: FlowGroup) => string): Map<string, number> {
  const d = new Map<string, number>();
  for (const f of flows) d.set(key(f), (d.get(key(f)) ?? 0) + f.load);
  return d;
}

const capacityOf = (x: number): number => Math.max(10, Math.floor(x / 10) * 10);

/** `total` Mbit/s split over monitors of at most `largest`, at least `atLeast` of them. */
function split(total: number, largest: number, atLeast: number): number[] {
  const k = Math.max(atLeast, Math.ceil(total / largest));
  return Array.from({ length: k }, () => capacityOf(total / k));
}

function perNodeMonitors(
  rnd: () => number,
  nodes: readonly string[],
  flows: readonly FlowGroup[],
  utilisation: number,
  largest: number,
): PlacementMonitor[] {
  const demand = demandBy(flows, (f) => f.node);
  const total = flows.reduce((s, f) => s + f.load, 0);
  const capTotal = total / utilisation;
  const monitors: PlacementMonitor[] = [];
  for (const node of nodes) {
    const c = capTotal * (0.5 / nodes.length + (0.5 * (demand.get(node) ?? 0)) / (total || 1));
    const caps = split(c, largest, rnd() < 0.5 ? 1 : 2);
    // With exactly two, the second is often a specialised HTTP inspector.
    const httpOnly = caps.length === 2 && rnd() < 0.5;
    caps.forEach((capacity, i) => {
      const inspects = httpOnly && i === 1 ? ['http'] : ['any'];
      monitors.push({ name: `mon-${node}-${i}`, node, capacity, inspects });
    });
  }
  return monitors;
}

function perAppMonitors(rnd: () => number, flows: readonly FlowGroup[], utilisation: number, largest: number): PlacementMonitor[] {
  const byApp = new Map<string, FlowGroup[]>();
  for (const f of flows) {
    const list = byApp.get(f.app ?? '');
    if (list) list.push(f);
    else byApp.set(f.app ?? '', [f]);
  }
  const monitors: PlacementMonitor[] = [];
  for (const [app, list] of byApp) {
    const demand = [...demandBy(list, (f) => f.node)].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const total = list.reduce((s, f) => s + f.load, 0);
    // Tenants run about one monitor per half worker of capacity they need, on their busiest nodes.
    const count = Math.min(demand.length, Math.ceil(total / utilisation / (0.5 * largest)) + (rnd() < 0.3 ? 1 : 0));
    const top = demand.slice(0, count);
    const topLoad = top.reduce((s, [, l]) => s + l, 0);
    let i = 0;
    for (const [node, l] of top) {
      const c = (total / utilisation) * (0.5 / count + (0.5 * l) / (topLoad || 1));
      for (const capacity of split(c, largest, 1)) {
        monitors.push({ name: `mon-${app}-${i++}`, node, capacity, inspects: ['any'], app });
      }
    }
  }
  return monitors;
}
