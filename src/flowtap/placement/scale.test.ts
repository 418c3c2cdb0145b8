import { test } from 'node:test';
import assert from 'node:assert/strict';
import { place } from './placement.js';
import { replace } from './replacement.js';
import { checkPlacement } from './check.js';
import { seededRng } from '../../random/index.js';
import { assertSound, generateCloud } from './testing.js';
import type { Placement, PlacementInput } from './types.js';

/** Per-node monitors sized to node demand leave little to cross nodes; 10% is the promise. */
const MAX_CROSS_NODE_SHARE = 0.1;
/** "Well under a second" with room for a slow CI machine. */
const MAX_MS = 1000;

function timed(input: PlacementInput): { p: Placement; ms: number } {
  const t0 = performance.now();
  const r = place(input);
  const ms = performance.now() - t0;
  assert.ok(r.ok);
  return { p: r.value, ms };
}

for (const seed of [1, 2, 3]) {
  test(`100 nodes, 5000 services (seed ${seed}): capacities hold and cross-node share < ${MAX_CROSS_NODE_SHARE}`, () => {
    const cloud = generateCloud({ nodes: 100, services: 5000, seed });
    const { p, ms } = timed(cloud);
    assertSound(cloud, p);
    assert.deepEqual(checkPlacement(cloud, p), []);
    assert.ok(p.crossNodeShare < MAX_CROSS_NODE_SHARE, `cross-node share ${p.crossNodeShare}`);
    assert.ok(ms < MAX_MS, `placement took ${ms} ms`);
    // Flows bigger than every monitor can only be placed by slicing.
    const largest = Math.max(...cloud.monitors.map((m) => m.capacity));
    const unplaced = new Set(p.unplaced.map((u) => u.flow));
    for (const f of cloud.flows.filter((x) => x.load > largest && x.sliceable)) {
      assert.ok(!unplaced.has(f.id), `${f.id} found room`);
      assert.ok(p.assignments.filter((a) => a.flow === f.id).length >= 2, `${f.id} is sliced`);
    }
    // Only flows that cannot be split and exceed every monitor may stay out.
    for (const u of p.unplaced) {
      const f = cloud.flows.find((x) => x.id === u.flow)!;
      assert.ok(!f.sliceable && f.load > largest, `${u.flow} unplaced: ${u.reason}`);
    }
  });
}

test('per-app monitors on 100 nodes: capacities hold, and per-node crosses nodes less', () => {
  const perApp = generateCloud({ nodes: 100, services: 5000, seed: 4, strategy: 'per-app' });
  const { p, ms } = timed(perApp);
  assertSound(perApp, p);
  assert.ok(ms < MAX_MS, `placement took ${ms} ms`);
  const perNode = timed(generateCloud({ nodes: 100, services: 5000, seed: 4 })).p;
  assert.ok(perNode.crossNodeShare < p.crossNodeShare, `${perNode.crossNodeShare} < ${p.crossNodeShare}`);
});

test('re-placement at scale after 2% of flows grow keeps every monitor that still fits untouched', () => {
  const cloud = generateCloud({ nodes: 100, services: 5000, seed: 5 });
  const prev = timed(cloud).p;
  const rnd = seededRng(5);
  const grown: PlacementInput = { ...cloud, flows: cloud.flows.map((f) => (rnd() < 0.02 ? { ...f, load: f.load * 2 } : f)) };
  const t0 = performance.now();
  const r = replace(prev, grown);
  const ms = performance.now() - t0;
  assert.ok(r.ok);
  assert.ok(ms < MAX_MS, `re-placement took ${ms} ms`);
  assertSound(grown, r.value.placement);
  const loads = new Map(grown.flows.map((f) => [f.id, f.load]));
  const overloaded = new Set(
    grown.monitors
      .filter(
        (m) => prev.assignments.filter((a) => a.monitor === m.name).reduce((s, a) => s + a.share * loads.get(a.flow)!, 0) > m.capacity,
      )
      .map((m) => m.name),
  );
  assert.ok(overloaded.size > 0, 'the change overloads some monitors');
  assert.ok(r.value.moved.every((m) => overloaded.has(m.from)));
  // One move per overloaded monitor covers its excess unless nothing there is big enough.
  assert.ok(new Set(r.value.moved.map((m) => m.flow)).size <= 2 * overloaded.size);
  assert.ok(r.value.placement.crossNodeShare < MAX_CROSS_NODE_SHARE);
});
