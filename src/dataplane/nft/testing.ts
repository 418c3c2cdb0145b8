/**
 * A small two-node app and contract builder shared by the nftables tap tests: web-1 and web-2
 * on n1, db-1 on n2, monitor m1 on n1 and m2 on n2, addressed by the model's default plan.
 */
import { unwrap } from '../../diagnostics/index.js';
import { mustRun, realSystem, type System } from '../../system/index.js';
import { UPLINK_IF } from '../node-interfaces.js';
import { OUTSIDE_A, OUTSIDE_B, type BackendFixture, type BackendHarness } from '../testing.js';
import { readCounters } from './apply.js';
import { nftBackend } from './backend.js';
import { monitorReturnPort } from './inline.js';
import type { NftNodeConfig } from './node.js';
import { NftSessions } from './session.js';
import { parseFlow, type FlowMatch, type FlowTap } from '../../flowtap/index.js';
import { DEFAULT_NETWORK, planAddresses, type Addressing, type App } from '../../model/index.js';

export function tapsApp(): App {
  return {
    tenant: 'acme',
    name: 'shop',
    network: DEFAULT_NETWORK,
    nodes: [{ name: 'n1' }, { name: 'n2' }],
    services: [
      {
        name: 'web',
        exposure: 'public',
        replicas: 2,
        ports: [{ name: 'http', protocol: 'tcp', port: 80, app: 'http' }],
        placement: [],
        labels: {},
      },
      {
        name: 'db',
        exposure: 'internal',
        replicas: 1,
        ports: [{ name: 'pg', protocol: 'tcp', port: 5432, app: 'postgres' }],
        placement: ['n2'],
        labels: {},
      },
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
  return unwrap(planAddresses(app));
}

export function flowOf(text: string): FlowMatch {
  const r = parseFlow(text);
  if (!r.ok) throw new Error(`${text}: ${r.errors.map((e) => e.message).join('; ')}`);
  return r.value;
}

export function tapOf(
  id: string,
  src: string,
  dst: string,
  flow: string,
  action: FlowTap['action'],
  extra: Partial<FlowTap> = {},
): FlowTap {
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
  [
    'rarp,arp_op=3,arp_spa=10.0.1.0/24,arp_sha=02:00:00:00:00:01',
    'meta protocol 0x8035 @nh,48,16 0x3 @nh,112,24 0xa0001 @nh,64,48 0x20000000001',
  ],
  ['rarp,arp_tpa=10.0.1.9,arp_tha=02:00:00:00:00:00/ff:ff:ff:00:00:00', 'meta protocol 0x8035 @nh,192,32 0xa000109 @nh,144,24 0x20000'],
  [
    'dl_dst=02:00:00:00:00:07,tcp,nw_src=10.0.0.0/8,tp_dst=443',
    'ether daddr 02:00:00:00:00:07 meta protocol ip ip saddr 10.0.0.0/8 meta l4proto tcp th dport 443',
  ],
];

/**
 * The shared backend suite's harness for nftables: the fixture's node as a network namespace laid
 * out as the local cloud lays out its nodes (routed instance ports, the gateway on lo, monitors
 * on their port and return port, the outside behind the uplink `up-ft`), every namespace with a
 * unique name. Each instance and monitor
 * namespace counts (and then drops) the IPv4 UDP frames arriving on its eth0 in a small netdev
 * table of its own: what arrived, without a socket, and with no ICMP error going back.
 */
/** The node's address on its uplink, as the local cloud's underlay gives node 1. */
const UNDERLAY_GATEWAY = '10.250.0.1';

export interface NftHarness extends BackendHarness<NftNodeConfig> {
  /** The node's namespace. */
  nodeNs: string;
}

/**
 * `sessions`: incremental transactions through interactive nft sessions (session.ts); `echo`:
 * whether nft echoes what they add (default true; the controller's sessions go without).
 */
export async function nftHarness(
  f: BackendFixture,
  system: System = realSystem,
  opts: { sessions?: boolean; echo?: boolean } = {},
): Promise<NftHarness> {
  const prefix = `ftb${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
  const node = `${prefix}n`;
  const outside = `${prefix}x`;
  const nsOf = new Map<string, string>();
  const made: string[] = [];
  const run = (argv: string[], ns?: string, input?: string) =>
    mustRun(system, argv, { ...(ns ? { ns } : {}), ...(input !== undefined ? { input } : {}) });
  const namespace = async (ns: string) => {
    await run(['ip', 'netns', 'add', ns]);
    made.push(ns);
    await run(['ip', 'link', 'set', 'lo', 'up'], ns);
    // Router solicitations and the like would reach the node's input chain and the counts.
    await run(['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], ns);
  };
  const counting = (ns: string) =>
    run(
      ['nft', '-f', '-'],
      ns,
      'table netdev probe {\n  chain c {\n    type filter hook ingress device "eth0" priority -10;\n    meta protocol ip meta l4proto udp counter drop\n  }\n}\n',
    );
  try {
    await namespace(node);
    const gw = f.addressing.nodes[f.node].gateway;
    await run(
      ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.default.send_redirects=0'],
      node,
    );
    await run(['ip', 'addr', 'add', `${gw}/32`, 'dev', 'lo'], node);
    let k = 0;
    for (const a of Object.values(f.addressing.instances)) {
      const ns = `${prefix}i${k++}`;
      nsOf.set(a.instance, ns);
      await namespace(ns);
      await run(['ip', 'link', 'add', a.port, 'netns', node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await run(['ip', 'link', 'set', 'eth0', 'address', a.mac], ns);
      await run(['ip', 'addr', 'add', `${a.ip}/32`, 'dev', 'eth0'], ns);
      await run(['ip', 'link', 'set', 'eth0', 'up'], ns);
      await run(['ip', 'route', 'add', gw, 'dev', 'eth0'], ns);
      await run(['ip', 'route', 'add', 'default', 'via', gw, 'dev', 'eth0'], ns);
      await run(['ip', 'link', 'set', a.port, 'up'], node);
      await run(['ip', 'route', 'add', `${a.ip}/32`, 'dev', a.port], node);
      await counting(ns);
    }
    // The outside: one namespace behind the node's uplink holding both outside clients' addresses.
    await namespace(outside);
    await run(['ip', 'link', 'add', UPLINK_IF, 'netns', node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', outside]);
    await run(['ip', 'addr', 'add', `${UNDERLAY_GATEWAY}/24`, 'dev', UPLINK_IF], node);
    await run(['ip', 'link', 'set', UPLINK_IF, 'up'], node);
    for (const a of [OUTSIDE_A, OUTSIDE_B]) await run(['ip', 'addr', 'add', `${a}/24`, 'dev', 'eth0'], outside);
    await run(['ip', 'link', 'set', 'eth0', 'up'], outside);
    await run(['ip', 'route', 'add', 'default', 'via', UNDERLAY_GATEWAY], outside);
    // Both ends know each other's address for good: the first datagram from outside does not wait on ARP.
    const mac = async (dev: string, ns: string) =>
      (JSON.parse(await run(['ip', '-j', 'link', 'show', dev], ns)) as { address: string }[])[0].address;
    await run(
      ['ip', 'neigh', 'replace', UNDERLAY_GATEWAY, 'lladdr', await mac(UPLINK_IF, node), 'dev', 'eth0', 'nud', 'permanent'],
      outside,
    );
    const far = await mac('eth0', outside);
    for (const a of [OUTSIDE_A, OUTSIDE_B])
      await run(['ip', 'neigh', 'replace', a, 'lladdr', far, 'dev', UPLINK_IF, 'nud', 'permanent'], node);
    let j = 0;
    for (const m of Object.values(f.addressing.monitors)) {
      const ns = `${prefix}m${j++}`;
      nsOf.set(m.monitor, ns);
      await namespace(ns);
      const ret = monitorReturnPort(m.port);
      await run(['ip', 'link', 'add', m.port, 'netns', node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await run(['ip', 'link', 'add', ret, 'netns', node, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', ns]);
      for (const d of ['eth0', 'eth1']) await run(['ip', 'link', 'set', d, 'up'], ns);
      for (const d of [m.port, ret]) await run(['ip', 'link', 'set', d, 'up'], node);
      await counting(ns);
    }
  } catch (e) {
    for (const ns of made) await system.run(['ip', 'netns', 'del', ns]);
    throw e;
  }
  const sessions = opts.sessions ? new NftSessions(system, { echo: opts.echo ?? true }) : undefined;
  const backend = nftBackend({
    system,
    nsOf: (n) => (n === f.node ? node : `${prefix}-no-such-node`),
    ...(sessions ? { transactions: sessions } : {}),
  });
  return {
    backend,
    nodeNs: node,
    async sendUdp(from, to, port, payload) {
      const dst = f.addressing.instances[to].ip;
      await run(['bash', '-c', `printf '%0${payload}d' 0 > /dev/udp/${dst}/${port}`], nsOf.get(from)!);
      // The datagram waits for ARP on its way; give it time to land before anyone counts.
      await new Promise((r) => setTimeout(r, 150));
    },
    async sendUdpFromOutside(source, to, port, payload) {
      const dst = f.addressing.instances[to].ip;
      // nc binds the source address; each run is a new socket, so a new source port and connection.
      // (-q0: quit once stdin is read; -w0 may quit before printf has written anything.)
      await run(['bash', '-c', `printf '%0${payload}d' 0 | nc -u -q0 -s ${source} ${dst} ${port}`], outside);
      await new Promise((r) => setTimeout(r, 150));
    },
    async received(name) {
      const r = await readCounters(system, nsOf.get(name)!, { family: 'netdev', name: 'probe' });
      if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
      return r.value[0].packets;
    },
    async close() {
      await sessions?.close();
      for (const ns of made) await system.run(['ip', 'netns', 'del', ns]);
    },
  };
}
