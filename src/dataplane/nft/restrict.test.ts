import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unwrap } from '../../diagnostics/index.js';
import { backendFixture, suiteDesired } from '../testing.js';
import type { NodeDesired, SourceRestriction } from '../backend.js';
import { renderNodeConfig } from './node.js';
import { restrictionRules } from './restrict.js';
import { planUpdate } from './update.js';

const NET = '10.77.0.0/16';

test('a restriction drops everything from its source, or new connections over its rate; IPv4 and IPv6, counted and named', () => {
  const r = restrictionRules(
    [
      { id: 'scan-1', source: '203.0.113.7' },
      { id: 'flood-2', source: '2001:db8:0:0::/48', port: 53, protocol: 'udp' },
      { id: 'syn-3', source: '198.51.100.0/24', port: 443, rate: { perSecond: 20, burst: 40 } },
      { id: 'any-udp', source: '192.0.2.1/32', protocol: 'udp' },
    ],
    NET,
    'enforce',
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.rules, [
    'ip saddr 203.0.113.7/32 counter drop comment "restrict scan-1"',
    'ip6 saddr 2001:db8::/48 udp dport 53 counter drop comment "restrict flood-2"',
    'ip saddr 198.51.100.0/24 tcp dport 443 ct state new limit rate over 20/second burst 40 packets counter drop comment "restrict syn-3"',
    'ip saddr 192.0.2.1/32 meta l4proto udp counter drop comment "restrict any-udp"',
  ]);
  // Audit mode leaves the inferred rules to log, but a reaction still holds (as a quarantine does).
  assert.deepEqual(restrictionRules([{ id: 'a', source: '203.0.113.7' }], NET, 'audit').rules, [
    'ip saddr 203.0.113.7/32 counter log prefix "flowtap-audit restrict a " drop comment "restrict a"',
  ]);
});

test('a source inside the application, a malformed one, a bad port, rate or id: a diagnostic naming the restriction, and no rules', () => {
  const cases: Array<[SourceRestriction, RegExp]> = [
    [{ id: 'inside', source: '10.77.3.4' }, /"inside": source 10.77.3.4 overlaps the application's network/],
    [{ id: 'covers', source: '0.0.0.0/0' }, /"covers": source 0.0.0.0\/0 overlaps/],
    [{ id: 'zeros', source: '203.0.113.07' }, /"zeros": .*leading zeros/],
    [{ id: 'hostbits', source: '203.0.113.7/24' }, /"hostbits": .*did you mean 203.0.113.0\/24/],
    [{ id: 'port', source: '203.0.113.7', port: 70000 }, /"port": port 70000/],
    [{ id: 'proto', source: '203.0.113.7', protocol: 'icmp' as 'tcp' }, /"proto": protocol "icmp"/],
    [{ id: 'burst', source: '203.0.113.7', rate: { perSecond: 5, burst: 0 } }, /"burst": burst 0/],
    [{ id: 'rate', source: '203.0.113.7', rate: { perSecond: 0.5, burst: 1 } }, /"rate": rate 0.5\/second/],
    [{ id: 'bad"id', source: '203.0.113.7' }, /"bad\\"id": its id/],
  ];
  for (const [bad, why] of cases) {
    const r = restrictionRules([{ id: 'fine', source: '192.0.2.0/24' }, bad], NET, 'enforce');
    assert.deepEqual(r.rules, [], bad.id);
    assert.equal(r.errors.length, 1, bad.id);
    assert.equal(r.errors[0].code, 'E_DATAPLANE_RESTRICT');
    assert.match(r.errors[0].message, why);
  }
  const twice = restrictionRules(
    [
      { id: 'x', source: '192.0.2.1' },
      { id: 'x', source: '192.0.2.2' },
    ],
    NET,
    'enforce',
  );
  assert.match(twice.errors[0].message, /"x": the id is used by another restriction/);
});

test('adding or lifting a restriction changes only its own rule: every other rule keeps its text, so its counter', () => {
  const f = backendFixture();
  const with_ = (d: NodeDesired, restrictions: SourceRestriction[]): NodeDesired => ({ ...d, context: { ...d.context, restrictions } });
  const base = unwrap(renderNodeConfig(suiteDesired(f)));
  const one = unwrap(renderNodeConfig(with_(suiteDesired(f), [{ id: 'a', source: '203.0.113.7' }])));
  const two = unwrap(
    renderNodeConfig(
      with_(suiteDesired(f, { 'api-0': 'isolated' }), [
        { id: 'a', source: '203.0.113.7' },
        { id: 'b', source: '2001:db8::/32', rate: { perSecond: 10, burst: 10 } },
      ]),
    ),
  );
  const add = planUpdate(base.tables, one.tables);
  assert.equal(add.kind, 'incremental');
  if (add.kind !== 'incremental') return;
  assert.deepEqual([add.rulesAdded, add.rulesRemoved], [1, 0]);
  for (const t of add.tables)
    for (const c of t.chains) {
      assert.deepEqual(c.removed, [], `${t.name} ${c.name}`);
      const fresh = c.kept.flatMap((k, i) => (k < 0 ? [i] : []));
      assert.deepEqual(fresh, t.name === 'flowtap' && c.name === 'forward' ? [0] : [], `${t.name} ${c.name}`);
    }
  // A second restriction with a quarantine: the first restriction's rule is kept too.
  const more = planUpdate(one.tables, two.tables);
  assert.ok(more.kind === 'incremental');
  const fwd = more.tables.find((t) => t.name === 'flowtap')!.chains.find((c) => c.name === 'forward')!;
  assert.equal(fwd.kept[0], 0, 'restrict a kept');
  assert.equal(fwd.kept[1], -1, 'restrict b added after it');
  const lift = planUpdate(two.tables, base.tables);
  assert.ok(lift.kind === 'incremental');
  const fwdLift = lift.tables.find((t) => t.name === 'flowtap')!.chains.find((c) => c.name === 'forward')!;
  assert.deepEqual(fwdLift.removed.slice(0, 2), [0, 1], 'both restrictions out');
});
