import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng } from '../../random/index.js';
import { parseFlow, printFlow, type FlowMatch } from '../index.js';
import { randomFlow } from './testing.js';

function parsed(text: string): FlowMatch {
  const r = parseFlow(text);
  if (!r.ok) assert.fail(`${text}: ${r.errors.map((e) => e.message).join('; ')}`);
  return r.value;
}

/** Flows touching every field and every value form, with the canonical text each prints as. */
const CANONICAL: Array<[string, string]> = [
  ['', ''],
  ['in_port=3', 'in_port=3'],
  ['in_port=LOCAL', 'in_port=LOCAL'],
  ['dl_vlan=10', 'dl_vlan=10'],
  ['dl_vlan_pcp=5', 'dl_vlan_pcp=5'],
  ['dl_vlan=10,dl_vlan_pcp=3', 'dl_vlan=10,dl_vlan_pcp=3'],
  ['dl_vlan=0xffff', 'vlan_tci=0x0000'],
  ['vlan_tci=0x1000/0x1000', 'vlan_tci=0x1000/0x1000'],
  ['vlan_tci=0xf123', 'dl_vlan=291,dl_vlan_pcp=7'],
  ['vlan_tci=0/0xfff', 'vlan_tci=0x0000/0x0fff'],
  ['dl_src=02:00:00:00:00:01', 'dl_src=02:00:00:00:00:01'],
  ['dl_dst=01:00:00:00:00:00/01:00:00:00:00:00', 'dl_dst=01:00:00:00:00:00/01:00:00:00:00:00'],
  ['eth_src=2:0:0:0:0:AB', 'dl_src=02:00:00:00:00:ab'],
  ['dl_type=0x88cc', 'dl_type=0x88cc'],
  ['dl_type=2048', 'ip'],
  ['eth_type=0x86dd', 'ipv6'],
  ['ip,nw_src=10.0.0.1', 'ip,nw_src=10.0.0.1'],
  ['ip,nw_dst=10.1.2.3/8', 'ip,nw_dst=10.0.0.0/8'],
  ['ip,nw_src=10.0.0.0/255.255.0.0', 'ip,nw_src=10.0.0.0/16'],
  ['ip,nw_src=10.0.0.0/255.0.255.0', 'ip,nw_src=10.0.0.0/255.0.255.0'],
  ['ip,nw_src=10.0.0.0/0', 'ip'],
  ['ip,ip_src=192.168.1.1,ip_dst=192.168.1.2', 'ip,nw_src=192.168.1.1,nw_dst=192.168.1.2'],
  ['ip,nw_proto=47', 'ip,nw_proto=47'],
  ['ip,nw_proto=6', 'tcp'],
  ['ipv6,ip_proto=17', 'udp6'],
  ['ip,nw_tos=184', 'ip,nw_tos=184'],
  ['ip,ip_dscp=46', 'ip,nw_tos=184'],
  ['ipv6,nw_ecn=3', 'ipv6,nw_ecn=3'],
  ['ip,ip_ecn=1', 'ip,nw_ecn=1'],
  ['ip,nw_ttl=1', 'ip,nw_ttl=1'],
  ['ip,ip_frag=no', 'ip,nw_frag=no'],
  ['ip,ip_frag=yes', 'ip,nw_frag=yes'],
  ['ip,ip_frag=first', 'ip,nw_frag=first'],
  ['ip,ip_frag=later', 'ip,nw_frag=later'],
  ['ip,ip_frag=not_later', 'ip,nw_frag=not_later'],
  ['ip,ip_frag=no,ip_frag=not_later', 'ip,nw_frag=no'],
  ['ip,ip_frag=yes,ip_frag=not_later', 'ip,nw_frag=first'],
  ['tcp,tp_src=1234', 'tcp,tp_src=1234'],
  ['tcp,tp_dst=0x1f40/0xfff0', 'tcp,tp_dst=0x1f40/0xfff0'],
  ['udp,tp_dst=8000-8100', 'udp,tp_dst=8000-8100'],
  ['udp,tp_dst=0x1f40-0x1fa4', 'udp,tp_dst=8000-8100'],
  ['tcp,tp_dst=80-80', 'tcp,tp_dst=80'],
  ['tcp,tp_dst=0-65535', 'tcp'],
  ['tcp,tp_dst=0x0001/0x0001,tp_dst=1000-2000', 'tcp,tp_dst=0x1/0x1,tp_dst=1001-1999'],
  ['tcp,tp_dst=0x0400/0xfc00,tp_dst=0-2000', 'tcp,tp_dst=1024-2000'],
  ['tcp,tp_dst=0x0400/0xfc00,tp_dst=0-3000', 'tcp,tp_dst=0x400/0xfc00'],
  ['tcp,tp_dst=0x0400/0xfc00,tp_dst=1500-5000', 'tcp,tp_dst=1500-2047'],
  ['sctp,sctp_src=9', 'sctp,tp_src=9'],
  ['tcp,tcp_dst=443', 'tcp,tp_dst=443'],
  ['udp6,udp_src=53', 'udp6,tp_src=53'],
  ['tcp,tcp_flags=+syn-ack', 'tcp,tcp_flags=+syn-ack'],
  ['tcp,tcp_flags=-ack+syn', 'tcp,tcp_flags=+syn-ack'],
  ['tcp,tcp_flags=syn|ack', 'tcp,tcp_flags=syn|ack'],
  ['tcp,tcp_flags=0x012/0x012', 'tcp,tcp_flags=+syn+ack'],
  ['tcp,tcp_flags=0', 'tcp,tcp_flags=0'],
  ['tcp,tcp_flags=+[200]', 'tcp,tcp_flags=+[200]'],
  ['icmp,icmp_type=8,icmp_code=0', 'icmp,icmp_type=8,icmp_code=0'],
  ['icmp6,icmpv6_type=135', 'icmp6,icmp_type=135'],
  ['ipv6,ipv6_src=2001:db8::1', 'ipv6,ipv6_src=2001:db8::1'],
  ['ipv6,ipv6_dst=2001:DB8:0:0:0:0:0:0/32', 'ipv6,ipv6_dst=2001:db8::/32'],
  // IPv4-mapped addresses print in the RFC 5952 mixed form, as inet_ntop (and so ovs-ofctl) prints them.
  ['ipv6,ipv6_src=::ffff:a00:1', 'ipv6,ipv6_src=::ffff:10.0.0.1'],
  ['ipv6,ipv6_src=2001:1:db8::/ffff:0:ffff::', 'ipv6,ipv6_src=2001:0:db8::/ffff:0:ffff::'],
  ['ipv6,ipv6_label=0x12345', 'ipv6,ipv6_label=0x12345'],
  ['ipv6,ipv6_label=0x10/0xf0', 'ipv6,ipv6_label=0x00010/0x000f0'],
  ['arp,arp_op=1', 'arp,arp_op=1'],
  ['arp,nw_proto=2', 'arp,arp_op=2'],
  ['arp,nw_src=10.0.0.1,nw_dst=10.0.0.0/24', 'arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24'],
  ['rarp,arp_spa=10.0.0.1', 'rarp,arp_spa=10.0.0.1'],
  [
    'arp,arp_sha=02:00:00:00:00:01,arp_tha=02:00:00:00:00:00/ff:ff:ff:00:00:00',
    'arp,arp_sha=02:00:00:00:00:01,arp_tha=02:00:00:00:00:00/ff:ff:ff:00:00:00',
  ],
  ['tun_id=0x5', 'tun_id=0x5'],
  ['tun_id=18446744073709551615', 'tun_id=0xffffffffffffffff'],
  ['tun_id=0x100/0xf00', 'tun_id=0x100/0xf00'],
  ['tun_src=192.168.0.1,tun_dst=192.168.0.0/16', 'tun_src=192.168.0.1,tun_dst=192.168.0.0/16'],
  // Pipeline fields and OVS's own spellings; each pair checked against `ovs-ofctl -F nxm parse-flow`.
  ['ct_state=+trk+new', 'ct_state=+new+trk'],
  ['ct_state=0x21', 'ct_state=new|trk'],
  ['ct_state=0/0xff', 'ct_state=0'],
  ['ct_zone=0x10', 'ct_zone=16'],
  ['ct_mark=0x5/0xffffffff', 'ct_mark=0x5'],
  ['ct_mark=0/1', 'ct_mark=0/0x1'],
  ['reg3=0xff/0xf', 'reg3=0xf/0xf'],
  ['reg0=0', 'reg0=0'],
  ['metadata=0xff/0xf', 'metadata=0xf/0xf'],
  ['tun_id=0', 'tun_id=0'],
  ['icmp6,icmp_code=0,icmp_type=136,nd_target=::1/64', 'icmp6,icmp_type=136,icmp_code=0,nd_target=::/64'],
  ['tcp,ct_state=+trk,reg1=2,metadata=3', 'ct_state=+trk,tcp,reg1=0x2,metadata=0x3'],
  ['in_port=65534', 'in_port=LOCAL'],
  ['in_port=controller', 'in_port=CONTROLLER'],
  ['in_port=NONE', 'in_port=ANY'],
  ['ip,nw_tos=4/0xff', 'ip,nw_tos=4'],
  ['ct_zone=5/0', ''],
  ['tp_dst=0/0', ''],
  ['ipv4', 'ip'],
  ['ip6', 'ipv6'],
  ['ipv6,ipv6_label=1', 'ipv6,ipv6_label=0x00001'],
  // glibc's inet_ntop, which OVS prints with, writes IPv4-compatible addresses in dotted form.
  ['ipv6,ipv6_src=::200:1', 'ipv6,ipv6_src=::2.0.0.1'],
  ['ipv6,ipv6_src=::1:0:0', 'ipv6,ipv6_src=::1:0:0'],
  ['tcp,ip_frag=not_later,tp_dst=80', 'tcp,nw_frag=not_later,tp_dst=80'],
  ['http', 'tcp,tp_dst=80'],
  ['https', 'tcp,tp_dst=443'],
  ['postgres', 'tcp,tp_dst=5432'],
  ['nats', 'tcp,tp_dst=4222'],
  ['dns', 'udp,tp_dst=53'],
  ['icmp', 'icmp'],
  ['icmp6', 'icmp6'],
  ['tcp6', 'tcp6'],
  ['sctp6', 'sctp6'],
  ['tp_dst=80,nw_src=10.0.0.1,tcp', 'tcp,nw_src=10.0.0.1,tp_dst=80'],
  ['tcp  nw_src=10.0.0.1\ttp_dst=80,', 'tcp,nw_src=10.0.0.1,tp_dst=80'],
  ['tcp,nw_proto=6', 'tcp'],
  ['ip,nw_src=*', 'ip'],
  // A wildcard constrains nothing, so it needs no prerequisite (as in OVS).
  ['nw_src=*,tp_dst=*', ''],
  [
    'tcp,in_port=1,dl_vlan=7,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=8,nw_ecn=2,nw_ttl=9,ip_frag=no,tp_src=1-9,tp_dst=22,tcp_flags=+syn,tun_id=1,tun_src=1.1.1.1,tun_dst=2.2.2.2',
    'tcp,tun_id=0x1,tun_src=1.1.1.1,tun_dst=2.2.2.2,in_port=1,dl_vlan=7,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=8,nw_ecn=2,nw_ttl=9,nw_frag=no,tp_src=1-9,tp_dst=22,tcp_flags=+syn',
  ],
];

