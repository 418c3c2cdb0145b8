/**
 * Chain semantics of the abstract ruleset (see types.ts): rules of one (target,
 * direction) in array order, first match wins, default drop if the target is
 * isolated in that direction, else accept.
 *
 * Two entry points: `evaluateChain` decides one packet and names the deciding rule
 * (for `explain`); `compileRuleset` + `walkChain` compute, for one peer, the whole set
 * of ports per protocol a chain lets through (for reachability), without enumerating ports.
 */
import { ALL_CONNS, NO_CONNS, connIntersect, connIsEmpty, connOf, connSubtract, connUnion, type ConnSet } from './conn-set.js';
import { ALL_IPV4, cidrInterval, cidrSet, ipSetContains, ipSetCovers, subtractIps, type IpInterval, type IpSet } from './ip-range.js';
import { parseIpv4 } from '../net/index.js';
import { containsPort, portSetOf } from './port-set.js';
import type { Direction, FirewallRule, Peer, Ruleset } from './types.js';

/** Who is on the other side of the chain: an instance, an address, or (neither) any outside address. */
export interface ChainPeer {
  instance?: string;
  /** Service of `instance`; derived from the `<service>-<n>` instance name when absent. */
  service?: string;
  ip?: string;
}

export interface ChainDecision {
  action: 'accept' | 'drop';
  /** The first matching rule, absent when the chain default decided. */
  rule?: FirewallRule;
  defaulted: boolean;
}

function serviceOfInstanceName(instance: string): string {
  const m = /-\d+$/.exec(instance);
  return m ? instance.slice(0, m.index) : instance;
}

/**
 * Decides one packet. A peer without instance and ip stands for an outside address
 * that no narrower block singles out: it matches `external`, `any`, and `cidr` peers
 * that cover the whole outside space. Pass `ip` to ask about a specific address.
 */
export function evaluateChain(
  ruleset: Ruleset,
  target: string,
  direction: Direction,
  peer: ChainPeer,
  protocol: 'tcp' | 'udp',
  port: number,
): ChainDecision {
  const network = networkSet(ruleset.network);
  const ip = peer.ip !== undefined ? (parseIpv4(peer.ip) ?? null) : null;
  const service = peer.instance !== undefined ? (peer.service ?? serviceOfInstanceName(peer.instance)) : undefined;
  const outsideSpace = subtractIps(ALL_IPV4, network);

  const matches = (p: Peer): boolean => {
    switch (p.kind) {
      case 'any':
        return true;
      case 'service':
        return service !== undefined && p.service === service;
      case 'instances':
        return peer.instance !== undefined && p.instances.includes(peer.instance);
      case 'external':
        return peer.instance === undefined && (ip === null || !ipSetContains(network, ip));
      case 'cidr': {
        const set = cidrSet(p.cidr, p.except);
        if (!set) return false;
        if (ip !== null) return ipSetContains(set, ip);
        return peer.instance === undefined && peer.ip === undefined && ipSetCovers(set, outsideSpace);
      }
    }
  };

  for (const rule of ruleset.rules) {
    if (rule.target !== target || rule.direction !== direction) continue;
    if (rule.protocol !== 'any' && rule.protocol !== protocol) continue;
    if (rule.ports !== null && !containsPort(portSetOf(rule.ports), port)) continue;
    if (!matches(rule.peer)) continue;
    return { action: rule.action, rule, defaulted: false };
  }
  const isolated = ruleset.isolated[direction].includes(target);
  return { action: isolated ? 'drop' : 'accept', defaulted: true };
}

/** A rule with its selections pre-parsed, so a chain walk does no parsing. */
export interface CompiledRule {
  readonly rule: FirewallRule;
  readonly index: number;
  readonly accept: boolean;
  /** Connections the rule's (protocol, ports) select. */
  readonly conns: ConnSet;
  readonly peer: Peer;
  readonly instances?: ReadonlySet<string>;
  /** Addresses of a `cidr` peer; empty when the block does not parse (it then matches nothing). */
  readonly ips?: IpSet;
}

