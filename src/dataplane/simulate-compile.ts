/**
 * Compiles a deployment into the simulator's per-node structures, once: each node's local
 * ports with their firewall chains (peers resolved to address sets, indexed by protocol, port
 * and address) and their tap rules (in the order the netdev chains list them), its addresses
 * and routes. Exactly what renderNftFirewall and renderNftTaps would render for the same
 * input: the same quarantine, the same service sets (every instance with an address, whatever
 * its status), the same live set, the same down-monitor handling.
 *
 * The contracts go through renderNftTaps for every node first, so the simulator refuses
 * exactly what the renderer refuses, with the renderer's diagnostics.
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../diagnostics/index.js';
import {
  ALL_IPV4,
  cidrInterval,
  cidrSet,
  parseIpv4,
  quarantine,
  subtractIps,
  type Direction,
  type FirewallRule,
  type IpInterval,
  type IpSet,
  type Peer,
  type PortRange,
} from '../firewall/index.js';
import { fieldSpec, type FieldName, type FlowMatch, type FlowTap, type Masked, type PortMatch, type WideMasked } from '../flowtap/index.js';
import type { App } from '../model/index.js';
import { nftIdent } from './nft-names.js';
import { renderNftTaps, tapTunnelIf } from './nft-taps.js';
import { buildChainIndex, PROTO_ANY, PROTO_TCP, PROTO_UDP, type ChainIndex } from './simulate-index.js';
import { DEFAULT_SIM_TOPOLOGY, type SimInput, type SimTopology } from './simulate-types.js';

export const SIM_ERRORS = {
  /** A ruleset rule nft would refuse (a block that does not parse, a bad port range). */
  RULE: 'E_SIM_RULE',
  /** The deployment itself is inconsistent (an address that does not parse, a node without addressing). */
  INPUT: 'E_SIM_INPUT',
  /** A probe enters somewhere that does not exist. */
  ENTRY: 'E_SIM_ENTRY',
} as const;

/** One rule of a rendered chain. */
export interface CRule {
  /** Ruleset rule id; absent for the base `dns` rule. */
  id?: string;
  comment: string;
  proto: number;
  ports: readonly PortRange[] | null;
  ips: IpSet;
  accept: boolean;
}

export interface CChain {
  name: string;
  instance: string;
  direction: Direction;
  rules: CRule[];
  isolated: boolean;
  defaultComment: string;
  index: ChainIndex;
}

export interface CTap {
  contract: FlowTap;
  id: string;
  monitor: string;
  device: string;
  forward: boolean;
  /** The monitor is down (see renderNftTaps): forwards and fail-open redirects are left out. */
  down: boolean;
  failOpen: boolean;
  sampled: boolean;
  budgeted: boolean;
  /** The flow tests a transport-header field, which nft cannot read in a later fragment. */
  l4: boolean;
  /** Exact Ethernet type / IP protocol the flow needs, or -1: a cheap test before the full match. */
  dlType: number;
  nwProto: number;
  /** The flow's fields as flat tests, so matching walks an array instead of the flow's keys. */
  tests: FieldTest[];
}

/** One field of a flow: kind 0 = masked number, 1 = port (mask and optional range), 2 = wide. */
export interface FieldTest {
  name: FieldName;
  kind: 0 | 1 | 2;
  value: number;
  mask: number;
  from: number;
  to: number;
  words: readonly number[];
  wordMasks: readonly number[];
}

export interface CPort {
  instance: string;
  port: string;
  ip: number;
  ipText: string;
  /** MAC as three 16-bit words, as PacketSpec holds dl_dst. */
  mac: number[];
  node: CNode;
  /** The port (and the instance's /32 route) exists. */
  live: boolean;
  quarantined: boolean;
  eg: CChain;
  in: CChain;
  tapEgName: string;
  tapInName: string;
  /** Taps of what the instance sends (netdev ingress) and of what it receives (netdev egress). */
  tapEg: CTap[];
  tapIn: CTap[];
}

