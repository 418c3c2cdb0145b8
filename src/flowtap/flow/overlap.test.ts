import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng } from '../../random/index.js';
import { randomFlow, randomPacketNear } from './testing.js';
import {
  covers,
  intersect,
  matchesPacket,
  parseFlow,
  parsePacketSpec,
  printFlow,
  sameFlow,
  witness,
  fieldSpec,
  packetIn,
  type FieldName,
  type FlowMatch,
  type PacketSpec,
} from '../index.js';
import { portContains } from './ports.js';
import type { PortMatch } from './fields.js';

function flow(text: string): FlowMatch {
  const r = parseFlow(text);
  if (!r.ok) assert.fail(`${text}: ${r.errors[0].message}`);
  return r.value;
}

function packet(text: string): PacketSpec {
  const r = parsePacketSpec(text);
  if (!r.ok) assert.fail(`${text}: ${r.errors[0].message}`);
  return r.value;
}

test('matching concrete packets', () => {
  const cases: Array<[string, string, boolean]> = [
    ['tcp,tp_dst=80', 'tcp,nw_src=10.0.0.1,tp_dst=80', true],
    ['tcp,tp_dst=80', 'tcp,tp_dst=81', false],
    ['tcp,tp_dst=80', 'udp,tp_dst=80', false],
    ['http', 'tcp,tp_dst=80', true],
    ['tcp,tp_dst=8000-8100', 'tcp,tp_dst=8100', true],
    ['tcp,tp_dst=8000-8100', 'tcp,tp_dst=8101', false],
    ['ip,nw_src=10.0.0.0/8', 'udp,nw_src=10.200.1.1', true],
    ['ip,nw_src=10.0.0.0/8', 'udp,nw_src=11.0.0.1', false],
    ['ip,nw_src=10.0.0.0/255.0.255.0', 'ip,nw_src=10.9.0.7', true],
    ['ip,nw_src=10.0.0.0/255.0.255.0', 'ip,nw_src=10.9.1.7', false],
    ['dl_dst=01:00:00:00:00:00/01:00:00:00:00:00', 'dl_dst=ff:ff:ff:ff:ff:ff', true],
    ['dl_dst=01:00:00:00:00:00/01:00:00:00:00:00', 'dl_dst=02:00:00:00:00:01', false],
    ['dl_vlan=10', 'dl_vlan=10,dl_vlan_pcp=5', true],
    ['dl_vlan=10', 'dl_vlan=11', false],
    ['dl_vlan=0xffff', 'ip', true],
    ['dl_vlan=0xffff', 'dl_vlan=0', false],
    ['ipv6,ipv6_dst=2001:db8::/32', 'tcp6,ipv6_dst=2001:db8:1::5', true],
    ['ipv6,ipv6_dst=2001:db8::/32', 'tcp6,ipv6_dst=2001:db9::5', false],
    ['ip,ip_frag=yes', 'ip,ip_frag=later', true],
    ['ip,ip_frag=not_later', 'ip,ip_frag=later', false],
    ['ip,ip_frag=not_later', 'ip', true],
    ['tcp,tcp_flags=+syn-ack', 'tcp,tcp_flags=syn', true],
    ['tcp,tcp_flags=+syn-ack', 'tcp,tcp_flags=syn|ack', false],
    ['arp,arp_tpa=10.0.0.0/24,arp_op=1', 'arp,arp_tpa=10.0.0.9,arp_op=1', true],
    ['tun_id=0x100/0xf00', 'tun_id=0x1ff', true],
    ['tun_id=0x100/0xf00', 'tun_id=0x2ff', false],
    ['ip,nw_ttl=1', 'ip', false],
    ['', 'arp', true],
  ];
  for (const [f, p, want] of cases) assert.equal(matchesPacket(flow(f), packet(p)), want, `${f} vs ${p}`);
});

