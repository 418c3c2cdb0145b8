/**
 * The three tiers of Kubernetes policy, compiled per pod class and direction, and the
 * verdict for one (subject, peer) pair. For traffic leaving a pod (egress) the subject is
 * the source; for traffic arriving (ingress) it is the destination; a connection needs both.
 *
 * Per connection, in order:
 * 1. AdminNetworkPolicies whose subject selects the pod and that have rules for the
 *    direction, by priority (lower number first); the first rule whose peers and ports
 *    match decides: Allow and Deny are final, Pass skips the remaining admin policies;
 * 2. NetworkPolicies: if any selects the pod for the direction (policyTypes), the union of
 *    their rules is what is allowed and the rest is denied;
 * 3. otherwise the BaselineAdminNetworkPolicy, first matching rule (Allow or Deny);
 * 4. otherwise allowed.
 *
 * NetworkPolicy details: a missing or empty `from`/`to` is every peer (pods, outside
 * addresses and the ingress controller), missing `ports` every port. Named ports resolve
 * against the destination pod (its container port of that name and protocol), so an egress
 * rule's connections can differ per peer. ipBlocks and admin `networks` select outside
 * addresses only: pod addresses are not in the manifests (and are ephemeral), as in
 * network-policy analyzers.
 */
import type {
  K8sAdminPolicy,
  K8sAdminPort,
  K8sAdminRule,
  K8sImport,
  K8sIpBlock,
  K8sNetworkPolicy,
  K8sPolicyPeer,
  K8sPolicyPort,
  K8sProtocol,
} from '../../model/index.js';
import { ALL_CONNS, NO_CONNS, connIntersect, connIsEmpty, connOf, connSubtract, connUnion, type ConnSet } from '../conn-set.js';
import { cidrSet, ipSetContains } from '../ip-range.js';
import { ALL_PORTS, portSetOf } from '../port-set.js';
import { Bitset } from './bitset.js';
import type { OutsideRange, PodClass } from './endpoints.js';
import type { SelectorIndex } from './selector-index.js';

/** Endpoints a rule matches; `all` spares materialising "every endpoint". */
export interface PeerSet {
  readonly all: boolean;
  readonly set: Bitset;
}

interface Contribution {
  readonly peers: PeerSet;
  readonly conn: ConnSet;
}

interface AdminRule {
  readonly action: K8sAdminRule['action'];
  readonly peers: PeerSet;
  readonly ports: readonly K8sAdminPort[] | null;
  /** The rule's connections when they do not depend on the destination (no named port). */
  readonly fixed: ConnSet | null;
}

/** One direction (egress or ingress) of every class. */
export interface DirectionTiers {
  /** Some NetworkPolicy selects the class for this direction. */
  readonly isolated: Uint8Array;
  readonly contributions: Contribution[][];
  /** Rules of the admin policies that apply, in evaluation order; null when none. */
  readonly admin: Array<readonly AdminRule[] | null>;
  readonly baseline: Array<readonly AdminRule[] | null>;
}

export interface PolicyTiers {
  egress: DirectionTiers;
  ingress: DirectionTiers;
}

export interface TierContext {
  classes: readonly PodClass[];
  outside: readonly OutsideRange[];
  /** Classes, then outside ranges. */
  size: number;
  index: SelectorIndex;
}

const ALL_PEERS: PeerSet = { all: true, set: new Bitset(0) };

/** Blocks (cidr and except) of the policies that select some pod: they cut the outside ranges. */
export function policyBlocks(imp: K8sImport, index: SelectorIndex): string[] {
  const out: string[] = [];
  for (const p of imp.policies) {
    if (index.pods(p.namespace, p.podSelector).isEmpty()) continue;
    for (const rule of [...p.ingress, ...p.egress])
      for (const peer of rule.peers) if (peer.ipBlock) out.push(peer.ipBlock.cidr, ...peer.ipBlock.except);
  }
  for (const p of [...(imp.adminPolicies ?? []), ...(imp.baselinePolicy ? [imp.baselinePolicy] : [])]) {
    if (subjectOf(p, index).isEmpty()) continue;
    for (const rule of p.egress) for (const peer of rule.peers) if (peer.networks) out.push(...peer.networks);
  }
  return out;
}

