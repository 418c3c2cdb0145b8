/**
 * Test tooling: seeded random flows and packets, for property tests, fuzzing and benchmarks.
 * Values come from small pools so that random flows overlap, nest and conflict often enough to
 * be interesting. Only tests and bench/ import this file.
 */
import type { Rng } from '../../random/index.js';
import { fieldsOf } from './field-ops.js';
import {
  FIELD_ORDER,
  FRAG_VALUES,
  TRANSPORT_HEADER_FIELDS,
  fieldSpec,
  type FlowMatch,
  type Masked,
  type PacketSpec,
  type PortMatch,
  type WideMasked,
} from './fields.js';
import { parseFlow } from './parse.js';
import { forEachPort } from './ports.js';
import { packetIn } from '../packet-spec.js';

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const chance = (r: Rng, p: number) => r() < p;

const PROTOS = ['', 'ip', 'ipv6', 'tcp', 'udp', 'sctp', 'tcp6', 'udp6', 'icmp', 'icmp6', 'arp', 'rarp', 'http', 'dns', 'https'];
const IPV4 = [
  '10.0.0.1',
  '10.0.0.2',
  '10.0.0.0/24',
  '10.0.1.0/24',
  '10.0.0.0/8',
  '10.0.0.0/255.0.255.0',
  '10.0.0.1/255.255.0.255',
  '192.168.1.0/24',
];
const IPV6 = [
  '2001:db8::1',
  '2001:db8::2',
  '2001:db8::/32',
  '2001:db8::/64',
  '2001:db8:0:1::/64',
  'fe80::/10',
  '::/1',
  '2001:db8::/ffff:0:ffff::',
];
const MACS = [
  '02:00:00:00:00:01',
  '02:00:00:00:00:02',
  '02:00:00:00:00:00/ff:ff:ff:ff:ff:00',
  '01:00:00:00:00:00/01:00:00:00:00:00',
  '00:00:00:00:00:00/01:00:00:00:00:00',
];
const PORTS = [
  '80',
  '443',
  '53',
  '1000-2000',
  '0-1023',
  '1024-65535',
  '8000-8100',
  '0x0400/0xfc00',
  '0x1f40/0xfff0',
  '0x0001/0x0001',
  '1500-1600',
];
const VLANS = [
  'dl_vlan=10',
  'dl_vlan=20',
  'dl_vlan_pcp=3',
  'dl_vlan_pcp=0',
  'vlan_tci=0x0000',
  'vlan_tci=0x1000/0x1000',
  'dl_vlan=0xffff',
  'vlan_tci=0x0000/0x0fff',
];
const FRAGS = ['no', 'yes', 'first', 'later', 'not_later'];
const TCP_FLAGS = ['+syn', '+syn-ack', '-rst', 'syn|ack', '0x010/0x010'];

/** Random flow text; every element is valid on its own, but elements may conflict. */
function randomFlowText(r: Rng): string {
  const proto = pick(r, PROTOS);
  const parts: string[] = proto ? [proto] : [];
  const ipv4 = ['ip', 'tcp', 'udp', 'sctp', 'icmp', 'http', 'dns', 'https'].includes(proto);
  const ipv6 = ['ipv6', 'tcp6', 'udp6', 'icmp6'].includes(proto);
  const l4 = ['tcp', 'udp', 'sctp', 'tcp6', 'udp6', 'http', 'dns', 'https'].includes(proto);
  const tcp = ['tcp', 'tcp6', 'http', 'https'].includes(proto);
  const arp = proto === 'arp' || proto === 'rarp';
  const maybe = (p: number, text: () => string) => {
    if (chance(r, p)) parts.push(text());
  };
  maybe(0.15, () => `in_port=${pick(r, [1, 2, 3])}`);
  maybe(0.15, () => pick(r, VLANS));
  maybe(0.15, () => `dl_src=${pick(r, MACS)}`);
  maybe(0.15, () => `dl_dst=${pick(r, MACS)}`);
  maybe(0.1, () => `tun_id=${pick(r, ['0x5', '0x5/0xff', '0x100/0xf00', '7'])}`);
  maybe(0.1, () => `tun_src=${pick(r, IPV4)}`);
  if (ipv4 || arp) {
    maybe(0.4, () => `nw_src=${pick(r, IPV4)}`);
    maybe(0.4, () => `nw_dst=${pick(r, IPV4)}`);
  }
  if (ipv4 || ipv6) {
    maybe(0.1, () => `nw_tos=${pick(r, [0, 4, 32])}`);
    maybe(0.1, () => `nw_ecn=${pick(r, [0, 1, 2, 3])}`);
    maybe(0.1, () => `nw_ttl=${pick(r, [1, 64])}`);
    maybe(0.15, () => `ip_frag=${pick(r, FRAGS)}`);
  }
  if (ipv6) {
    maybe(0.4, () => `ipv6_src=${pick(r, IPV6)}`);
    maybe(0.4, () => `ipv6_dst=${pick(r, IPV6)}`);
    maybe(0.1, () => `ipv6_label=${pick(r, ['0x1', '0x10/0xf0', '0xfffff'])}`);
  }
  if (l4) {
    maybe(0.4, () => `tp_src=${pick(r, PORTS)}`);
    maybe(0.5, () => `tp_dst=${pick(r, PORTS)}`);
    maybe(0.15, () => `tp_dst=${pick(r, PORTS)}`);
  }
  if (tcp) maybe(0.15, () => `tcp_flags=${pick(r, TCP_FLAGS)}`);
  if (proto === 'icmp' || proto === 'icmp6') {
    maybe(0.4, () => `icmp_type=${pick(r, [0, 8, 128])}`);
    maybe(0.2, () => `icmp_code=${pick(r, [0, 1])}`);
  }
  if (arp) {
    maybe(0.3, () => `arp_op=${pick(r, [1, 2])}`);
    maybe(0.2, () => `arp_sha=${pick(r, MACS)}`);
    maybe(0.2, () => `arp_tha=${pick(r, MACS)}`);
  }
  return parts.join(',');
}

