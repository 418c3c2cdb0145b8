/**
 * The local cloud's topology when its data plane is Open vSwitch (`up --dataplane ovs`), as a
 * pure plan like topology-plan.ts. The underlay, the external namespace and each node's
 * namespace (uplink, VXLAN to the other nodes, forwarding, the gateway address on lo) are the
 * nftables cloud's; what differs is where the ports go:
 *
 *   node i: a bridge of its own in the root namespace, where ovs-vswitchd runs (netdev
 *   datapath, fail_mode=secure), with
 *     port 1      ── veth ── node ns `gw-ft` (the router's MAC; the node's subnet routed there)
 *     port 100+k  ── veth ── instance ns eth0 (`ft<k>`: ip/32, default via the node's gateway)
 *     port 33000+k ── veth ── monitor ns eth0 (`fm<k>`: taps arrive, answers leave; no address)
 *     port 34000+k ── veth ── node ns `tv-fm<k>` <─> `tt-fm<k>` (VXLAN) <─> monitor fm<k> on another node
 *     port 35000+k ── veth ── monitor ns eth1 (what inline monitor fm<k> passes comes back)
 *
 * Port numbers are set with `ofport_request` from the port's name (dataplane/ovs/layout.ts), so
 * the rules never ask. Every veth end in a namespace computes its checksums in software: the
 * userspace datapath's conntrack checks L4 checksums, and an offloaded one would make every
 * connection invalid. Names in the root namespace are shared with every other deployment on
 * the machine, so they carry a hash of the application's name.
 */
import { createHash } from 'node:crypto';
import {
  addBridgeArgv,
  addPortArgv,
  GATEWAY_OFPORT,
  MONITOR_RETURN_IF,
  ofportOf,
  renderInlineTable,
  redirectTag,
  returnOfportOf,
  routerMac,
  tunnelOfportOf,
} from '../dataplane/index.js';
import type { Addressing, App } from '../model/index.js';
import { INSTANCE_IF, instanceNs, MONITOR_IF, monitorNs, nodeNs } from './names.js';
import { monitorTunnels, nsBase, tapTunnelPlan, type Step } from './topology-plan.js';

/** The node's end of the gateway veth (in the node namespace). */
const OVS_GATEWAY_IF = 'gw-ft';

/** Six hex digits of the application's name, so root-namespace names of two deployments do not meet. */
const tag = (app: string) => createHash('sha256').update(app).digest('hex').slice(0, 6);

/** Every bridge of an application starts with this (for `down` to find them). */
const ovsBridgePrefix = (app: string) => `ftb${tag(app)}`;
/** The bridge of node `index` (at most 15 characters: a bridge is an interface too). */
export const ovsBridge = (app: string, index: number) => `${ovsBridgePrefix(app)}${index.toString(36)}`;
/** The root-namespace end of a port's veth (`ft..` / `fm..`); `t..` of a tap tunnel's, `g..` of a gateway's, `r..` of a monitor's return port. */
export const ovsLink = (app: string, port: string) => `o${tag(app)}${port}`;
const returnLink = (app: string, monitorPort: string) => `r${tag(app)}${monitorPort}`;
const tunnelLink = (app: string, monitorPort: string) => `t${tag(app)}${monitorPort}`;
const gatewayLink = (app: string, index: number) => `g${tag(app)}${index.toString(36)}`;

/** Any redirect tag (dataplane/nft/inline.ts), whatever its side and failMode bits: `& TAG_MASK == TAG_BASE`. */
const TAG_MASK = 'ff:ff:fc:00:00:00';
const TAG_BASE = redirectTag('00:00:00:00:00:00', 'sent', 'closed');

const plugged = (bridge: string, link: string, ofport: number): Step => addPortArgv(bridge, link, ofport);

/** The root namespace's end sends no IPv6 of its own (router solicitations) into the bridge. */
const quiet = (link: string): Step => ['sysctl', '-qw', `net.ipv6.conf.${link}.disable_ipv6=1`];

const softwareChecksums = (ns: string, dev: string): Step => ['ip', 'netns', 'exec', ns, 'ethtool', '-K', dev, 'tx', 'off'];

function portNumber(port: string): number {
  const n = ofportOf(port);
  // Ports are named by the addressing, which makes only names ofportOf takes.
  if (!n.ok) throw new Error(`internal: ${n.errors[0].message}`);
  return n.value;
}

