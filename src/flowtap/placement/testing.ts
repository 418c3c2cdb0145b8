/**
 * Test tooling for placement: a seeded random input generator for property tests, synthetic
 * clouds for tests and benchmarks, and assertions of the placement rules written independently
 * of `checkPlacement`, so that a bug shared by the placer and the checker cannot hide. Only tests
 * and bench/ import this file.
 */
import assert from 'node:assert/strict';
import { seededRng } from '../../random/index.js';
import type { FlowGroup, Placement, PlacementInput, PlacementMonitor, PlacementStrategy } from './types.js';

const INSPECTED_KINDS = ['http', 'postgres', 'nats', 'dns'];

/** Small adversarial inputs: tight capacities, odd ranges, zero loads, kinds nobody inspects. */
export function randomInput(seed: number): PlacementInput {
  const rnd = seededRng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const nodes = Array.from({ length: 1 + Math.floor(rnd() * 4) }, (_, i) => `n${i}`);
  const apps = rnd() < 0.5 ? [undefined] : ['a', 'b', undefined];
  const strategy = rnd() < 0.5 ? 'per-node' : 'per-app';
  const monitors: PlacementMonitor[] = [];
  const nm = 1 + Math.floor(rnd() * 10);
  for (let i = 0; i < nm; i++) {
    const inspects = rnd() < 0.4 ? ['any'] : INSPECTED_KINDS.filter(() => rnd() < 0.5);
    if (inspects.length === 0) inspects.push(pick(INSPECTED_KINDS));
    const m: PlacementMonitor = { name: `m${i}`, node: pick(nodes), capacity: Math.round(rnd() * 300 * 1000) / 1000, inspects };
    const app = pick(apps);
    if (app) m.app = app;
    monitors.push(m);
  }
  const flows: FlowGroup[] = [];
  const nf = Math.floor(rnd() * 40);
  for (let i = 0; i < nf; i++) {
    const r = rnd();
    const load = r < 0.05 ? 0 : r < 0.15 ? 150 + rnd() * 300 : rnd() * 60;
    const f: FlowGroup = {
      id: `f${i}`,
      instance: `i${i}`,
      service: `s${i % 7}`,
      node: pick(nodes),
      kind: rnd() < 0.05 ? 'mysql' : pick(INSPECTED_KINDS),
      load,
      sliceable: rnd() < 0.7,
    };
    const app = pick(apps);
    if (app) f.app = app;
    const q = rnd();
    if (q < 0.1) {
      const p = 1000 + Math.floor(rnd() * 100);
      f.srcPortRange = [p, p]; // one port: cannot really be split
    } else if (q < 0.3) {
      const lo = Math.floor(rnd() * 60000);
      f.srcPortRange = [lo, lo + 1 + Math.floor(rnd() * 20)];
    }
    flows.push(f);
  }
  return { monitors, flows, strategy };
}

function range(f: FlowGroup): [number, number] {
  return f.srcPortRange ?? [1024, 65535];
}

/** Asserts every rule of a placement from first principles. */
export function assertSound(input: PlacementInput, p: Placement): void {
  const monitors = new Map(input.monitors.map((m) => [m.name, m]));
  const flows = new Map(input.flows.map((f) => [f.id, f]));
  const sums = new Map<string, number>();
  const byFlow = new Map<string, Array<{ from: number; to: number; share: number; sliced: boolean }>>();
  for (const a of p.assignments) {
    const m = monitors.get(a.monitor);
    const f = flows.get(a.flow);
    assert.ok(m && f, `assignment names a known flow and monitor: ${JSON.stringify(a)}`);
    assert.ok(m.inspects.includes('any') || m.inspects.includes(f.kind), `${m.name} inspects ${f.kind}`);
    if (input.strategy === 'per-app') assert.equal(m.app, f.app, `${m.name} belongs to ${f.id}'s application`);
    else assert.ok(m.app === undefined || m.app === f.app, `${m.name} is shared or ${f.id}'s`);
    assert.equal(a.crossNode, m.node !== f.node);
    sums.set(m.name, (sums.get(m.name) ?? 0) + a.share * f.load);
    const [lo, hi] = range(f);
    const list = byFlow.get(f.id) ?? [];
    if (a.slice) {
      assert.equal(a.slice.kind, 'src-port');
      if (a.slice.kind !== 'src-port') continue;
      assert.ok(f.sliceable, `${f.id} is sliced only if sliceable`);
      assert.equal(a.share, (a.slice.to - a.slice.from + 1) / (hi - lo + 1), 'share is the slice width over the range width');
      list.push({ from: a.slice.from, to: a.slice.to, share: a.share, sliced: true });
    } else {
      assert.equal(a.share, 1);
      list.push({ from: lo, to: hi, share: 1, sliced: false });
    }
    byFlow.set(f.id, list);
  }
  for (const m of input.monitors) {
    const used = sums.get(m.name) ?? 0;
    assert.ok(used <= m.capacity, `${m.name} carries ${used} > capacity ${m.capacity}`);
    assert.equal(p.monitorLoad[m.name], used);
  }
  const unplaced = new Map(p.unplaced.map((u) => [u.flow, u]));
  for (const f of input.flows) {
    const list = [...(byFlow.get(f.id) ?? [])];
    const u = unplaced.get(f.id);
    const [lo, hi] = range(f);
    const shareSum = list.reduce((s, x) => s + x.share, 0);
    if (!u) assert.ok(Math.abs(shareSum - 1) < 1e-9, `${f.id}: shares sum to ${shareSum}, not 1, and it is not reported unplaced`);
    else {
      assert.ok(u.reason.length > 0);
      for (const s of u.slices ?? [{ kind: 'src-port' as const, from: lo, to: hi }])
        list.push({ from: s.from, to: s.to, share: 0, sliced: true });
      const missing = 1 - shareSum;
      assert.ok(Math.abs(u.load - missing * f.load) <= 1e-9 * Math.max(1, f.load), `${f.id}: unplaced load matches the uncovered share`);
    }
    list.sort((a, b) => a.from - b.from);
    let next = lo;
    for (const x of list) {
      assert.equal(x.from, next, `${f.id}: ports ${lo}-${hi} partitioned without gap or overlap`);
      assert.ok(x.to >= x.from);
      next = x.to + 1;
    }
    assert.equal(next, hi + 1, `${f.id}: partition reaches ${hi}`);
  }
}

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

function normal(rnd: () => number): number {
  // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

const KIND_SHARES: ReadonlyArray<[string, number]> = [
  ['http', 0.55],
  ['postgres', 0.15],
  ['nats', 0.12],
  ['mysql', 0.08],
  ['dns', 0.1],
];

function pickKind(rnd: () => number): string {
  let u = rnd();
  for (const [k, p] of KIND_SHARES) {
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
  const rnd = seededRng(options.seed);
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
