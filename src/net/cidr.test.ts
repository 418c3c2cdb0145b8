import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { seededRng } from '../random/index.js';
import {
  cidrContains,
  cidrsOverlap,
  formatCidr,
  formatIpv4,
  formatIpv6,
  ipv4Mask,
  ipv4Range,
  parseCidr,
  parseIpv4Cidr,
  type IpCidr,
} from './index.js';

const block = (text: string, bare = false): IpCidr => {
  const r = parseCidr(text, { bare });
  assert.ok(r.ok, `${text}: ${r.ok ? '' : r.reason}`);
  return r.cidr;
};
const contains = (outer: string, inner: string): boolean => cidrContains(block(outer, true), block(inner, true));

test('IPv4 blocks parse to a base and a prefix', () => {
  assert.deepEqual(parseIpv4Cidr('10.77.0.0/16'), { ok: true, cidr: { base: 0x0a4d0000, prefix: 16 } });
  assert.deepEqual(parseIpv4Cidr('0.0.0.0/0'), { ok: true, cidr: { base: 0, prefix: 0 } });
  assert.deepEqual(parseIpv4Cidr('255.255.255.255/32'), { ok: true, cidr: { base: 0xffffffff, prefix: 32 } });
  assert.deepEqual(ipv4Range({ base: 0x0a000000, prefix: 8 }), { lo: 0x0a000000, hi: 0x0affffff });
  assert.equal(ipv4Mask(0), 0);
  assert.equal(ipv4Mask(20), 0xfffff000);
  assert.equal(ipv4Mask(32), 0xffffffff);
});

test('malformed blocks are rejected with the reason', () => {
  const cases: [string, RegExp][] = [
    ['10.77.0.0', /missing "\/prefix"/],
    ['10.77.0.0/33', /prefix "33" is not a number from 0 to 32/],
    ['10.77.0.0/', /prefix "" is not/],
    ['10.77.0.0/08', /prefix "08"/],
    ['10.77.0.0/x', /prefix "x"/],
    ['010.77.0.0/16', /"010.77.0.0" is not an IPv4 address: leading zeros are not allowed/],
    ['300.0.0.0/8', /300 is over 255/],
    ['2001:db8::/129', /from 0 to 128/],
    ['2001:db8:::/32', /is not an IPv6 address/],
    ['fe80::%eth0/64', /zone id/],
  ];
  for (const [text, why] of cases) {
    const r = parseCidr(text);
    assert.equal(r.ok, false, text);
    assert.match((r as { reason: string }).reason, why, text);
  }
  const v6 = parseIpv4Cidr('2001:db8::/32');
  assert.equal(v6.ok, false);
  assert.match((v6 as { reason: string }).reason, /an IPv4 block is needed here/);
});

test('host bits: rejected by default with the network meant, cleared on request', () => {
  assert.deepEqual(parseCidr('10.77.1.0/16'), { ok: false, reason: 'host bits are set; did you mean 10.77.0.0/16?' });
  assert.deepEqual(parseCidr('2001:db8::1/32'), { ok: false, reason: 'host bits are set; did you mean 2001:db8::/32?' });
  assert.deepEqual(parseIpv4Cidr('10.77.1.2/16', { hostBits: 'clear' }), { ok: true, cidr: { base: 0x0a4d0000, prefix: 16 } });
  const c = parseCidr('2001:db8:ffff::1/40', { hostBits: 'clear' });
  assert.ok(c.ok && formatCidr(c.cidr) === '2001:db8:ff00::/40');
  // Normalising a block's text is parsing it with host bits cleared and printing it.
  const k8s = parseCidr('10.77.1.2/16', { hostBits: 'clear' });
  assert.ok(k8s.ok && formatCidr(k8s.cidr) === '10.77.0.0/16');
});

test('a bare address is a block of one only when asked for', () => {
  assert.equal(parseCidr('10.0.0.1').ok, false);
  assert.deepEqual(parseCidr('10.0.0.1', { bare: true }), { ok: true, cidr: { version: 4, base: 0x0a000001, prefix: 32 } });
  const v6 = parseCidr('::1', { bare: true });
  assert.ok(v6.ok && v6.cidr.version === 6 && v6.cidr.prefix === 128);
});