test('intersection of flows', () => {
  const cases: Array<[string, string, string | null]> = [
    ['tcp', 'tcp,tp_dst=80', 'tcp,tp_dst=80'],
    ['tcp,tp_dst=1000-2000', 'tcp,tp_dst=1500-3000', 'tcp,tp_dst=1500-2000'],
    ['tcp,tp_dst=1000-2000', 'tcp,tp_dst=0x0400/0xfc00', 'tcp,tp_dst=1024-2000'],
    ['tcp,tp_dst=1000-2000', 'tcp,tp_dst=3000-4000', null],
    ['tcp', 'udp', null],
    ['ip,nw_src=10.0.0.0/8', 'ip,nw_src=10.1.0.0/16', 'ip,nw_src=10.1.0.0/16'],
    ['ip,nw_src=10.0.0.0/8', 'ip,nw_src=11.0.0.0/8', null],
    ['ip,nw_src=10.0.0.0/8', 'ip,nw_dst=10.0.0.1', 'ip,nw_src=10.0.0.0/8,nw_dst=10.0.0.1'],
    ['ip,ip_frag=yes', 'ip,ip_frag=not_later', 'ip,nw_frag=first'],
    // A later fragment's ports read as 0 (and OVS refuses ports next to ip_frag=later).
    ['ip,ip_frag=later', 'tcp,tp_dst=80', null],
    ['ip,ip_frag=later', 'tcp,tp_dst=0x0/0x1,tcp_flags=-syn', 'tcp,nw_frag=later'],
    ['dl_vlan=10', 'dl_vlan_pcp=3', 'dl_vlan=10,dl_vlan_pcp=3'],
    ['', 'arp', 'arp'],
  ];
  for (const [a, b, want] of cases) {
    const got = intersect(flow(a), flow(b));
    assert.equal(got === null ? null : printFlow(got), want, `${a} ∩ ${b}`);
    const back = intersect(flow(b), flow(a));
    assert.equal(back === null ? null : printFlow(back), want, 'intersection is symmetric');
  }
});

test('a witness packet matches both flows, or there is none', () => {
  const pairs: Array<[string, string]> = [
    ['tcp,tp_dst=1000-2000', 'tcp,nw_src=10.0.0.0/8,tp_dst=0x0400/0xfc00'],
    ['tcp,tp_dst=0x0001/0x0001,tp_dst=1000-1010', 'tcp,tp_dst=1005-3000'],
    ['ipv6,ipv6_src=2001:db8::/ffff:0:ffff::', 'tcp6,ipv6_src=2001:0:db8::1'],
    ['vlan_tci=0x5000/0xe000', 'ip'],
    ['ip,ip_frag=yes', 'ip,ip_frag=not_later'],
    ['tcp,tp_dst=80', 'tcp,tp_dst=81'],
  ];
  for (const [a, b] of pairs) {
    const w = witness(flow(a), flow(b));
    if (intersect(flow(a), flow(b)) === null) assert.equal(w, null);
    else {
      assert.ok(w, `${a} and ${b} overlap`);
      assert.ok(matchesPacket(flow(a), w!) && matchesPacket(flow(b), w!), `witness for ${a} / ${b}`);
    }
  }
  // A tagged-priority witness carries the VLAN "present" bit, so it is a real packet.
  assert.equal(witness(flow('vlan_tci=0x5000/0xe000'), flow('ip'))!.vlan_tci & 0x1000, 0x1000);
});

test('coverage', () => {
  assert.ok(covers(flow('tcp'), flow('http')));
  assert.ok(!covers(flow('http'), flow('tcp')));
  assert.ok(covers(flow(''), flow('arp')));
  assert.ok(covers(flow('ip'), flow('tcp,nw_src=10.0.0.1')));
  assert.ok(!covers(flow('ip'), flow('ipv6')));
  assert.ok(covers(flow('tcp,tp_dst=1000-2000'), flow('tcp,tp_dst=0x0400/0xff00')));
  assert.ok(!covers(flow('tcp,tp_dst=1000-2000'), flow('tcp,tp_dst=0x0400/0xfc00')));
  assert.ok(covers(flow('tcp,tp_dst=0x0400/0xfc00'), flow('tcp,tp_dst=1500-1600')));
  assert.ok(covers(flow('ip,ip_frag=not_later'), flow('ip,ip_frag=no')));
  assert.ok(!covers(flow('ip,ip_frag=not_later'), flow('ip,ip_frag=yes')));
  assert.ok(sameFlow(flow('tcp,tp_dst=0x0400/0xfc00'), flow('tcp,tp_dst=1024-2047')));
});

