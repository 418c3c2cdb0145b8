import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowMatch } from '../../flowtap/index.js';
import { flowToNft, type NftFlowBackend } from './flow.js';
import { flowOf, TRANSLATIONS } from './testing.js';

function nft(m: FlowMatch | string): string {
  const r = flowToNft(typeof m === 'string' ? flowOf(m) : m, 'nftables-netdev');
  if (!r.ok) assert.fail(r.errors.map((e) => e.message).join('\n'));
  return r.value;
}

function errorsOf(m: FlowMatch | string) {
  const r = flowToNft(typeof m === 'string' ? flowOf(m) : m, 'nftables-netdev', { file: 'p.dl', line: 4 });
  assert.equal(r.ok, false, `expected ${JSON.stringify(m)} to be rejected`);
  return r.ok ? [] : r.errors;
}

for (const [flow, expected] of TRANSLATIONS) {
  test(`flowToNft: ${flow || '(empty flow)'}`, () => {
    assert.equal(nft(flow), expected);
  });
}

test('flowToNft: a port with a mask and a range keeps both', () => {
  const m = flowOf('tcp');
  m.tp_dst = { value: 0x10, mask: 0x10, range: { from: 8000, to: 8100 } };
  assert.equal(nft(m), 'meta protocol ip meta l4proto tcp th dport & 0x10 == 0x10 th dport 8000-8100');
  m.tp_dst = { value: 0, mask: 0, range: { from: 22, to: 22 } };
  assert.equal(nft(m), 'meta protocol ip meta l4proto tcp th dport 22');
});

test('flowToNft: every inexpressible field is an E_BACKEND_UNSUPPORTED error naming field and backend', () => {
  const cases: Array<[string | FlowMatch, string]> = [
    ['in_port=3', 'in_port'],
    ['tun_id=5', 'tun_id'],
    ['tun_src=192.0.2.1', 'tun_src'],
    ['tun_dst=192.0.2.0/24', 'tun_dst'],
    ['reg3=1', 'reg3'],
    ['metadata=0x5/0xff', 'metadata'],
    ['ct_state=+trk', 'ct_state'],
    ['icmp6,icmp_type=135,nd_target=::1', 'nd_target'],
    ['ipv6,ip_frag=no', 'ip_frag'],
    ['vlan_tci=0x0005/0x0fff', 'vlan_tci'],
    ['rarp,arp_tpa=10.0.1.0/255.0.255.0', 'arp_tpa'],
    ['rarp,arp_sha=02:00:00:00:00:00/ff:0f:00:00:00:00', 'arp_sha'],
    [{ dl_type: { value: 0x0800, mask: 0xff00 } }, 'dl_type'],
    [{ ...flowOf('ip'), nw_tos: { value: 0x28, mask: 0xff } }, 'nw_tos'],
    [{ ...flowOf('ip'), nw_proto: { value: 6, mask: 0x0f } }, 'nw_proto'],
    // Fields whose protocol the match does not fix: nft would have to guess a dependency.
    [{ nw_src: { value: 0x0a000001, mask: 0xffffffff } }, 'nw_src'],
    [{ ...flowOf('ip'), ipv6_src: flowOf('ipv6,ipv6_src=::1').ipv6_src }, 'ipv6_src'],
    [{ ...flowOf('arp'), nw_ttl: { value: 1, mask: 0xff } }, 'nw_ttl'],
    [{ ...flowOf('ip'), arp_op: { value: 1, mask: 0xffff } }, 'arp_op'],
    [{ ...flowOf('udp'), tcp_flags: { value: 2, mask: 0xfff } }, 'tcp_flags'],
    [{ ...flowOf('ip'), tp_dst: { value: 80, mask: 0xffff } }, 'tp_dst'],
    [{ ...flowOf('tcp'), icmp_type: { value: 8, mask: 0xff } }, 'icmp_type'],
    [{ ...flowOf('ip'), bogus: { value: 1, mask: 1 } } as FlowMatch, 'bogus'],
  ];
  for (const [flow, field] of cases) {
    const errs = errorsOf(flow);
    assert.equal(errs.length, 1, `${JSON.stringify(flow)}: ${errs.map((e) => e.message).join('; ')}`);
    assert.equal(errs[0].code, 'E_BACKEND_UNSUPPORTED');
    assert.equal(errs[0].code, 'E_BACKEND_UNSUPPORTED');
    assert.match(errs[0].message, new RegExp(`field ${field} `), errs[0].message);
    assert.match(errs[0].message, /nftables backend/);
    assert.deepEqual(errs[0].loc, { file: 'p.dl', line: 4, field: `flow.${field}` });
  }
});

test('flowToNft: collects every error of a flow, not just the first', () => {
  const errs = errorsOf('in_port=3,tun_id=5,tun_dst=192.0.2.1,ipv6,ip_frag=later,vlan_tci=0x0005/0x0fff');
  assert.deepEqual(errs.map((e) => e.loc?.field).sort(), ['flow.in_port', 'flow.ip_frag', 'flow.tun_dst', 'flow.tun_id', 'flow.vlan_tci']);
});

test('flowToNft: refuses backends it does not render for', () => {
  const r = flowToNft(flowOf('ip'), 'nftables-inet' as NftFlowBackend);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.errors[0].message, /nftables-inet/);
});
