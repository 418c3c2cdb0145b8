/**
 * The walk of one packet through the local cloud's nodes, hook by hook, as the kernel runs
 * the scripts nodeScript renders (routed nodes, see topology-plan.ts):
 *
 *   instance sends ─> [netdev ingress on its port: tap_eg_<port>: dup copies, fwd diverts]
 *     ─> only untagged IPv4 is routed (ARP is answered by the node, IPv6 is disabled)
 *     ─> conntrack holds fragments for reassembly (when the ruleset uses ct state)
 *     ─> routing: a node address -> input chain; a local instance's /32 -> its port;
 *        another node's subnet -> vx-ft; the underlay -> up-ft; anything else: no route
 *     ─> TTL <= 1 is not forwarded
 *     ─> inet forward chain: source restrictions, quarantine, ct state, eg_<src> (return/drop), in_<dst>
 *        (accept/drop), "egress checked" towards an uplink, default deny
 *     ─> [netdev egress on the destination port: tap_in_<port>] ─> the instance
 *   Through vx-ft the packet arrives on the other node and is routed and filtered there again
 *   (its in_<dst> chain; eg_<src> exists only on the sender's node).
 *
 * Inline redirects (nft-inline.ts): a frame diverted to a monitor on the same node and passed
 * back arrives on the monitor's return port `fr<j>`. Diverted as the instance sent it, it then
 * takes the node's path from routing on, with the sender's egress chain chosen by its redirect
 * tag (and the sender's quarantine) in the forward chain; diverted on its way to an instance,
 * it already had the forward chain and goes straight out of that instance's port, marked, so the
 * port's egress tap chain lets it through untouched.
 *
 * What the simulator cannot know it states: after a routed hop the source MAC is the node
 * port's (random) MAC, taken as 00:00:00:00:00:00, and the destination MAC is the receiving
 * instance's. Ingress frames are assumed addressed to the node (the instance's gateway).
 */
import { diag, fail, ok, type Result } from '../../diagnostics/index.js';
import { ETH_TYPE_ARP, ETH_TYPE_IP, ETH_TYPE_IPV6, type PacketSpec } from '../../flowtap/index.js';
import { UPLINK_IF, VXLAN_IF } from '../node-interfaces.js';
import { forwardChain, inputChain } from './firewall.js';
import type { CNode, CPort, Simulation } from './model.js';
import { NO_COPIES, NO_DIVERSIONS, TAP_BACK, TAP_ON, tapHook } from './taps-hook.js';
import type { SimHop, SimOptions, SimOutcome, SimProbe, SimRoute, SimTrace } from './types.js';
import type { NodeSimulations, OverRate, Walk } from './walk.js';

/** Hops are bounded by the topology (sender, one other node, a return port on each); this guards a bad input. */
const MAX_HOPS = 8;
const ZERO_MAC: readonly number[] = Object.freeze([0, 0, 0]);
const VLAN_PRESENT = 0x1000;

const overBudgetSets = new WeakMap<readonly string[], ReadonlySet<string>>();

function overSet(list: readonly string[]): ReadonlySet<string> {
  let s = overBudgetSets.get(list);
  if (!s) {
    s = new Set(list);
    overBudgetSets.set(list, s);
  }
  return s;
}

const NEVER_OVER: OverRate = () => false;
const ALWAYS_OVER: OverRate = () => true;

function rateOption(o: SimOptions['overRate']): OverRate | undefined {
  if (o === undefined) return undefined;
  if (typeof o === 'boolean') return o ? ALWAYS_OVER : NEVER_OVER;
  const ids = overSet(o);
  return (_node, id) => ids.has(id);
}

/**
 * `nodeSim`: each node's own compiled configuration (the simulator backend applies one per
 * node); the walk takes the packet's current node from it at every node it enters. Without it,
 * `sim` is every node's. `overRate` says whether a new connection is over a rate restriction
 * when the options do not (SimOptions.overRate wins); without either, none is.
 */
