/**
 * A small two-node app and contract builder shared by the nftables tap tests: web-1 and web-2
 * on n1, db-1 on n2, monitor m1 on n1 and m2 on n2, addressed by the model's default plan.
 */
import { parseFlow, type FlowMatch, type FlowTap } from '../../flowtap/index.js';
import { DEFAULT_NETWORK, planAddresses, type Addressing, type App } from '../../model/index.js';

export function tapsApp(): App {
  return {
    tenant: 'acme',
    name: 'shop',
    network: DEFAULT_NETWORK,
    nodes: [{ name: 'n1' }, { name: 'n2' }],
    services: [
      { name: 'web', exposure: 'public', replicas: 2, ports: [{ name: 'http', protocol: 'tcp', port: 80, app: 'http' }], placement: [], labels: {} },
      { name: 'db', exposure: 'internal', replicas: 1, ports: [{ name: 'pg', protocol: 'tcp', port: 5432, app: 'postgres' }], placement: ['n2'], labels: {} },
    ],
    monitors: [
      { name: 'm1', node: 'n1', capacity: 100, inspects: ['any'] },
      { name: 'm2', node: 'n2', capacity: 100, inspects: ['any'] },
    ],
    requirements: [],
    instances: [
      { name: 'web-1', service: 'web', ordinal: 1, node: 'n1' },
      { name: 'web-2', service: 'web', ordinal: 2, node: 'n1' },
      { name: 'db-1', service: 'db', ordinal: 1, node: 'n2' },
    ],
  };
}

export function tapsAddressing(app: App = tapsApp()): Addressing {
  return planAddresses(app);
}

export function flowOf(text: string): FlowMatch {
  const r = parseFlow(text);
  if (!r.ok) throw new Error(`${text}: ${r.errors.map((e) => e.message).join('; ')}`);
  return r.value;
}

export function tapOf(id: string, src: string, dst: string, flow: string, action: FlowTap['action'], extra: Partial<FlowTap> = {}): FlowTap {
  return { id, tenant: 'acme', src, dst, flow: flowOf(flow), action, options: {}, direction: 'egress', ...extra };
}