test('containment at byte and bit boundaries, for both families', () => {
  assert.equal(contains('10.0.0.0/8', '10.255.1.2'), true);
  assert.equal(contains('10.0.0.0/8', '11.0.0.1'), false);
  assert.equal(contains('192.168.4.0/22', '192.168.7.255'), true);
  assert.equal(contains('192.168.4.0/22', '192.168.8.0'), false);
  assert.equal(contains('0.0.0.0/0', '255.255.255.255'), true);
  assert.equal(contains('128.0.0.0/1', '127.255.255.255'), false);
  assert.equal(contains('10.0.0.0/8', '10.1.0.0/16'), true);
  assert.equal(contains('10.1.0.0/16', '10.0.0.0/8'), false);
  assert.equal(contains('1.2.3.4', '1.2.3.4'), true);
  assert.equal(contains('2001:db8::/32', '2001:db8:1::/48'), true);
  assert.equal(contains('2001:db8:1::/48', '2001:db8::/32'), false);
  assert.equal(contains('fe80::/10', 'febf:ffff::1'), true);
  assert.equal(contains('fe80::/10', 'fec0::1'), false);
  assert.equal(contains('::ffff:0:0/96', '::ffff:10.1.2.3'), true);
  assert.equal(contains('2001:db8::/127', '2001:db8::1'), true);
  assert.equal(contains('2001:db8::/127', '2001:db8::2'), false);
  assert.equal(contains('::/0', '::1'), true);
});

test('families never contain each other, IPv4-mapped addresses included', () => {
  assert.equal(contains('0.0.0.0/0', '::1'), false);
  assert.equal(contains('::/0', '10.0.0.1'), false);
  assert.equal(contains('10.0.0.0/8', '::ffff:10.0.0.1'), false);
});

test("containment agrees with node's BlockList on random blocks and addresses", () => {
  const r = seededRng(20);
  const rand32 = () => Math.floor(r() * 0x100000000);
  const answers = [0, 0];
  for (let n = 0; n < 3000; n++) {
    const v6 = n % 2 === 1;
    const prefix = Math.floor(r() * (v6 ? 129 : 33));
    const net = v6 ? Uint32Array.from([rand32(), rand32(), rand32(), rand32()]) : rand32();
    // Half of the addresses share the network's top bits, so that both answers occur often.
    const addr = v6
      ? Uint32Array.from(net as Uint32Array, (w, i) => (r() < 0.5 ? w : i >= 2 ? rand32() : w))
      : r() < 0.5
        ? ((net as number) ^ (rand32() >>> prefix)) >>> 0
        : rand32();
    const netText = v6 ? formatIpv6(net as Uint32Array) : formatIpv4(net as number);
    const addrText = v6 ? formatIpv6(addr as Uint32Array) : formatIpv4(addr as number);
    const outer = parseCidr(`${netText}/${prefix}`, { hostBits: 'clear' });
    assert.ok(outer.ok);
    const list = new BlockList();
    list.addSubnet(formatCidr(outer.cidr).split('/')[0], prefix, v6 ? 'ipv6' : 'ipv4');
    // BlockList matches IPv4-mapped IPv6 against IPv4 rules; compare only same-family questions.
    if (v6 && addrText.startsWith('::ffff:') && addrText.includes('.')) continue;
    const got = cidrContains(outer.cidr, block(addrText, true));
    assert.equal(got, list.check(addrText, v6 ? 'ipv6' : 'ipv4'), `${netText}/${prefix} ∋ ${addrText}`);
    answers[got ? 1 : 0]++;
  }
  assert.ok(answers[0] > 500 && answers[1] > 500, `answers ${answers}`);
});

test('IPv4 blocks overlap when they share an address', () => {
  const c = (t: string) => (parseIpv4Cidr(t) as { ok: true; cidr: { base: number; prefix: number } }).cidr;
  assert.equal(cidrsOverlap(c('10.0.0.0/8'), c('10.250.0.0/24')), true);
  assert.equal(cidrsOverlap(c('10.0.0.0/16'), c('10.1.0.0/16')), false);
  assert.equal(formatCidr(c('10.0.0.0/16')), '10.0.0.0/16');
});
