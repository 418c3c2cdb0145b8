import { test } from 'node:test';
import assert from 'node:assert/strict';
import { place } from './placement.js';
import { replace } from './replacement.js';
import { checkPlacement } from './check.js';
import { seededRng } from '../../random/index.js';
import { assertSound, randomInput } from './testing.js';
import type { FlowGroup, Placement, PlacementInput, PlacementMonitor, Replacement } from './types.js';

const mon = (name: string, node: string, capacity: number): PlacementMonitor => ({ name, node, capacity, inspects: ['any'] });
const flow = (id: string, node: string, load: number, sliceable = false): FlowGroup => ({
  id,
  instance: `${id}-0`,
  service: id,
  node,
  kind: 'http',
  load,
  sliceable,
});

function first(input: PlacementInput): Placement {
  const r = place(input);
  assert.ok(r.ok);
  return r.value;
}
function again(previous: Placement, input: PlacementInput): Replacement {
  const r = replace(previous, input);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  assertSound(input, r.value.placement);
  assert.deepEqual(checkPlacement(input, r.value.placement), []);
  assert.deepEqual(r.value.unplaced, r.value.placement.unplaced);
  return r.value;
}
const withLoad = (input: PlacementInput, id: string, load: number): PlacementInput => ({
  ...input,
  flows: input.flows.map((f) => (f.id === id ? { ...f, load } : f)),
});
const movedFlows = (r: Replacement): string[] => [...new Set(r.moved.map((m) => m.flow))].sort();
const key = (a: Placement['assignments'][number]): string => JSON.stringify([a.flow, a.monitor, a.slice ?? null]);

const base: PlacementInput = {
  strategy: 'per-node',
  monitors: [mon('m1', 'n1', 100), mon('m2', 'n2', 100)],
  flows: [flow('a', 'n1', 60), flow('b', 'n1', 30), flow('c', 'n2', 50)],
};

test('nothing changed: nothing moves and the placement is the same', () => {
  const prev = first(base);
  const r = again(prev, base);
  assert.deepEqual(r.moved, []);
  assert.deepEqual(r.placement, prev);
  // Also after a JSON round trip, as it would come back from the broker.
  assert.deepEqual(again(JSON.parse(JSON.stringify(prev)), base).moved, []);
});

test('nothing changed on random inputs either', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const input = randomInput(seed);
    const prev = first(input);
    const r = again(prev, input);
    assert.deepEqual(r.moved, [], `seed ${seed}`);
    assert.deepEqual(r.placement.assignments, prev.assignments, `seed ${seed}`);
  }
});

test('a load increase that still fits moves nothing', () => {
  const prev = first(base);
  const r = again(prev, withLoad(base, 'a', 65));
  assert.deepEqual(r.moved, []);
  assert.deepEqual(r.placement.assignments.map(key), prev.assignments.map(key));
});

test('an overload moves the one flow that covers the excess with the least load', () => {
  const prev = first(base);
  assert.deepEqual(
    prev.assignments
      .filter((a) => a.monitor === 'm1')
      .map((a) => a.flow)
      .sort(),
    ['a', 'b'],
  );
  // a grows 60 -> 80: m1 needs 10 Mbit/s out. Moving b (30) beats moving a (80).
  const r = again(prev, withLoad(base, 'a', 80));
  assert.deepEqual(r.moved, [{ flow: 'b', from: 'm1', to: 'm2', load: 30 }]);
  const now = r.placement.assignments;
  assert.deepEqual(
    now.filter((x) => x.flow === 'a').map((x) => x.monitor),
    ['m1'],
  );
  assert.deepEqual(
    now.filter((x) => x.flow === 'c').map((x) => x.monitor),
    ['m2'],
  );
});

