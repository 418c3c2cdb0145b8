/**
 * One node's whole configuration for Open vSwitch: the pipeline's own flows (ARP answered by
 * the switch, classification, conntrack, routing and delivery), the firewall (firewall.ts) and
 * the taps (taps.ts), with the meters and groups they use, and the inline return path (inline.ts).
 *
 * The node routes: an instance's /32 address and its default route point at the gateway, whose
 * ARP the switch answers with the router's MAC; the switch delivers to a local instance itself
 * (rewriting the frame as a router would) and hands what the node's kernel has a route for
 * (the underlay, other nodes' subnets, the overlay) to that kernel through the gateway port. The
 * kernel's ARP for a local instance is answered by the switch too, so nothing is flooded.
 *
 * What an instance sends meets the checks the node's kernel makes on the nftables path before
 * routing (martian addresses, a spent TTL), so the two data planes refuse the same packets; the
 * ofproto/trace differential (test/ovs-trace-differential.test.ts) holds them to the simulator.
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import type { NodeDesired } from '../backend.js';
import { UNDERLAY_NETWORK } from '../../model/index.js';
import { OVERLAY_NETWORK, overlayIp } from '../node-interfaces.js';
import { ovsFirewall } from './firewall.js';
import { cookieOf, flowKey, ruleKey, type OvsFlow, type OvsObject } from './flows.js';
import { isMac } from '../nft/index.js';
import { ovsReturnFlows } from './inline.js';
import { ctZone, defaultBridge, GATEWAY_OFPORT, ofportOf, routerMac, OVS_TABLES, tunnelOfportOf } from './layout.js';
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

/**
 * Matches for what the node's kernel would not route when an instance sends it: martian sources
 * (multicast, broadcast, loopback, 0/8, the node's own addresses), martian or multicast
 * destinations, a TTL spent, and a VLAN tag.
 */
function unroutable(node: { ip: string; gateway: string; index: number }, multiNode: boolean): string[] {
  const own = [node.gateway, node.ip, ...(multiNode ? [overlayIp(node.index)] : [])];
  return [
    ...['224.0.0.0/4', '255.255.255.255', '127.0.0.0/8', '0.0.0.0/8', ...own].map((b) => `nw_src=${b}`),
    ...['127.0.0.0/8', '0.0.0.0/8', '224.0.0.0/4'].map((b) => `nw_dst=${b}`),
    'nw_ttl=0',
    'nw_ttl=1',
    // The node has no VLAN device: a tagged frame is seen by the egress taps and goes no further.
    'vlan_tci=0x1000/0x1000',
  ];
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
  // Monitors send nothing else into the bridge than what the inline return flows take back.
  const monitorPorts: number[] = [];
  for (const m of Object.values(addressing.monitors)) {
    const p = m.node === d.node ? ofportOf(m.port) : tunnelOfportOf(m.port);
    if (p.ok) monitorPorts.push(p.value);
    else errors.push(...p.errors);
  }
  const router = routerMac(nodeAddr.index);
  const multiNode = d.app.nodes.length > 1;
  const zone = ctZone(nodeAddr.index);
  const inline = d.inline ?? true;

  const flows: OvsFlow[] = [];
  const add = (table: number, priority: number, match: string, actions: string) => flows.push({ table, priority, match, actions });
  // Table 0: the switch answers ARP; monitors send nothing in but what inline.ts takes back.
  for (const p of monitorPorts) add(OVS_TABLES.classify, 600, `in_port=${p}`, 'drop');
  for (const a of local) add(OVS_TABLES.classify, 500, `arp,in_port=${GATEWAY_OFPORT},arp_op=1,arp_tpa=${a.ip}`, arpReply(a.mac));
  add(OVS_TABLES.classify, 450, `arp,in_port=${GATEWAY_OFPORT}`, 'drop');
  add(OVS_TABLES.classify, 400, 'arp,arp_op=1', arpReply(router));
  add(OVS_TABLES.classify, 100, 'ip', `resubmit(,${OVS_TABLES.tapEgress})`);
  add(OVS_TABLES.classify, 0, '', 'drop');
  add(OVS_TABLES.tapEgress, 0, '', `resubmit(,${OVS_TABLES.conntrack})`);
  const track = `ct(table=${OVS_TABLES.forward},zone=${zone})`;
  // The node's kernel checked what it hands over; what an instance sends meets the checks the
  // kernel makes before routing on the nftables path (martians, TTL), so both refuse the same.
  add(OVS_TABLES.conntrack, 200, `ip,in_port=${GATEWAY_OFPORT}`, track);
  for (const m of unroutable(nodeAddr, multiNode)) add(OVS_TABLES.conntrack, 150, `ip,${m}`, 'drop');
  add(OVS_TABLES.conntrack, 100, 'ip', track);
  add(OVS_TABLES.conntrack, 0, '', 'drop');
  // Routing: a local instance is delivered through the ingress taps; what the node's kernel has
  // a route for (other nodes' subnets, the underlay, the overlay) goes to it; the rest has no route.
  for (const a of local) {
    const p = ofports.get(a.instance);
    if (p === undefined) continue;
    // Rewritten as a router would before the ingress taps, which see what the port gets (as nft's do).
    const to = `load:${p}->NXM_NX_REG2[],mod_dl_dst:${a.mac}`;
    add(OVS_TABLES.route, 100, `ip,nw_dst=${a.ip}`, `${to},mod_dl_src:${router},dec_ttl,resubmit(,${OVS_TABLES.tapIngress})`);
    // From the gateway the node's kernel routed it (and spent the TTL) already: one hop, not two.
    add(OVS_TABLES.route, 110, `ip,in_port=${GATEWAY_OFPORT},nw_dst=${a.ip}`, `${to},resubmit(,${OVS_TABLES.tapIngress})`);
    add(OVS_TABLES.deliver, 100, `ip,reg2=${p}`, `output:${p}`);
  }
  const kernelRoutes = [UNDERLAY_NETWORK];
  if (multiNode) {
    kernelRoutes.push(OVERLAY_NETWORK);
    for (const n of d.app.nodes) if (n.name !== d.node && addressing.nodes[n.name]) kernelRoutes.push(addressing.nodes[n.name].subnet);
  }
  for (const r of kernelRoutes) add(OVS_TABLES.route, 50, `ip,nw_dst=${r}`, `mod_dl_dst:${router},output:${GATEWAY_OFPORT}`);
  add(OVS_TABLES.route, 0, '', 'drop');
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
    inline,
  });
  errors.push(...taps.errors);
  if (errors.length) return fail(errors);
  flows.push(...firewall.flows, ...taps.flows);
  if (inline)
    flows.push(
      ...ovsReturnFlows({
        addressing,
        node: d.node,
        instances: local
          .filter((a) => live.has(a.instance) && ofports.has(a.instance) && isMac(a.mac))
          .map((a) => ({ instance: a.instance, mac: a.mac, ofport: ofports.get(a.instance)! })),
        contracts: d.contracts,
        routerMac: router,
      }),
    );

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
