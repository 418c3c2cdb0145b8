import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyVerbosity, COLLECTORS, initialSettings, isActive, parseVerbosity, passes } from './settings.js';

describe('verbosity settings', () => {
  test('a level switches collectors on from their own level up', () => {
    const s = initialSettings(2, 1000);
    assert.equal(isActive('counters', s.counters), true);
    assert.equal(isActive('flows', s.flows), true);
    assert.equal(isActive('logs', s.logs), true);
    assert.equal(isActive('monitor-logs', s['monitor-logs']), false);
    assert.equal(isActive('syscalls', s.syscalls), false);
  });

  test("a change's id is kept for its acknowledgement and changes no setting; a malformed one is refused", () => {
    const r = parseVerbosity({ id: 'v1abc_2-x', level: 3 });
    assert.ok(r.ok);
    assert.deepEqual(r.value, { id: 'v1abc_2-x', level: 3 });
    const after = applyVerbosity(initialSettings(1, 5000), r.value, []);
    assert.ok(after.ok);
    assert.deepEqual(after.value.flows, { level: 3, periodMs: 5000 });
    for (const bad of ['', 'a b', 'x'.repeat(65), 7]) {
      const p = parseVerbosity({ id: bad, level: 1 });
      assert.ok(!p.ok && /id must be/.test(p.errors[0].message), JSON.stringify(bad));
    }
  });

  test('a change without a collector applies to every collector; with one, to that one only', () => {
    const s0 = initialSettings(1, 5000);
    const all = applyVerbosity(s0, { level: 4, periodMs: 2000 }, []);
    assert.ok(all.ok);
    for (const c of Object.values(all.value)) assert.deepEqual(c, { level: 4, periodMs: 2000 });
    const one = applyVerbosity(all.value, { collector: 'syscalls', level: 0 }, []);
    assert.ok(one.ok);
    assert.equal(one.value.syscalls.level, 0);
    assert.equal(one.value.flows.level, 4);
    assert.equal(one.value.syscalls.periodMs, 2000, 'a missing field stays as it was');
  });

  test("filters are set, narrowed to the collector's kinds, and removed with null", () => {
    const s0 = initialSettings(3, 1000);
    const r = applyVerbosity(s0, { instances: ['web-0'], kinds: ['monitor-log'] }, ['web-0', 'db-0']);
    assert.ok(r.ok);
    assert.deepEqual(r.value['monitor-logs'].kinds, ['monitor-log']);
    assert.deepEqual(r.value['monitor-logs'].instances, ['web-0']);
    // Sent to every collector, a kind none of the counters' leaves the counters nothing to do.
    assert.deepEqual(r.value.counters.kinds, []);
    assert.equal(isActive('counters', r.value.counters), false);
    const cleared = applyVerbosity(r.value, { instances: null, kinds: null }, ['web-0']);
    assert.ok(cleared.ok);
    assert.equal(cleared.value['monitor-logs'].kinds, undefined);
    assert.equal(cleared.value['monitor-logs'].instances, undefined);
    assert.equal(isActive('counters', cleared.value.counters), true);
  });

  test('a kinds filter a named collector cannot emit, and unknown instances, are rejected', () => {
    const s0 = initialSettings(4, 1000);
    const k = applyVerbosity(s0, { collector: 'flows', kinds: ['notice'] }, []);
    assert.equal(k.ok, false);
    assert.match(!k.ok ? k.errors[0].message : '', /flows emits flow/);
    // Notices are the agent's own path, shipped at every level: no collector emits them.
    const n = applyVerbosity(s0, { collector: 'monitor-logs', kinds: ['notice'] }, []);
    assert.match(!n.ok ? n.errors[0].message : '', /monitor-logs emits monitor-log, none of notice/);
    const all = applyVerbosity(s0, { kinds: ['notice'] }, []);
    assert.ok(all.ok && COLLECTORS.every((c) => !isActive(c, all.value[c])), 'only notices: every collector stops');
    const i = applyVerbosity(s0, { instances: ['ghost-0'] }, ['web-0']);
    assert.equal(i.ok, false);
    assert.match(!i.ok ? i.errors[0].message : '', /no instance ghost-0 on this node \(known: web-0\)/);
  });

  test('malformed messages are rejected whole, naming each bad field', () => {
    const r = parseVerbosity({ collector: 'everything', level: 7, periodMs: 5, kinds: ['flow', 'packets'], extra: 1 });
    assert.equal(r.ok, false);
    const fields = !r.ok ? r.errors.map((e) => e.loc?.field) : [];
    assert.deepEqual(fields.sort(), ['verbosity.collector', 'verbosity.extra', 'verbosity.kinds', 'verbosity.level', 'verbosity.periodMs']);
    assert.equal(parseVerbosity('level 4').ok, false);
    assert.deepEqual(parseVerbosity({ collector: '*', level: 0 }), { ok: true, value: { collector: '*', level: 0 } });
  });

  test("records pass a collector's filters by kind and instance", () => {
    const s = { level: 3, periodMs: 1000, instances: ['web-0'], kinds: ['notice' as const] };
    assert.equal(passes(s, 'notice', 'web-0'), true);
    assert.equal(passes(s, 'monitor-log', 'web-0'), false);
    assert.equal(passes(s, 'notice', 'db-0'), false);
    assert.equal(passes(s, 'notice', undefined), false);
    assert.equal(passes({ level: 3, periodMs: 1000 }, 'notice', undefined), true);
  });
});
