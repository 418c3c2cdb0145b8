import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readServiceEnv } from './env.js';
import { amount, email, jsonObject, positiveId, text, userIdHeader } from './validate.js';

test('positiveId accepts integers and digit strings within int4, nothing else', () => {
  assert.deepEqual(positiveId(7, 'x'), { ok: true, value: 7 });
  assert.deepEqual(positiveId('2147483647', 'x'), { ok: true, value: 2147483647 });
  for (const v of [0, -1, 1.5, '0', '01', '2147483648', '1e3', ' 1', null, undefined, {}, NaN, 'DROP TABLE']) {
    const r = positiveId(v, 'dvd');
    assert.equal(r.ok, false, String(v));
    assert.match(r.ok ? '' : r.error, /^dvd must be a positive integer/);
  }
});

test('text, email and amount name the field and the rule', () => {
  assert.deepEqual(text('  hi ', 'name', 5), { ok: true, value: 'hi' });
  assert.deepEqual(text('toolong', 'name', 5), { ok: false, error: 'name must be at most 5 characters' });
  assert.deepEqual(text('  ', 'name', 5), { ok: false, error: 'name must not be empty' });
  assert.deepEqual(email('Ada@Example.TEST', 'email'), { ok: true, value: 'ada@example.test' });
  assert.equal(email('ada@', 'email').ok, false);
  assert.equal(email('a b@c.d', 'email').ok, false);
  assert.deepEqual(amount(3.99, 'amount', 10), { ok: true, value: 3.99 });
  assert.equal(amount(3.999, 'amount', 10).ok, false);
  assert.equal(amount(11, 'amount', 10).ok, false);
  assert.equal(amount(Infinity, 'amount', 10).ok, false);
  assert.equal(amount('3', 'amount', 10).ok, false);
  assert.equal(jsonObject([1]).ok, false);
  assert.equal(jsonObject(null).ok, false);
});

test('userIdHeader: absent is fine, malformed or repeated is not', () => {
  assert.deepEqual(userIdHeader({}), { ok: true, value: undefined });
  assert.deepEqual(userIdHeader({ 'x-user-id': '12' }), { ok: true, value: 12 });
  assert.equal(userIdHeader({ 'x-user-id': 'abc' }).ok, false);
  assert.equal(userIdHeader({ 'x-user-id': ['1', '2'] } as never).ok, false);
});

test('readServiceEnv checks the port, bind address and the declared dependency URLs only', () => {
  const good = readServiceEnv({ PORT: '9000', BIND: '10.0.0.5', DATABASE_URL: 'postgres://u:p@db:5432/x', NATS_URL: 'bogus' }, [
    'DATABASE_URL',
  ]);
  assert.deepEqual(good, { ok: true, value: { port: 9000, bind: '10.0.0.5', DATABASE_URL: 'postgres://u:p@db:5432/x' } });
  assert.deepEqual(readServiceEnv({}, []), { ok: true, value: { port: 8080, bind: '0.0.0.0' } });
  const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [{ PORT: '70000' }, /PORT must be a TCP port/],
    [{ PORT: '80x' }, /PORT must be a TCP port/],
    [{ BIND: 'localhost' }, /BIND must be an IPv4 or IPv6 address/],
    [{}, /DATABASE_URL is required/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must use postgres: or postgresql:/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL is not a URL/],
  ];
  for (const [env, message] of cases) {
    const r = readServiceEnv(env, ['DATABASE_URL']);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.error, message);
  }
});
