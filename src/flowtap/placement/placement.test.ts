import { test } from 'node:test';
import assert from 'node:assert/strict';
import { place } from './placement.js';
import { checkPlacement } from './check.js';
import { assertSound, randomInput } from './testing.js';
import type { FlowGroup, Placement, PlacementInput, PlacementMonitor } from './types.js';

const mon = (name: string, node: string, capacity: number, inspects = ['any'], app?: string): PlacementMonitor =>
  app ? { name, node, capacity, inspects, app } : { name, node, capacity, inspects };
const flow = (id: string, node: string, load: number, extra: Partial<FlowGroup> = {}): FlowGroup => ({
  id,
  instance: `${id}-0`,
  service: id,
  node,
  kind: 'http',
  load,
  sliceable: false,
  ...extra,
});

function placed(input: PlacementInput): Placement {
  const r = place(input);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  assertSound(input, r.value);
  assert.deepEqual(checkPlacement(input, r.value), []);
  return r.value;
}
const on = (p: Placement, id: string): string[] => p.assignments.filter((a) => a.flow === id).map((a) => a.monitor);

test('random inputs: capacities, kinds, shares and port partitions hold; leftovers really had no room', () => {
  for (let seed = 1; seed <= 400; seed++) {
    const input = randomInput(seed);
    const p = placed(input);
    // An unplaced flow must be one that truly could not go anywhere at the end.
    for (const u of p.unplaced) {
      const f = input.flows.find((x) => x.id === u.flow)!;
      const eligible = input.monitors.filter(
        (m) =>
          (m.inspects.includes('any') || m.inspects.includes(f.kind)) &&
          (input.strategy === 'per-app' ? m.app === f.app : m.app === undefined || m.app === f.app),
      );
      const [lo, hi] = f.srcPortRange ?? [1024, 65535];
      const onePort = f.load / (hi - lo + 1);
      for (const m of eligible) {
        const room = m.capacity - p.monitorLoad[m.name];
        const smallest = f.sliceable && hi > lo ? onePort : u.load;
        assert.ok(room < smallest, `seed ${seed}: ${u.flow} unplaced although ${m.name} has ${room} Mbit/s free`);
      }
    }
  }
});

test('per-node keeps each flow on its own node when capacity allows, even if a remote monitor comes first', () => {
  const input: PlacementInput = {
    strategy: 'per-node',
    monitors: [mon('m2', 'n2', 100), mon('m1', 'n1', 100)],
    flows: [flow('a', 'n1', 40), flow('b', 'n2', 50), flow('c', 'n1', 30), flow('d', 'n2', 45)],
  };
  const p = placed(input);
  assert.deepEqual(on(p, 'a'), ['m1']);
  assert.deepEqual(on(p, 'c'), ['m1']);
  assert.deepEqual(on(p, 'b'), ['m2']);
  assert.deepEqual(on(p, 'd'), ['m2']);
  assert.equal(p.crossNodeShare, 0);
});

test("a node's overflow never pushes another node's own flow off its node", () => {
  // Largest-first over all flows would send n1's 90 to m2 (first, empty) and n2's own 60 away.
  const input: PlacementInput = {
    strategy: 'per-node',
    monitors: [mon('m1', 'n1', 100), mon('m2', 'n2', 100), mon('m3', 'n3', 100)],
    flows: [flow('big', 'n1', 95), flow('over', 'n1', 90), flow('own', 'n2', 60)],
  };
  const p = placed(input);
  assert.deepEqual(on(p, 'big'), ['m1']);
  assert.deepEqual(on(p, 'own'), ['m2']);
  assert.deepEqual(on(p, 'over'), ['m3']);
  assert.equal(p.crossNodeShare, 90 / 245);
});

test('a specialised monitor takes its kind so that the versatile one keeps room for the rest', () => {
  const input: PlacementInput = {
    strategy: 'per-node',
    monitors: [mon('any', 'n1', 100), mon('web', 'n1', 100, ['http'])],
    flows: [flow('h', 'n1', 80), flow('pg', 'n1', 90, { kind: 'postgres' }), flow('dns', 'n1', 1, { kind: 'dns' })],
  };
  const p = placed(input);
  assert.deepEqual(on(p, 'h'), ['web']);
  assert.deepEqual(on(p, 'pg'), ['any']);
  assert.deepEqual(on(p, 'dns'), ['any']);
  assert.equal(p.crossNodeShare, 0);
});

