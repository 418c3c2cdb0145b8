import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketDecoder } from './packet-decoder.js';
import { TcpFlag, Tunnel } from './decoded-packet.js';
import { formatDstAddr, formatSrcAddr } from './address-format.js';
import * as B from '../testing/index.js';
import { encodePcap, readCaptureBuffer } from '../capture/index.js';

const td = new TextDecoder();
const text = (dp: { buf: Uint8Array; payloadOffset: number; payloadLength: number }): string =>
  td.decode(dp.buf.subarray(dp.payloadOffset, dp.payloadOffset + dp.payloadLength));

test('Ethernet/IPv4/TCP with IP and TCP options: every field', () => {
  const seg = B.tcpSegment({
    sport: 40000,
    dport: 80,
    seq: 0xfffffff0,
    ack: 12345,
    flags: 'PA',
    window: 512,
    payload: 'GET / HTTP/1.1\r\n',
    optionBytes: 12,
  });
  const frame = B.ethernetFrame({
    payload: B.ipv4Packet({ src: '10.0.0.1', dst: '192.168.1.20', proto: 6, payload: seg, ttl: 33, optionBytes: 8 }),
  });
  const d = new PacketDecoder();
  const dp = d.decode(1, frame, 12.5);
  assert.ok(dp);
  assert.equal(dp.ipVersion, 4);
  assert.equal(formatSrcAddr(dp), '10.0.0.1');
  assert.equal(formatDstAddr(dp), '192.168.1.20');
  assert.equal(dp.ttl, 33);
  assert.equal(dp.ipProto, 6);
  assert.equal(dp.ipLen, 28 + seg.length);
  assert.equal(dp.srcPort, 40000);
  assert.equal(dp.dstPort, 80);
  assert.equal(dp.seq, 0xfffffff0);
  assert.equal(dp.ack, 12345);
  assert.equal(dp.tcpFlags, TcpFlag.PSH | TcpFlag.ACK);
  assert.equal(dp.window, 512);
  assert.equal(text(dp), 'GET / HTTP/1.1\r\n');
  assert.equal(dp.buf, frame); // a view into the frame, not a copy
  assert.equal(dp.ts, 12.5);
});

test('Ethernet padding after a short IP packet is not payload', () => {
  const ip = B.ipv4Packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 6, payload: B.tcpSegment({ sport: 1, dport: 2, flags: 'A' }) });
  const frame = B.ethernetFrame({ payload: B.concat(ip, new Uint8Array(6)) });
  const dp = new PacketDecoder().decode(1, frame, 0);
  assert.ok(dp);
  assert.equal(dp.payloadLength, 0);
});

function sll(ip: Uint8Array): Uint8Array {
  const h = new Uint8Array(16);
  h[15] = ip[0] >> 4 === 6 ? 0xdd : 0x00;
  h[14] = ip[0] >> 4 === 6 ? 0x86 : 0x08;
  return B.concat(h, ip);
}
function sll2(ip: Uint8Array): Uint8Array {
  const h = new Uint8Array(20);
  h[0] = 0x08;
  return B.concat(h, ip);
}
const nullLe = (ip: Uint8Array): Uint8Array => B.concat(new Uint8Array([2, 0, 0, 0]), ip);
const loopBe = (ip: Uint8Array): Uint8Array => B.concat(new Uint8Array([0, 0, 0, 2]), ip);

test('every supported link type, read back from a pcap file, decodes to the same flow', () => {
  const ip = B.ipv4Packet({
    src: '10.1.2.3',
    dst: '10.3.2.1',
    proto: 6,
    payload: B.tcpSegment({ sport: 5555, dport: 443, flags: 'S', seq: 7 }),
  });
  const cases: [number, Uint8Array][] = [
    [1, B.ethernetFrame({ payload: ip })],
    [101, ip],
    [228, ip],
    [113, sll(ip)],
    [276, sll2(ip)],
    [0, nullLe(ip)],
    [108, loopBe(ip)],
  ];
  for (const [linktype, frame] of cases) {
    const file = encodePcap([{ ts: 1, data: frame }], { linktype });
    const d = new PacketDecoder();
    const got: string[] = [];
    readCaptureBuffer(file, (p) => {
      const dp = d.decode(p.linktype, p.data, p.ts);
      if (dp) got.push(`${formatSrcAddr(dp)}:${dp.srcPort}>${formatDstAddr(dp)}:${dp.dstPort} ${dp.tcpFlags} ${dp.seq}`);
    });
    assert.deepEqual(got, ['10.1.2.3:5555>10.3.2.1:443 2 7'], `linktype ${linktype}`);
  }
  const ip6 = B.ipv6Packet({ src: 'fd00::1', dst: 'fd00::2', nextHeader: 17, payload: B.udpDatagram({ sport: 53, dport: 5353 }) });
  for (const [linktype, frame] of [
    [101, ip6],
    [229, ip6],
    [113, sll(ip6)],
    [0, B.concat(new Uint8Array([30, 0, 0, 0]), ip6)],
  ] as [number, Uint8Array][]) {
    const dp = new PacketDecoder().decode(linktype, frame, 0);
    assert.ok(dp, `ipv6 over ${linktype}`);
    assert.equal(formatSrcAddr(dp), 'fd00::1');
    assert.equal(dp.dstPort, 5353);
  }
});

