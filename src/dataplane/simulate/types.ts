/**
 * The simulated datapath's inputs and its trace. The simulator answers "what would the node
 * scripts that nodeScript renders do with this packet", hook by hook, for what-if runs and for
 * tests that cannot create namespaces. Every value here is plain JSON.
 */
import type { Ruleset } from '../../firewall/index.js';
import type { FlowTap, PacketSpec } from '../../flowtap/index.js';
import type { Addressing, App } from '../../model/index.js';
import type { SourceRestriction } from '../backend.js';
import { EXTERNAL_IP, OVERLAY_NETWORK } from '../node-interfaces.js';

/** Like the orchestrator's management context: isolated = quarantined, terminated = no port. */
type SimInstanceStatus = 'running' | 'isolated' | 'terminated';

/**
 * The local cloud's addresses outside the application network. The defaults are the
 * orchestrator's (topology-plan.ts, names.ts); a test checks that they agree.
 */
export interface SimTopology {
  /** The underlay every node's `up-ft` is on. */
  underlay: string;
  /** The outside world's address on the underlay (the external namespace). */
  external: string;
  /** The VXLAN overlay between nodes; node i holds host i+1. */
  overlay: string;
}

export const DEFAULT_SIM_TOPOLOGY: SimTopology = {
  underlay: '10.250.0.0/24',
  external: EXTERNAL_IP,
  overlay: OVERLAY_NETWORK,
};

export interface SimInput {
  app: App;
  addressing: Addressing;
  ruleset: Ruleset;
  contracts: readonly FlowTap[];
  /**
   * Instance status as in ManagementContext.status, with nodeScript's reading: isolated
   * instances are quarantined, and when a status map is given, only instances listed and not
   * terminated are live (their taps rendered, their ports and routes present). Absent: all live.
   */
  status?: Record<string, SimInstanceStatus>;
  mode?: 'enforce' | 'audit';
  /** Monitors the controller knows are down: their taps are re-rendered (see renderNftTaps). */
  downMonitors?: readonly string[];
  /**
   * Redirects are inline (nft-inline.ts): a monitor on the tapped port's node may pass a diverted
   * frame back, and it continues as if never diverted. Default true, as nodeScript renders.
   */
  inline?: boolean;
  /**
   * How inline monitors stand in the path: `hold` (the default) passes frames back only from a
   * monitor on the tapped port's node; `queue` also from a monitor on another node, by the tap
   * tunnel the frame went out by (docs/dataplane.md).
   */
  inlineMode?: 'hold' | 'queue';
  /** Sources outside the application dropped or limited on every node (SourceRestriction, restrict.ts). */
  restrictions?: readonly SourceRestriction[];
  topology?: Partial<SimTopology>;
}

/** Where a packet enters: sent by an instance (on its port), or from outside through an uplink. */
export type SimEntry =
  | { kind: 'instance'; instance: string }
  /** `node` forces the node whose uplink receives it; by default the outside network's route decides. */
  | { kind: 'outside'; node?: string };

export interface SimProbe {
  from: SimEntry;
  packet: PacketSpec;
}

export type SimCtState = 'new' | 'established' | 'related' | 'invalid';

/**
 * What an inline monitor does with a frame diverted to it (monitor namespace, renderInlineTable):
 * - `pass`: the monitor is running and approves it;
 * - `block`: the monitor has blocked the connection: a TCP frame gets a reset and goes no
 *   further; what is not IPv4 TCP passes anyway, since the monitor judges TCP requests only;
 * - `monitor-down`: the monitor process is not running or is overloaded (not to be confused
 *   with SimInput.downMonitors, which the controller re-renders taps for): the contract's
 *   failMode decides in the monitor's namespace, open passes and closed drops.
 */
export type SimInlineVerdict = 'pass' | 'block' | 'monitor-down';

export interface SimOptions {
  /** Conntrack state the packet has on every node it crosses. Default `new`. */
  ctState?: SimCtState;
  /** Whether sampled taps (`numgen`/`symhash`) pick this packet. Default true. */
  sampleHit?: boolean;
  /** Taps whose budget (`limit rate`) this packet exceeds: all of them, or these contract ids. Default none. */
  overBudget?: boolean | readonly string[];
  /**
   * Rate restrictions (SourceRestriction.rate) this packet, a new connection, is over: all of
   * them, or these restriction ids. The simulator has no clock, so the caller says; default
   * none (the simulator backend keeps a bucket of its own instead, see SimulatorBackend).
   */
  overRate?: boolean | readonly string[];
  /** `linear` scans every rule in order with no index: the oracle and the benchmark's baseline. */
  classifier?: 'indexed' | 'linear';
  /** Inline monitors' verdict on every frame diverted to them (SimInput.inline). Default `pass`. */
  inlineVerdict?: SimInlineVerdict;
}

export type SimTapEffect =
  /** `dup to`: a copy went to the monitor, the packet continues. */
  | 'copy'
  /** `fwd to`: the packet went to the monitor instead of its destination. */
  | 'divert'
  /** A fail-closed redirect to a monitor that is down. */
  | 'drop'
  /** The flow matched but the rule did not act: see `why`. */
  | 'skip';

