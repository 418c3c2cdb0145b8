/**
 * The shared backend suite's harness for Open vSwitch (its root tests' gate, needsOvs, is in
 * src/system/testing.ts with the others).
 *
 * The fixture's node is a netdev bridge (userspace datapath) of its own, with every instance and
 * monitor namespace attached through a veth whose bridge end (in the root namespace, where
 * ovs-vswitchd runs) has the port number the rules use (`ofport_request`), and the gateway port:
 * a veth to the node namespace, whose kernel routes to the outside through its uplink `up-ft`
 * (as the local cloud's node does). Each instance and monitor namespace counts (and then drops)
 * the IPv4 UDP frames arriving on its eth0 in a small netdev table, as the nftables harness does.
 */
import { mustRun, realSystem, type System } from '../../system/index.js';
import { UPLINK_IF } from '../node-interfaces.js';
import { readCounters } from '../nft/index.js';
import { OUTSIDE_A, OUTSIDE_B, type BackendFixture, type BackendHarness } from '../testing.js';
import { OvsBackend } from './backend.js';
import { addBridgeArgv, addPortArgv, GATEWAY_OFPORT, ofportOf, routerMac } from './layout.js';
import type { OvsNodeConfig } from './render.js';

const UNDERLAY_GATEWAY = '10.250.0.1';
const GATEWAY_IF = 'gw-ft';

export interface OvsHarness extends BackendHarness<OvsNodeConfig> {
  backend: OvsBackend;
  bridge: string;
  nodeNs: string;
  /** The namespace of an instance or monitor. */
  nsOf(name: string): string;
  /** The bridge end (root namespace) of an instance's or monitor's port. */
  linkOf(port: string): string;
}