/** A flow for every field and its expected nft expression (unit tests; the root test feeds them to nft). */
export const TRANSLATIONS: ReadonlyArray<readonly [string, string]> = [
  ['', ''],
  ['dl_src=02:00:00:00:00:01', 'ether saddr 02:00:00:00:00:01'],
  ['dl_dst=02:00:00:00:00:00/ff:ff:ff:00:00:00', 'ether daddr & ff:ff:ff:00:00:00 == 02:00:00:00:00:00'],
  ['dl_vlan=10', 'vlan id 10'],
  ['dl_vlan_pcp=3', 'vlan pcp 3'],
  ['dl_vlan=10,dl_vlan_pcp=3,ip', 'vlan id 10 vlan pcp 3 meta protocol ip'],
  ['vlan_tci=0', 'ether type != 8021q'],
  ['vlan_tci=0x1000/0x1000', 'ether type 8021q'],
  ['vlan_tci=0x1100/0x1f00', 'vlan id & 0xf00 == 0x100'],
  ['ip', 'meta protocol ip'],
  ['ipv6', 'meta protocol ip6'],
  ['arp', 'meta protocol arp'],
  ['rarp', 'meta protocol 0x8035'],
  ['dl_type=0x88cc', 'meta protocol 0x88cc'],
  ['ip,nw_src=10.0.0.1', 'meta protocol ip ip saddr 10.0.0.1'],
  ['ip,nw_src=10.0.0.0/8', 'meta protocol ip ip saddr 10.0.0.0/8'],
  ['ip,nw_dst=10.0.1.0/255.0.255.0', 'meta protocol ip ip daddr & 255.0.255.0 == 10.0.1.0'],
  ['tcp', 'meta protocol ip meta l4proto tcp'],
  ['udp6', 'meta protocol ip6 meta l4proto udp'],
  ['ip,nw_proto=47', 'meta protocol ip meta l4proto 47'],
  ['ip,nw_tos=40', 'meta protocol ip ip dscp 10'],
  ['ipv6,ip_dscp=46', 'meta protocol ip6 ip6 dscp 46'],
  ['ip,nw_ecn=3', 'meta protocol ip ip ecn 3'],
  ['ipv6,nw_ecn=1', 'meta protocol ip6 ip6 ecn 1'],
  ['ip,nw_ttl=64', 'meta protocol ip ip ttl 64'],
  ['ipv6,nw_ttl=3', 'meta protocol ip6 ip6 hoplimit 3'],
  ['ip,ip_frag=no', 'meta protocol ip ip frag-off & 0x3fff == 0'],
  ['ip,ip_frag=yes', 'meta protocol ip ip frag-off & 0x3fff != 0'],
  ['ip,ip_frag=first', 'meta protocol ip ip frag-off & 0x3fff == 0x2000'],
  ['ip,ip_frag=later', 'meta protocol ip ip frag-off & 0x1fff != 0'],
  ['ip,ip_frag=not_later', 'meta protocol ip ip frag-off & 0x1fff == 0'],
  ['tcp,tp_dst=80', 'meta protocol ip meta l4proto tcp th dport 80'],
  ['tcp6,tp_src=8000-8100', 'meta protocol ip6 meta l4proto tcp th sport 8000-8100'],
  ['udp,tp_src=0x1f00/0xff00', 'meta protocol ip meta l4proto udp th sport & 0xff00 == 0x1f00'],
  ['sctp,tp_dst=5000', 'meta protocol ip meta l4proto sctp th dport 5000'],
  ['tcp,tcp_flags=+syn-ack', 'meta protocol ip meta l4proto tcp tcp flags & 0x12 == 0x2'],
  ['tcp,tcp_flags=0x02/0xff', 'meta protocol ip meta l4proto tcp tcp flags == 2'],
  // OVS's exact flags include NS and the reserved bits, which sit below the data offset.
  ['tcp,tcp_flags=syn', 'meta protocol ip meta l4proto tcp @th,96,16 & 0xfff == 0x2'],
  ['tcp,tcp_flags=+ns', 'meta protocol ip meta l4proto tcp @th,96,16 & 0x100 == 0x100'],
  ['icmp,icmp_type=8,icmp_code=0', 'meta protocol ip meta l4proto icmp icmp type 8 icmp code 0'],
  ['icmp6,icmp_type=128,icmp_code=0', 'meta protocol ip6 meta l4proto ipv6-icmp icmpv6 type 128 icmpv6 code 0'],
  ['ipv6,ipv6_src=fe80::/10', 'meta protocol ip6 ip6 saddr fe80::/10'],
  ['ipv6,ipv6_dst=2001:db8::1', 'meta protocol ip6 ip6 daddr 2001:db8::1'],
  ['ipv6,ipv6_src=2001:0:1::/ffff:0:ffff::', 'meta protocol ip6 ip6 saddr & ffff:0:ffff:: == 2001:0:1::'],
  ['ipv6,ipv6_label=5', 'meta protocol ip6 ip6 flowlabel 5'],
  ['ipv6,ipv6_label=0x5/0xff', 'meta protocol ip6 ip6 flowlabel & 0xff == 0x5'],
  ['arp,arp_op=1', 'meta protocol arp arp operation 1'],
  // OVS spells the ARP fields nw_proto/nw_src/nw_dst in an ARP match.
  ['arp,nw_proto=2', 'meta protocol arp arp operation 2'],
  ['arp,nw_src=10.0.0.1', 'meta protocol arp arp saddr ip 10.0.0.1'],
  ['arp,arp_tpa=10.0.0.0/24', 'meta protocol arp arp daddr ip 10.0.0.0/24'],
  ['arp,arp_spa=10.0.1.0/255.0.255.0', 'meta protocol arp arp saddr ip & 255.0.255.0 == 10.0.1.0'],
  ['arp,arp_sha=02:00:00:00:00:01', 'meta protocol arp arp saddr ether 02:00:00:00:00:01'],
  ['arp,arp_tha=02:00:00:00:00:00/ff:ff:ff:00:00:00', 'meta protocol arp arp daddr ether & ff:ff:ff:00:00:00 == 02:00:00:00:00:00'],
  ['rarp,arp_op=3,arp_spa=10.0.1.0/24,arp_sha=02:00:00:00:00:01', 'meta protocol 0x8035 @nh,48,16 0x3 @nh,112,24 0xa0001 @nh,64,48 0x20000000001'],
  ['rarp,arp_tpa=10.0.1.9,arp_tha=02:00:00:00:00:00/ff:ff:ff:00:00:00', 'meta protocol 0x8035 @nh,192,32 0xa000109 @nh,144,24 0x20000'],
  ['dl_dst=02:00:00:00:00:07,tcp,nw_src=10.0.0.0/8,tp_dst=443', 'ether daddr 02:00:00:00:00:07 meta protocol ip ip saddr 10.0.0.0/8 meta l4proto tcp th dport 443'],
];
