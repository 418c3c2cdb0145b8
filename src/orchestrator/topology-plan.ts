/**
 * The local cloud's topology as a pure plan: argv lists for `ip`, `sysctl` and `bridge`,
 * derived only from the model and its addressing. Executing them is the runner's job,
 * so the plan is testable without root and the same plan serves `up`, `move` and `redeploy`.
 *
 * Layout (routed nodes; see docs/dataplane.md):
 *   underlay ns: bridge br0 ── veth ── node ns (up-ft, underlay ip) ── VXLAN vx-ft to other nodes
 *                         └─── veth ── external ns (10.250.0.254: clients "from outside")
 *   node ns ── veth (port ftN) ── instance ns (eth0, ip/32, default via the node's gateway)
 *   node ns ── veth (port fmN) ── monitor ns (eth0: taps arrive; no address: instances cannot address it)
 *   node ns ── veth (port frN) ── monitor ns (eth1: what an inline monitor passes goes back)
 */
import type { Addressing, App } from '../model/index.js';
import {
  monitorReturnPort,
  MONITOR_RETURN_IF,
  renderInlineTable,
  UPLINK_IF,
  VXLAN_IF,
  EXTERNAL_IP,
  overlayIp,
} from '../dataplane/index.js';
import {
  externalNs,
  INSTANCE_IF,
  instanceNs,
  MONITOR_IF,
  monitorNs,
  nodeNs,
  UNDERLAY_BRIDGE,
  UNDERLAY_PREFIX,
  underlayNs,
  VXLAN_PORT,
} from './names.js';

export type Step = string[];

const UNDERLAY_MTU = '9000';