/** After nodePlan: the node's bridge, and the gateway veth from it to the node's kernel. */
export function ovsNodePlan(app: App, addressing: Addressing, node: string): Step[] {
  const ns = nodeNs(app.name, node);
  const me = addressing.nodes[node];
  const bridge = ovsBridge(app.name, me.index);
  const gw = gatewayLink(app.name, me.index);
  return [
    addBridgeArgv(bridge),
    ['ip', 'link', 'add', gw, 'type', 'veth', 'peer', 'name', OVS_GATEWAY_IF, 'netns', ns],
    // Frames the switch routes off the subnet are addressed to this MAC, which it answers ARP with.
    ['ip', '-n', ns, 'link', 'set', OVS_GATEWAY_IF, 'address', routerMac(me.index)],
    ['ip', '-n', ns, 'link', 'set', OVS_GATEWAY_IF, 'up'],
    softwareChecksums(ns, OVS_GATEWAY_IF),
    ['ip', '-n', ns, 'route', 'add', me.subnet, 'dev', OVS_GATEWAY_IF],
    quiet(gw),
    ['ip', 'link', 'set', gw, 'up'],
    plugged(bridge, gw, GATEWAY_OFPORT),
  ];
}

/** An instance's namespace on its node's bridge, instead of instancePlan's port on the node. */
export function ovsInstancePlan(app: App, addressing: Addressing, instance: string): Step[] {
  const at = addressing.instances[instance];
  const ns = instanceNs(app.name, instance);
  const gw = addressing.nodes[at.node].gateway;
  const link = ovsLink(app.name, at.port);
  return [
    ...nsBase(ns),
    ['ip', 'link', 'add', link, 'type', 'veth', 'peer', 'name', INSTANCE_IF, 'netns', ns],
    ['ip', '-n', ns, 'link', 'set', INSTANCE_IF, 'address', at.mac],
    ['ip', '-n', ns, 'addr', 'add', `${at.ip}/32`, 'dev', INSTANCE_IF],
    ['ip', '-n', ns, 'link', 'set', INSTANCE_IF, 'up'],
    ['ip', '-n', ns, 'route', 'add', gw, 'dev', INSTANCE_IF],
    ['ip', '-n', ns, 'route', 'add', 'default', 'via', gw, 'dev', INSTANCE_IF],
    softwareChecksums(ns, INSTANCE_IF),
    quiet(link),
    ['ip', 'link', 'set', link, 'up'],
    plugged(ovsBridge(app.name, addressing.nodes[at.node].index), link, portNumber(at.port)),
  ];
}

/** Takes an instance's port off its bridge; the veth goes with it. */
export function ovsInstanceUnplugPlan(app: App, addressing: Addressing, instance: string): Step[] {
  const at = addressing.instances[instance];
  const link = ovsLink(app.name, at.port);
  return [
    ['ovs-vsctl', '--if-exists', 'del-port', ovsBridge(app.name, addressing.nodes[at.node].index), link],
    ['ip', 'link', 'del', link],
  ];
}

/**
 * A monitor's namespace on its node's bridge, with its return port (eth1 there: what an inline
 * monitor passes comes back to the bridge by it, dataplane/ovs/inline.ts), and its tap tunnels
 * from the other nodes: the nftables cloud's VXLAN pair (`tt-<port>` on node i, `tun<i>` here),
 * fed on node i from the tunnel port of its bridge (a veth to `tv-<port>`, forwarded into
 * `tt-<port>` by a netdev table). What the tunnel brings back (a queue-mode monitor passes
 * frames and answers back by it) reaches the bridge only when redirect-tagged, and the bridge
 * never sends such a frame back out of the tunnel port, so nothing loops between the nodes.
 * The inline ruleset (`setup`, or the hold mode's table) goes in last, over both veths, before
 * any monitor process runs, so a redirect's failMode holds from the start (a queue-mode monitor
 * installs its own steering when it starts, setup or not). Frames the monitor makes (resets,
 * 403s) get their checksums in software: the userspace datapath's conntrack checks them.
 */
