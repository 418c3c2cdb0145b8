import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCloud } from './testing.js';
import { validatePlacementInput } from './validate.js';

test('the generated cloud has the requested shape and is deterministic for a seed', () => {
  const a = generateCloud({ nodes: 100, services: 5000, seed: 7 });
  assert.ok(validatePlacementInput(a).ok);
  assert.deepEqual(generateCloud({ nodes: 100, services: 5000, seed: 7 }), a);
  assert.notDeepEqual(generateCloud({ nodes: 100, services: 5000, seed: 8 }).flows, a.flows);
  assert.equal(a.strategy, 'per-node');
  assert.equal(new Set(a.monitors.map((m) => m.node)).size, 100);
  assert.equal(new Set(a.flows.map((f) => f.service)).size, 5000);
  assert.ok(a.flows.length > 9000 && a.flows.length < 11500, `about 10k flow groups: ${a.flows.length}`);
});

test('total load is 70-80% of capacity, skewed, with a few flows bigger than any monitor', () => {
  for (const strategy of ['per-node', 'per-app'] as const) {
    const c = generateCloud({ nodes: 100, services: 5000, seed: 3, strategy });
    const load = c.flows.reduce((s, f) => s + f.load, 0);
    const cap = c.monitors.reduce((s, m) => s + m.capacity, 0);
    assert.ok(load / cap >= 0.7 && load / cap <= 0.8, `${strategy}: utilisation ${load / cap}`);
    const largest = Math.max(...c.monitors.map((m) => m.capacity));
    const big = c.flows.filter((f) => f.load > largest);
    assert.ok(big.length >= 3, `${strategy}: ${big.length} flows above the largest monitor`);
    const sorted = c.flows.map((f) => f.load).sort((x, y) => y - x);
    const top = sorted.slice(0, Math.ceil(sorted.length / 100)).reduce((s, x) => s + x, 0);
    assert.ok(top / load > 0.1, `${strategy}: top 1% of flows carry ${top / load} of the load`);
    assert.ok(c.flows.some((f) => !f.sliceable) && c.flows.some((f) => f.srcPortRange));
    if (strategy === 'per-app') assert.ok(c.monitors.every((m) => m.app !== undefined));
  }
});

test('nonsensical options are refused', () => {
  assert.throws(() => generateCloud({ nodes: 0, services: 10, seed: 1 }), RangeError);
  assert.throws(() => generateCloud({ nodes: 3, services: 10, seed: 1, utilisation: 2 }), RangeError);
});