test('802.1Q and stacked 802.1ad tags are walked and recorded', () => {
  const ip = B.ipv4Packet({ src: '1.2.3.4', dst: '5.6.7.8', proto: 17, payload: B.udpDatagram({ sport: 1, dport: 2, payload: 'x' }) });
  const d = new PacketDecoder();
  const one = d.decode(1, B.ethernetFrame({ payload: ip, vlans: [{ vid: 42 }] }), 0);
  assert.ok(one);
  assert.equal(one.vlanCount, 1);
  assert.equal(one.vlanOuter, 42);
  const two = d.decode(1, B.ethernetFrame({ payload: ip, vlans: [{ vid: 100, tpid: 0x88a8 }, { vid: 7 }] }), 0);
  assert.ok(two);
  assert.equal(two.vlanCount, 2);
  assert.equal(two.vlanOuter, 100);
  assert.equal(two.vlanInner, 7);
  assert.equal(text(two), 'x');
  const tooMany = d.decode(1, B.ethernetFrame({ payload: ip, vlans: [1, 2, 3, 4, 5].map((vid) => ({ vid })) }), 0);
  assert.equal(tooMany, null);
  assert.equal(d.stats.too_many_vlans, 1);
});

test('VXLAN: the inner frame is decoded and the VNI and outer endpoints recorded', () => {
  const inner = B.tcpFrame({ src: '172.16.0.5', dst: '172.16.0.9', sport: 33000, dport: 5432, flags: 'PA', payload: 'Q' });
  const outer = B.ethernetFrame({
    payload: B.ipv4Packet({
      src: '192.0.2.1',
      dst: '192.0.2.2',
      proto: 17,
      payload: B.udpDatagram({ sport: 49152, dport: 4789, payload: B.vxlanPayload(0xabcdef, inner) }),
    }),
  });
  const d = new PacketDecoder();
  const dp = d.decode(1, outer, 0);
  assert.ok(dp);
  assert.equal(dp.tunnel, Tunnel.VXLAN);
  assert.equal(dp.vni, 0xabcdef);
  assert.equal(dp.tunnelSrc4, 0xc0000201);
  assert.equal(dp.tunnelDst4, 0xc0000202);
  assert.equal(formatSrcAddr(dp), '172.16.0.5');
  assert.equal(dp.ipProto, 6);
  assert.equal(dp.dstPort, 5432);
  assert.equal(text(dp), 'Q');
  assert.equal(d.stats.vxlan, 1);
});

test('VXLAN nesting is bounded', () => {
  let frame = B.tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 });
  for (let i = 0; i < 4; i++)
    frame = B.ethernetFrame({
      payload: B.ipv4Packet({
        src: '1.1.1.1',
        dst: '2.2.2.2',
        proto: 17,
        payload: B.udpDatagram({ sport: 1, dport: 4789, payload: B.vxlanPayload(i, frame) }),
      }),
    });
  const d = new PacketDecoder();
  assert.equal(d.decode(1, frame, 0), null);
  assert.equal(d.stats.vxlan_too_deep, 1);
});

const bigPayload = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255);

test('IPv4 fragments out of order are reassembled and decoded once complete', () => {
  const seg = B.udpDatagram({ sport: 5000, dport: 6000, payload: bigPayload(3000) });
  const spec = { src: '10.0.0.1', dst: '10.0.0.2', proto: 17, payload: seg, id: 77 };
  const frags = B.fragmentIpv4(spec, 1200).map((f) => B.ethernetFrame({ payload: f }));
  assert.equal(frags.length, 3);
  const d = new PacketDecoder();
  assert.equal(d.decode(1, frags[2], 1), null);
  assert.equal(d.lastSkip, 'fragment_held');
  assert.equal(d.decode(1, frags[0], 1.1), null);
  const dp = d.decode(1, frags[1], 1.2);
  assert.ok(dp);
  assert.equal(dp.reassembled, true);
  assert.equal(dp.srcPort, 5000);
  assert.equal(dp.ipLen, 20 + seg.length);
  assert.deepEqual(dp.payload(), bigPayload(3000));
  assert.equal(d.stats.reassembled, 1);
  assert.equal(d.heldFragments, 0);
  assert.equal(d.stats.malformed, 0);
});

