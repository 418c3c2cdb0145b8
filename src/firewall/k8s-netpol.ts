/**
 * Kubernetes NetworkPolicies as an abstract ruleset, with Kubernetes' semantics:
 * - a pod is isolated for ingress (egress) iff some policy of its namespace selects it
 *   and lists Ingress (Egress) in its policyTypes; an isolated pod allows the union of
 *   the rules of every policy that selects it, so every emitted rule is an accept and
 *   their order does not matter; pods no policy selects stay open (chain default accept);
 * - a missing or empty `from`/`to` means every peer, missing or empty `ports` every port;
 * - named ports resolve against the destination pod's container ports (of the same
 *   protocol): the selected pod for ingress, each peer pod for egress, so egress rules with
 *   named ports are split per group of peer workloads that resolve them alike. An address
 *   outside the cluster has no named ports.
 *
 * ipBlock: Kubernetes leaves it undefined whether an ipBlock matches pod addresses (pod
 * IPs are ephemeral; policies use ipBlock for cluster-external addresses). Like network-
 * policy analyzers, by default an ipBlock selects only addresses outside the application
 * network: a block containing the network gets the network as an extra `except`, and a
 * block inside it matches nothing. `ipBlockMatchesPods: true` keeps blocks as written
 * (then pods whose planned address falls in a block match it, as with some CNIs).
 */
import type { K8sImport, K8sIpBlock, K8sLabelSelector, K8sPolicyPeer, K8sPolicyPort, K8sWorkload } from '../model/index.js';
import { ALL_CONNS, NO_CONNS, connIsAll, connIsEmpty, connOf, connUnion, type ConnSet } from './conn-set.js';
import { formatCidr } from '../net/index.js';
import { cidrInterval, type IpInterval } from './ip-range.js';
import { selectorMatches } from './k8s-selector.js';
import { ALL_PORTS, isAllPorts, portSetOf } from './port-set.js';
import type { Direction, FirewallRule, Peer, Ruleset } from './types.js';

export interface NetpolConversionOptions {
  ipBlockMatchesPods?: boolean;
}

interface ResolvedPeers {
  /** The rule names no peers: everything, inside and outside. */
  all: boolean;
  workloads: K8sWorkload[];
  blocks: Peer[];
}

export function netpolsToRuleset(imp: K8sImport, opts: NetpolConversionOptions = {}): Ruleset {
  const instancesOf = new Map<string, string[]>();
  for (const inst of imp.app.instances) {
    let list = instancesOf.get(inst.service);
    if (!list) {
      list = [];
      instancesOf.set(inst.service, list);
    }
    list.push(inst.name);
  }
  const byNamespace = new Map<string, K8sWorkload[]>();
  for (const w of imp.workloads) {
    let list = byNamespace.get(w.namespace);
    if (!list) {
      list = [];
      byNamespace.set(w.namespace, list);
    }
    list.push(w);
  }
  const network = cidrInterval(imp.app.network);

  const isolated = { ingress: new Set<string>(), egress: new Set<string>() };
  const rules: FirewallRule[] = [];
  const emit = (direction: Direction, w: K8sWorkload, peer: Peer, conns: ConnSet, comment: string) => {
    for (const target of instancesOf.get(w.id) ?? []) {
      for (const [protocol, ports] of protocolsOf(conns)) {
        rules.push({ id: `r${rules.length + 1}`, direction, target, peer, protocol, ports, action: 'accept', comment });
      }
    }
  };

  const resolvePeers = (peers: readonly K8sPolicyPeer[], namespace: string): ResolvedPeers => {
    if (peers.length === 0) return { all: true, workloads: [], blocks: [] };
    const workloads = new Set<K8sWorkload>();
    const blocks: Peer[] = [];
    for (const p of peers) {
      if (p.ipBlock) {
        const peer = blockPeer(p.ipBlock, network, opts.ipBlockMatchesPods === true);
        if (peer) blocks.push(peer);
        continue;
      }
      const namespaces = p.namespaceSelector ? matchingNamespaces(imp, p.namespaceSelector) : [namespace];
      for (const ns of namespaces) {
        for (const w of byNamespace.get(ns) ?? []) if (!p.podSelector || selectorMatches(p.podSelector, w.labels)) workloads.add(w);
      }
    }
    return { all: false, workloads: [...workloads].sort(byId), blocks };
  };
  const instancesPeer = (ws: readonly K8sWorkload[]): Peer | null => {
    const instances = ws.flatMap((w) => instancesOf.get(w.id) ?? []);
    return instances.length ? { kind: 'instances', instances } : null;
  };

  for (const policy of imp.policies) {
    const selected = (byNamespace.get(policy.namespace) ?? []).filter((w) => selectorMatches(policy.podSelector, w.labels));
    if (selected.length === 0) continue;
    const name = `${policy.namespace}/${policy.name}`;

    if (policy.policyTypes.includes('Ingress')) {
      for (const w of selected) for (const inst of instancesOf.get(w.id) ?? []) isolated.ingress.add(inst);
      policy.ingress.forEach((rule, k) => {
        const comment = `${name} ingress[${k}]`;
        const peers = resolvePeers(rule.peers, policy.namespace);
        const peerList: Peer[] = peers.all
          ? [{ kind: 'any' }]
          : [instancesPeer(peers.workloads), ...peers.blocks].filter((p): p is Peer => p !== null);
        for (const w of selected) {
          const conns = portsConn(rule.ports, w);
          if (connIsEmpty(conns)) continue;
          for (const peer of peerList) emit('ingress', w, peer, conns, comment);
        }
      });
    }

    if (policy.policyTypes.includes('Egress')) {
      for (const w of selected) for (const inst of instancesOf.get(w.id) ?? []) isolated.egress.add(inst);
      policy.egress.forEach((rule, k) => {
        const comment = `${name} egress[${k}]`;
        const peers = resolvePeers(rule.peers, policy.namespace);
        const named = rule.ports.some((p) => typeof p.port === 'string');
        const peerList: Array<{ peer: Peer; conns: ConnSet }> = [];
        if (!named) {
          const conns = portsConn(rule.ports, null);
          if (peers.all) peerList.push({ peer: { kind: 'any' }, conns });
          else {
            const inst = instancesPeer(peers.workloads);
            if (inst) peerList.push({ peer: inst, conns });
            for (const b of peers.blocks) peerList.push({ peer: b, conns });
          }
        } else {
          // Each destination workload resolves the names against its own ports.
          const dsts = peers.all ? [...imp.workloads].sort(byId) : peers.workloads;
          const groups = new Map<string, { conns: ConnSet; workloads: K8sWorkload[] }>();
          for (const d of dsts) {
            const conns = portsConn(rule.ports, d);
            if (connIsEmpty(conns)) continue;
            const key = JSON.stringify(conns);
            const g = groups.get(key);
            if (g) g.workloads.push(d);
            else groups.set(key, { conns, workloads: [d] });
          }
          for (const g of groups.values()) {
            const inst = instancesPeer(g.workloads);
            if (inst) peerList.push({ peer: inst, conns: g.conns });
          }
          const outside = portsConn(rule.ports, null);
          if (peers.all) peerList.push({ peer: { kind: 'external' }, conns: outside });
          else for (const b of peers.blocks) peerList.push({ peer: b, conns: outside });
        }
        for (const w of selected) {
          for (const { peer, conns } of peerList) if (!connIsEmpty(conns)) emit('egress', w, peer, conns, comment);
        }
      });
    }
  }

  const order = imp.app.instances.map((i) => i.name);
  return {
    tenant: imp.app.tenant,
    app: imp.app.name,
    network: imp.app.network,
    isolated: { ingress: order.filter((i) => isolated.ingress.has(i)), egress: order.filter((i) => isolated.egress.has(i)) },
    rules,
    base: { arp: true, established: true },
  };
}