export interface SimTapMatch {
  contract: string;
  monitor: string;
  /** Device the rule sends to: the monitor's port, or the tap tunnel `tt-<port>` to its node. */
  device: string;
  action: 'forward' | 'redirect';
  effect: SimTapEffect;
  why?: 'not sampled' | 'over budget' | 'monitor down';
}

export interface SimTapHook {
  node: string;
  /** netdev hook on the instance's port: ingress = sent by it, egress = delivered to it. */
  hook: 'ingress' | 'egress';
  port: string;
  instance: string;
  chain: string;
  matches: SimTapMatch[];
  /** A frame a monitor passed back (marked): the chain's first rule returns, no tap applies. */
  passedBack?: true;
}

export interface SimDiversion {
  contract: string;
  monitor: string;
  /** Device the redirect sent it to: the monitor's port, or the tap tunnel `tt-<port>` to its node. */
  device: string;
  /** Node, instance, port and hook where the redirect diverted it (as SimCopy). */
  node: string;
  instance: string;
  port: string;
  hook: 'ingress' | 'egress';
  /** Inline: the redirect tag written as the frame's source address (nft-inline.ts). */
  tag?: string;
  /**
   * `passed`: the monitor sent it back on `returnPort` and it went on; `blocked`: TCP reset;
   * `dropped`: by the monitor namespace's fail-closed fallback; `kept`: it ends at the monitor
   * (not inline, or a monitor on another node, which cannot pass frames back).
   */
  result: 'passed' | 'blocked' | 'dropped' | 'kept';
  why: string;
  /** The monitor's return port on the node (`fr<j>`), when passed. */
  returnPort?: string;
}

export interface SimChainStep {
  /** `forward`, `input`, or an instance chain (`eg_<instance>`, `in_<instance>`). */
  chain: string;
  /** Ruleset rule id (`r12`) when one decided; absent for base rules and defaults. */
  rule?: string;
  /** The rendered rule's comment: `r12 req3 a -> b:http`, `in_db_0 default`, `quarantine`, ... */
  comment: string;
  verdict: 'accept' | 'drop' | 'return';
  /** The chain's default (or the forward hook's policy) decided, not a rule. */
  default: boolean;
}

export interface SimFirewallTrace {
  node: string;
  hook: 'forward' | 'input';
  iif: string;
  oif?: string;
  /** Every step that gave a verdict, in order; the last one decided. */
  steps: SimChainStep[];
  verdict: 'accept' | 'drop';
  /** Audit mode: steps that would have dropped and only logged (a shared frozen [] when none). */
  audited: SimChainStep[];
}

export type SimRoute =
  | { kind: 'instance'; oif: string; instance: string }
  /** Not routed: a monitor's return chain sends the frame it passed back straight out of the instance's port. */
  | { kind: 'fwd'; oif: string; instance: string }
  | { kind: 'node'; node: string }
  | { kind: 'vxlan'; oif: string; node?: string }
  | { kind: 'uplink'; oif: string; host: 'external' | 'node' | 'none'; node?: string }
  | { kind: 'none' };

export interface SimHop {
  node: string;
  /** Interface the packet arrived on: an instance port, `up-ft`, `vx-ft`, or a monitor's return port. */
  iif: string;
  ttl: number;
  /** Arrived on a monitor's return port: the monitor that passed it back, and the redirect that diverted it. */
  passedBack?: { monitor: string; contract: string };
  ingressTap?: SimTapHook;
  route?: SimRoute;
  firewall?: SimFirewallTrace;
  egressTap?: SimTapHook;
}

export interface SimCopy {
  contract: string;
  monitor: string;
  device: string;
  /** Node, port and hook where the copy was made. */
  node: string;
  port: string;
  hook: 'ingress' | 'egress';
}

type SimDropStage = 'tap' | 'routing' | 'firewall' | 'underlay';

export type SimOutcome =
  | { kind: 'delivered'; instance: string; node: string }
  /**
   * Diverted by a redirect and ended there: the monitor has the packet and nothing else does
   * (the last of trace.diversions says why: kept, blocked or dropped by the monitor).
   */
  | { kind: 'monitor'; monitor: string; contract: string; device: string; node: string }
  /** Left through an uplink to the outside network's host. */
  | { kind: 'outside'; node: string }
  /** Taken by a node's own stack: its input chain accepted it, or it answers ARP. */
  | { kind: 'node'; node: string; why: string }
  /** Never left where it started (an instance talking to itself, the outside to itself). */
  | { kind: 'local'; why: string }
  | { kind: 'dropped'; stage: SimDropStage; node?: string; chain?: string; rule?: string; default?: boolean; reason: string };

export interface SimTrace {
  from: SimEntry;
  packet: PacketSpec;
  ctState: SimCtState;
  hops: SimHop[];
  /** A shared frozen [] when there are none. */
  copies: SimCopy[];
  /** Every redirect that diverted the packet, in order, and what its monitor did (a shared frozen [] when none). */
  diversions: SimDiversion[];
  outcome: SimOutcome;
}