export function runProbe(
  sim: Simulation,
  probe: SimProbe,
  opts: SimOptions = {},
  nodeSim?: NodeSimulations,
  overRate?: OverRate,
): Result<SimTrace> {
  const pkt = probe.packet;
  const ct = opts.ctState ?? 'new';
  const over = opts.overBudget ?? false;
  const trace: SimTrace = {
    from: probe.from,
    packet: pkt,
    ctState: ct,
    hops: [],
    copies: NO_COPIES,
    diversions: NO_DIVERSIONS,
    outcome: undefined as unknown as SimOutcome,
  };
  const w: Walk = {
    sim,
    trace,
    ct,
    sampleHit: opts.sampleHit ?? true,
    overAll: over === true,
    overSome: typeof over === 'object' ? overSet(over) : null,
    linear: opts.classifier === 'linear',
    verdict: opts.inlineVerdict ?? 'pass',
    back: null,
    nodeSim: nodeSim ?? null,
    overRate: rateOption(opts.overRate) ?? overRate ?? NEVER_OVER,
  };
  const ttl = pkt.nw_ttl;
  const from = probe.from;
  if (from.kind === 'instance') {
    const port = sim.instances.get(from.instance);
    if (!port) return fail(diag('E_SIM_ENTRY', `no instance ${JSON.stringify(from.instance)} in ${sim.app.tenant}/${sim.app.name}`));
    if (!port.live)
      return fail(diag('E_SIM_ENTRY', `instance ${from.instance} is not live (terminated or not in the status): it has no port`));
    if (pkt.dl_type === ETH_TYPE_IP) {
      const dst = pkt.nw_dst >>> 0;
      if (dst === port.ip || dst >>> 24 === 127) {
        trace.outcome = { kind: 'local', why: "the instance's own address: the packet never leaves its namespace" };
        return ok(trace);
      }
    }
    const hop = newHop(w, port.node, port.port, ttl);
    const tapped = tapHook(w, hop, port, 'ingress', pkt);
    if (tapped === TAP_ON) receive(w, port.node, port, port.port, pkt, ttl, hop, false);
    else if (tapped === TAP_BACK) {
      const back = passedBackHop(w, port, ttl);
      receive(w, port.node, port, back.iif, pkt, ttl, back, true);
    }
  } else {
    let node: CNode | undefined;
    if (from.node !== undefined) {
      node = sim.nodeByName.get(from.node);
      if (!node) return fail(diag('E_SIM_ENTRY', `no node ${JSON.stringify(from.node)} in ${sim.app.tenant}/${sim.app.name}`));
    } else {
      if (pkt.dl_type !== ETH_TYPE_IP)
        return fail(diag('E_SIM_ENTRY', 'a packet from outside that is not IPv4 needs the node whose uplink receives it'));
      node = outsideRoute(w, pkt.nw_dst >>> 0);
      if (!node) return ok(trace);
    }
    const at = enter(w, node);
    if (!at) return ok(trace);
    const hop = newHop(w, at, UPLINK_IF, ttl);
    receive(w, at, null, UPLINK_IF, pkt, ttl, hop, false);
  }
  if (trace.outcome === undefined) throw new Error('internal: simulated packet has no outcome');
  return ok(trace);
}

/** The node as its own configuration has it (Walk.nodeSim), or null with the outcome set: nothing is applied there. */
function enter(w: Walk, node: CNode): CNode | null {
  if (!w.nodeSim) return node;
  const sim = w.nodeSim(node.name);
  const there = sim?.nodeByName.get(node.name);
  if (!sim || !there) {
    w.trace.outcome = { kind: 'dropped', stage: 'underlay', node: node.name, reason: `nothing is applied on node ${node.name}` };
    return null;
  }
  w.sim = sim;
  return there;
}