// Properties on random flows and packets near them.

/**
 * A packet matching b but not a, searched field by field: a match is a product of per-field
 * sets, so b escapes a exactly when one field of b escapes the same field of a. Within a field,
 * flipping a bit that a fixes but b leaves free is enough for bitwise fields; ports and ip_frag
 * are small enough to enumerate.
 */
function escapee(a: FlowMatch, b: FlowMatch): PacketSpec | null {
  const base = packetIn(b);
  const fa = a as Record<string, { value: number | number[]; mask: number | number[] } | undefined>;
  const fb = b as Record<string, { value: number | number[]; mask: number | number[] } | undefined>;
  const scratch = base as Record<string, number | number[]>;
  const tryValue = (name: string, x: number | number[]): PacketSpec | null => {
    const saved = scratch[name];
    scratch[name] = x;
    const found = matchesPacket(b, base) && !matchesPacket(a, base);
    if (!found) scratch[name] = saved;
    return found ? base : null;
  };
  for (const name of Object.keys(fa)) {
    const va = fa[name]!;
    const spec = fieldSpec(name as FieldName);
    const candidates: Array<number | number[]> = [];
    if (spec.kind === 'port') {
      // Field-level search first: 65536 whole-packet matches per pair would dominate the run time.
      const pa = va as unknown as PortMatch;
      const pb = fb[name] as unknown as PortMatch | undefined;
      for (let x = 0; x <= 0xffff; x++) {
        if ((!pb || portContains(pb, x)) && !portContains(pa, x)) {
          candidates.push(x);
          break;
        }
      }
    } else if (name === 'ip_frag') candidates.push(0, 1, 3);
    else if (spec.kind === 'wide') {
      const cur = base[name as FieldName] as number[];
      candidates.push(cur);
      const mb = (fb[name]?.mask as number[] | undefined) ?? new Array<number>(cur.length).fill(0);
      (va.mask as number[]).forEach((m, i) => {
        for (let bit = 1; bit <= 0x8000; bit <<= 1) if (m & bit & ~mb[i]) candidates.push(cur.map((w, j) => (j === i ? w ^ bit : w)));
      });
    } else {
      const cur = base[name as FieldName] as number;
      candidates.push(cur);
      const mb = (fb[name]?.mask as number | undefined) ?? 0;
      for (let k = 0; k < 32; k++) {
        const bit = 2 ** k;
        if (Math.floor((va.mask as number) / bit) % 2 === 1 && Math.floor(mb / bit) % 2 === 0) candidates.push((cur ^ bit) >>> 0);
      }
    }
    for (const x of candidates) {
      const found = tryValue(name, x);
      if (found) return found;
    }
  }
  return null;
}

const N_PAIRS = 1500;
const N_PACKETS = 12;

test('property: intersect(a,b) matches a packet iff a and b both match it', () => {
  const r = seededRng(11);
  let both = 0;
  for (let i = 0; i < N_PAIRS; i++) {
    const a = randomFlow(r);
    const b = r() < 0.3 ? (intersect(a, randomFlow(r)) ?? randomFlow(r)) : randomFlow(r);
    const ab = intersect(a, b);
    for (let k = 0; k < N_PACKETS; k++) {
      const pkt = randomPacketNear(r, k % 2 === 0 ? a : b);
      const inBoth = matchesPacket(a, pkt) && matchesPacket(b, pkt);
      if (inBoth) both++;
      assert.equal(ab !== null && matchesPacket(ab, pkt), inBoth, `${printFlow(a)} ∩ ${printFlow(b)}`);
    }
  }
  assert.ok(both > N_PAIRS / 2, `the test should see many packets in both flows (saw ${both})`);
});

