/**
 * How a node is laid out on Open vSwitch: one bridge per node (userspace datapath), every
 * instance and monitor port attached with an OpenFlow port number derived from its name, one
 * gateway port: a veth to the node's own namespace, whose kernel routes what leaves the node's
 * subnet (to the outside through the uplink, to other nodes through the VXLAN link), a tap
 * tunnel port per monitor on another node, and a return port per monitor (its namespace's eth1:
 * what an inline monitor passes comes back there).
 *
 * The numbers are a pure function of the port's name (model/addressing: `ft<base36>` for an
 * instance, `fm<base36>` for a monitor), so whoever plugs a port (`ofport_request`) and the
 * renderer agree without talking, and a port keeps its number when others come and go.
 */
import { diag, fail, ok, type Result } from '../../diagnostics/index.js';

/** The veth to the node namespace's kernel (router to the outside and to other nodes). */
export const GATEWAY_OFPORT = 1;
const INSTANCE_BASE = 100;
const MONITOR_BASE = 33000;
/** Tap tunnels: the port to monitor `fm<k>` on another node is TUNNEL_BASE + k (model/layout caps monitors far below 1000). */
const TUNNEL_BASE = 34000;
/** Return ports: monitor `fm<k>`'s is RETURN_BASE + k. */
const RETURN_BASE = 35000;

/** The OpenFlow port number of an instance (`ft..`) or monitor (`fm..`) port. */
export function ofportOf(port: string): Result<number> {
  const m = /^(ft|fm)([0-9a-z]{1,6})$/.exec(port);
  if (!m) return fail(diag('E_OVS_PORT', `port ${JSON.stringify(port)} is neither an instance port (ft..) nor a monitor port (fm..)`));
  const n = (m[1] === 'ft' ? INSTANCE_BASE : MONITOR_BASE) + Number.parseInt(m[2], 36);
  const limit = m[1] === 'ft' ? MONITOR_BASE : TUNNEL_BASE;
  if (n >= limit)
    return fail(diag('E_OVS_PORT', `port ${port} is beyond the ${m[1] === 'ft' ? 'instance' : 'monitor'} port numbers (${n})`));
  return ok(n);
}

/**
 * The port of the tap tunnel from a node to monitor port `fm..` on another node: a veth to the
 * node's namespace, whose kernel sends what arrives on it into the VXLAN tunnel to the
 * monitor's namespace (the nftables cloud's `tt-<port>`).
 */
export function tunnelOfportOf(monitorPort: string): Result<number> {
  if (!monitorPort.startsWith('fm')) return fail(diag('E_OVS_PORT', `port ${JSON.stringify(monitorPort)} is not a monitor port (fm..)`));
  const p = ofportOf(monitorPort);
  return p.ok ? ok(p.value - MONITOR_BASE + TUNNEL_BASE) : p;
}

/**
 * The port by which an inline monitor `fm..` on this node passes frames back (the veth to its
 * namespace's eth1; the nftables cloud's `fr..`).
 */
export function returnOfportOf(monitorPort: string): Result<number> {
  if (!monitorPort.startsWith('fm')) return fail(diag('E_OVS_PORT', `port ${JSON.stringify(monitorPort)} is not a monitor port (fm..)`));
  const p = ofportOf(monitorPort);
  return p.ok ? ok(p.value - MONITOR_BASE + RETURN_BASE) : p;
}

/**
 * The MAC the node's router answers ARP with, and the gateway veth in the node namespace
 * carries: frames an instance sends off its subnet reach that kernel unchanged.
 */
export function routerMac(nodeIndex: number): string {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `02:66:67:00:${hex((nodeIndex >> 8) & 0xff)}:${hex(nodeIndex & 0xff)}`;
}

/** The bridge of a node by default: short enough for an interface name, unique per node index. */
export const defaultBridge = (nodeIndex: number) => `ftbr${nodeIndex}`;

/** Each node's connection tracking zone: one bridge per node, so one zone each. */
export const ctZone = (nodeIndex: number) => nodeIndex + 1;

/**
 * The tables of the pipeline. A packet goes 0 (ARP, classify) -> 10 (egress taps) -> 20 (conntrack)
 * -> 21 (quarantine, restrictions, connection state) -> 22 (egress chains) -> 23 (ingress chains)
 * -> 30 (local or not) -> 31 (ingress taps) -> 32 (delivery); 15 holds the budgeted copies, 16
 * the sampled ones.
 */
export const OVS_TABLES = {
  classify: 0,
  tapEgress: 10,
  budget: 15,
  sample: 16,
  conntrack: 20,
  forward: 21,
  egress: 22,
  ingress: 23,
  route: 30,
  tapIngress: 31,
  deliver: 32,
} as const;

/** `ovs-vsctl` adding a node's bridge as the backend needs it: userspace datapath, no learning switch, OpenFlow 1.3–1.5. */
export function addBridgeArgv(bridge: string): string[] {
  return [
    'ovs-vsctl',
    '--may-exist',
    'add-br',
    bridge,
    '--',
    'set',
    'bridge',
    bridge,
    'datapath_type=netdev',
    'fail_mode=secure',
    'protocols=OpenFlow13,OpenFlow14,OpenFlow15',
  ];
}

/** `ovs-vsctl` plugging a device into the bridge with the port number the rules use. */
export function addPortArgv(bridge: string, dev: string, ofport: number): string[] {
  return ['ovs-vsctl', '--may-exist', 'add-port', bridge, dev, '--', 'set', 'interface', dev, `ofport_request=${ofport}`];
}