test('a kind no monitor inspects is reported, not dropped', () => {
  const input: PlacementInput = {
    strategy: 'per-node',
    monitors: [mon('web', 'n1', 100, ['http'])],
    flows: [flow('q', 'n1', 5, { kind: 'nats' })],
  };
  const p = placed(input);
  assert.equal(p.assignments.length, 0);
  assert.equal(p.unplaced.length, 1);
  assert.equal(p.unplaced[0].load, 5);
  assert.match(p.unplaced[0].reason, /no monitor inspects 'nats'/);
});

test("per-app uses only the application's monitors; per-node also shared ones but never another app's", () => {
  const monitors = [mon('a-far', 'n1', 100, ['any'], 'A'), mon('b-near', 'n2', 100, ['any'], 'B'), mon('shared', 'n2', 100)];
  const flows = [flow('fa', 'n2', 10, { app: 'A' }), flow('fc', 'n2', 10, { app: 'C' })];
  const perApp = placed({ strategy: 'per-app', monitors, flows });
  assert.deepEqual(on(perApp, 'fa'), ['a-far']);
  assert.equal(perApp.assignments[0].crossNode, true);
  assert.match(perApp.unplaced.find((u) => u.flow === 'fc')!.reason, /application 'C'/);
  const perNode = placed({ strategy: 'per-node', monitors, flows });
  assert.deepEqual(on(perNode, 'fa'), ['shared']);
  assert.deepEqual(on(perNode, 'fc'), ['shared']);
});

test('a flow larger than any monitor is sliced by source port over its own node first', () => {
  const input: PlacementInput = {
    strategy: 'per-node',
    monitors: [mon('r1', 'n2', 100), mon('l1', 'n1', 100), mon('l2', 'n1', 100), mon('l3', 'n1', 100)],
    flows: [flow('huge', 'n1', 250, { sliceable: true })],
  };
  const p = placed(input);
  const parts = p.assignments.filter((a) => a.flow === 'huge');
  assert.ok(parts.length >= 3, 'needs at least three 100 Mbit/s monitors');
  assert.ok(parts.every((a) => a.slice?.kind === 'src-port' && !a.crossNode));
  assert.equal(p.monitorLoad.r1, 0);
  assert.equal(p.unplaced.length, 0);
});

test('slices fill the local monitor before spilling to remote ones', () => {
  const input: PlacementInput = {
    strategy: 'per-node',
    monitors: [mon('r1', 'n2', 150), mon('r2', 'n3', 150), mon('l', 'n1', 100)],
    flows: [flow('huge', 'n1', 300, { sliceable: true, srcPortRange: [32768, 60999] })],
  };
  const p = placed(input);
  const onePort = 300 / (60999 - 32768 + 1);
  assert.ok(p.monitorLoad.l > 100 - onePort, `local monitor nearly full: ${p.monitorLoad.l}`);
  assert.ok(Math.abs(p.crossNodeShare - 200 / 300) < onePort / 300 + 1e-12);
});

test('an unsliceable flow larger than every monitor is unplaced with the numbers in the reason', () => {
  const input: PlacementInput = {
    strategy: 'per-node',
    monitors: [mon('m1', 'n1', 100), mon('m2', 'n2', 100)],
    flows: [flow('mq', 'n1', 150, { kind: 'nats' }), flow('ok', 'n1', 20)],
  };
  const p = placed(input);
  assert.deepEqual(on(p, 'ok'), ['m1']);
  const u = p.unplaced.find((x) => x.flow === 'mq');
  assert.ok(u);
  assert.equal(u.load, 150);
  assert.match(u.reason, /cannot be split and needs 150 Mbit\/s.*100 Mbit\/s left/);
});

