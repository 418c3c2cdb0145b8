import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, parseIPv6, parsePrefix } from './cidr.js';

test('IPv4 containment at byte and bit boundaries', () => {
  assert.equal(cidrContains('10.0.0.0/8', '10.255.1.2'), true);
  assert.equal(cidrContains('10.0.0.0/8', '11.0.0.1'), false);
  assert.equal(cidrContains('192.168.4.0/22', '192.168.7.255'), true);
  assert.equal(cidrContains('192.168.4.0/22', '192.168.8.0'), false);
  assert.equal(cidrContains('0.0.0.0/0', '1.2.3.4'), true);
  assert.equal(cidrContains('1.2.3.4', '1.2.3.4'), true);
  assert.equal(cidrContains('1.2.3.4/32', '1.2.3.5'), false);
});

test('a prefix contains a narrower prefix but not a wider one', () => {
  assert.equal(cidrContains('10.0.0.0/8', '10.1.0.0/16'), true);
  assert.equal(cidrContains('10.1.0.0/16', '10.0.0.0/8'), false);
  assert.equal(cidrContains('2001:db8::/32', '2001:db8:1::/48'), true);
  assert.equal(cidrContains('2001:db8:1::/48', '2001:db8::/32'), false);
});

test('IPv6 forms: compression, leading zeros, embedded IPv4', () => {
  assert.equal(cidrContains('2001:db8::/32', '2001:0db8:0000:0000:0000:0000:0000:0001'), true);
  assert.equal(cidrContains('2001:db8::/32', '2001:db9::1'), false);
  assert.equal(cidrContains('fe80::/10', 'febf:ffff::1'), true);
  assert.equal(cidrContains('fe80::/10', 'fec0::1'), false);
  assert.equal(cidrContains('::ffff:0:0/96', '::ffff:10.1.2.3'), true);
  assert.equal(cidrContains('::/0', '::1'), true);
  assert.deepEqual([...(parseIPv6('1::') ?? [])], [0, 1, ...new Array(14).fill(0)]);
  assert.deepEqual([...(parseIPv6('::ffff:1.2.3.4') ?? [])].slice(10), [0xff, 0xff, 1, 2, 3, 4]);
});

test('families never match each other', () => {
  assert.equal(cidrContains('0.0.0.0/0', '::1'), false);
  assert.equal(cidrContains('::/0', '10.0.0.1'), false);
});

test('malformed text is not contained and does not throw', () => {
  const bad = ['', '10.0.0', '10.0.0.256', '10.0.0.0/33', '10.0.0.0/', '1:2:3:4:5:6:7:8:9', '1::2::3', ':::', 'fe80::1%eth0', '::/129', 'g::1', 'a.b.c.d', '1.2.3.4::'];
  for (const b of bad) {
    assert.equal(parsePrefix(b), undefined, b);
    assert.equal(cidrContains(b, '10.0.0.1'), false);
    assert.equal(cidrContains('0.0.0.0/0', b), false);
  }
});

test('host bits in the network prefix are ignored', () => {
  assert.equal(cidrContains('10.1.2.3/8', '10.9.9.9'), true);
});