test('property: the witness of two overlapping flows matches both', () => {
  const r = seededRng(12);
  let overlapping = 0;
  for (let i = 0; i < N_PAIRS; i++) {
    const a = randomFlow(r);
    const b = randomFlow(r);
    const w = witness(a, b);
    if (w === null) {
      assert.equal(intersect(a, b), null);
      continue;
    }
    overlapping++;
    assert.ok(matchesPacket(a, w), `witness in ${printFlow(a)}`);
    assert.ok(matchesPacket(b, w), `witness in ${printFlow(b)}`);
  }
  assert.ok(overlapping > N_PAIRS / 10, `overlaps seen: ${overlapping}`);
});

test('property: covers is consistent with matching', () => {
  const r = seededRng(13);
  let covered = 0;
  for (let i = 0; i < N_PAIRS; i++) {
    const a = randomFlow(r);
    const b = r() < 0.5 ? (intersect(a, randomFlow(r)) ?? randomFlow(r)) : randomFlow(r);
    assert.ok(covers(a, a));
    const ab = intersect(a, b);
    if (ab) assert.ok(covers(a, ab) && covers(b, ab), 'a flow covers its intersection with another');
    assert.equal(covers(a, b), escapee(a, b) === null, `covers(${printFlow(a)}, ${printFlow(b)}) against an exact search`);
    if (covers(a, b)) {
      covered++;
      assert.deepEqual(intersect(a, b), b, 'a ∩ b = b when a covers b');
      for (let k = 0; k < N_PACKETS; k++) {
        const pkt = randomPacketNear(r, b);
        if (matchesPacket(b, pkt)) assert.ok(matchesPacket(a, pkt), `${printFlow(a)} covers ${printFlow(b)}`);
      }
    } else {
      const out = escapee(a, b);
      assert.ok(out, `${printFlow(a)} does not cover ${printFlow(b)}, so some packet of b escapes a`);
      assert.ok(matchesPacket(b, out) && !matchesPacket(a, out));
    }
  }
  assert.ok(covered > N_PAIRS / 10, `covered pairs seen: ${covered}`);
});

test('covers agrees with an exact counterexample search on every pair of a varied flow list', () => {
  const texts = [
    '',
    'ip',
    'tcp',
    'http',
    'tcp,tp_dst=80-90',
    'tcp,tp_dst=0x0050/0xfff0',
    'tcp,tp_dst=0x0001/0x0001,tp_dst=81-89',
    'dl_src=02:00:00:00:00:01',
    'dl_src=02:00:00:00:00:02',
    'dl_src=02:00:00:00:00:00/ff:ff:ff:ff:ff:00',
    'dl_src=00:00:00:00:00:00/01:00:00:00:00:00',
    'ipv6,ipv6_src=2001:db8::1',
    'ipv6,ipv6_src=2001:db8::/32',
    'ipv6,ipv6_src=2001:db9::/32',
    'tun_id=0x5',
    'tun_id=0x5/0xff',
    'tun_id=0x105/0xfff',
    'ip,nw_src=10.0.0.0/8',
    'ip,nw_src=10.0.0.0/255.0.255.0',
    'ip,nw_src=10.1.0.0/16',
    'ip,ip_frag=no',
    'ip,ip_frag=not_later',
    'ip,ip_frag=yes',
    'dl_vlan=10',
    'vlan_tci=0x1000/0x1000',
    'arp,arp_sha=02:00:00:00:00:01',
  ];
  for (const ta of texts) {
    for (const tb of texts) {
      const a = flow(ta);
      const b = flow(tb);
      assert.equal(covers(a, b), escapee(a, b) === null, `covers(${ta}, ${tb})`);
    }
  }
});
