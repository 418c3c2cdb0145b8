/**
 * Renders an abstract firewall ruleset to nftables for one node (inet family).
 *
 * Nodes route between their instances' ports (each instance hangs off a veth whose node
 * side is named in the addressing), so every instance-to-instance packet crosses the
 * node's forward hook, where neither the instance nor its root user can touch the rules.
 * A packet from local instance A to B passes A's egress chain (allowed rules `return`)
 * and then B's ingress chain (allowed rules `accept`). Packets leaving towards another
 * node are accepted after the egress check: the destination node checks ingress.
 * ARP is never forwarded by a routed node (the node answers by proxy ARP), so the
 * `arp` base rule needs no forward rule here.
 *
 * Inline monitors (`inlineMonitors`, see nft-inline.ts): a frame diverted on its way *to* an
 * instance had this whole chain before the diversion and goes back out of the instance's port
 * without entering it again. A frame diverted as it left instance A (its port's ingress hook,
 * before any of this) comes back on the monitor's return port; here it gets exactly what it
 * skipped: A's egress chain, chosen by the frame's redirect tag (A's forged source address
 * could not choose another instance's chain), then the destination's ingress chain or the
 * uplink rule as usual; A's quarantine drops it too.
 */
import { diag, fail, ok, type Result } from '../../diagnostics/index.js';
import type { Addressing, App } from '../../model/index.js';
import type { FirewallRule, Peer, PortRange, Ruleset } from '../../firewall/index.js';
import { nftIdent, nftSet, nftString } from './names.js';
import { chainOf, formatTable, type NftChain, type NftSetDef, type NftTable } from './table.js';
import { isMac, redirectTag, TAG_KIND_MASK, type LocalMonitorPorts } from './inline.js';
import { restrictionRules } from './restrict.js';
import type { SourceRestriction } from '../backend.js';

export interface NftFirewallOptions {
  /** `audit` counts and logs what would be dropped, and lets it through. */
  mode: 'enforce' | 'audit';
  /** Interfaces towards other nodes (VXLAN) and the outside world. */
  uplinks: string[];
  /** Table name; one table owned by flowtap. */
  table?: string;
  /** Monitors on this node that pass redirected frames back (inline). */
  inlineMonitors?: readonly LocalMonitorPorts[];
  /** Sources outside the application dropped or limited first in the forward chain (restrict.ts). */
  restrictions?: readonly SourceRestriction[];
}

export const FIREWALL_TABLE = 'flowtap';
/** The chain the forward chain jumps to first (after restrictions): the quarantined ports' drops. */
export const QUARANTINE_CHAIN = 'quarantine';

/** The firewall of one node as text (see nftFirewallTable). */
export function renderNftFirewall(
  ruleset: Ruleset,
  app: App,
  addressing: Addressing,
  node: string,
  opts: NftFirewallOptions,
): Result<string> {
  const t = nftFirewallTable(ruleset, app, addressing, node, opts);
  return t.ok ? ok(formatTable(t.value)) : t;
}

