import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng } from '../random/index.js';
import { addressProblem, formatIpv4, formatIpv6, formatIpv6Groups, parseIpv4, parseIpv6, parseIpv6Groups } from './index.js';

test('IPv4: dotted quads to unsigned integers and back', () => {
  assert.equal(parseIpv4('10.77.0.1'), 0x0a4d0001);
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIpv4('0.0.0.0'), 0);
  assert.equal(formatIpv4(0x0a4d0001), '10.77.0.1');
  assert.equal(formatIpv4(0xffffffff), '255.255.255.255');
  assert.equal(formatIpv4(0xc0a80001 | 0), '192.168.0.1', 'a negative int32 from bit operations');
});

test('IPv4: leading zeros are rejected, as are other non-canonical spellings', () => {
  const bad = [
    '010.0.0.1',
    '10.0.0.01',
    '10.00.0.1',
    '00.0.0.0',
    '1.2.3.4.5',
    '1.2.3',
    '256.0.0.1',
    '1.2.3.-1',
    '0x1.2.3.4',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1..2.3',
    '1.2.3.4.',
    '',
    'a.b.c.d',
    '１.2.3.4',
    '1.2.3.4/32',
  ];
  for (const s of bad) {
    assert.equal(parseIpv4(s), undefined, s);
    assert.equal(parseIpv6(s), undefined, s);
  }
});

test('the problem of a bad address is named so that a person can fix it', () => {
  assert.match(addressProblem('010.0.0.1', 4), /leading zeros are not allowed \("010"/);
  assert.match(addressProblem('::ffff:10.0.0.01'), /leading zeros are not allowed \("01"/);
  assert.match(addressProblem('10.0.0.256', 4), /256 is over 255/);
  assert.match(addressProblem('10.0.0', 4), /4 numbers, not 3/);
  assert.match(addressProblem('fe80::1%eth0'), /zone id/);
  assert.match(addressProblem('web', 4), /like 10\.0\.0\.1/);
  assert.match(addressProblem('1::2::3', 6), /2001:db8::1/);
});

test('IPv6: every RFC 4291 text form parses to the same groups', () => {
  const same: [string, number[]][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]],
    ['2001:db8:0:0:0:0:0:1', [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]],
    ['2001:DB8::1', [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]],
    ['::', [0, 0, 0, 0, 0, 0, 0, 0]],
    ['::1', [0, 0, 0, 0, 0, 0, 0, 1]],
    ['1::', [1, 0, 0, 0, 0, 0, 0, 0]],
    ['1:2:3:4:5:6:7::', [1, 2, 3, 4, 5, 6, 7, 0]],
    ['::2:3:4:5:6:7:8', [0, 2, 3, 4, 5, 6, 7, 8]],
    ['::ffff:10.1.2.3', [0, 0, 0, 0, 0, 0xffff, 0x0a01, 0x0203]],
    ['::10.1.2.3', [0, 0, 0, 0, 0, 0, 0x0a01, 0x0203]],
    ['1:2:3:4:5:6:1.2.3.4', [1, 2, 3, 4, 5, 6, 0x0102, 0x0304]],
    ['64:ff9b::192.0.2.33', [0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221]],
  ];
  for (const [text, groups] of same) {
    assert.deepEqual(parseIpv6Groups(text), groups, text);
    const w = parseIpv6(text);
    assert.ok(w, text);
    assert.deepEqual(
      [...w],
      [0, 1, 2, 3].map((i) => ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0),
      text,
    );
    assert.equal(parseIpv4(text), undefined, text);
  }
});

test('IPv6: malformed text, zone ids and leading-zero embedded quads are rejected', () => {
  const bad = [
    '',
    ':',
    ':::',
    '1::2::3',
    '12345::',
    '1:2:3:4:5:6:7:8:9',
    'g::1',
    '1:2:3',
    '1:2:3:4:5:6:7:8::',
    '::1.2.3',
    '::1.2.3.4:1',
    '1.2.3.4::',
    'fe80::1%eth0',
    '::ffff:010.0.0.1',
    ':1::',
    '1::2:',
    '::/0',
    '[::1]',
  ];
  for (const s of bad) {
    assert.equal(parseIpv6(s), undefined, s);
    assert.equal(parseIpv4(s), undefined, s);
  }
});

test('IPv6 text out follows RFC 5952', () => {
  const cases: [string, string][] = [
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not shortened
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run wins
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['::ffff:a01:203', '::ffff:10.1.2.3'],
    ['::10.1.2.3', '::a01:203'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['0:0:0:0:0:0:0:1', '::1'],
  ];
  for (const [input, want] of cases) {
    const words = parseIpv6(input);
    const groups = parseIpv6Groups(input);
    assert.ok(words && groups, input);
    assert.equal(formatIpv6(words), want, input);
    assert.equal(formatIpv6Groups(groups), want, input);
  }
});

test('IPv6: random addresses round-trip and agree with the WHATWG URL parser', () => {
  const r = seededRng(6);
  for (let n = 0; n < 5000; n++) {
    // Mostly zeros so that runs of every length and position occur.
    const groups = Array.from({ length: 8 }, () => (r() < 0.5 ? 0 : Math.floor(r() * 0x10000)));
    const text = formatIpv6Groups(groups);
    assert.deepEqual(parseIpv6Groups(text), groups, text);
    const full = groups.map((g) => g.toString(16)).join(':');
    const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
    // URL prints IPv4-mapped addresses in hex; everything else must match it exactly.
    if (!mapped) assert.equal(`[${text}]`, new URL(`http://[${full}]/`).hostname, full);
  }
});
