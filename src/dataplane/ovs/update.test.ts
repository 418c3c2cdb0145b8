import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cookieOf, type OvsFlow } from './flows.js';
import type { OvsNodeConfig } from './render.js';
import { planOvsUpdate } from './update.js';

const rule = (comment: string) => ({ table: 'flowtap', chain: 'forward', comment });
const config = (flows: OvsFlow[], extra: Partial<OvsNodeConfig> = {}): OvsNodeConfig => ({
  node: 'n1',
  bridge: 'br',
  flows,
  meters: [],
  groups: [],
  ports: [1],
  ...extra,
});
const a: OvsFlow = { table: 20, priority: 10, match: 'ip,nw_src=10.0.0.1', actions: 'resubmit(,30)', rule: rule('a') };
const b: OvsFlow = { table: 20, priority: 10, match: 'ip,nw_src=10.0.0.2', actions: 'resubmit(,30)', rule: rule('b') };
const c: OvsFlow = { table: 0, priority: 0, match: '', actions: 'drop' };

test('nothing known, another bridge: a replacement, with the reason; the same configuration: nothing to do', () => {
  assert.deepEqual(planOvsUpdate(undefined, config([a])), { kind: 'full', reason: 'nothing applied on this node yet' });
  assert.deepEqual(planOvsUpdate(config([a]), config([a], { bridge: 'br2' })), { kind: 'full', reason: 'another bridge (br -> br2)' });
  assert.deepEqual(planOvsUpdate(config([a, b, c]), config([c, b, a])), { kind: 'unchanged' });
});

test('by strict match: new actions are a modify_strict, a new cookie a delete then an add, deletions before additions', () => {
  const moved = { ...a, actions: 'drop' };
  const owned = { ...b, rule: rule('b2') };
  const d: OvsFlow = { table: 21, priority: 5, match: 'udp', actions: 'drop', rule: rule('d') };
  const p = planOvsUpdate(config([a, b, c]), config([moved, owned, d]));
  assert.ok(p.kind === 'incremental');
  assert.deepEqual(p.bundle.split('\n'), [
    'flow delete_strict table=20,priority=10,ip,nw_src=10.0.0.2',
    'flow delete_strict table=0,priority=0',
    `flow modify_strict table=20,priority=10,cookie=${cookieOf(rule('a'))},ip,nw_src=10.0.0.1,actions=drop`,
    `flow add table=20,priority=10,cookie=${cookieOf(rule('b2'))},ip,nw_src=10.0.0.2,actions=resubmit(,30)`,
    `flow add table=21,priority=5,cookie=${cookieOf(rule('d'))},udp,actions=drop`,
    '',
  ]);
  assert.deepEqual(
    { added: p.added, modified: p.modified, removed: p.removed, sent: p.sent },
    { added: 2, modified: 1, removed: 2, sent: [moved, owned, d] },
  );
});

test('groups ride in the bundle (added and changed first, deleted last); meters are planned apart', () => {
  const g1 = { id: 1, text: 'group_id=1,type=all,bucket=actions=output:5' };
  const g2 = { id: 2, text: 'group_id=2,type=all,bucket=actions=output:6' };
  const m1 = { id: 1, text: 'meter=1,pktps,band=type=drop,rate=5' };
  const m2 = { id: 2, text: 'meter=2,pktps,band=type=drop,rate=7' };
  const uses = { ...a, actions: 'group:3' };
  const p = planOvsUpdate(
    config([a], { groups: [g1, g2], meters: [m1] }),
    config([uses], {
      groups: [
        { ...g2, text: 'group_id=2,type=all,bucket=actions=output:7' },
        { id: 3, text: 'group_id=3,type=all' },
      ],
      meters: [{ ...m1, text: 'meter=1,pktps,band=type=drop,rate=6' }, m2],
    }),
  );
  assert.ok(p.kind === 'incremental');
  assert.deepEqual(p.bundle.split('\n'), [
    'group add group_id=3,type=all',
    'group modify group_id=2,type=all,bucket=actions=output:7',
    `flow modify_strict table=20,priority=10,cookie=${cookieOf(rule('a'))},ip,nw_src=10.0.0.1,actions=group:3`,
    'group delete group_id=1',
    '',
  ]);
  assert.deepEqual(p.meters, {
    add: [m2],
    modify: [{ from: m1, to: { ...m1, text: 'meter=1,pktps,band=type=drop,rate=6' } }],
    remove: [],
  });
  const onlyMeters = planOvsUpdate(config([a], { meters: [m1] }), config([a]));
  assert.ok(onlyMeters.kind === 'incremental' && onlyMeters.bundle === '' && onlyMeters.meters.remove[0] === 1);
});