/** The `inet` table of one node: fails for a node the application does not have, or a restriction it cannot render. */
export function nftFirewallTable(
  ruleset: Ruleset,
  app: App,
  addressing: Addressing,
  node: string,
  opts: NftFirewallOptions,
): Result<NftTable> {
  if (!app.nodes.some((n) => n.name === node) || !Object.hasOwn(addressing.nodes, node))
    return fail(
      diag(
        'E_DATAPLANE_NODE',
        `node ${JSON.stringify(node)} is not a node of ${app.tenant}/${app.name} (have ${app.nodes.map((n) => n.name).join(', ')})`,
      ),
    );
  const table = opts.table ?? FIREWALL_TABLE;
  const audit = opts.mode === 'audit';
  const local = Object.values(addressing.instances)
    .filter((a) => a.node === node)
    .sort((a, b) => (a.instance < b.instance ? -1 : 1));
  const localNames = new Set(local.map((a) => a.instance));
  const isolatedIn = new Set(ruleset.isolated.ingress);
  const isolatedEg = new Set(ruleset.isolated.egress);

  const svcSets = new Map<string, string[]>();
  const instanceIp = (name: string) => addressing.instances[name]?.ip;
  for (const r of ruleset.rules) if (r.peer.kind === 'service') svcSets.set(r.peer.service, []);
  for (const inst of app.instances) {
    const ip = instanceIp(inst.name);
    if (ip) svcSets.get(inst.service)?.push(ip);
  }
  const sets: NftSetDef[] = [...svcSets]
    .sort()
    .map(([svc, ips]) => ({ name: `svc_${nftIdent(svc)}`, spec: ['type ipv4_addr', 'flags interval'], elements: ips.sort() }));
  const chains: NftChain[] = [];

  const ports = local.map((a) => `"${a.port}"`);
  const returns = (opts.inlineMonitors ?? []).map((m) => `"${m.returnPort}"`);
  const fromMonitors = (opts.inlineMonitors ?? []).flatMap((m) => [`"${m.returnPort}"`, `"${m.port}"`]);
  // The tag a frame sent by the instance carries back from its monitor (failMode bit masked).
  const sentTag = (a: { mac: string }) => (isMac(a.mac) ? redirectTag(a.mac, 'sent', 'closed') : null);
  const tagged = returns.length ? local.filter((a) => sentTag(a) !== null) : [];
  // First of all, so they also hold against what the firewall lets in (see restrict.ts).
  const restricted = restrictionRules(opts.restrictions ?? [], ruleset.network, opts.mode);
  if (restricted.errors.length) return fail(restricted.errors);
  const fwd: string[] = [...restricted.rules];
  // Quarantine has a chain of its own, rewritten whole when it changes: isolating or releasing an
  // instance touches no other chain, so it needs no rule handles (reading them back costs a listing
  // of the ruleset, the largest part of a reaction at 1,000 instances).
  const quarantined: string[] = [];
  const cut = local.filter((a) => ruleset.quarantined?.includes(a.instance)).map((a) => `"${a.port}"`);
  if (cut.length) {
    // Before conntrack: quarantine also ends connections that were already established.
    quarantined.push(`iifname ${nftSet(cut)} counter ${audit ? 'log prefix "flowtap-audit quarantine " ' : ''}drop comment "quarantine"`);
    quarantined.push(`oifname ${nftSet(cut)} counter ${audit ? 'log prefix "flowtap-audit quarantine " ' : ''}drop comment "quarantine"`);
    const cutTags = tagged.filter((a) => ruleset.quarantined?.includes(a.instance)).map((a) => sentTag(a)!);
    if (cutTags.length)
      quarantined.push(
        `iifname ${nftSet(returns)} ether saddr & ${TAG_KIND_MASK} ${nftSet(cutTags)} counter ${audit ? 'log prefix "flowtap-audit quarantine " ' : ''}drop comment "quarantine (passed back by a monitor)"`,
      );
  }
  if (local.length) fwd.push(`jump ${QUARANTINE_CHAIN} comment "quarantined instances"`);
  if (ruleset.base.established) {
    fwd.push('ct state established,related counter accept comment "return traffic"');
    fwd.push(`ct state invalid counter ${audit ? 'log prefix "flowtap-audit invalid " ' : ''}drop comment "invalid state"`);
  }
  if (local.length) {
    fwd.push(`iifname vmap { ${local.map((a) => `"${a.port}" : jump eg_${nftIdent(a.instance)}`).join(', ')} }`);
    if (tagged.length)
      fwd.push(
        `iifname ${nftSet(returns)} ether saddr & ${TAG_KIND_MASK} vmap { ${tagged.map((a) => `${sentTag(a)} : jump eg_${nftIdent(a.instance)}`).join(', ')} }`,
      );
    fwd.push(`oifname vmap { ${local.map((a) => `"${a.port}" : jump in_${nftIdent(a.instance)}`).join(', ')} }`);
    if (opts.uplinks.length)
      fwd.push(
        `iifname ${nftSet(ports)} oifname ${nftSet(opts.uplinks.map((u) => `"${u}"`))} counter accept comment "egress checked; remote node checks ingress"`,
      );
    if (opts.uplinks.length && tagged.length)
      fwd.push(
        `iifname ${nftSet(returns)} ether saddr & ${TAG_KIND_MASK} ${nftSet(tagged.map((a) => sentTag(a)!))} oifname ${nftSet(opts.uplinks.map((u) => `"${u}"`))} counter accept comment "egress checked (passed back by a monitor); remote node checks ingress"`,
      );
  }
  fwd.push(`counter ${audit ? 'log prefix "flowtap-audit default " ' : ''}comment "default deny"`);
  chains.push(chainOf('forward', `type filter hook forward priority filter; policy ${audit ? 'accept' : 'drop'};`, fwd));
  if (local.length) chains.push(chainOf(QUARANTINE_CHAIN, undefined, quarantined));

  // Instances must not reach the node itself: it hosts the rules, taps and control plane.
  const input: string[] = [];
  if (local.length) {
    // What a monitor passes back stays what it was: an instance's packet.
    const from = [...ports, ...fromMonitors];
    if (ruleset.base.dns)
      input.push(
        `iifname ${nftSet(from)} ip daddr ${ruleset.base.dns.ip} meta l4proto { tcp, udp } th dport ${ruleset.base.dns.port} accept comment "cluster resolver"`,
      );
    input.push(`iifname ${nftSet(from)} counter drop comment "instances cannot reach the node"`);
  }
  chains.push(chainOf('input', 'type filter hook input priority filter; policy accept;', input));

  const rulesByChain = new Map<string, FirewallRule[]>();
  for (const r of ruleset.rules) {
    if (!localNames.has(r.target)) continue;
    const key = `${r.direction}|${r.target}`;
    let list = rulesByChain.get(key);
    if (!list) {
      list = [];
      rulesByChain.set(key, list);
    }
    list.push(r);
  }

  for (const a of local) {
    for (const direction of ['egress', 'ingress'] as const) {
      const chain = `${direction === 'egress' ? 'eg' : 'in'}_${nftIdent(a.instance)}`;
      const allow = direction === 'egress' ? 'return' : 'accept';
      const lines: string[] = [];
      if (direction === 'egress' && ruleset.base.dns)
        lines.push(`ip daddr ${ruleset.base.dns.ip} meta l4proto { tcp, udp } th dport ${ruleset.base.dns.port} ${allow} comment "dns"`);
      for (const r of rulesByChain.get(`${direction}|${a.instance}`) ?? []) {
        const match = [peerMatch(r.peer, direction, ruleset.network, instanceIp), portMatch(r.protocol, r.ports)].filter(Boolean).join(' ');
        const verdict = r.action === 'accept' ? allow : audit ? `log prefix ${nftString(`flowtap-audit ${r.id} `)} ${allow}` : 'drop';
        lines.push(`${match ? match + ' ' : ''}counter ${verdict} comment ${nftString(ruleComment(r))}`);
      }
      const isolated = direction === 'egress' ? isolatedEg.has(a.instance) : isolatedIn.has(a.instance);
      const dflt = !isolated ? allow : audit ? `log prefix ${nftString(`flowtap-audit ${chain} `)} ${allow}` : 'drop';
      lines.push(`counter ${dflt} comment ${nftString(`${chain} default`)}`);
      chains.push(chainOf(chain, undefined, lines));
    }
  }
  return ok({ family: 'inet', name: table, sets, chains });
}