test('overlapping IPv4 fragments: first data wins; differing overlaps are counted apart', () => {
  const payload = B.udpDatagram({ sport: 1, dport: 2, payload: bigPayload(40) });
  const base = { src: '10.0.0.1', dst: '10.0.0.2', proto: 17 };
  const mk = (id: number, off: number, bytes: Uint8Array, more: boolean): Uint8Array =>
    B.ethernetFrame({ payload: B.ipv4Packet({ ...base, id, payload: bytes, fragOffset: off, moreFragments: more }) });
  const d = new PacketDecoder();
  // same bytes overlapping
  d.decode(1, mk(1, 0, payload.subarray(0, 24), true), 0);
  d.decode(1, mk(1, 16, payload.subarray(16, 32), true), 0);
  const same = d.decode(1, mk(1, 32, payload.subarray(32), false), 0);
  assert.ok(same);
  assert.deepEqual(same.payload(), bigPayload(40));
  assert.equal(d.stats.frag_overlap, 1);
  assert.equal(d.stats.frag_overlap_differs, 0);
  // differing bytes overlapping: the evil second copy must not replace the first
  // Only the bytes that overlap the first fragment (16..24) differ.
  const evil = payload.slice(16, 32).fill(0x41, 0, 8);
  d.decode(1, mk(2, 0, payload.subarray(0, 24), true), 0);
  d.decode(1, mk(2, 16, evil, true), 0);
  const kept = d.decode(1, mk(2, 32, payload.subarray(32), false), 0);
  assert.ok(kept);
  assert.deepEqual(kept.payload(), bigPayload(40));
  assert.equal(d.stats.frag_overlap, 2);
  assert.equal(d.stats.frag_overlap_differs, 1);
});

test('the fragment table is bounded and times out incomplete datagrams', () => {
  const d = new PacketDecoder({ maxDatagrams: 4, timeout: 10 });
  for (let id = 0; id < 6; id++) {
    d.decode(
      1,
      B.ethernetFrame({
        payload: B.ipv4Packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 17, id, payload: new Uint8Array(16), moreFragments: true }),
      }),
      1,
    );
  }
  assert.equal(d.heldFragments, 4);
  assert.equal(d.stats.frag_table_full, 2);
  d.expireFragments(12);
  assert.equal(d.heldFragments, 0);
  assert.equal(d.stats.frag_timeout, 4);
});

test('IPv6 with hop-by-hop, routing and destination options reaches TCP', () => {
  const seg = B.tcpSegment({ sport: 1234, dport: 8080, flags: 'S', seq: 99 });
  const pkt = B.ipv6Packet({
    src: '2001:db8::1',
    dst: '2001:db8:0:1::2',
    nextHeader: 6,
    payload: seg,
    ext: [{ type: 0 }, { type: 43, body: new Uint8Array(22) }, { type: 60 }],
  });
  const d = new PacketDecoder();
  const dp = d.decode(1, B.ethernetFrame({ payload: pkt }), 0);
  assert.ok(dp);
  assert.equal(dp.ipVersion, 6);
  assert.equal(formatSrcAddr(dp), '2001:db8::1');
  assert.equal(formatDstAddr(dp), '2001:db8:0:1::2');
  assert.equal(dp.ipProto, 6);
  assert.equal(dp.dstPort, 8080);
  assert.equal(dp.seq, 99);
  assert.equal(dp.ipLen, pkt.length);
});

test('IPv6 fragments out of order are reassembled; an atomic fragment passes straight through', () => {
  const dg = B.udpDatagram({ sport: 7, dport: 9, payload: bigPayload(2500) });
  const spec = { src: 'fe80::1', dst: 'fe80::2', nextHeader: 17, payload: dg, ext: [{ type: 0 }] };
  const frags = B.fragmentIpv6(spec, 1000, 0xdeadbeef).map((f) => B.ethernetFrame({ payload: f }));
  assert.equal(frags.length, 3);
  const d = new PacketDecoder();
  assert.equal(d.decode(1, frags[1], 0), null);
  assert.equal(d.decode(1, frags[2], 0), null);
  const dp = d.decode(1, frags[0], 0);
  assert.ok(dp);
  assert.equal(dp.reassembled, true);
  assert.equal(dp.ipProto, 17);
  assert.equal(dp.dstPort, 9);
  assert.deepEqual(dp.payload(), bigPayload(2500));
  assert.equal(dp.ipLen, 40 + 8 + 8 + dg.length);
  const atomic = B.ipv6Packet({
    src: 'fe80::1',
    dst: 'fe80::2',
    nextHeader: 44,
    payload: B.concat(new Uint8Array([17, 0, 0, 0, 0, 0, 0, 1]), B.udpDatagram({ sport: 1, dport: 2, payload: 'a' })),
  });
  const a = d.decode(1, B.ethernetFrame({ payload: atomic }), 0);
  assert.ok(a);
  assert.equal(a.reassembled, false);
  assert.equal(text(a), 'a');
});