test('every field and value form parses and prints canonically', () => {
  for (const [input, canonical] of CANONICAL) {
    assert.equal(printFlow(parsed(input)), canonical, `print(parse(${JSON.stringify(input)}))`);
  }
});

test('parse(print(m)) deep-equals m, and printing is a fixed point', () => {
  for (const [input] of CANONICAL) {
    const m = parsed(input);
    const text = printFlow(m);
    assert.deepEqual(parsed(text), m, `round trip of ${JSON.stringify(input)} via ${JSON.stringify(text)}`);
    assert.equal(printFlow(parsed(text)), text);
  }
});

test('a parsed flow survives JSON unchanged', () => {
  for (const [input] of CANONICAL) {
    const m = parsed(input);
    assert.deepEqual(JSON.parse(JSON.stringify(m)), m);
  }
});

test('random flows round-trip through print and parse', () => {
  const r = seededRng(7);
  for (let i = 0; i < 3000; i++) {
    const m = randomFlow(r);
    const text = printFlow(m);
    assert.deepEqual(parsed(text), m, text);
  }
});

test('values are stored normalised: value bits outside the mask are cleared', () => {
  assert.deepEqual(parsed('ip,nw_src=10.1.2.3/8').nw_src, { value: 0x0a000000, mask: 0xff000000 });
  assert.deepEqual(parsed('tcp,tp_dst=0x1f4f/0xfff0').tp_dst, { value: 0x1f40, mask: 0xfff0 });
  assert.deepEqual(parsed('tcp,tp_dst=8000-8100').tp_dst, { value: 0, mask: 0, range: { from: 8000, to: 8100 } });
  assert.deepEqual(parsed('ipv6,ipv6_src=2001:db8::1/16').ipv6_src, {
    value: [0x2001, 0, 0, 0, 0, 0, 0, 0],
    mask: [0xffff, 0, 0, 0, 0, 0, 0, 0],
  });
});