export interface CompiledRuleset {
  readonly rules: readonly CompiledRule[];
  /** `chainKey(direction, target)` -> indices into `rules`, in ruleset order. */
  readonly chains: ReadonlyMap<string, readonly number[]>;
  readonly isolated: { readonly ingress: ReadonlySet<string>; readonly egress: ReadonlySet<string> };
  readonly network: IpSet;
  /** Every `cidr` and `except` block the rules mention. */
  readonly blocks: readonly IpInterval[];
}

export function chainKey(direction: Direction, target: string): string {
  return direction === 'ingress' ? `i ${target}` : `e ${target}`;
}

export function compileRuleset(ruleset: Ruleset): CompiledRuleset {
  const chains = new Map<string, number[]>();
  const blocks: IpInterval[] = [];
  // Inferred rulesets repeat a few (protocol, ports) selections thousands of times.
  const connCache = new Map<string, ConnSet>();
  const rules = ruleset.rules.map((rule, index): CompiledRule => {
    const chain = chainKey(rule.direction, rule.target);
    const list = chains.get(chain);
    if (list) list.push(index);
    else chains.set(chain, [index]);

    const p = rule.ports;
    const key = p === null ? rule.protocol : p.length === 1 ? `${rule.protocol}${p[0].from}-${p[0].to}` : undefined;
    let conns = key !== undefined ? connCache.get(key) : undefined;
    if (!conns) {
      conns = connOf(rule.protocol, portSetOf(p));
      if (key !== undefined) connCache.set(key, conns);
    }
    const accept = rule.action === 'accept';
    const peer = rule.peer;
    if (peer.kind === 'instances') return { rule, index, accept, conns, peer, instances: new Set(peer.instances) };
    if (peer.kind === 'cidr') {
      for (const text of [peer.cidr, ...peer.except]) {
        const iv = cidrInterval(text);
        if (iv) blocks.push(iv);
      }
      return { rule, index, accept, conns, peer, ips: cidrSet(peer.cidr, peer.except) ?? [] };
    }
    return { rule, index, accept, conns, peer };
  });
  return {
    rules,
    chains,
    isolated: { ingress: new Set(ruleset.isolated.ingress), egress: new Set(ruleset.isolated.egress) },
    network: networkSet(ruleset.network),
    blocks,
  };
}

/** Mutable state of one chain walk: what is already accepted, what no rule has decided yet. */
export interface ChainWalk {
  allowed: ConnSet;
  undecided: ConnSet;
}

export function startWalk(): ChainWalk {
  return { allowed: NO_CONNS, undecided: ALL_CONNS };
}

/** Applies one rule that matches the peer; returns true once every connection is decided. */
export function stepWalk(walk: ChainWalk, rule: CompiledRule): boolean {
  const selected = connIntersect(walk.undecided, rule.conns);
  if (connIsEmpty(selected)) return false;
  if (rule.accept) walk.allowed = connUnion(walk.allowed, selected);
  walk.undecided = connSubtract(walk.undecided, selected);
  return connIsEmpty(walk.undecided);
}

export function finishWalk(walk: ChainWalk, isolated: boolean): ConnSet {
  return isolated ? walk.allowed : connUnion(walk.allowed, walk.undecided);
}

/** Everything the chain lets through for a peer that the given rules (of the chain, in order) describe. */
export function walkChain(
  compiled: CompiledRuleset,
  indices: readonly number[] | undefined,
  isolated: boolean,
  matches: (rule: CompiledRule) => boolean,
): ConnSet {
  const walk = startWalk();
  if (indices) {
    for (const i of indices) {
      const rule = compiled.rules[i];
      if (matches(rule) && stepWalk(walk, rule)) break;
    }
  }
  return finishWalk(walk, isolated);
}

function networkSet(network: string): IpSet {
  const iv = cidrInterval(network);
  return iv ? [iv] : [];
}