export function ovsMonitorPlan(app: App, addressing: Addressing, monitor: string, setup?: Step[]): Step[] {
  const at = addressing.monitors[monitor];
  const ns = monitorNs(app.name, monitor);
  const link = ovsLink(app.name, at.port);
  const back = returnLink(app.name, at.port);
  const bridge = ovsBridge(app.name, addressing.nodes[at.node].index);
  const ret = returnOfportOf(at.port);
  if (!ret.ok) throw new Error(`internal: ${ret.errors[0].message}`);
  const steps: Step[] = [
    ...nsBase(ns),
    ['ip', 'link', 'add', link, 'type', 'veth', 'peer', 'name', MONITOR_IF, 'netns', ns],
    ['ip', '-n', ns, 'link', 'set', MONITOR_IF, 'address', at.mac],
    ['ip', '-n', ns, 'link', 'set', MONITOR_IF, 'up'],
    softwareChecksums(ns, MONITOR_IF),
    quiet(link),
    ['ip', 'link', 'set', link, 'up'],
    plugged(bridge, link, portNumber(at.port)),
    ['ip', 'link', 'add', back, 'type', 'veth', 'peer', 'name', MONITOR_RETURN_IF, 'netns', ns],
    ['ip', '-n', ns, 'link', 'set', MONITOR_RETURN_IF, 'up'],
    softwareChecksums(ns, MONITOR_RETURN_IF),
    quiet(back),
    ['ip', 'link', 'set', back, 'up'],
    plugged(bridge, back, ret.value),
    ...tapTunnelPlan(app, addressing, monitor),
  ];
  const tunnel = tunnelOfportOf(at.port);
  if (!tunnel.ok) throw new Error(`internal: ${tunnel.errors[0].message}`);
  for (const t of monitorTunnels(app, monitor)) {
    const on = nodeNs(app.name, t.node);
    const end = `tv-${at.port}`;
    const far = tunnelLink(app.name, at.port);
    steps.push(
      ['ip', 'link', 'add', far, 'type', 'veth', 'peer', 'name', end, 'netns', on],
      ['ip', '-n', on, 'link', 'set', end, 'up'],
      [
        'ip',
        'netns',
        'exec',
        on,
        'nft',
        [
          `table netdev ft_tap_${at.port} {`,
          '  chain feed {',
          `    type filter hook ingress device "${end}" priority 0;`,
          `    fwd to "tt-${at.port}"`,
          '  }',
          // Back into the bridge: only frames a monitor passed (tag as source) or its answers (tag as destination).
          '  chain back {',
          `    type filter hook ingress device "tt-${at.port}" priority 0; policy drop;`,
          `    ether saddr & ${TAG_MASK} == ${TAG_BASE} fwd to "${end}"`,
          `    ether daddr & ${TAG_MASK} == ${TAG_BASE} fwd to "${end}"`,
          '  }',
          '}',
          '',
        ].join('\n'),
      ],
      quiet(far),
      ['ip', 'link', 'set', far, 'up'],
      plugged(ovsBridge(app.name, addressing.nodes[t.node].index), far, tunnel.value),
    );
  }
  steps.push(...(setup ?? [['ip', 'netns', 'exec', ns, 'nft', renderInlineTable({ tapIf: MONITOR_IF, returnIf: MONITOR_RETURN_IF })]]));
  return steps;
}

/**
 * The root-namespace ends of `app`'s veths among `ip -br link` output: what `down` removes after
 * the namespaces. A namespace outlives its deletion while a socket in it still closes (a killed
 * server's connection retransmitting its FIN), and its veths with it, so their fixed names here
 * would refuse the next `up`; deleting this end takes the pair away at once.
 */
export function ovsLinksOf(app: string, ipBriefLink: string): string[] {
  const own = new RegExp(`^[gort]${tag(app)}[0-9a-z]{1,8}$`);
  return ipBriefLink
    .split('\n')
    .map((l) => l.trim().split(/[\s@]/)[0])
    .filter((n) => own.test(n));
}

/** The bridges of `app` among `ovs-vsctl list-br` output: what `down` removes. */
export function ovsBridgesOf(app: string, listBr: string): string[] {
  const prefix = ovsBridgePrefix(app);
  return listBr
    .split('\n')
    .map((l) => l.trim())
    .filter((b) => b.startsWith(prefix) && /^[0-9a-z]{1,2}$/.test(b.slice(prefix.length)));
}