/** [flow, code, 1-based column of the error, text the message must contain] */
const ERRORS: Array<[string, string, number, string]> = [
  ['tcp,nw_scr=10.0.0.1', 'E_FLOW_UNKNOWN_FIELD', 5, 'did you mean `nw_src`'],
  ['tcpp', 'E_FLOW_UNKNOWN_FIELD', 1, 'did you mean `tcp`'],
  ['tcp,tp_dts=80', 'E_FLOW_UNKNOWN_FIELD', 5, '`tp_dst`'],
  ['ip,priority=10', 'E_FLOW_UNKNOWN_FIELD', 4, 'not a packet field'],
  ['ip,=5', 'E_FLOW_SYNTAX', 4, 'missing field name'],
  ['tcp=1', 'E_FLOW_SYNTAX', 1, 'shorthand'],
  ['ip,nw_src', 'E_FLOW_SYNTAX', 4, 'needs a value'],
  ['ip,nw_src=', 'E_FLOW_BAD_VALUE', 11, 'needs a value'],
  ['ip,nw_src=10.0.0', 'E_FLOW_BAD_VALUE', 11, 'not an IPv4 address'],
  ['ip,nw_src=10.0.0.256', 'E_FLOW_BAD_VALUE', 11, '256 is over 255'],
  ['ip,nw_src=10.0.0.01', 'E_FLOW_BAD_VALUE', 11, 'leading zeros are not allowed'],
  ['ip,nw_dst=10.0.0.0/255.255.0.00', 'E_FLOW_BAD_VALUE', 20, 'mask'],
  ['ipv6,ipv6_src=::ffff:10.0.0.01', 'E_FLOW_BAD_VALUE', 15, 'leading zeros are not allowed'],
  ['ipv6,ipv6_src=fe80::1%eth0', 'E_FLOW_BAD_VALUE', 15, 'zone id'],
  ['ip,nw_src=10.0.0.1/33', 'E_FLOW_OUT_OF_RANGE', 20, 'longer than 32'],
  ['ip,nw_src=10.0.0.1/abc', 'E_FLOW_BAD_VALUE', 20, 'mask'],
  ['ipv6,ipv6_src=2001:db8:::1', 'E_FLOW_BAD_VALUE', 15, 'not an IPv6 address'],
  ['ipv6,ipv6_src=2001:db8::/129', 'E_FLOW_OUT_OF_RANGE', 26, 'longer than 128'],
  ['dl_src=02:00:00:00:00', 'E_FLOW_BAD_VALUE', 8, 'not a MAC address'],
  ['dl_dst=01:00:00:00:00:00/zz', 'E_FLOW_BAD_VALUE', 26, 'mask'],
  ['dl_vlan=4096', 'E_FLOW_OUT_OF_RANGE', 9, '0..4095'],
  ['dl_vlan_pcp=8', 'E_FLOW_OUT_OF_RANGE', 13, '0..7'],
  ['tcp,tp_dst=65536', 'E_FLOW_OUT_OF_RANGE', 12, '0..65535'],
  ['tcp,tp_src=70000-70001', 'E_FLOW_OUT_OF_RANGE', 12, '0..65535'],
  ['tcp,tp_dst=http', 'E_FLOW_BAD_VALUE', 12, 'not a number'],
  ['ip,nw_tos=5', 'E_FLOW_OUT_OF_RANGE', 11, 'multiple of 4'],
  ['ip,nw_tos=256', 'E_FLOW_OUT_OF_RANGE', 11, '0..255'],
  ['ip,ip_dscp=64', 'E_FLOW_OUT_OF_RANGE', 12, '0..63'],
  ['ip,nw_ecn=4', 'E_FLOW_OUT_OF_RANGE', 11, '0..3'],
  ['ip,nw_ttl=256', 'E_FLOW_OUT_OF_RANGE', 11, '0..255'],
  ['ip,nw_proto=300', 'E_FLOW_OUT_OF_RANGE', 13, '0..255'],
  ['ipv6,ipv6_label=0x100000', 'E_FLOW_OUT_OF_RANGE', 17, '0..1048575'],
  ['icmp,icmp_type=256', 'E_FLOW_OUT_OF_RANGE', 16, '0..255'],
  ['arp,arp_op=256', 'E_FLOW_OUT_OF_RANGE', 12, '0..255'],
  ['dl_type=0x10000', 'E_FLOW_OUT_OF_RANGE', 9, '0..65535'],
  ['in_port=70000', 'E_FLOW_OUT_OF_RANGE', 9, '0..65535'],
  ['tun_id=0x10000000000000000', 'E_FLOW_OUT_OF_RANGE', 8, '64 bits'],
  ['ip,ip_frag=maybe', 'E_FLOW_BAD_VALUE', 12, 'no, yes, first, later, not_later'],
  ['tcp,tcp_flags=+syn+foo', 'E_FLOW_BAD_VALUE', 20, 'no flag "foo"'],
  ['tcp,tcp_flags=+syn-syn', 'E_FLOW_CONFLICT', 19, 'twice'],
  ['ip,nw_proto=6/0xf0', 'E_FLOW_NOT_MASKABLE', 14, 'cannot be masked'],
  ['tcp,ip_frag=later,tp_dst=80', 'E_FLOW_PREREQ', 19, 'later fragment'],
  ['icmp6,nd_target=::1', 'E_FLOW_PREREQ', 7, 'neighbour'],
  ['icmp,icmpv4_type=3', 'E_FLOW_UNKNOWN_FIELD', 6, 'unknown field'],
  ['ipv6,ipv6_src=::1/0:ffff::', 'E_FLOW_BAD_VALUE', 19, 'prefix length'],
  ['in_port=0x10', 'E_FLOW_BAD_VALUE', 9, 'decimal'],
  ['tcp,tcp_flags=+SYN', 'E_FLOW_BAD_VALUE', 16, 'no flag'],
  ['ct_state=+trk+trk', 'E_FLOW_CONFLICT', 14, 'twice'],
  ['ip,nw_ttl=6/1', 'E_FLOW_NOT_MASKABLE', 12, 'cannot be masked'],
  ['in_port=1/1', 'E_FLOW_NOT_MASKABLE', 10, 'cannot be masked'],
  ['tcp,tp_dst=9000-8000', 'E_FLOW_INVERTED_RANGE', 12, 'inverted'],
  ['tcp,tp_dst=1-5/0xff', 'E_FLOW_BAD_VALUE', 15, 'not both'],
  ['tcp,udp', 'E_FLOW_CONFLICT', 5, 'conflicts with `tcp` at column 1'],
  ['tcp,tp_dst=80,tp_dst=443', 'E_FLOW_CONFLICT', 15, 'conflicts with `tp_dst=80`'],
  ['tcp,tp_dst=80-90,tp_dst=100-110', 'E_FLOW_CONFLICT', 18, 'conflicts'],
  ['http,tp_dst=8080', 'E_FLOW_CONFLICT', 6, 'conflicts with `http`'],
  ['ip,ip_frag=later,ip_frag=not_later', 'E_FLOW_CONFLICT', 18, 'conflicts'],
  ['dl_vlan=0xffff,dl_vlan_pcp=3', 'E_FLOW_CONFLICT', 16, 'conflicts'],
  ['ip,ipv6', 'E_FLOW_CONFLICT', 4, 'conflicts'],
  ['tp_dst=80', 'E_FLOW_PREREQ', 1, 'tp_dst needs nw_proto 6, 17 or 132'],
  ['ip,tp_dst=80', 'E_FLOW_PREREQ', 4, 'add `tcp`, `udp` or `sctp`'],
  ['icmp,tp_dst=80', 'E_FLOW_PREREQ', 6, 'for ICMP use icmp_type'],
  ['nw_src=10.0.0.1', 'E_FLOW_PREREQ', 1, 'nw_src needs dl_type 0x0800'],
  ['ipv6,nw_src=10.0.0.1', 'E_FLOW_PREREQ', 6, 'for IPv6 use ipv6_src'],
  ['ip,ipv6_src=::1', 'E_FLOW_PREREQ', 4, 'ipv6_src needs dl_type 0x86dd'],
  ['tcp,icmp_type=8', 'E_FLOW_PREREQ', 5, 'icmp_type needs ICMP'],
  ['ip,arp_sha=02:00:00:00:00:01', 'E_FLOW_PREREQ', 4, 'arp_sha needs dl_type 0x0806'],
  ['udp,tcp_flags=+syn', 'E_FLOW_PREREQ', 5, 'tcp_flags needs nw_proto 6'],
  ['udp,tcp_dst=80', 'E_FLOW_PREREQ', 5, 'tcp_dst needs nw_proto 6'],
  ['nw_ttl=3', 'E_FLOW_PREREQ', 1, 'nw_ttl needs dl_type 0x0800 or 0x86dd'],
  ['nw_proto=6', 'E_FLOW_PREREQ', 1, 'nw_proto needs'],
  ['ip_frag=no', 'E_FLOW_PREREQ', 1, 'ip_frag needs'],
];

