/**
 * The simulator's compiled form of a deployment: per node, its ports with their firewall chains
 * (indexed) and tap rules (in netdev chain order), addresses and routes; and, for the linear
 * scan, the ruleset and contracts as given. Built by compileSimulation, read by the engine.
 */
import type { Direction, FirewallRule, IpInterval, IpSet, PortRange } from '../../firewall/index.js';
import type { FieldName, FlowTap } from '../../flowtap/index.js';
import type { App } from '../../model/index.js';
import type { ChainIndex } from './indexed.js';

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
  /** The monitor's node; `returnPort` is its return port when it is on the tapped port's node, else null. */
  monitorNode: string;
  returnPort: string | null;
  /** Inline redirects: the tags written on frames sent by the instance and on frames delivered to it ('' otherwise). */
  tagSent: string;
  tagDelivered: string;
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

/** A source restriction as the forward chain's first rules match it (restrict.ts). */
export interface CRestriction {
  id: string;
  comment: string;
  /** The IPv4 sources; null for an IPv6 block, which nothing here matches (the nodes route IPv4 only). */
  source: IpInterval | null;
  /** IP protocol to match, or -1 for any. */
  proto: number;
  /** Destination port, or -1 for any. */
  port: number;
  rate: { perSecond: number; burst: number } | null;
}

export interface Simulation {
  readonly kind: 'flowtap-simulation';
  readonly app: App;
  readonly audit: boolean;
  /** Redirects are inline: local monitors may pass diverted frames back (SimInput.inline). */
  readonly inline: boolean;
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
  /** Source restrictions, in the forward chain's order. */
  readonly restrictions: readonly CRestriction[];
  /** Every rule of the (quarantined) ruleset in order, for the linear scan. */
  readonly linearRules: LinearRule[];
  /** Every rendered contract in input order, for the linear scan. */
  readonly linearTaps: LinearTap[];
}