test('ICMP and ICMPv6 type and code; UDP payload', () => {
  const d = new PacketDecoder();
  const e = d.decode(1, B.icmpFrame({ src: '10.0.0.1', dst: '10.0.0.2', type: 8, payload: 'ping' }), 0);
  assert.ok(e);
  assert.equal(e.ipProto, 1);
  assert.equal(e.icmpType, 8);
  assert.equal(text(e), 'ping');
  const u = d.decode(1, B.icmpFrame({ src: '::1', dst: '::2', type: 1, code: 4 }), 0);
  assert.ok(u);
  assert.equal(u.ipProto, 58);
  assert.equal(u.icmpType, 1);
  assert.equal(u.icmpCode, 4);
  const udp = d.decode(1, B.udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 53, dport: 9999, payload: 'dns' }), 0);
  assert.ok(udp);
  assert.equal(text(udp), 'dns');
});

test('malformed frames are counted by reason and skipped', () => {
  const d = new PacketDecoder();
  const good = B.tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: 'abc' });
  const ipAt = 14;
  const mutate = (f: (b: Uint8Array) => void, from: Uint8Array = good): Uint8Array => {
    const b = from.slice();
    f(b);
    return b;
  };
  const cases: [string, Uint8Array, number?][] = [
    ['truncated_eth', good.subarray(0, 10)],
    ['truncated_ip', good.subarray(0, 14 + 12)],
    ['bad_ip_version', mutate((b) => (b[ipAt] = 0x55))],
    ['bad_ihl', mutate((b) => (b[ipAt] = 0x43))],
    ['bad_total_length', mutate((b) => (b[ipAt + 3] = 10))],
    ['truncated_ip', mutate((b) => (b[ipAt + 2] = 0x10))],
    [
      'truncated_tcp',
      B.ethernetFrame({ payload: B.ipv4Packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 6, payload: new Uint8Array(10) }) }),
    ],
    ['bad_tcp_offset', mutate((b) => (b[ipAt + 20 + 12] = 0x20))],
    ['truncated_tcp', mutate((b) => (b[ipAt + 20 + 12] = 0xf0))],
    [
      'truncated_udp',
      B.ethernetFrame({ payload: B.ipv4Packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 17, payload: new Uint8Array(5) }) }),
    ],
    [
      'bad_udp_length',
      B.ethernetFrame({
        payload: B.ipv4Packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 17, payload: new Uint8Array([0, 1, 0, 2, 0, 3, 0, 0]) }),
      }),
    ],
    [
      'truncated_icmp',
      B.ethernetFrame({ payload: B.ipv4Packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 1, payload: new Uint8Array(2) }) }),
    ],
    [
      'truncated_vlan',
      mutate(
        (b) => {
          b[12] = 0x81;
          b[13] = 0x00;
        },
        good.subarray(0, 16),
      ),
    ],
    [
      'truncated_ip6_ext',
      B.ethernetFrame({ payload: B.ipv6Packet({ src: '::1', dst: '::2', nextHeader: 0, payload: new Uint8Array(4) }) }),
    ],
    ['unsupported_linktype', good, 9999],
  ];
  for (const [reason, frame, lt] of cases) {
    const before = (d.stats as unknown as Record<string, number>)[reason];
    assert.equal(d.decode(lt ?? 1, frame, 0), null, reason);
    assert.equal(d.lastSkip, reason);
    assert.equal((d.stats as unknown as Record<string, number>)[reason], before + 1, reason);
  }
  assert.equal(d.stats.malformed, cases.length);
  assert.equal(d.stats.decoded, 0);
});

test('non-IP frames are skipped without counting as malformed', () => {
  const d = new PacketDecoder();
  assert.equal(d.decode(1, B.ethernetFrame({ payload: new Uint8Array(28), etherType: 0x0806 }), 0), null);
  assert.equal(d.lastSkip, 'non_ip');
  assert.equal(d.stats.non_ip, 1);
  assert.equal(d.stats.malformed, 0);
});
