import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainOf, type NftTable } from './table.js';
import { planChain, planUpdate } from './update.js';

const chain = (name: string, rules: string[], base?: string) => chainOf(name, base, rules);
const table = (chains: ReturnType<typeof chain>[], elements = ['10.0.0.1', '10.0.0.2']): NftTable => ({
  family: 'inet',
  name: 't',
  sets: [{ name: 's', spec: ['type ipv4_addr', 'flags interval'], elements }],
  chains,
});

test('a chain keeps the longest common run of rules, in order; the rest is removed or added', () => {
  const p = planChain(chain('c', ['a', 'b', 'c', 'd', 'e']), chain('c', ['a', 'x', 'c', 'e', 'b', 'y']));
  // Kept: a, c, e (3 of them; "b" moved, so it is removed and added again).
  assert.deepEqual(p.kept, [0, -1, 2, 4, -1, -1]);
  assert.deepEqual(p.removed, [1, 3]);
  assert.deepEqual(planChain(chain('c', []), chain('c', ['a'])), { name: 'c', kept: [-1], removed: [] });
  assert.deepEqual(planChain(chain('c', ['a', 'a']), chain('c', ['a'])), { name: 'c', kept: [0], removed: [1] });
  assert.deepEqual(planChain(chain('c', ['q', 'a', 'b']), chain('c', ['a', 'b'])), { name: 'c', kept: [1, 2], removed: [0] });
});

test('a plan is incremental when rules, chains, sets and elements change; full when a table, a set type or a hook changes', () => {
  const base = 'type filter hook forward priority filter; policy drop;';
  const old = [table([chain('forward', ['r1', 'r2'], base), chain('x', ['r3'])])];
  assert.deepEqual(planUpdate(old, old), { kind: 'unchanged' });
  assert.equal(planUpdate(undefined, old).kind, 'full');

  const next = [table([chain('forward', ['r0', 'r1', 'r2'], base), chain('y', ['r4'])], ['10.0.0.2', '10.0.0.3'])];
  const p = planUpdate(old, next);
  assert.equal(p.kind, 'incremental');
  if (p.kind !== 'incremental') return;
  assert.equal(p.rulesAdded, 2, 'r0 and the new chain y');
  assert.equal(p.rulesRemoved, 1, "x's rule with x");
  const t = p.tables[0];
  assert.deepEqual(t.elements, [{ name: 's', add: ['10.0.0.3'], remove: ['10.0.0.1'] }]);
  assert.deepEqual(
    t.chainsAdded.map((c) => c.name),
    ['y'],
  );
  assert.deepEqual(
    t.chainsRemoved.map((c) => c.name),
    ['x'],
  );
  assert.deepEqual(t.chains, [{ name: 'forward', kept: [-1, 0, 1], removed: [] }]);

  const audit = [table([chain('forward', ['r1', 'r2'], base.replace('drop', 'accept')), chain('x', ['r3'])])];
  assert.match((planUpdate(old, audit) as { reason: string }).reason, /forward .* hook or policy/);
  const retyped: NftTable[] = [{ ...old[0], sets: [{ name: 's', spec: ['type ipv4_addr'], elements: [] }] }];
  assert.match((planUpdate(old, retyped) as { reason: string }).reason, /set s .* type or flags/);
  const more: NftTable[] = [...old, { family: 'netdev', name: 'u', sets: [], chains: [] }];
  assert.match((planUpdate(old, more) as { reason: string }).reason, /tables differ/);
});
