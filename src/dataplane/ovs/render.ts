/**
 * One node's whole configuration for Open vSwitch: the pipeline's own flows (ARP answered by
 * the switch, classification, conntrack, routing and delivery), the firewall (firewall.ts) and
 * the taps (taps.ts), with the meters and groups they use.
 *
 * The node routes: an instance's /32 address and its default route point at the gateway, whose
 * ARP the switch answers with the router's MAC; the switch delivers to a local instance itself
 * (rewriting the frame as a router would) and hands everything else to the node namespace's
 * kernel through the gateway port, which routes it to the outside or to another node. The
 * kernel's ARP for a local instance is answered by the switch too, so nothing is flooded.
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import type { NodeDesired } from '../backend.js';
import { ovsFirewall } from './firewall.js';
import { cookieOf, flowKey, ruleKey, type OvsFlow, type OvsObject } from './flows.js';
import { ctZone, defaultBridge, GATEWAY_OFPORT, ofportOf, routerMac, OVS_TABLES } from './layout.js';
import { ovsTaps } from './taps.js';

export interface OvsNodeConfig {
  node: string;
  bridge: string;
  flows: OvsFlow[];
  meters: OvsObject[];
  groups: OvsObject[];
  /** Every OpenFlow port number the flows and groups send to: the bridge must have them. */
  ports: number[];
}

export interface OvsRenderOptions {
  /** The bridge of a node (default ftbr<node index>). */
  bridgeOf?: (node: string, nodeIndex: number) => string;
}

const RESTRICT_FIRST_METER = 1;
const BUDGET_FIRST_METER = 10001;

const macHex = (mac: string) => `0x${mac.replace(/:/g, '')}`;

/** Answers an ARP request in place with `mac` as the owner of the address asked for. */
function arpReply(mac: string): string {
  return [
    'move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]',
    `mod_dl_src:${mac}`,
    'load:0x2->NXM_OF_ARP_OP[]',
    'move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[]',
    `load:${macHex(mac)}->NXM_NX_ARP_SHA[]`,
    'move:NXM_OF_ARP_TPA[]->NXM_NX_REG1[]',
    'move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[]',
    'move:NXM_NX_REG1[]->NXM_OF_ARP_SPA[]',
    'IN_PORT',
  ].join(',');
}