export interface CNode {
  name: string;
  index: number;
  gateway: number;
  underlayIp: number;
  /** -1 on a single-node cloud: no VXLAN device. */
  overlayIp: number;
  subnet: IpInterval;
  ports: Map<string, CPort>;
  /** Live local instances by address: the node's /32 routes. */
  routes: Map<number, CPort>;
}

/** A ruleset rule as the linear scan sees it: matched from the rule itself, nothing indexed. */
export interface LinearRule {
  rule: FirewallRule;
  proto: number;
  /** Position of the rule in its chain on its node, or -1 when no node renders that chain. */
  slot: number;
  peer: LinearPeer;
}

export type LinearPeer =
  | { kind: 'any' }
  | { kind: 'list'; ips: number[] }
  | { kind: 'block'; lo: number; hi: number; except: IpInterval[] }
  | { kind: 'outside'; lo: number; hi: number };

export interface LinearTap {
  tap: CTap;
  instance: string;
  egress: boolean;
  ingress: boolean;
}

export interface Simulation {
  readonly kind: 'flowtap-simulation';
  readonly app: App;
  readonly audit: boolean;
  /** The ruleset has conntrack rules (and so the node defragments before routing). */
  readonly established: boolean;
  readonly dns?: { ip: number; port: number };
  readonly network: IpInterval;
  readonly nodes: CNode[];
  readonly nodeByName: Map<string, CNode>;
  readonly instances: Map<string, CPort>;
  readonly nodeByUnderlay: Map<number, CNode>;
  readonly nodeByOverlay: Map<number, CNode>;
  readonly underlay: IpInterval;
  readonly overlay: IpInterval;
  readonly externalIp: number;
  readonly multiNode: boolean;
  /** Node subnets sorted by first address, for the VXLAN routes. */
  readonly subnets: ReadonlyArray<{ lo: number; hi: number; node: CNode }>;
  /** Every rule of the (quarantined) ruleset in order, for the linear scan. */
  readonly linearRules: LinearRule[];
  /** Every rendered contract in input order, for the linear scan. */
  readonly linearTaps: LinearTap[];
}

const TRANSPORT_FIELDS = ['tp_src', 'tp_dst', 'tcp_flags', 'icmp_type', 'icmp_code'] as const;