export function compileTiers(imp: K8sImport, ctx: TierContext): PolicyTiers {
  const tiers: PolicyTiers = { egress: emptyDirection(ctx.classes.length), ingress: emptyDirection(ctx.classes.length) };
  const blocks = new Map<string, Bitset>();
  const peerSetOf = (peers: readonly K8sPolicyPeer[], namespace: string): PeerSet => {
    if (peers.length === 0) return ALL_PEERS;
    const set = new Bitset(ctx.size);
    for (const p of peers) {
      if (p.ipBlock) set.or(blockRanges(p.ipBlock, ctx, blocks));
      else if (p.namespaceSelector) set.or(ctx.index.podsInNamespaces(p.namespaceSelector, p.podSelector));
      else set.or(ctx.index.pods(namespace, p.podSelector));
    }
    return { all: false, set };
  };
  for (const policy of imp.policies) compilePolicy(policy, tiers, ctx, peerSetOf);
  compileAdmin(imp, tiers, ctx);
  return tiers;
}

function emptyDirection(n: number): DirectionTiers {
  return {
    isolated: new Uint8Array(n),
    contributions: Array.from({ length: n }, () => []),
    admin: new Array(n).fill(null),
    baseline: new Array(n).fill(null),
  };
}

function compilePolicy(
  policy: K8sNetworkPolicy,
  tiers: PolicyTiers,
  ctx: TierContext,
  peerSetOf: (peers: readonly K8sPolicyPeer[], namespace: string) => PeerSet,
): void {
  const selected = ctx.index.pods(policy.namespace, policy.podSelector).toArray();
  if (selected.length === 0) return;
  if (policy.policyTypes.includes('Ingress')) {
    const t = tiers.ingress;
    for (const x of selected) t.isolated[x] = 1;
    for (const rule of policy.ingress) {
      const peers = peerSetOf(rule.peers, policy.namespace);
      const fixed = hasNamedPort(rule.ports) ? null : policyPortsConn(rule.ports, null);
      for (const x of selected) {
        // Ingress named ports name the selected (destination) pod's ports.
        const conn = fixed ?? policyPortsConn(rule.ports, ctx.classes[x]);
        if (!connIsEmpty(conn)) t.contributions[x].push({ peers, conn });
      }
    }
  }
  if (policy.policyTypes.includes('Egress')) {
    const t = tiers.egress;
    for (const x of selected) t.isolated[x] = 1;
    for (const rule of policy.egress) {
      const peers = peerSetOf(rule.peers, policy.namespace);
      const parts = hasNamedPort(rule.ports)
        ? splitByDestination(rule.ports, peers, ctx)
        : [{ peers, conn: policyPortsConn(rule.ports, null) }];
      for (const part of parts) {
        if (connIsEmpty(part.conn)) continue;
        for (const x of selected) t.contributions[x].push(part);
      }
    }
  }
}

/** An egress rule with named ports allows different ports to different peers: one part per outcome. */
function splitByDestination(ports: readonly K8sPolicyPort[], peers: PeerSet, ctx: TierContext): Contribution[] {
  const groups = new Map<string, { conn: ConnSet; set: Bitset }>();
  const visit = (endpoint: number) => {
    const conn = policyPortsConn(ports, endpoint < ctx.classes.length ? ctx.classes[endpoint] : null);
    if (connIsEmpty(conn)) return;
    const key = connKey(conn);
    let g = groups.get(key);
    if (!g) {
      g = { conn, set: new Bitset(ctx.size) };
      groups.set(key, g);
    }
    g.set.add(endpoint);
  };
  if (peers.all) for (let e = 0; e < ctx.size; e++) visit(e);
  else peers.set.forEach(visit);
  return [...groups.values()].map((g) => ({ peers: { all: false, set: g.set }, conn: g.conn }));
}