/** The external namespace's routes: each node subnet via that node, the underlay directly. */
function outsideRoute(w: Walk, dst: number): CNode | undefined {
  const { sim } = w;
  const s = subnetOf(sim, dst);
  if (s) return s;
  if (dst === sim.externalIp) {
    w.trace.outcome = { kind: 'local', why: "the outside network's own address" };
    return undefined;
  }
  const n = sim.nodeByUnderlay.get(dst);
  if (n) return n;
  w.trace.outcome = inRange(sim.underlay, dst)
    ? { kind: 'dropped', stage: 'underlay', reason: 'no host answers for the destination on the underlay' }
    : { kind: 'dropped', stage: 'routing', reason: 'the outside network has no route to the destination' };
  return undefined;
}

function inRange(iv: { lo: number; hi: number }, ip: number): boolean {
  return ip >= iv.lo && ip <= iv.hi;
}

function subnetOf(sim: Simulation, ip: number): CNode | undefined {
  const s = sim.subnets;
  let lo = 0;
  let hi = s.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ip < s[mid].lo) hi = mid - 1;
    else if (ip > s[mid].hi) lo = mid + 1;
    else return s[mid].node;
  }
  return undefined;
}

function newHop(w: Walk, node: CNode, iif: string, ttl: number): SimHop {
  const hop: SimHop = { node: node.name, iif, ttl };
  w.trace.hops.push(hop);
  return hop;
}

/** The hop of a frame the monitor of Walk.back passed back to `port`'s node, on its return port. */
function passedBackHop(w: Walk, port: CPort, ttl: number): SimHop {
  const t = w.back!;
  w.back = null;
  const hop = newHop(w, port.node, t.returnPort!, ttl);
  hop.passedBack = { monitor: t.monitor, contract: t.id };
  return hop;
}

function drop(w: Walk, node: CNode, stage: 'routing' | 'underlay', reason: string): void {
  w.trace.outcome = { kind: 'dropped', stage, node: node.name, reason };
}

/** The packet as the egress hook of `port` sees it after routing: TTL spent, MACs rewritten. */
function routedPacket(pkt: PacketSpec, ttl: number, port: CPort): PacketSpec {
  return { ...pkt, nw_ttl: ttl, dl_src: ZERO_MAC as number[], dl_dst: port.mac };
}

/**
 * A node's stack from the moment a frame arrives on `iif` (after any netdev ingress tap).
 * `iifPort` is the instance that sent it: on its own port, or, `returned`, on the return port
 * of a monitor that passed it back.
 */
