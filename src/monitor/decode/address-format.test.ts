import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './address-format.js';

test('IPv4 round trip and rejects', () => {
  assert.equal(formatIpv4(parseIpv4('192.168.0.255')!), '192.168.0.255');
  assert.equal(parseIpv4('256.1.1.1'), null);
  assert.equal(parseIpv4('1.2.3'), null);
});

test('IPv6 text follows RFC 5952', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ];
  for (const [input, want] of cases) {
    const w = parseIpv6(input);
    assert.ok(w, input);
    assert.equal(formatIpv6(w), want, input);
  }
  for (const bad of ['1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', 'g::1', '1:2:3']) assert.equal(parseIpv6(bad), null, bad);
});