export function renderOvsNode(d: NodeDesired, opts: OvsRenderOptions = {}): Result<OvsNodeConfig> {
  const { addressing, status } = d.context;
  const nodeAddr = addressing.nodes[d.node];
  if (!d.app.nodes.some((n) => n.name === d.node) || !nodeAddr)
    return fail(
      diag(
        'E_DATAPLANE_NODE',
        `node ${JSON.stringify(d.node)} is not a node of ${d.app.tenant}/${d.app.name} (have ${d.app.nodes.map((n) => n.name).join(', ')})`,
      ),
    );
  const errors: Diagnostic[] = [];
  const isolated = Object.entries(status)
    .filter(([, s]) => s === 'isolated')
    .map(([i]) => i);
  const live = new Set(
    Object.entries(status)
      .filter(([, s]) => s !== 'terminated')
      .map(([i]) => i),
  );
  // Firewall flows follow the addressing (as nft's chains do); only taps follow the status.
  const ofports = new Map<string, number>();
  const local = Object.values(addressing.instances)
    .filter((a) => a.node === d.node)
    .sort((a, b) => (a.instance < b.instance ? -1 : 1));
  for (const a of local) {
    const p = ofportOf(a.port);
    if (p.ok) ofports.set(a.instance, p.value);
    else errors.push(...p.errors);
  }
  const monitors = Object.values(addressing.monitors).filter((m) => m.node === d.node);
  const monitorPorts: number[] = [];
  for (const m of monitors) {
    const p = ofportOf(m.port);
    if (p.ok) monitorPorts.push(p.value);
    else errors.push(...p.errors);
  }
  const router = routerMac(nodeAddr.index);
  const zone = ctZone(nodeAddr.index);

  const flows: OvsFlow[] = [];
  const add = (table: number, priority: number, match: string, actions: string) => flows.push({ table, priority, match, actions });
  // Table 0: the switch answers ARP; monitors send nothing in (no inline return path yet).
  for (const p of monitorPorts) add(OVS_TABLES.classify, 600, `in_port=${p}`, 'drop');
  for (const a of local) add(OVS_TABLES.classify, 500, `arp,in_port=${GATEWAY_OFPORT},arp_op=1,arp_tpa=${a.ip}`, arpReply(a.mac));
  add(OVS_TABLES.classify, 450, `arp,in_port=${GATEWAY_OFPORT}`, 'drop');
  add(OVS_TABLES.classify, 400, 'arp,arp_op=1', arpReply(router));
  add(OVS_TABLES.classify, 100, 'ip', `resubmit(,${OVS_TABLES.tapEgress})`);
  add(OVS_TABLES.classify, 0, '', 'drop');
  add(OVS_TABLES.tapEgress, 0, '', `resubmit(,${OVS_TABLES.conntrack})`);
  add(OVS_TABLES.conntrack, 100, 'ip', `ct(table=${OVS_TABLES.forward},zone=${zone})`);
  add(OVS_TABLES.conntrack, 0, '', 'drop');
  // Routing: a local instance is delivered through the ingress taps; the rest goes to the kernel.
  for (const a of local) {
    const p = ofports.get(a.instance);
    if (p === undefined) continue;
    add(OVS_TABLES.route, 100, `ip,nw_dst=${a.ip}`, `load:${p}->NXM_NX_REG2[],resubmit(,${OVS_TABLES.tapIngress})`);
    add(OVS_TABLES.deliver, 100, `ip,reg2=${p}`, `mod_dl_src:${router},mod_dl_dst:${a.mac},dec_ttl,output:${p}`);
  }
  add(OVS_TABLES.route, 0, '', `mod_dl_dst:${router},output:${GATEWAY_OFPORT}`);
  add(OVS_TABLES.tapIngress, 0, '', `resubmit(,${OVS_TABLES.deliver})`);
  add(OVS_TABLES.deliver, 0, '', 'drop');

  const firewall = ovsFirewall({
    ruleset: { ...d.ruleset, quarantined: [...new Set([...(d.ruleset.quarantined ?? []), ...isolated])] },
    app: d.app,
    addressing,
    node: d.node,
    mode: d.mode,
    restrictions: d.context.restrictions ?? [],
    ofports,
    zone,
    tables: { forward: OVS_TABLES.forward, egress: OVS_TABLES.egress, ingress: OVS_TABLES.ingress, route: OVS_TABLES.route },
    firstMeter: RESTRICT_FIRST_METER,
  });
  errors.push(...firewall.errors);
  const taps = ovsTaps({
    contracts: d.contracts,
    addressing,
    node: d.node,
    live,
    downMonitors: new Set(d.downMonitors ?? []),
    firstMeter: BUDGET_FIRST_METER,
    firstGroup: 1,
  });
  errors.push(...taps.errors);
  if (errors.length) return fail(errors);
  flows.push(...firewall.flows, ...taps.flows);

  // One flow per key (a rule listing a peer twice renders it twice); two rules' cookies never collide.
  const byKey = new Map<string, OvsFlow>();
  for (const f of flows) if (!byKey.has(flowKey(f))) byKey.set(flowKey(f), f);
  const cookies = new Map<string, string>();
  for (const f of byKey.values()) {
    if (!f.rule) continue;
    const c = cookieOf(f.rule);
    const other = cookies.get(c);
    if (other !== undefined && other !== ruleKey(f.rule))
      return fail(diag('E_BACKEND_LIMIT', `rules ${other} and ${ruleKey(f.rule)} hash to one cookie ${c}: rename one`));
    cookies.set(c, ruleKey(f.rule));
  }
  const out = [...byKey.values()].sort((a, b) => a.table - b.table || b.priority - a.priority || (a.match < b.match ? -1 : 1));
  const ports = new Set<number>([GATEWAY_OFPORT]);
  for (const f of out) for (const m of f.actions.matchAll(/output:(\d+)/g)) ports.add(Number(m[1]));
  for (const g of taps.groups) for (const m of g.text.matchAll(/(?:output|watch_port):(\d+)/g)) ports.add(Number(m[1]));
  const bridge = (opts.bridgeOf ?? ((_n: string, i: number) => defaultBridge(i)))(d.node, nodeAddr.index);
  return ok({
    node: d.node,
    bridge,
    flows: out,
    meters: [...firewall.meters, ...taps.meters],
    groups: taps.groups,
    ports: [...ports].sort((a, b) => a - b),
  });
}