/** The comment renderNftFirewall gives a rule (its ruleComment, then nftString's stripping). */
export function renderedRuleComment(r: FirewallRule): string {
  return `${r.id}${r.requirement !== undefined ? ` req${r.requirement}` : ''}${r.comment ? ` ${r.comment}` : ''}`.slice(0, 120).replace(/["\\\n]/g, '');
}

function protoOf(p: FirewallRule['protocol']): number {
  return p === 'tcp' ? PROTO_TCP : p === 'udp' ? PROTO_UDP : PROTO_ANY;
}

function pointSet(ips: number[]): IpSet {
  const sorted = [...new Set(ips)].sort((a, b) => a - b);
  return sorted.map((ip) => ({ lo: ip, hi: ip }));
}

function macWords(mac: string): number[] | null {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(mac);
  if (!m) return null;
  const b = m.slice(1).map((x) => parseInt(x, 16));
  return [(b[0] << 8) | b[1], (b[2] << 8) | b[3], (b[4] << 8) | b[5]];
}

function dedupe(diags: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags.filter((d) => {
    const k = `${d.code}|${d.message}|${JSON.stringify(d.loc ?? {})}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Exact dl_type and nw_proto a flow fixes, read back from the flow itself. */
function prerequisites(c: FlowTap): { dlType: number; nwProto: number } {
  const dl = c.flow.dl_type;
  const np = c.flow.nw_proto;
  return {
    dlType: dl && dl.mask === 0xffff ? dl.value : -1,
    nwProto: np && np.mask === 0xff ? np.value : -1,
  };
}

function fieldTests(flow: FlowMatch): FieldTest[] {
  const out: FieldTest[] = [];
  for (const name of Object.keys(flow) as FieldName[]) {
    const v = flow[name];
    if (v === undefined) continue;
    const kind = fieldSpec(name).kind;
    if (kind === 'wide') {
      const w = v as WideMasked;
      out.push({ name, kind: 2, value: 0, mask: 0, from: 0, to: 0, words: w.value, wordMasks: w.mask });
    } else if (kind === 'port') {
      const p = v as PortMatch;
      out.push({ name, kind: 1, value: p.value, mask: p.mask, from: p.range?.from ?? 0, to: p.range?.to ?? 65535, words: [], wordMasks: [] });
    } else {
      const m = v as Masked;
      out.push({ name, kind: 0, value: m.value, mask: m.mask, from: 0, to: 0, words: [], wordMasks: [] });
    }
  }
  return out;
}

export function compileSimulation(input: SimInput): Result<Simulation> {
  const { app, addressing } = input;
  const errs: Diagnostic[] = [];
  const topo: SimTopology = { ...DEFAULT_SIM_TOPOLOGY, ...input.topology };
  const status = input.status;
  const isolatedNow = status ? Object.entries(status).filter(([, s]) => s === 'isolated').map(([i]) => i) : [];
  const ruleset = quarantine(input.ruleset, isolatedNow);
  const appInstances = new Set(app.instances.map((i) => i.name));
  const live = new Set(
    status
      ? Object.entries(status).filter(([i, s]) => s !== 'terminated' && appInstances.has(i)).map(([i]) => i)
      : [...appInstances],
  );
  const down = new Set(input.downMonitors ?? []);
  const audit = input.mode === 'audit';

  // The renderer's verdict on the contracts, node by node.
  for (const n of app.nodes) {
    const r = renderNftTaps(input.contracts, app, addressing, n.name, { live, downMonitors: [...down] });
    if (!r.ok) errs.push(...r.errors);
  }

  const block = (text: string, what: string): IpInterval | null => {
    const iv = cidrInterval(text);
    if (!iv) errs.push(diag(SIM_ERRORS.INPUT, `${what} ${JSON.stringify(text)} is not an IPv4 block a.b.c.d/n`));
    return iv;
  };
  const address = (text: string, what: string): number => {
    const ip = parseIpv4(text);
    if (ip === null) errs.push(diag(SIM_ERRORS.INPUT, `${what} ${JSON.stringify(text)} is not an IPv4 address`));
    return ip ?? 0;
  };
  const network = block(ruleset.network, 'ruleset network') ?? { lo: 0, hi: 0 };
  const underlay = block(topo.underlay, 'underlay') ?? { lo: 0, hi: 0 };
  const overlay = block(topo.overlay, 'overlay') ?? { lo: 0, hi: 0 };
  const externalIp = address(topo.external, 'external address');
  const multiNode = app.nodes.length > 1;

  const nodes: CNode[] = [];
  const nodeByName = new Map<string, CNode>();
  const nodeByUnderlay = new Map<number, CNode>();
  const nodeByOverlay = new Map<number, CNode>();
  for (const n of app.nodes) {
    const a = Object.hasOwn(addressing.nodes, n.name) ? addressing.nodes[n.name] : undefined;
    if (!a) {
      errs.push(diag(SIM_ERRORS.INPUT, `node ${n.name} has no addressing`));
      continue;
    }
    const node: CNode = {
      name: n.name,
      index: a.index,
      gateway: address(a.gateway, `gateway of node ${n.name}`),
      underlayIp: address(a.ip, `underlay address of node ${n.name}`),
      overlayIp: multiNode ? overlay.lo + a.index + 1 : -1,
      subnet: block(a.subnet, `subnet of node ${n.name}`) ?? { lo: 1, hi: 0 },
      ports: new Map(),
      routes: new Map(),
    };
    nodes.push(node);
    nodeByName.set(n.name, node);
    nodeByUnderlay.set(node.underlayIp, node);
    if (multiNode) nodeByOverlay.set(node.overlayIp, node);
  }

  // Service sets hold every instance of the app that has an address, as the renderer's do.
  const ipOf = (instance: string): number | undefined => {
    const at = Object.hasOwn(addressing.instances, instance) ? addressing.instances[instance] : undefined;
    return at ? (parseIpv4(at.ip) ?? undefined) : undefined;
  };
  const svcIps = new Map<string, number[]>();
  for (const inst of app.instances) {
    const ip = ipOf(inst.name);
    if (ip === undefined) continue;
    let list = svcIps.get(inst.service);
    if (!list) svcIps.set(inst.service, (list = []));
    list.push(ip);
  }

  const peerIps = (r: FirewallRule): IpSet | null => {
    const p: Peer = r.peer;
    switch (p.kind) {
      case 'any':
        return ALL_IPV4;
      case 'external':
        return subtractIps(ALL_IPV4, [network]);
      case 'service':
        return pointSet(svcIps.get(p.service) ?? []);
      case 'instances': {
        const ips = p.instances.map(ipOf).filter((x): x is number => x !== undefined);
        // The renderer writes 0.0.0.0/32 for an empty selector.
        return pointSet(ips.length ? ips : [0]);
      }
      case 'cidr':
        return cidrSet(p.cidr, p.except);
    }
  };
  const linearPeer = (r: FirewallRule): LinearPeer => {
    const p = r.peer;
    switch (p.kind) {
      case 'any':
        return { kind: 'any' };
      case 'external':
        return { kind: 'outside', lo: network.lo, hi: network.hi };
      case 'service':
        return { kind: 'list', ips: app.instances.filter((i) => i.service === p.service).map((i) => ipOf(i.name)).filter((x): x is number => x !== undefined) };
      case 'instances': {
        const ips = p.instances.map(ipOf).filter((x): x is number => x !== undefined);
        return { kind: 'list', ips: ips.length ? ips : [0] };
      }
      case 'cidr': {
        const base = cidrInterval(p.cidr) ?? { lo: 1, hi: 0 };
        return { kind: 'block', lo: base.lo, hi: base.hi, except: p.except.map((e) => cidrInterval(e) ?? { lo: 1, hi: 0 }) };
      }
    }
  };

  const checkRule = (r: FirewallRule): boolean => {
    let good = true;
    if (r.peer.kind === 'cidr' && !cidrSet(r.peer.cidr, r.peer.except)) {
      errs.push(diag(SIM_ERRORS.RULE, `rule ${r.id}: block ${r.peer.cidr}${r.peer.except.length ? ` except ${r.peer.except.join(', ')}` : ''} is not one nft accepts (a.b.c.d/n)`));
      good = false;
    }
    for (const p of r.ports ?? []) {
      if (!Number.isInteger(p.from) || !Number.isInteger(p.to) || p.from < 0 || p.to > 65535 || p.from > p.to) {
        errs.push(diag(SIM_ERRORS.RULE, `rule ${r.id}: port range ${p.from}-${p.to} is not one nft accepts (0-65535, from <= to)`));
        good = false;
      }
    }
    return good;
  };

  // Chains of every attached instance on its node, as the renderer's `local` list.
  const isolatedIn = new Set(ruleset.isolated.ingress);
  const isolatedEg = new Set(ruleset.isolated.egress);
  const quarantined = new Set(ruleset.quarantined ?? []);
  const chains = new Map<string, CChain>();
  const instances = new Map<string, CPort>();
  const newChain = (instance: string, direction: Direction): CChain => {
    const name = `${direction === 'egress' ? 'eg' : 'in'}_${nftIdent(instance)}`;
    const rules: CRule[] = [];
    if (direction === 'egress' && ruleset.base.dns) {
      const ip = address(ruleset.base.dns.ip, 'dns address');
      rules.push({ comment: 'dns', proto: PROTO_ANY, ports: [{ from: ruleset.base.dns.port, to: ruleset.base.dns.port }], ips: pointSet([ip]), accept: true });
    }
    const isolated = direction === 'egress' ? isolatedEg.has(instance) : isolatedIn.has(instance);
    const chain: CChain = { name, instance, direction, rules, isolated, defaultComment: `${name} default`, index: buildChainIndex([]) };
    chains.set(`${direction}|${instance}`, chain);
    return chain;
  };
  const instanceNames = Object.keys(addressing.instances).sort();
  for (const name of instanceNames) {
    const at = addressing.instances[name];
    const node = nodeByName.get(at.node);
    if (!node) {
      errs.push(diag(SIM_ERRORS.INPUT, `instance ${name} is attached to unknown node ${at.node}`));
      continue;
    }
    const mac = macWords(at.mac);
    if (!mac) errs.push(diag(SIM_ERRORS.INPUT, `instance ${name}: MAC ${JSON.stringify(at.mac)} is not aa:bb:cc:dd:ee:ff`));
    const port: CPort = {
      instance: name,
      port: at.port,
      ip: address(at.ip, `address of instance ${name}`),
      ipText: at.ip,
      mac: mac ?? [0, 0, 0],
      node,
      live: live.has(name),
      quarantined: quarantined.has(name),
      eg: newChain(name, 'egress'),
      in: newChain(name, 'ingress'),
      tapEgName: `tap_eg_${nftIdent(at.port)}`,
      tapInName: `tap_in_${nftIdent(at.port)}`,
      tapEg: [],
      tapIn: [],
    };
    node.ports.set(at.port, port);
    if (port.live) node.routes.set(port.ip, port);
    instances.set(name, port);
  }

  const linearRules: LinearRule[] = [];
  for (const r of ruleset.rules) {
    if (!checkRule(r)) continue;
    const chain = chains.get(`${r.direction}|${r.target}`);
    let slot = -1;
    if (chain) {
      slot = chain.rules.length;
      chain.rules.push({ id: r.id, comment: renderedRuleComment(r), proto: protoOf(r.protocol), ports: r.ports, ips: peerIps(r) ?? [], accept: r.action === 'accept' });
    }
    linearRules.push({ rule: r, proto: protoOf(r.protocol), slot, peer: linearPeer(r) });
  }
  for (const c of chains.values()) c.index = buildChainIndex(c.rules);

  // Taps, as renderNftTaps builds them: per port, forwards then redirects, contract order kept.
  const linearTaps: LinearTap[] = [];
  for (const c of input.contracts) {
    const src = instances.get(c.src);
    const mon = Object.hasOwn(addressing.monitors, c.dst) ? addressing.monitors[c.dst] : undefined;
    if (!src || !mon || !appInstances.has(c.src) || c.tenant !== app.tenant || !live.has(c.src)) continue;
    const o = c.options ?? {};
    const tap: CTap = {
      contract: c,
      id: c.id,
      monitor: c.dst,
      device: mon.node === src.node.name ? mon.port : tapTunnelIf(mon.port),
      forward: c.action === 'forward',
      down: down.has(c.dst),
      failOpen: o.failMode === 'open',
      sampled: !!o.sample && o.sample.every !== 1,
      budgeted: !!o.budget,
      l4: TRANSPORT_FIELDS.some((f) => c.flow[f] !== undefined),
      ...prerequisites(c),
      tests: fieldTests(c.flow),
    };
    const egress = c.direction !== 'ingress';
    const ingress = c.direction !== 'egress';
    if (egress) src.tapEg.push(tap);
    if (ingress) src.tapIn.push(tap);
    linearTaps.push({ tap, instance: c.src, egress, ingress });
  }
  const byAction = (list: CTap[]) => [...list.filter((t) => t.forward), ...list.filter((t) => !t.forward)];
  for (const p of instances.values()) {
    p.tapEg = byAction(p.tapEg);
    p.tapIn = byAction(p.tapIn);
  }

  if (errs.length) return fail(dedupe(errs));
  const dns = ruleset.base.dns ? { ip: parseIpv4(ruleset.base.dns.ip) ?? 0, port: ruleset.base.dns.port } : undefined;
  return ok({
    kind: 'flowtap-simulation',
    app,
    audit,
    established: ruleset.base.established,
    ...(dns ? { dns } : {}),
    network,
    nodes,
    nodeByName,
    instances,
    nodeByUnderlay,
    nodeByOverlay,
    underlay,
    overlay,
    externalIp,
    multiNode,
    subnets: nodes.map((n) => ({ lo: n.subnet.lo, hi: n.subnet.hi, node: n })).sort((a, b) => a.lo - b.lo),
    linearRules,
    linearTaps,
  });
}