function connKey(c: ConnSet): string {
  const f = (ps: ConnSet['tcp']) => ps.map((r) => `${r.from}-${r.to}`).join(',');
  return `${f(c.tcp)}|${f(c.udp)}|${f(c.sctp)}`;
}

function hasNamedPort(ports: readonly K8sPolicyPort[]): boolean {
  return ports.some((p) => typeof p.port === 'string');
}

const PROTOCOL: Record<K8sProtocol, 'tcp' | 'udp' | 'sctp'> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

/** What a NetworkPolicy rule's ports allow toward `dst` (null: an outside address, which has no named ports). */
function policyPortsConn(ports: readonly K8sPolicyPort[], dst: PodClass | null): ConnSet {
  if (ports.length === 0) return ALL_CONNS;
  let out = NO_CONNS;
  for (const p of ports) {
    const protocol = PROTOCOL[p.protocol];
    if (p.port === undefined) {
      out = connUnion(out, connOf(protocol, ALL_PORTS));
    } else if (typeof p.port === 'number') {
      out = connUnion(out, connOf(protocol, portSetOf([{ from: p.port, to: p.endPort ?? p.port }])));
    } else {
      const match = dst?.named.get(p.port);
      if (match && match.protocol === p.protocol) out = connUnion(out, connOf(protocol, portSetOf([{ from: match.port, to: match.port }])));
    }
  }
  return out;
}

/** What an admin rule's ports select toward `dst`; a named port takes the protocol of the container port it names. */
function adminPortsConn(ports: readonly K8sAdminPort[] | null, dst: PodClass | null): ConnSet {
  if (ports === null) return ALL_CONNS;
  let out = NO_CONNS;
  for (const p of ports) {
    if (p.name !== undefined) {
      const match = dst?.named.get(p.name);
      if (match) out = connUnion(out, connOf(PROTOCOL[match.protocol], portSetOf([{ from: match.port, to: match.port }])));
    } else {
      out = connUnion(out, connOf(PROTOCOL[p.protocol], portSetOf([{ from: p.port, to: p.endPort ?? p.port }])));
    }
  }
  return out;
}

function blockRanges(block: K8sIpBlock, ctx: TierContext, cache: Map<string, Bitset>): Bitset {
  const key = `${block.cidr} ${block.except.join(' ')}`;
  let hit = cache.get(key);
  if (!hit) {
    hit = new Bitset(ctx.size);
    const ips = cidrSet(block.cidr, block.except) ?? [];
    for (const r of ctx.outside) if (ipSetContains(ips, r.representative)) hit.add(r.index);
    cache.set(key, hit);
  }
  return hit;
}

function subjectOf(p: K8sAdminPolicy, index: SelectorIndex): Bitset {
  return p.subject.namespaces
    ? index.podsInNamespaces(p.subject.namespaces, undefined)
    : index.podsInNamespaces(p.subject.pods.namespaceSelector, p.subject.pods.podSelector);
}