function matchingNamespaces(imp: K8sImport, selector: K8sLabelSelector): string[] {
  return imp.namespaces.filter((ns) => selectorMatches(selector, ns.labels)).map((ns) => ns.name);
}

/**
 * What a rule's ports allow toward `dst` (null: an address outside the cluster, which
 * has no named ports). SCTP entries allow nothing here: the model has TCP and UDP only.
 */
function portsConn(ports: readonly K8sPolicyPort[], dst: K8sWorkload | null): ConnSet {
  if (ports.length === 0) return ALL_CONNS;
  let out = NO_CONNS;
  for (const p of ports) {
    if (p.protocol === 'SCTP') continue;
    const protocol = p.protocol === 'TCP' ? 'tcp' : 'udp';
    if (p.port === undefined) {
      out = connUnion(out, connOf(protocol, ALL_PORTS));
    } else if (typeof p.port === 'number') {
      out = connUnion(out, connOf(protocol, portSetOf([{ from: p.port, to: p.endPort ?? p.port }])));
    } else {
      const match = dst?.ports.find((cp) => cp.name === p.port && cp.protocol === p.protocol);
      if (match) out = connUnion(out, connOf(protocol, portSetOf([{ from: match.port, to: match.port }])));
    }
  }
  return out;
}

function blockPeer(block: K8sIpBlock, network: IpInterval | null, matchesPods: boolean): Peer | null {
  const peer: Peer = { kind: 'cidr', cidr: block.cidr, except: [...block.except] };
  if (matchesPods || !network) return peer;
  const iv = cidrInterval(block.cidr);
  if (!iv) return peer;
  if (iv.lo >= network.lo && iv.hi <= network.hi) return null; // only pod addresses: selects nothing outside
  if (iv.lo <= network.lo && iv.hi >= network.hi) {
    const covered = block.except.some((e) => {
      const ex = cidrInterval(e);
      return ex !== null && ex.lo <= network.lo && ex.hi >= network.hi;
    });
    if (!covered) peer.except.push(cidrText(network));
  }
  return peer;
}

function cidrText(iv: IpInterval): string {
  const size = iv.hi - iv.lo + 1;
  return formatCidr({ base: iv.lo, prefix: 32 - Math.round(Math.log2(size)) });
}

/** Rule (protocol, ports) pairs that together select exactly `conns`. */
function protocolsOf(conns: ConnSet): Array<['tcp' | 'udp' | 'any', FirewallRule['ports']]> {
  if (connIsAll(conns)) return [['any', null]];
  const out: Array<['tcp' | 'udp' | 'any', FirewallRule['ports']]> = [];
  if (conns.tcp.length) out.push(['tcp', isAllPorts(conns.tcp) ? null : conns.tcp.map((r) => ({ ...r }))]);
  if (conns.udp.length) out.push(['udp', isAllPorts(conns.udp) ? null : conns.udp.map((r) => ({ ...r }))]);
  return out;
}

function byId(a: K8sWorkload, b: K8sWorkload): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