test('each kind of error has its code, column and an explanation', () => {
  for (const [text, code, col, words] of ERRORS) {
    const r = parseFlow(text);
    assert.equal(r.ok, false, `${text} should fail`);
    if (r.ok) continue;
    const e = r.errors[0];
    assert.equal(e.code, code, `${text}: ${e.message}`);
    assert.equal(e.loc?.col, col, `${text}: column of ${e.message}`);
    assert.ok(e.message.includes(words), `${text}: "${e.message}" should mention "${words}"`);
  }
});

test('every error in a flow is reported, in column order', () => {
  const r = parseFlow('tcp,nw_scr=1.2.3.4,tp_dst=99999,dl_vlan=5000');
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(
    r.errors.map((e) => [e.code, e.loc?.col]),
    [
      ['E_FLOW_UNKNOWN_FIELD', 5],
      ['E_FLOW_OUT_OF_RANGE', 27],
      ['E_FLOW_OUT_OF_RANGE', 41],
    ],
  );
});

test('columns are offset by the location of the flow text in its file', () => {
  const r = parseFlow('tcp,tp_dst=99999', { file: 'mon.dl', line: 4, col: 20 });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(r.errors[0].loc, { file: 'mon.dl', line: 4, col: 31 });
});

test('hostile input is refused with an error, never a crash', () => {
  assert.equal(parseFlow('a'.repeat(100_000)).ok, false);
  for (const text of [
    '=',
    '==',
    ',,,',
    '/',
    'tcp,tp_dst=-',
    'tcp,tp_dst=1-',
    'ip,nw_src=/',
    'tun_id=0x',
    'ipv6,ipv6_src=::/',
    'constructor',
    '__proto__=1',
    'toString',
  ]) {
    const r = parseFlow(text);
    if (!r.ok) for (const e of r.errors) assert.ok(e.code.startsWith('E_FLOW_'), text);
  }
  assert.deepEqual(parseFlow(',,,'), { ok: true, value: {} });
});
