/**
 * The firewall of one node as OpenFlow flows with connection tracking, rule for rule what the
 * nftables backend puts in its `inet flowtap` table, under the same names (chain and comment):
 *
 * - table 21 (chain `forward`): the node's own addresses dropped (nft's input chain: in every
 *   mode and connection state), quarantine (before conntrack's verdict, so established
 *   connections end too), then source restrictions, then `ct_state=+est` / `+rel` accepted and
 *   `+inv` dropped; a new connection goes on to 22.
 * - table 22 (chains `eg_<instance>`, by input port): the instance's egress rules in order
 *   (first match wins: a rule's priority falls with its place), then its default; what did not
 *   come from an instance (the gateway port) goes on to 23.
 * - table 23 (chains `in_<instance>`, by destination address): the ingress rules, each accepted
 *   connection committed to conntrack (`ct(commit)`); a packet from an instance to no local
 *   instance is committed and routed (the remote node checks its ingress); anything else is the
 *   default deny.
 *
 * OpenFlow has no negated match: a peer "outside the network" or "this block except those"
 * becomes the blocks that are left (prefixes.ts).
 */
import { diag, type Diagnostic } from '../../diagnostics/index.js';
import type { FirewallRule, PortRange, Ruleset } from '../../firewall/index.js';
import { portToMasks } from '../../flowtap/index.js';
import { cidrSize, formatIpv4, parseCidr, parseIpv4Cidr } from '../../net/index.js';
import { UNDERLAY_NETWORK, type Addressing, type App } from '../../model/index.js';
import type { RuleRef, SourceRestriction } from '../backend.js';
import { nftIdent, restrictComment, restrictionRules, ruleComment } from '../nft/index.js';
import type { OvsFlow, OvsObject } from './flows.js';
import { OVERLAY_NETWORK, overlayIp } from '../node-interfaces.js';
import { ipv4MinusText } from './prefixes.js';

/** The broadcast address of an IPv4 block. */
function lastAddress(block: string): string {
  const c = parseIpv4Cidr(block, { bare: true, hostBits: 'clear' });
  if (!c.ok) throw new Error(`internal: ${block} is not an IPv4 block`);
  return formatIpv4((c.cidr.base + cidrSize(c.cidr.prefix) - 1) >>> 0);
}

export interface OvsFirewallInput {
  ruleset: Ruleset;
  app: App;
  addressing: Addressing;
  node: string;
  mode: 'enforce' | 'audit';
  restrictions: readonly SourceRestriction[];
  /** Instance -> its OpenFlow port number (local instances only). */
  ofports: ReadonlyMap<string, number>;
  zone: number;
  /** Tables: forward, egress, ingress, and where an accepted packet goes (routing). */
  tables: { forward: number; egress: number; ingress: number; route: number };
  /** First meter id of the rate restrictions. */
  firstMeter: number;
}

const fw = (chain: string, comment: string): RuleRef => ({ table: 'flowtap', chain, comment });
const RULE_TOP = 30000;
/** Rule priorities: the first rule of a chain highest; below them its default, then the fallbacks. */
const DEFAULT_PRIORITY = 2;
const EGRESS_CHECKED_PRIORITY = 1;

/** `udp,tp_dst=..` (one per bitwise block of each range), or bare `ip` for any protocol and port. */
function protocolMatches(protocol: FirewallRule['protocol'], ports: PortRange[] | null): string[] {
  const protos = protocol === 'any' ? (ports ? ['tcp', 'udp'] : ['ip']) : [protocol];
  if (!ports) return protos;
  const out: string[] = [];
  for (const p of protos)
    for (const r of ports)
      for (const b of portToMasks({ value: 0, mask: 0, range: { from: r.from, to: r.to } }))
        out.push(
          b.mask === 0
            ? p
            : b.mask === 0xffff
              ? `${p},tp_dst=${b.value}`
              : `${p},tp_dst=0x${b.value.toString(16)}/0x${b.mask.toString(16)}`,
        );
  return out;
}