function receive(
  w: Walk,
  node: CNode,
  iifPort: CPort | null,
  iif: string,
  pkt: PacketSpec,
  ttl: number,
  hop: SimHop,
  returned: boolean,
): void {
  const { sim } = w;
  if (pkt.vlan_tci & VLAN_PRESENT) return drop(w, node, 'routing', 'a VLAN-tagged frame: the node has no VLAN device, so it is not routed');
  if (pkt.dl_type === ETH_TYPE_ARP) {
    w.trace.outcome = { kind: 'node', node: node.name, why: 'ARP: the node answers for its own addresses and forwards no ARP' };
    return;
  }
  if (pkt.dl_type === ETH_TYPE_IPV6) return drop(w, node, 'routing', 'IPv6 is disabled on the node');
  if (pkt.dl_type !== ETH_TYPE_IP) return drop(w, node, 'routing', 'the node routes only IPv4 (and answers ARP)');

  const src = pkt.nw_src >>> 0;
  const dst = pkt.nw_dst >>> 0;
  if (src >>> 28 === 14 || src === 0xffffffff || src >>> 24 === 127 || src >>> 24 === 0)
    return drop(w, node, 'routing', 'martian source address');
  if (dst >>> 24 === 127 || dst >>> 24 === 0) return drop(w, node, 'routing', 'martian destination address');
  if (dst >>> 28 === 14) return drop(w, node, 'routing', 'multicast is not routed by the node');
  if (isNodeAddress(sim, node, src)) return drop(w, node, 'routing', 'martian source: an address of the node itself');
  const fragment = pkt.ip_frag !== 0;
  const local = isNodeAddress(sim, node, dst) || dst === 0xffffffff || dst === sim.underlay.hi || (sim.multiNode && dst === sim.overlay.hi);
  if (fragment && (sim.established || local))
    return drop(w, node, 'routing', 'a fragment: the node holds it for reassembly, and alone it is never passed on');

  if (local) {
    hop.route = { kind: 'node', node: node.name };
    inputChain(w, node, iifPort, iif, pkt, hop);
    return;
  }

  let route: SimRoute;
  let next: CNode | undefined;
  let oif: string;
  const oifPort = node.routes.get(dst) ?? null;
  const remote = !oifPort && sim.multiNode ? subnetOf(sim, dst) : undefined;
  if (oifPort) {
    oif = oifPort.port;
    route = { kind: 'instance', oif, instance: oifPort.instance };
  } else if (remote && remote !== node) {
    next = remote;
    oif = VXLAN_IF;
    route = { kind: 'vxlan', oif, node: next.name };
  } else if (inRange(sim.underlay, dst)) {
    oif = UPLINK_IF;
    next = sim.nodeByUnderlay.get(dst);
    route =
      dst === sim.externalIp
        ? { kind: 'uplink', oif, host: 'external' }
        : next
          ? { kind: 'uplink', oif, host: 'node', node: next.name }
          : { kind: 'uplink', oif, host: 'none' };
  } else if (sim.multiNode && inRange(sim.overlay, dst)) {
    oif = VXLAN_IF;
    next = sim.nodeByOverlay.get(dst);
    route = next ? { kind: 'vxlan', oif, node: next.name } : { kind: 'vxlan', oif };
  } else {
    hop.route = { kind: 'none' };
    return drop(w, node, 'routing', 'no route to the destination');
  }
  hop.route = route;
  if (ttl <= 1) return drop(w, node, 'routing', 'TTL exceeded: not forwarded');
  if (!forwardChain(w, node, iifPort, iif, oifPort, oif, pkt, hop, returned)) return;

  const left = ttl - 1;
  if (oifPort) {
    const seen = oifPort.tapIn.length ? routedPacket(pkt, left, oifPort) : pkt;
    const tapped = tapHook(w, hop, oifPort, 'egress', seen);
    if (tapped === TAP_ON) w.trace.outcome = { kind: 'delivered', instance: oifPort.instance, node: node.name };
    else if (tapped === TAP_BACK) {
      // The return chain sends it out of the port it was diverted at, marked: no routing, no firewall, no tap.
      const back = passedBackHop(w, oifPort, left);
      back.route = { kind: 'fwd', oif: oifPort.port, instance: oifPort.instance };
      back.egressTap = {
        node: node.name,
        hook: 'egress',
        port: oifPort.port,
        instance: oifPort.instance,
        chain: oifPort.tapInName,
        matches: [],
        passedBack: true,
      };
      w.trace.outcome = { kind: 'delivered', instance: oifPort.instance, node: node.name };
    }
    return;
  }
  if (route.kind === 'uplink' && route.host === 'external') {
    w.trace.outcome = { kind: 'outside', node: node.name };
    return;
  }
  if (!next)
    return drop(
      w,
      node,
      'underlay',
      oif === VXLAN_IF ? 'no node answers for the destination on the overlay' : 'no host answers for the destination on the underlay',
    );
  if (w.trace.hops.length >= MAX_HOPS) return drop(w, node, 'routing', 'too many hops');
  const there = enter(w, next);
  if (there) receive(w, there, null, oif, pkt, left, newHop(w, there, oif, left), false);
}

function isNodeAddress(sim: Simulation, node: CNode, ip: number): boolean {
  return ip === node.gateway || ip === node.underlayIp || (sim.multiNode && ip === node.overlayIp);
}
