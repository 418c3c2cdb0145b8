import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng } from '../random/index.js';
import { randomFlow } from './flow/testing.js';
import { defaultPacket, parsePacketSpec, printPacket, witness, type PacketSpec } from './index.js';

function packet(text: string): PacketSpec {
  const r = parsePacketSpec(text);
  if (!r.ok) assert.fail(`${text}: ${r.errors[0].message}`);
  return r.value;
}

test('a packet description fills the named fields and defaults the rest', () => {
  const p = packet('tcp,nw_src=10.0.0.1,tp_dst=80');
  assert.equal(p.dl_type, 0x0800);
  assert.equal(p.nw_proto, 6);
  assert.equal(p.nw_src, 0x0a000001);
  assert.equal(p.tp_dst, 80);
  assert.equal(p.tp_src, 0);
  assert.equal(p.nw_ttl, 64, 'IP packets default to TTL 64');
  assert.deepEqual(p.dl_src, [0, 0, 0]);
  assert.equal(packet('arp').nw_ttl, 0, 'a non-IP packet has no TTL');
  assert.equal(packet('http').tp_dst, 80);
  assert.equal(packet('dl_vlan=10,dl_vlan_pcp=2').vlan_tci, 0x1000 | 10 | (2 << 13));
  assert.equal(packet('ip,ip_frag=later').ip_frag, 3);
  assert.equal(packet('ip,nw_ttl=3').nw_ttl, 3);
  assert.deepEqual(packet('tun_id=0x1234567890').tun_id, [0, 0x12, 0x3456, 0x7890]);
});

test('a field given as a set is an error positioned at it', () => {
  const cases: Array<[string, number]> = [
    ['tcp,nw_src=10.0.0.0/8', 5],
    ['tcp,tp_dst=80-90', 5],
    ['tcp,tp_dst=0x50/0xfff0', 5],
    ['ip,ip_frag=yes', 4],
    ['ip,ip_frag=not_later', 4],
    ['dl_src=02:00:00:00:00:00/ff:ff:ff:00:00:00', 1],
    ['ipv6,ipv6_src=2001:db8::/32', 6],
    ['tcp,tcp_flags=+syn', 5],
  ];
  for (const [text, col] of cases) {
    const r = parsePacketSpec(text);
    assert.equal(r.ok, false, text);
    if (r.ok) continue;
    assert.equal(r.errors[0].code, 'E_PACKET_NOT_CONCRETE', text);
    assert.equal(r.errors[0].loc?.col, col, text);
    assert.match(r.errors[0].message, /one value per field/);
  }
  const bad = parsePacketSpec('tcp,tp_dst=99999');
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.equal(bad.errors[0].code, 'E_FLOW_OUT_OF_RANGE');
});

test('printing a packet and parsing it back gives the same packet', () => {
  const texts = [
    'tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=40000,tp_dst=80,tcp_flags=syn',
    'udp6,ipv6_src=2001:db8::1,ipv6_label=0x12,tp_dst=53',
    'arp,arp_op=2,arp_spa=10.0.0.1,arp_sha=02:00:00:00:00:01',
    'icmp,icmp_type=8,nw_ttl=1,nw_tos=32,nw_ecn=1,ip_frag=first',
    'in_port=4,dl_vlan=3,dl_dst=ff:ff:ff:ff:ff:ff,tun_id=0x5,tun_src=192.168.0.1',
    'ip,nw_ttl=0',
    '',
  ];
  for (const t of texts) {
    const p = packet(t);
    assert.deepEqual(packet(printPacket(p)), p, `${t} -> ${printPacket(p)}`);
  }
  const r = seededRng(21);
  for (let i = 0; i < 500; i++) {
    const a = randomFlow(r);
    const b = randomFlow(r);
    const w = witness(a, b);
    if (!w) continue;
    assert.deepEqual(packet(printPacket(w)), w, printPacket(w));
  }
});

test('focus prints only the fields a flow constrains, with their protocol', () => {
  const p = packet('tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=40000,tp_dst=80');
  assert.equal(printPacket(p, { tp_dst: { value: 80, mask: 0xffff } }), 'tcp,tp_dst=80');
  assert.equal(printPacket(p, { nw_dst: { value: 0, mask: 0 } }), 'tcp,nw_dst=10.0.0.2');
  assert.equal(printPacket(defaultPacket()), '');
});
