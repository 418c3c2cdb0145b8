/**
 * The node's inet table `flowtap` as renderNftFirewall writes it, for one packet: the forward
 * chain (source restrictions, quarantine, conntrack, the sender's eg_ chain, the receiver's in_ chain, the uplink
 * rule, default deny) and the input chain (instances cannot reach the node, bar the resolver).
 * A frame an inline monitor passed back (`returned`, on its return port) is the sender's: its
 * redirect tag selects the sender's eg_ chain and quarantine rule.
 */
import type { PacketSpec } from '../../flowtap/index.js';
import { UPLINK_IF, VXLAN_IF } from '../node-interfaces.js';
import { QUARANTINE_CHAIN } from '../nft/index.js';
import { lookupChain, PROTO_TCP, PROTO_UDP } from './indexed.js';
import { linearChainSlot } from './linear.js';
import type { CChain, CNode, CPort, CRestriction } from './model.js';
import type { SimChainStep, SimFirewallTrace, SimHop } from './types.js';
import type { Walk } from './walk.js';

/** Shared by every firewall trace with nothing audited (almost all): one array less per packet. */
const NONE_AUDITED = Object.freeze([]) as unknown as SimChainStep[];

function step(chain: string, comment: string, verdict: SimChainStep['verdict'], dflt: boolean, rule?: string): SimChainStep {
  return rule === undefined ? { chain, comment, verdict, default: dflt } : { chain, rule, comment, verdict, default: dflt };
}

function firewallDrop(w: Walk, fw: SimFirewallTrace, s: SimChainStep): false {
  fw.steps.push(s);
  fw.verdict = 'drop';
  w.trace.outcome =
    s.rule === undefined
      ? { kind: 'dropped', stage: 'firewall', node: fw.node, chain: s.chain, default: s.default, reason: s.comment }
      : { kind: 'dropped', stage: 'firewall', node: fw.node, chain: s.chain, rule: s.rule, default: s.default, reason: s.comment };
  return false;
}

function audit(fw: SimFirewallTrace, s: SimChainStep): void {
  if (fw.audited === NONE_AUDITED) fw.audited = [s];
  else fw.audited.push(s);
}

/** One instance chain: the step it ends with. An audit-mode drop logs and lets the packet on. */
function evalChain(w: Walk, fw: SimFirewallTrace, chain: CChain, proto: number, port: number, readable: boolean, ip: number): SimChainStep {
  const slot = w.linear ? linearChainSlot(w.sim, chain, proto, port, readable, ip) : lookupChain(chain.index, proto, port, readable, ip);
  const rule = slot >= 0 ? chain.rules[slot] : undefined;
  const allowed = rule ? rule.accept : !chain.isolated;
  const allow = chain.direction === 'egress' ? 'return' : 'accept';
  const s = rule
    ? step(chain.name, rule.comment, allowed ? allow : 'drop', false, rule.id)
    : step(chain.name, chain.defaultComment, allowed ? allow : 'drop', true);
  if (!allowed && w.sim.audit) {
    s.verdict = allow;
    audit(fw, s);
  }
  return s;
}

function restricts(r: CRestriction, pkt: PacketSpec): boolean {
  if (!r.source) return false;
  const src = pkt.nw_src >>> 0;
  if (src < r.source.lo || src > r.source.hi) return false;
  if (r.proto >= 0 && pkt.nw_proto !== r.proto) return false;
  // nft reads no port in a later fragment: `tcp dport N` does not match it.
  if (r.port >= 0 && ((pkt.ip_frag & 2) !== 0 || pkt.tp_dst !== r.port)) return false;
  return true;
}

export function forwardChain(
  w: Walk,
  node: CNode,
  iifPort: CPort | null,
  iif: string,
  oifPort: CPort | null,
  oif: string,
  pkt: PacketSpec,
  hop: SimHop,
  returned: boolean,
): boolean {
  const { sim } = w;
  const fw: SimFirewallTrace = { node: node.name, hook: 'forward', iif, oif, steps: [], verdict: 'accept', audited: NONE_AUDITED };
  hop.firewall = fw;
  // Restrictions first, as rendered (restrict.ts): a plain one drops established traffic too,
  // a rate one only new connections over the rate; its counter counts only what it drops.
  for (const r of sim.restrictions) {
    if (!restricts(r, pkt)) continue;
    if (r.rate && (w.ct !== 'new' || !w.overRate(node.name, r.id))) continue;
    return firewallDrop(w, fw, step('forward', r.comment, 'drop', false));
  }
  // In the rendered order: by input port, by output port, then by the tag of a frame passed back.
  if ((!returned && iifPort?.quarantined) || oifPort?.quarantined)
    return firewallDrop(w, fw, step(QUARANTINE_CHAIN, 'quarantine', 'drop', false));
  if (returned && iifPort?.quarantined)
    return firewallDrop(w, fw, step(QUARANTINE_CHAIN, 'quarantine (passed back by a monitor)', 'drop', false));
  if (sim.established) {
    if (w.ct === 'established' || w.ct === 'related') {
      fw.steps.push(step('forward', 'return traffic', 'accept', false));
      return true;
    }
    if (w.ct === 'invalid') return firewallDrop(w, fw, step('forward', 'invalid state', 'drop', false));
  }
  const proto = pkt.nw_proto;
  const port = pkt.tp_dst;
  const readable = (pkt.ip_frag & 2) === 0;
  if (iifPort) {
    const s = evalChain(w, fw, iifPort.eg, proto, port, readable, pkt.nw_dst >>> 0);
    if (s.verdict === 'drop') return firewallDrop(w, fw, s);
    fw.steps.push(s);
  }
  if (oifPort) {
    const s = evalChain(w, fw, oifPort.in, proto, port, readable, pkt.nw_src >>> 0);
    if (s.verdict === 'drop') return firewallDrop(w, fw, s);
    fw.steps.push(s);
    return true;
  }
  if (iifPort && (oif === VXLAN_IF || oif === UPLINK_IF)) {
    fw.steps.push(
      step(
        'forward',
        returned ? 'egress checked (passed back by a monitor); remote node checks ingress' : 'egress checked; remote node checks ingress',
        'accept',
        false,
      ),
    );
    return true;
  }
  const policy = step('forward', 'default deny', sim.audit ? 'accept' : 'drop', true);
  if (!sim.audit) return firewallDrop(w, fw, policy);
  audit(fw, policy);
  fw.steps.push(policy);
  return true;
}

export function inputChain(w: Walk, node: CNode, iifPort: CPort | null, iif: string, pkt: PacketSpec, hop: SimHop): void {
  const { sim } = w;
  const fw: SimFirewallTrace = { node: node.name, hook: 'input', iif, steps: [], verdict: 'accept', audited: NONE_AUDITED };
  hop.firewall = fw;
  if (iifPort) {
    const dns = sim.dns;
    const l4 = pkt.nw_proto === PROTO_TCP || pkt.nw_proto === PROTO_UDP;
    if (dns && l4 && pkt.nw_dst >>> 0 === dns.ip && pkt.tp_dst === dns.port)
      fw.steps.push(step('input', 'cluster resolver', 'accept', false));
    // Not an audit rule: the node itself is out of reach in every mode.
    else return void firewallDrop(w, fw, step('input', 'instances cannot reach the node', 'drop', false));
  } else fw.steps.push(step('input', 'policy accept', 'accept', true));
  w.trace.outcome = { kind: 'node', node: node.name, why: 'addressed to the node and accepted by its input chain' };
}