/** A random valid flow (retrying when random elements conflict). */
export function randomFlow(r: Rng): FlowMatch {
  for (;;) {
    const res = parseFlow(randomFlowText(r));
    if (res.ok) return res.value;
  }
}

const INTERESTING_PORTS = [0, 1, 53, 80, 443, 999, 1000, 1023, 1024, 1500, 1600, 2000, 2001, 8000, 8050, 8100, 8101, 65535];

function randomValue(r: Rng, name: (typeof FIELD_ORDER)[number]): number | number[] {
  const spec = fieldSpec(name);
  if (spec.kind === 'wide') return Array.from({ length: spec.words }, () => (chance(r, 0.5) ? 0 : Math.floor(r() * 0x10000)));
  if (spec.kind === 'port') return chance(r, 0.7) ? pick(r, INTERESTING_PORTS) : Math.floor(r() * 0x10000);
  if (name === 'ip_frag') return pick(r, FRAG_VALUES);
  if (name === 'vlan_tci') return chance(r, 0.3) ? 0 : 0x1000 | Math.floor(r() * 0x1000) | (Math.floor(r() * 8) << 13);
  if (name === 'nw_tos') return Math.floor(r() * 64) << 2;
  const max = spec.max >>> 0;
  return Math.floor(r() * (max + 1)) >>> 0;
}

/**
 * A random packet near `m`: starts from a packet inside it, then re-draws some fields either
 * within the flow's constraint (free bits, other ports of the set) or anywhere.
 */
export function randomPacketNear(r: Rng, m: FlowMatch): PacketSpec {
  const pkt = packetIn(m) as Record<string, number | number[]>;
  const f = fieldsOf(m);
  for (const name of FIELD_ORDER) {
    if (!chance(r, 0.35)) continue;
    const v = f[name];
    const spec = fieldSpec(name);
    if (v === undefined || chance(r, 0.25)) {
      pkt[name] = randomValue(r, name);
      continue;
    }
    if (spec.kind === 'wide') {
      const w = v as WideMasked;
      pkt[name] = w.value.map((x, i) => x | (Math.floor(r() * 0x10000) & ~w.mask[i] & 0xffff));
    } else if (spec.kind === 'port') {
      const ports: number[] = [];
      forEachPort(v as PortMatch, (p) => ports.push(p) < 64);
      if (ports.length > 0) pkt[name] = pick(r, ports);
    } else if (name === 'ip_frag') {
      pkt[name] = pick(r, FRAG_VALUES);
    } else {
      const n = v as Masked;
      pkt[name] = (n.value | (Math.floor(r() * 0x100000000) & ~n.mask & (fieldSpec(name).max >>> 0))) >>> 0;
    }
  }
  // As OVS extracts it: a later fragment carries no transport header, so ports, flags and ICMP type/code are 0.
  if ((pkt.ip_frag as number) & 2) for (const name of [...TRANSPORT_HEADER_FIELDS, 'icmp_type', 'icmp_code']) pkt[name] = 0;
  return pkt as PacketSpec;
}