export async function ovsHarness(f: BackendFixture, system: System = realSystem): Promise<OvsHarness> {
  const prefix = `fo${process.pid.toString(36).slice(-4)}${Math.floor(Math.random() * 36 ** 2).toString(36)}`;
  const bridge = `${prefix}br`;
  const node = `${prefix}n`;
  const outside = `${prefix}x`;
  const nsOf = new Map<string, string>();
  const made: string[] = [];
  const links: string[] = [];
  const run = (argv: string[], ns?: string, input?: string) =>
    mustRun(system, argv, { ...(ns ? { ns } : {}), ...(input !== undefined ? { input } : {}) });
  const namespace = async (ns: string) => {
    await run(['ip', 'netns', 'add', ns]);
    made.push(ns);
    await run(['ip', 'link', 'set', 'lo', 'up'], ns);
    await run(['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], ns);
  };
  const counting = (ns: string) =>
    run(
      ['nft', '-f', '-'],
      ns,
      'table netdev probe {\n  chain c {\n    type filter hook ingress device "eth0" priority -10;\n    meta protocol ip meta l4proto udp counter drop\n  }\n}\n',
    );
  /** A veth from the root namespace (plugged into the bridge as `ofport`) to eth0 (or `peer`) of `ns`. */
  const plug = async (ns: string, ofport: number, peer = 'eth0', mac?: string) => {
    const end = `${prefix}${ofport}`;
    await run(['ip', 'link', 'add', end, 'type', 'veth', 'peer', 'name', peer, 'netns', ns]);
    links.push(end);
    await system.run(['sysctl', '-qw', `net.ipv6.conf.${end}.disable_ipv6=1`]);
    if (mac) await run(['ip', 'link', 'set', peer, 'address', mac], ns);
    await run(['ip', 'link', 'set', end, 'up']);
    await run(['ip', 'link', 'set', peer, 'up'], ns);
    await checksumsInSoftware(peer, ns);
    await run(addPortArgv(bridge, end, ofport));
  };
  // The userspace datapath reads frames through AF_PACKET and its conntrack checks L4 checksums:
  // a veth's offloaded (not yet computed) checksum would make every connection invalid.
  const checksumsInSoftware = (dev: string, ns: string) => run(['ethtool', '-K', dev, 'tx', 'off'], ns);
  const ofport = (port: string) => {
    const p = ofportOf(port);
    if (!p.ok) throw new Error(p.errors[0].message);
    return p.value;
  };
  try {
    await run(addBridgeArgv(bridge));
    const nodeAddr = f.addressing.nodes[f.node];
    await namespace(node);
    await run(['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0'], node);
    // The node's kernel: the gateway veth (the router's MAC) to the bridge, the uplink to the outside.
    await plug(node, GATEWAY_OFPORT, GATEWAY_IF, routerMac(nodeAddr.index));
    await run(['ip', 'addr', 'add', `${nodeAddr.gateway}/32`, 'dev', GATEWAY_IF], node);
    await run(['ip', 'route', 'add', nodeAddr.subnet, 'dev', GATEWAY_IF], node);
    for (const a of Object.values(f.addressing.instances)) {
      const ns = `${prefix}i${ofport(a.port)}`;
      nsOf.set(a.instance, ns);
      await namespace(ns);
      await plug(ns, ofport(a.port), 'eth0', a.mac);
      await run(['ip', 'addr', 'add', `${a.ip}/32`, 'dev', 'eth0'], ns);
      await run(['ip', 'route', 'add', nodeAddr.gateway, 'dev', 'eth0'], ns);
      await run(['ip', 'route', 'add', 'default', 'via', nodeAddr.gateway, 'dev', 'eth0'], ns);
      await counting(ns);
    }
    for (const m of Object.values(f.addressing.monitors)) {
      const ns = `${prefix}m${ofport(m.port)}`;
      nsOf.set(m.monitor, ns);
      await namespace(ns);
      await plug(ns, ofport(m.port), 'eth0', m.mac);
      await counting(ns);
    }
    await namespace(outside);
    await run(['ip', 'link', 'add', UPLINK_IF, 'netns', node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', outside]);
    await run(['ip', 'addr', 'add', `${UNDERLAY_GATEWAY}/24`, 'dev', UPLINK_IF], node);
    await run(['ip', 'link', 'set', UPLINK_IF, 'up'], node);
    for (const a of [OUTSIDE_A, OUTSIDE_B]) await run(['ip', 'addr', 'add', `${a}/24`, 'dev', 'eth0'], outside);
    await run(['ip', 'link', 'set', 'eth0', 'up'], outside);
    await checksumsInSoftware('eth0', outside);
    await checksumsInSoftware(UPLINK_IF, node);
    await run(['ip', 'route', 'add', 'default', 'via', UNDERLAY_GATEWAY], outside);
    const mac = async (dev: string, ns: string) =>
      (JSON.parse(await run(['ip', '-j', 'link', 'show', dev], ns)) as { address: string }[])[0].address;
    await run(
      ['ip', 'neigh', 'replace', UNDERLAY_GATEWAY, 'lladdr', await mac(UPLINK_IF, node), 'dev', 'eth0', 'nud', 'permanent'],
      outside,
    );
    const far = await mac('eth0', outside);
    for (const a of [OUTSIDE_A, OUTSIDE_B])
      await run(['ip', 'neigh', 'replace', a, 'lladdr', far, 'dev', UPLINK_IF, 'nud', 'permanent'], node);
  } catch (e) {
    await teardown(system, bridge, made, links);
    throw e;
  }
  const backend = new OvsBackend({ system, bridgeOf: (n) => (n === f.node ? bridge : `${prefix}nobr`) });
  const settle = () => new Promise((r) => setTimeout(r, 200));
  return {
    backend,
    bridge,
    nodeNs: node,
    nsOf: (name) => nsOf.get(name)!,
    linkOf: (port) => `${prefix}${ofport(port)}`,
    async sendUdp(from, to, port, payload) {
      const dst = f.addressing.instances[to].ip;
      await run(['bash', '-c', `printf '%0${payload}d' 0 > /dev/udp/${dst}/${port}`], nsOf.get(from)!);
      await settle();
    },
    async sendUdpFromOutside(source, to, port, payload) {
      const dst = f.addressing.instances[to].ip;
      await run(['bash', '-c', `printf '%0${payload}d' 0 | nc -u -q0 -s ${source} ${dst} ${port}`], outside);
      await settle();
    },
    async received(name) {
      const r = await readCounters(system, nsOf.get(name)!, { family: 'netdev', name: 'probe' });
      if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
      return r.value[0].packets;
    },
    async close() {
      await teardown(system, bridge, made, links);
    },
  };
}

async function teardown(system: System, bridge: string, namespaces: string[], links: string[]): Promise<void> {
  await system.run(['ovs-vsctl', '--if-exists', 'del-br', bridge]);
  // A veth goes with its namespace end; these are only what a failed setup left half made.
  for (const l of links) await system.run(['ip', 'link', 'del', l]);
  for (const ns of namespaces) await system.run(['ip', 'netns', 'del', ns]);
}