test('a sliceable flow that grows is trimmed: only its excess leaves, bystanders stay', () => {
  const input: PlacementInput = { ...base, flows: [flow('a', 'n1', 60, true), flow('b', 'n1', 30, true), flow('c', 'n2', 50)] };
  const prev = first(input);
  const r = again(prev, withLoad(input, 'a', 80));
  assert.deepEqual(movedFlows(r), ['a']);
  const onePort = 80 / 64512;
  const out = r.moved.reduce((s, m) => s + m.load, 0);
  assert.ok(out >= 10 - 1e-9 && out <= 10 + onePort, `about 10 Mbit/s moved, got ${out}`);
  assert.ok(r.moved.every((m) => m.from === 'm1' && m.to === 'm2'));
  assert.deepEqual(
    r.placement.assignments.filter((x) => x.flow === 'b').map((x) => [x.monitor, x.slice]),
    [['m1', undefined]],
  );
});

test('when no single flow covers the excess, the fewest flows move', () => {
  const input: PlacementInput = {
    strategy: 'per-node',
    monitors: [mon('m1', 'n1', 100), mon('m2', 'n2', 100)],
    flows: ['p', 'q', 'r', 's', 't'].map((id) => flow(id, 'n1', 20)),
  };
  const prev = first(input);
  assert.equal(prev.monitorLoad.m1, 100);
  // Every flow grows to 30: m1 has 150 for 100, no single 30 covers 50, two do.
  const grown = { ...input, flows: input.flows.map((f) => ({ ...f, load: 30 })) };
  const r = again(prev, grown);
  assert.equal(movedFlows(r).length, 2);
  assert.equal(r.placement.monitorLoad.m1, 90);
  assert.equal(r.placement.monitorLoad.m2, 60);
});

test('a removed monitor moves only its flows; new flows are placed without counting as moves', () => {
  const prev = first(base);
  const input: PlacementInput = {
    strategy: 'per-node',
    monitors: [mon('m1', 'n1', 100), mon('m3', 'n2', 100)],
    flows: [...base.flows, flow('d', 'n1', 5)],
  };
  const r = again(prev, input);
  assert.deepEqual(r.moved, [{ flow: 'c', from: 'm2', to: 'm3', load: 50 }]);
  assert.deepEqual(
    r.placement.assignments.filter((x) => x.flow === 'd').map((x) => x.monitor),
    ['m1'],
  );
});

test('a flow that no longer fits anywhere is reported as moved to nothing and unplaced', () => {
  const prev = first(base);
  const r = again(prev, withLoad(base, 'c', 500));
  assert.deepEqual(r.moved, [{ flow: 'c', from: 'm2', to: null, load: 500 }]);
  assert.deepEqual(
    r.unplaced.map((u) => u.flow),
    ['c'],
  );
});

test('a malformed previous placement is an error naming the field', () => {
  const r = replace({ assignments: [{ flow: 'a', monitor: 7, share: 2 }] } as unknown as Placement, base);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(r.errors.map((e) => e.loc?.field).sort(), ['assignments[0].monitor', 'assignments[0].share']);
});

test('random load changes: assignments on monitors that still fit are all kept', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const input = randomInput(seed);
    const prev = first(input);
    const rnd = seededRng(seed * 7919);
    const changed: PlacementInput = {
      ...input,
      flows: input.flows.map((f) => (rnd() < 0.3 ? { ...f, load: f.load * (0.5 + rnd()) } : f)),
    };
    const r = again(prev, changed);
    const loads = new Map(changed.flows.map((f) => [f.id, f.load]));
    const now = new Set(r.placement.assignments.map(key));
    for (const m of changed.monitors) {
      const mine = prev.assignments.filter((a) => a.monitor === m.name);
      const sum = mine.reduce((s, a) => s + a.share * loads.get(a.flow)!, 0);
      if (sum > m.capacity) continue;
      for (const a of mine) assert.ok(now.has(key(a)), `seed ${seed}: ${a.flow} on ${m.name} should stay`);
    }
    // Whatever moved came from a monitor that was over capacity.
    for (const mv of r.moved) {
      const m = changed.monitors.find((x) => x.name === mv.from)!;
      const sum = prev.assignments.filter((a) => a.monitor === m.name).reduce((s, a) => s + a.share * loads.get(a.flow)!, 0);
      assert.ok(sum > m.capacity, `seed ${seed}: ${mv.flow} left ${m.name} which was not overloaded`);
    }
  }
});
