/**
 * Test fixtures for placement: a seeded random input generator for property tests and assertions
 * of the placement rules written independently of `checkPlacement`, so that a bug shared by the
 * placer and the checker cannot hide. Used by the *.test.ts files only.
 */
import assert from 'node:assert/strict';
import type { FlowGroup, Placement, PlacementInput, PlacementMonitor } from './types.js';

export function seeded(seed: number): () => number {
  let s = BigInt(seed) & 0xffffffffffffffffn;
  return () => {
    // 64-bit LCG (Knuth's MMIX constants); the top 32 bits are well mixed.
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    return Number(s >> 32n) / 4294967296;
  };
}

const KINDS = ['http', 'postgres', 'nats', 'dns'];

/** Small adversarial inputs: tight capacities, odd ranges, zero loads, kinds nobody inspects. */
export function randomInput(seed: number): PlacementInput {
  const rnd = seeded(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const nodes = Array.from({ length: 1 + Math.floor(rnd() * 4) }, (_, i) => `n${i}`);
  const apps = rnd() < 0.5 ? [undefined] : ['a', 'b', undefined];
  const strategy = rnd() < 0.5 ? 'per-node' : 'per-app';
  const monitors: PlacementMonitor[] = [];
  const nm = 1 + Math.floor(rnd() * 10);
  for (let i = 0; i < nm; i++) {
    const inspects = rnd() < 0.4 ? ['any'] : KINDS.filter(() => rnd() < 0.5);
    if (inspects.length === 0) inspects.push(pick(KINDS));
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
      kind: rnd() < 0.05 ? 'mysql' : pick(KINDS),
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
      for (const s of u.slices ?? [{ kind: 'src-port' as const, from: lo, to: hi }]) list.push({ from: s.from, to: s.to, share: 0, sliced: true });
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