test('a sliceable flow beyond the total capacity is placed in part and the rest reported with its ports', () => {
  const input: PlacementInput = {
    strategy: 'per-node',
    monitors: [mon('m1', 'n1', 100), mon('m2', 'n2', 200)],
    flows: [flow('flood', 'n1', 500, { sliceable: true })],
  };
  const p = placed(input);
  const u = p.unplaced[0];
  assert.equal(u.flow, 'flood');
  assert.ok(u.slices && u.slices.length === 1 && u.slices[0].to === 65535);
  assert.ok(Math.abs(u.load - 200) < (500 / 64512) * 2, `about 200 Mbit/s left: ${u.load}`);
});

test('a one-port flow cannot be split even when marked sliceable', () => {
  const input: PlacementInput = {
    strategy: 'per-node',
    monitors: [mon('m1', 'n1', 60), mon('m2', 'n1', 60)],
    flows: [flow('one', 'n1', 100, { sliceable: true, srcPortRange: [5353, 5353] })],
  };
  const p = placed(input);
  assert.equal(p.assignments.length, 0);
  assert.match(p.unplaced[0].reason, /cannot be split/);
});

test('a capacity filled exactly is allowed, and flows of zero load are still assigned', () => {
  const input: PlacementInput = {
    strategy: 'per-node',
    monitors: [mon('m', 'n1', 100)],
    flows: [flow('x', 'n1', 60), flow('y', 'n1', 40), flow('idle', 'n1', 0)],
  };
  const p = placed(input);
  assert.equal(p.unplaced.length, 0);
  assert.equal(p.monitorLoad.m, 100);
  assert.deepEqual(on(p, 'idle'), ['m']);
});

test('invalid input is an error naming each bad field', () => {
  const bad = {
    strategy: 'everywhere',
    monitors: [
      { name: 'm', node: 'n', capacity: Number.NaN, inspects: ['http'] },
      { name: 'm', node: 'n', capacity: 1, inspects: [] },
    ],
    flows: [
      { id: 'f', instance: 'i', service: 's', node: 'n', kind: 'http', load: -1, sliceable: true, srcPortRange: [9, 3] },
      { id: 'f', instance: 'i', service: 's', node: 'n', kind: 'http', load: 1, sliceable: 'yes' },
    ],
  } as unknown as PlacementInput;
  const r = place(bad);
  assert.equal(r.ok, false);
  if (r.ok) return;
  const fields = r.errors.map((e) => e.loc?.field);
  for (const f of [
    'strategy',
    'monitors[0].capacity',
    'monitors[1].name',
    'monitors[1].inspects',
    'flows[0].load',
    'flows[0].srcPortRange',
    'flows[1].id',
    'flows[1].sliceable',
  ]) {
    assert.ok(fields.includes(f), `error for ${f} in ${JSON.stringify(fields)}`);
  }
  assert.equal(place(null as unknown as PlacementInput).ok, false);
});

test('the checker catches an overload, a wrong kind and a broken partition', () => {
  const input: PlacementInput = {
    strategy: 'per-node',
    monitors: [mon('m1', 'n1', 100), mon('web', 'n1', 100, ['http'])],
    flows: [flow('a', 'n1', 80, { sliceable: true }), flow('pg', 'n1', 50, { kind: 'postgres' })],
  };
  const good = placed(input);
  const overload: Placement = { ...good, assignments: good.assignments.map((a) => ({ ...a, monitor: 'm1' })) };
  assert.ok(checkPlacement(input, overload).some((d) => /above its capacity/.test(d.message)));
  const wrongKind: Placement = { ...good, assignments: good.assignments.map((a) => (a.flow === 'pg' ? { ...a, monitor: 'web' } : a)) };
  assert.ok(checkPlacement(input, wrongKind).some((d) => /may not receive postgres/.test(d.message)));
  const gap: Placement = {
    ...good,
    assignments: good.assignments.map((a) =>
      a.flow === 'a' ? { ...a, share: 1000 / 64512, slice: { kind: 'src-port' as const, from: 1024, to: 2023 } } : a,
    ),
  };
  assert.ok(checkPlacement(input, gap).some((d) => /do not partition/.test(d.message)));
});
