import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRestriction, describeRestriction } from './restriction.js';

const fields = (r: unknown, network?: string) => {
  const c = checkRestriction(r as never, network);
  assert.equal(c.ok, false, JSON.stringify(r));
  return c.ok ? [] : c.errors.map((e) => `${e.code} ${e.loc?.field}`);
};

test('a restriction comes back with its source written canonically', () => {
  assert.deepEqual(checkRestriction({ id: 'a', source: '203.0.113.7' }), { ok: true, value: { id: 'a', source: '203.0.113.7' } });
  assert.deepEqual(checkRestriction({ id: 'b', source: '2001:DB8:0:0::7' }), { ok: true, value: { id: 'b', source: '2001:db8::7' } });
  assert.deepEqual(
    checkRestriction({ id: 'c', source: '198.51.100.0/24', port: 443, protocol: 'udp', rate: { perSecond: 3, burst: 1 } }, '10.77.0.0/16'),
    { ok: true, value: { id: 'c', source: '198.51.100.0/24', port: 443, protocol: 'udp', rate: { perSecond: 3, burst: 1 } } },
  );
});

test('every bad field is reported at its name, all at once', () => {
  assert.deepEqual(fields({ id: '', source: '10.250.0.300' }), ['E_RESTRICTION id', 'E_RESTRICTION source']);
  assert.deepEqual(fields({ id: 'a b', source: '10.250.0.0/33' }), ['E_RESTRICTION id', 'E_RESTRICTION source']);
  // Host bits set: the network probably meant is named.
  const hostBits = checkRestriction({ id: 'a', source: '203.0.113.7/24' });
  assert.ok(!hostBits.ok && /did you mean 203\.0\.113\.0\/24/.test(hostBits.errors[0].message));
  assert.deepEqual(fields({ id: 'a', source: '10.250.0.9', port: 0 }), ['E_RESTRICTION port']);
  assert.deepEqual(fields({ id: 'a', source: '10.250.0.9', port: 65536 }), ['E_RESTRICTION port']);
  assert.deepEqual(fields({ id: 'a', source: '10.250.0.9', port: 8.5 }), ['E_RESTRICTION port']);
  assert.deepEqual(fields({ id: 'a', source: '10.250.0.9', protocol: 'udp' }), ['E_RESTRICTION protocol']);
  assert.deepEqual(fields({ id: 'a', source: '10.250.0.9', port: 53, protocol: 'icmp' }), ['E_RESTRICTION protocol']);
  assert.deepEqual(fields({ id: 'a', source: '10.250.0.9', rate: { perSecond: 0, burst: 1.5 } }), [
    'E_RESTRICTION rate.perSecond',
    'E_RESTRICTION rate.burst',
  ]);
  assert.deepEqual(fields({ id: 'a', source: '10.250.0.9', rate: { perSecond: 1, burst: 1, per: 'minute' } }), ['E_RESTRICTION rate.per']);
  assert.deepEqual(fields({ id: 'a', source: '10.250.0.9', action: 'accept' }), ['E_RESTRICTION action']);
  // A source inside the application is an instance: quarantine, not a restriction.
  assert.deepEqual(fields({ id: 'a', source: '10.77.0.2' }, '10.77.0.0/16'), ['E_RESTRICTION source']);
  assert.deepEqual(fields({ id: 'a', source: '10.0.0.0/8' }, '10.77.0.0/16'), ['E_RESTRICTION source']);
  assert.equal(checkRestriction({ id: 'a', source: '10.250.0.9' }, '10.77.0.0/16').ok, true);
});

test('one line says what a restriction does', () => {
  assert.equal(describeRestriction({ id: 'r1', source: '203.0.113.7' }), 'r1: 203.0.113.7 dropped');
  assert.equal(
    describeRestriction({ id: 'r2', source: '203.0.113.0/24', port: 80, rate: { perSecond: 10, burst: 5 } }),
    'r2: 203.0.113.0/24 to tcp/80 limited to 10/s (burst 5)',
  );
});