/** The peer's addresses as blocks for `field` (nw_src/nw_dst); [] matches nothing, [''] everything. */
function peerBlocks(r: FirewallRule, network: string, ipOf: (i: string) => string | undefined, app: App): string[] | Diagnostic {
  const p = r.peer;
  switch (p.kind) {
    case 'any':
      return [''];
    case 'external': {
      const left = ipv4MinusText('0.0.0.0/0', [network]);
      return left ?? diag('E_DATAPLANE_NODE', `rule ${r.id}: the application network ${network} is not an IPv4 block`);
    }
    case 'service':
      return app.instances
        .filter((i) => i.service === p.service)
        .map((i) => ipOf(i.name))
        .filter((x): x is string => !!x)
        .sort();
    case 'instances':
      return p.instances
        .map(ipOf)
        .filter((x): x is string => !!x)
        .sort();
    case 'cidr': {
      const left = ipv4MinusText(p.cidr, p.except);
      return left ?? diag('E_BACKEND_UNSUPPORTED', `rule ${r.id}: block ${p.cidr} except ${p.except.join(', ')} is not IPv4`);
    }
  }
}

export function ovsFirewall(input: OvsFirewallInput): { flows: OvsFlow[]; meters: OvsObject[]; errors: Diagnostic[] } {
  const { ruleset, addressing, node, ofports, tables: t } = input;
  const errors: Diagnostic[] = [];
  const flows: OvsFlow[] = [];
  const meters: OvsObject[] = [];
  const audit = input.mode === 'audit';
  const drop = (accept: string) => (audit ? accept : 'drop');
  const commit = `ct(commit,zone=${input.zone}),resubmit(,${t.route})`;
  const add = (table: number, priority: number, match: string, actions: string, rule?: RuleRef) =>
    flows.push({ table, priority, match, actions, ...(rule ? { rule } : {}) });
  const local = Object.values(addressing.instances)
    .filter((a) => a.node === node && ofports.has(a.instance))
    .sort((a, b) => (a.instance < b.instance ? -1 : 1));
  const ipOf = (i: string) => addressing.instances[i]?.ip;

  // Quarantine: by input port and by destination, before conntrack's verdict.
  const quarantine = fw('quarantine', 'quarantine');
  for (const a of local.filter((x) => ruleset.quarantined?.includes(x.instance))) {
    add(t.forward, 60000, `in_port=${ofports.get(a.instance)}`, drop(`resubmit(,${t.egress})`), quarantine);
    add(t.forward, 60000, `ip,nw_dst=${a.ip}`, drop(`resubmit(,${t.egress})`), quarantine);
  }

  // Source restrictions: nft's checks decide what is valid (the same errors), the flows are ours.
  const checked = restrictionRules(input.restrictions, ruleset.network, input.mode);
  if (checked.errors.length) errors.push(...checked.errors);
  else
    input.restrictions.forEach((r, i) => {
      const src = parseCidr(String(r.source), { bare: true });
      if (!src.ok) return;
      const v4 = src.cidr.version === 4;
      const proto = r.port !== undefined ? (r.protocol ?? 'tcp') : r.protocol;
      const l4 = proto ? (v4 ? proto : `${proto}6`) : v4 ? 'ip' : 'ipv6';
      const match = `${l4},${v4 ? 'nw_src' : 'ipv6_src'}=${r.source}${r.port !== undefined ? `,tp_dst=${r.port}` : ''}`;
      const priority = 50000 - i;
      if (!r.rate) {
        add(t.forward, priority, match, drop(`resubmit(,${t.egress})`), fw('forward', restrictComment(r.id)));
        return;
      }
      // New connections over the rate: the meter's band drops them and counts them as the rule's counter.
      const id = input.firstMeter + meters.length;
      meters.push({
        id,
        text: `meter=${id},pktps,burst,band=type=drop,rate=${r.rate.perSecond},burst_size=${r.rate.burst}`,
        rule: fw('forward', restrictComment(r.id)),
      });
      add(
        t.forward,
        priority,
        `ct_state=+new+trk,${match}`,
        `meter:${id},resubmit(,${t.egress})`,
        fw('forward', `${restrictComment(r.id)} metered`),
      );
    });

  if (ruleset.base.established) {
    add(t.forward, 40000, 'ct_state=+est+trk,ip', `resubmit(,${t.route})`, fw('forward', 'return traffic'));
    add(t.forward, 40000, 'ct_state=+rel+trk,ip', `resubmit(,${t.route})`, fw('forward', 'return traffic'));
    // Dropped in audit mode too (nft logs it and drops).
    add(t.forward, 40000, 'ct_state=+inv+trk,ip', 'drop', fw('forward', 'invalid state'));
  }
  add(t.forward, 0, '', `resubmit(,${t.egress})`);

  if (ruleset.base.dns)
    errors.push(
      diag(
        'E_BACKEND_UNSUPPORTED',
        `the ruleset lets instances reach the cluster resolver ${ruleset.base.dns.ip}:${ruleset.base.dns.port} on the node: the ovs backend has no path to the node yet`,
      ),
    );
  // Instances must not reach the node (it hosts the control plane): any address its kernel
  // takes as its own, broadcasts on its links included (the nftables path's input chain).
  const nodeAddr = addressing.nodes[node];
  const own = nodeAddr ? [nodeAddr.gateway, nodeAddr.ip, '255.255.255.255', lastAddress(UNDERLAY_NETWORK)] : [];
  if (nodeAddr && input.app.nodes.length > 1) own.push(overlayIp(nodeAddr.index), lastAddress(OVERLAY_NETWORK));
  if (local.length)
    // Not an audit rule, and before conntrack's verdict: nft's input chain holds it in every
    // mode and for every connection state. Only instances send into the bridge to these addresses.
    for (const ip of own) add(t.forward, 61000, `ip,nw_dst=${ip}`, 'drop', fw('input', 'instances cannot reach the node'));

  const rulesOf = new Map<string, FirewallRule[]>();
  for (const r of ruleset.rules) {
    const key = `${r.direction}|${r.target}`;
    rulesOf.set(key, [...(rulesOf.get(key) ?? []), r]);
  }
  const isolatedIn = new Set(ruleset.isolated.ingress);
  const isolatedEg = new Set(ruleset.isolated.egress);
  for (const a of local) {
    const port = ofports.get(a.instance)!;
    for (const direction of ['egress', 'ingress'] as const) {
      const chain = `${direction === 'egress' ? 'eg' : 'in'}_${nftIdent(a.instance)}`;
      const table = direction === 'egress' ? t.egress : t.ingress;
      const allow = direction === 'egress' ? `resubmit(,${t.ingress})` : commit;
      const own = direction === 'egress' ? `in_port=${port}` : `nw_dst=${a.ip}`;
      const peerField = direction === 'egress' ? 'nw_dst' : 'nw_src';
      const rules = rulesOf.get(`${direction}|${a.instance}`) ?? [];
      // Priorities fall with a rule's place and must stay above the chain's default.
      if (rules.length > RULE_TOP - DEFAULT_PRIORITY - 1) {
        errors.push(
          diag(
            'E_BACKEND_LIMIT',
            `chain ${chain} has ${rules.length} rules; the ovs backend orders at most ${RULE_TOP - DEFAULT_PRIORITY - 1} per chain`,
          ),
        );
        continue;
      }
      rules.forEach((r, i) => {
        const blocks = peerBlocks(r, ruleset.network, ipOf, input.app);
        if (!Array.isArray(blocks)) {
          errors.push(blocks);
          return;
        }
        const ref = fw(chain, ruleComment(r));
        const actions = r.action === 'accept' ? allow : drop(allow);
        for (const proto of protocolMatches(r.protocol, r.ports))
          for (const b of blocks) add(table, RULE_TOP - i, `${proto},${own}${b ? `,${peerField}=${b}` : ''}`, actions, ref);
      });
      const isolated = direction === 'egress' ? isolatedEg.has(a.instance) : isolatedIn.has(a.instance);
      add(table, DEFAULT_PRIORITY, `ip,${own}`, isolated ? drop(allow) : allow, fw(chain, `${chain} default`));
    }
    add(t.ingress, EGRESS_CHECKED_PRIORITY, `ip,in_port=${port}`, commit, fw('forward', 'egress checked; remote node checks ingress'));
  }
  add(t.egress, 0, '', `resubmit(,${t.ingress})`);
  // ct() needs an IP match: in audit mode the default's accept commits.
  add(t.ingress, 0, audit ? 'ip' : '', drop(commit), fw('forward', 'default deny'));
  return { flows, meters, errors };
}