function compileAdmin(imp: K8sImport, tiers: PolicyTiers, ctx: TierContext): void {
  const blocks = new Map<string, Bitset>();
  const compileRule = (rule: K8sAdminRule): AdminRule => {
    const set = new Bitset(ctx.size);
    for (const peer of rule.peers) {
      if (peer.namespaces) set.or(ctx.index.podsInNamespaces(peer.namespaces, undefined));
      else if (peer.pods) set.or(ctx.index.podsInNamespaces(peer.pods.namespaceSelector, peer.pods.podSelector));
      else for (const cidr of peer.networks) set.or(blockRanges({ cidr, except: [] }, ctx, blocks));
    }
    const named = rule.ports?.some((p) => p.name !== undefined) ?? false;
    return { action: rule.action, peers: { all: false, set }, ports: rule.ports, fixed: named ? null : adminPortsConn(rule.ports, null) };
  };
  const admin = (imp.adminPolicies ?? []).map((p) => ({
    subject: subjectOf(p, ctx.index),
    egress: p.egress.map(compileRule),
    ingress: p.ingress.map(compileRule),
  }));
  // Classes a set of admin policies applies to share one concatenated rule list.
  for (const dir of ['egress', 'ingress'] as const) {
    const shared = new Map<string, AdminRule[]>();
    for (let x = 0; x < ctx.classes.length; x++) {
      const applying = admin.filter((p) => p[dir].length > 0 && p.subject.has(x));
      if (applying.length === 0) continue;
      const key = applying.map((p) => admin.indexOf(p)).join(',');
      let rules = shared.get(key);
      if (!rules) {
        rules = applying.flatMap((p) => p[dir]);
        shared.set(key, rules);
      }
      tiers[dir].admin[x] = rules;
    }
  }
  const banp = imp.baselinePolicy;
  if (banp) {
    const subject = subjectOf(banp, ctx.index);
    const rules = { egress: banp.egress.map(compileRule), ingress: banp.ingress.map(compileRule) };
    for (const dir of ['egress', 'ingress'] as const) {
      if (rules[dir].length === 0) continue;
      subject.forEach((x) => {
        if (x < ctx.classes.length) tiers[dir].baseline[x] = rules[dir];
      });
    }
  }
}

/**
 * What the tiers of `subject` (a class) let through toward or from `peer` (any endpoint),
 * in one direction. `dst` is the destination class whose named ports the rules resolve
 * against (null: an outside address).
 */
export function verdict(t: DirectionTiers, subject: number, peer: number, dst: PodClass | null): ConnSet {
  const admin = t.admin[subject];
  const baseline = t.baseline[subject];
  if (!admin && !baseline) return t.isolated[subject] ? allowedByPolicies(t.contributions[subject], peer) : ALL_CONNS;

  let allowed = NO_CONNS;
  let undecided = ALL_CONNS;
  let passed = NO_CONNS;
  if (admin) {
    for (const rule of admin) {
      if (!rule.peers.set.has(peer)) continue;
      const sel = connIntersect(undecided, rule.fixed ?? adminPortsConn(rule.ports, dst));
      if (connIsEmpty(sel)) continue;
      if (rule.action === 'Allow') allowed = connUnion(allowed, sel);
      else if (rule.action === 'Pass') passed = connUnion(passed, sel);
      undecided = connSubtract(undecided, sel);
      if (connIsEmpty(undecided)) break;
    }
  }
  let rest = connUnion(undecided, passed);
  if (connIsEmpty(rest)) return allowed;
  if (t.isolated[subject]) return connUnion(allowed, connIntersect(rest, allowedByPolicies(t.contributions[subject], peer)));
  if (baseline) {
    for (const rule of baseline) {
      if (!rule.peers.set.has(peer)) continue;
      const sel = connIntersect(rest, rule.fixed ?? adminPortsConn(rule.ports, dst));
      if (connIsEmpty(sel)) continue;
      if (rule.action === 'Allow') allowed = connUnion(allowed, sel);
      rest = connSubtract(rest, sel);
      if (connIsEmpty(rest)) break;
    }
  }
  return connUnion(allowed, rest);
}

function allowedByPolicies(contributions: readonly Contribution[], peer: number): ConnSet {
  let out = NO_CONNS;
  for (const c of contributions) if (c.peers.all || c.peers.set.has(peer)) out = connUnion(out, c.conn);
  return out;
}

/**
 * A superset of the peers `subject` can have any connection with in this direction, or
 * null for "possibly every peer". Pairs outside it need no verdict.
 */
export function candidatePeers(t: DirectionTiers, subject: number, size: number): Bitset | null {
  if (!t.isolated[subject]) return null;
  const out = new Bitset(size);
  for (const c of t.contributions[subject]) {
    if (c.peers.all) return null;
    out.or(c.peers.set);
  }
  // Only an admin Allow can open what the NetworkPolicies close (Pass leads back to them).
  for (const rule of t.admin[subject] ?? []) if (rule.action === 'Allow') out.or(rule.peers.set);
  return out;
}