/** The comment a firewall rule carries in nft (its id, requirement and reason): counters map back by it. */
export function ruleComment(r: FirewallRule): string {
  return `${r.id}${r.requirement !== undefined ? ` req${r.requirement}` : ''}${r.comment ? ` ${r.comment}` : ''}`.slice(0, 120);
}

function peerMatch(peer: Peer, direction: 'ingress' | 'egress', network: string, ipOf: (instance: string) => string | undefined): string {
  const field = direction === 'ingress' ? 'ip saddr' : 'ip daddr';
  switch (peer.kind) {
    case 'any':
      return '';
    case 'external':
      return `${field} != ${network}`;
    case 'service':
      return `${field} @svc_${nftIdent(peer.service)}`;
    case 'instances': {
      const ips = peer.instances.map(ipOf).filter((x): x is string => !!x);
      // An empty selector matches nothing; 0.0.0.0/32 is never a real source or destination.
      return `${field} ${ips.length ? nftSet(ips) : '0.0.0.0/32'}`;
    }
    case 'cidr':
      return `${field} ${peer.cidr}${peer.except.length ? ` ${field} != ${nftSet(peer.except)}` : ''}`;
  }
}

function portMatch(protocol: FirewallRule['protocol'], ports: PortRange[] | null): string {
  const list = ports?.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`));
  if (protocol === 'any') return list ? `meta l4proto { tcp, udp } th dport ${nftSet(list)}` : '';
  return list ? `${protocol} dport ${nftSet(list)}` : `meta l4proto ${protocol}`;
}