export function nsBase(ns: string): Step[] {
  return [
    ['ip', 'netns', 'add', ns],
    ['ip', '-n', ns, 'link', 'set', 'lo', 'up'],
    // IPv6 router solicitations would be noise in every capture; the app network is IPv4.
    ['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
  ];
}

export function underlayPlan(app: App, addressing: Addressing): Step[] {
  const ul = underlayNs(app.name);
  const ext = externalNs(app.name);
  const steps: Step[] = [
    ...nsBase(ul),
    ['ip', '-n', ul, 'link', 'add', UNDERLAY_BRIDGE, 'mtu', UNDERLAY_MTU, 'type', 'bridge'],
    ['ip', '-n', ul, 'link', 'set', UNDERLAY_BRIDGE, 'up'],
    ...nsBase(ext),
    [
      'ip',
      'link',
      'add',
      'eth0',
      'mtu',
      UNDERLAY_MTU,
      'netns',
      ext,
      'type',
      'veth',
      'peer',
      'name',
      'uext',
      'mtu',
      UNDERLAY_MTU,
      'netns',
      ul,
    ],
    ['ip', '-n', ul, 'link', 'set', 'uext', 'master', UNDERLAY_BRIDGE, 'up'],
    ['ip', '-n', ext, 'addr', 'add', `${EXTERNAL_IP}/${UNDERLAY_PREFIX}`, 'dev', 'eth0'],
    ['ip', '-n', ext, 'link', 'set', 'eth0', 'up'],
  ];
  for (const n of app.nodes) {
    const a = addressing.nodes[n.name];
    steps.push(['ip', '-n', ext, 'route', 'add', a.subnet, 'via', a.ip]);
  }
  return steps;
}

export function nodePlan(app: App, addressing: Addressing, node: string): Step[] {
  const ns = nodeNs(app.name, node);
  const ul = underlayNs(app.name);
  const me = addressing.nodes[node];
  const uport = `u${me.index}`;
  const steps: Step[] = [
    ...nsBase(ns),
    [
      'ip',
      'netns',
      'exec',
      ns,
      'sysctl',
      '-qw',
      'net.ipv4.ip_forward=1',
      'net.ipv4.conf.all.send_redirects=0',
      'net.ipv4.conf.default.send_redirects=0',
    ],
    // The gateway address lives on lo: the node answers ARP for it on every instance port.
    ['ip', '-n', ns, 'addr', 'add', `${me.gateway}/32`, 'dev', 'lo'],
    [
      'ip',
      'link',
      'add',
      UPLINK_IF,
      'mtu',
      UNDERLAY_MTU,
      'netns',
      ns,
      'type',
      'veth',
      'peer',
      'name',
      uport,
      'mtu',
      UNDERLAY_MTU,
      'netns',
      ul,
    ],
    ['ip', '-n', ul, 'link', 'set', uport, 'master', UNDERLAY_BRIDGE, 'up'],
    ['ip', '-n', ns, 'addr', 'add', `${me.ip}/${UNDERLAY_PREFIX}`, 'dev', UPLINK_IF],
    ['ip', '-n', ns, 'link', 'set', UPLINK_IF, 'up'],
  ];
  const others = app.nodes.filter((n) => n.name !== node);
  if (others.length) {
    steps.push(
      [
        'ip',
        '-n',
        ns,
        'link',
        'add',
        VXLAN_IF,
        'mtu',
        '1500',
        'type',
        'vxlan',
        'id',
        '42',
        'local',
        me.ip,
        'dstport',
        String(VXLAN_PORT),
        'dev',
        UPLINK_IF,
        'nolearning',
      ],
      ['ip', '-n', ns, 'addr', 'add', `${overlayIp(me.index)}/24`, 'dev', VXLAN_IF],
      ['ip', '-n', ns, 'link', 'set', VXLAN_IF, 'up'],
    );
    for (const o of others) {
      const peer = addressing.nodes[o.name];
      // Head-end replication: broadcast (ARP on the overlay) goes to every other node.
      steps.push(['bridge', '-n', ns, 'fdb', 'append', '00:00:00:00:00:00', 'dev', VXLAN_IF, 'dst', peer.ip]);
      steps.push(['ip', '-n', ns, 'route', 'add', peer.subnet, 'via', overlayIp(peer.index), 'dev', VXLAN_IF]);
    }
  }
  return steps;
}

export function instancePlan(app: App, addressing: Addressing, instance: string): Step[] {
  const at = addressing.instances[instance];
  const node = nodeNs(app.name, at.node);
  const ns = instanceNs(app.name, instance);
  const gw = addressing.nodes[at.node].gateway;
  return [
    ...nsBase(ns),
    ['ip', 'link', 'add', at.port, 'netns', node, 'type', 'veth', 'peer', 'name', INSTANCE_IF, 'netns', ns],
    ['ip', '-n', ns, 'link', 'set', INSTANCE_IF, 'address', at.mac],
    ['ip', '-n', ns, 'addr', 'add', `${at.ip}/32`, 'dev', INSTANCE_IF],
    ['ip', '-n', ns, 'link', 'set', INSTANCE_IF, 'up'],
    ['ip', '-n', ns, 'route', 'add', gw, 'dev', INSTANCE_IF],
    ['ip', '-n', ns, 'route', 'add', 'default', 'via', gw, 'dev', INSTANCE_IF],
    ['ip', '-n', node, 'link', 'set', at.port, 'up'],
    ['ip', '-n', node, 'route', 'add', `${at.ip}/32`, 'dev', at.port],
  ];
}

/** Detaches an instance from its node: the veth pair goes with either end. */
export function instanceUnplugPlan(app: App, addressing: Addressing, instance: string): Step[] {
  const at = addressing.instances[instance];
  return [['ip', '-n', nodeNs(app.name, at.node), 'link', 'del', at.port]];
}

const TAP_TUNNEL_PORT = 4790;
/** One VNI per (monitor, node it is reached from): each tunnel is point to point, so a frame the monitor passes goes back where it came from. */
const tapVni = (monitorIndex: number, nodeIndex: number) => String(1000 + monitorIndex * 256 + nodeIndex);

/** A tap tunnel inside a monitor namespace: `tun<i>` brings taps from node i of the app (and takes back what an inline monitor passes). */
export interface MonitorTunnel {
  ifname: string;
  node: string;
}

/** The tap tunnels of a monitor: one per node other than its own. */
export function monitorTunnels(app: App, monitor: string): MonitorTunnel[] {
  const home = app.monitors.find((m) => m.name === monitor)?.node;
  return app.nodes.flatMap((n, i) => (n.name === home ? [] : [{ ifname: `tun${i}`, node: n.name }]));
}

/**
 * A monitor namespace with its port on its node and its return port (inline redirects: frames
 * the monitor passes leave by eth1 and come back to the node on `frN`; see
 * dataplane/nft/inline.ts). When the cloud has several nodes, a VXLAN tunnel per other node
 * (`tt-<port>` there, `tun<i>` here): point to point, so what a queue-mode monitor passes or
 * answers goes back by the tunnel it came in by. The tunnels' sockets stay in the node
 * namespace; only the decapsulated frames enter the monitor's, so the monitor still has no
 * address instances could reach. The inline ruleset (`setup`, or the hold mode's table) is
 * installed last, over every interface, before any monitor process runs, so a redirect's
 * failMode holds from the start.
 */
export function monitorPlan(app: App, addressing: Addressing, monitor: string, setup?: Step[]): Step[] {
  const at = addressing.monitors[monitor];
  const node = nodeNs(app.name, at.node);
  const ns = monitorNs(app.name, monitor);
  const ret = monitorReturnPort(at.port);
  const steps: Step[] = [
    ...nsBase(ns),
    ['ip', 'link', 'add', at.port, 'netns', node, 'type', 'veth', 'peer', 'name', MONITOR_IF, 'netns', ns],
    ['ip', '-n', ns, 'link', 'set', MONITOR_IF, 'address', at.mac],
    ['ip', '-n', ns, 'link', 'set', MONITOR_IF, 'up'],
    ['ip', '-n', node, 'link', 'set', at.port, 'up'],
    ['ip', 'link', 'add', ret, 'netns', node, 'type', 'veth', 'peer', 'name', MONITOR_RETURN_IF, 'netns', ns],
    ['ip', '-n', ns, 'link', 'set', MONITOR_RETURN_IF, 'up'],
    ['ip', '-n', node, 'link', 'set', ret, 'up'],
    // Passed frames keep their instance source addresses; strict reverse-path checks would drop them here.
    ['ip', 'netns', 'exec', node, 'sysctl', '-qw', `net.ipv4.conf.${ret}.rp_filter=0`, `net.ipv4.conf.${at.port}.rp_filter=0`],
  ];
  steps.push(...tapTunnelPlan(app, addressing, monitor));
  // The deployment's own inline path (the queue mode's), else the hold mode's table.
  steps.push(...(setup ?? [['ip', 'netns', 'exec', ns, 'nft', renderInlineTable({ tapIf: MONITOR_IF, returnIf: MONITOR_RETURN_IF })]]));
  return steps;
}

/**
 * A monitor's tap tunnels (see monitorPlan): `tun<i>` in its namespace, `tt-<port>` on node i.
 * The Open vSwitch cloud makes the same ones (ovs-plan.ts).
 */
export function tapTunnelPlan(app: App, addressing: Addressing, monitor: string): Step[] {
  const at = addressing.monitors[monitor];
  const node = nodeNs(app.name, at.node);
  const ns = monitorNs(app.name, monitor);
  const index = app.monitors.findIndex((m) => m.name === monitor);
  const steps: Step[] = [];
  const home = addressing.nodes[at.node];
  for (const t of monitorTunnels(app, monitor)) {
    const on = nodeNs(app.name, t.node);
    const far = addressing.nodes[t.node];
    const vni = tapVni(
      index,
      app.nodes.findIndex((n) => n.name === t.node),
    );
    const made = `tr${t.ifname.slice(3)}-${at.port}`.slice(0, 15);
    const vxlan = (name: string, local: string, remote: string): Step => [
      'link',
      'add',
      name,
      'type',
      'vxlan',
      'id',
      vni,
      'local',
      local,
      'remote',
      remote,
      'dstport',
      String(TAP_TUNNEL_PORT),
      'dev',
      UPLINK_IF,
    ];
    steps.push(
      ['ip', '-n', node, ...vxlan(made, home.ip, far.ip)],
      ['ip', '-n', node, 'link', 'set', made, 'netns', ns],
      ['ip', '-n', ns, 'link', 'set', made, 'name', t.ifname],
      ['ip', '-n', ns, 'link', 'set', t.ifname, 'up'],
      ['ip', '-n', on, ...vxlan(`tt-${at.port}`, far.ip, home.ip)],
      ['ip', '-n', on, 'link', 'set', `tt-${at.port}`, 'up'],
    );
  }
  return steps;
}
