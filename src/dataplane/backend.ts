/**
 * The data-plane backend: for one node, render the desired state (firewall, taps, inline return
 * paths) into the backend's configuration, apply it atomically, read the counters back.
 *
 * - `render` is pure: the same desired state gives the same configuration, whatever is in force.
 * - `apply` is all or nothing: a configuration the backend refuses leaves the previous one in
 *   force, counters included. A backend may apply incrementally: it compares the configuration
 *   with the one it applied last on that node and changes only the rules that differ, so the
 *   counters of every other rule survive (the report says which way it went and why).
 * - `counters` lists every rule that counts, named by table, chain and comment (a firewall
 *   rule's id and requirement, a contract's id), so records and reactions can point at rules.
 *
 * nftables (nft/backend.ts) and the simulator (simulate/backend.ts) implement it; one test
 * suite (testing.ts) runs against both.
 */
import type { Result } from '../diagnostics/index.js';
import type { Ruleset } from '../firewall/index.js';
import type { FlowTap } from '../flowtap/index.js';
import type { Addressing, App } from '../model/index.js';

/** As the orchestrator reports it: isolated = quarantined, terminated = no port. */
export type InstanceStatus = 'running' | 'isolated' | 'terminated';

/**
 * A limit on traffic from a source outside the application: what a reaction to a flood or a
 * scan installs. Rendered first in every node's forward path, before any accept, so it also
 * holds against sources the firewall would otherwise let in (an external client of a public
 * service).
 */
export interface SourceRestriction {
  /** Stable id; each rule it renders carries it in its comment (`restrict <id>`). */
  id: string;
  /** An address or CIDR prefix (IPv4 or IPv6) outside the application's network. */
  source: string;
  /** Only traffic to this destination port (default every port). */
  port?: number;
  /** With `port`: its protocol (default tcp). */
  protocol?: 'tcp' | 'udp';
  /** New connections allowed per second (a burst on top); none = drop everything from the source. */
  rate?: { perSecond: number; burst: number };
}

/** The part of the orchestrator's management context the data plane follows. */
export interface NodeContext {
  addressing: Addressing;
  /** Instance -> status; only instances listed and not terminated have ports (and rules on them). */
  status: Record<string, InstanceStatus>;
  /** Sources outside the application limited or dropped on every node (none = no such rule). */
  restrictions?: readonly SourceRestriction[];
}

/** Everything one node's data plane follows from: the model, the inferred rules, the contracts, the context. */
export interface NodeDesired {
  node: string;
  app: App;
  ruleset: Ruleset;
  contracts: readonly FlowTap[];
  mode: 'enforce' | 'audit';
  /** Monitors the controller knows are down: their taps are re-rendered (see renderNftTaps). */
  downMonitors?: readonly string[];
  context: NodeContext;
  /**
   * Redirects are inline: a monitor on the tapped port's node passes what it approves back
   * (nft/inline.ts). Default true, as every monitor namespace of the local cloud has its return port.
   */
  inline?: boolean;
}

/** One counting rule in force on a node, and what it has counted since it was added. */
export interface RuleCounter {
  family: string;
  table: string;
  chain: string;
  /** The rule's comment: its identity for people and records (`r12 req3 ...`, a contract id, `in_db_0 default`). */
  comment: string;
  packets: number;
  bytes: number;
  /** The rule's handle, where the backend has handles (nftables). */
  handle?: number;
}

export interface ApplyReport {
  /**
   * `full`: every table replaced, every counter reset; `incremental`: only the rules that
   * differ from the last applied configuration were removed or added; `unchanged`: nothing to do.
   */
  kind: 'full' | 'incremental' | 'unchanged';
  rulesAdded: number;
  rulesRemoved: number;
  /** Why a full replacement was chosen (nothing applied before, a chain's hook changed, ...). */
  reason?: string;
  /**
   * The counting rules an incremental apply added, so a caller that must show the rules in force
   * needs no listing of its own: as the kernel echoed them (handles and counters) where the
   * backend asked nft for the echo, else as committed (the transaction was accepted whole; no
   * handle, counters at zero). Absent where the backend does not say (a full replacement).
   */
  installed?: RuleCounter[];
}

/** One rule named by where it is and its comment (its identity, see RuleCounter). */
export interface RuleRef {
  table: string;
  chain: string;
  comment: string;
}

/**
 * How the rules in force on a node differ from what this backend applied last: rules missing
 * (deleted by hand, by another tool), rules nobody applied, or tables gone altogether.
 */
export interface Drift {
  node: string;
  /** True when what is in force is exactly what was applied. */
  inForce: boolean;
  missing: RuleRef[];
  extra: RuleRef[];
  /** Set when the comparison itself was impossible (a table missing, nothing applied yet). */
  reason?: string;
}

export interface ApplyOptions {
  /**
   * Put the configuration in force whole, whatever the backend believes is there: every table
   * replaced, every counter reset (`kind: 'full'`). For after `drift` found the rules in force
   * not to be what was applied (a rule deleted by hand, a table replaced): an incremental
   * update would start from handles and rules that are no longer there. The caller keeps its
   * all-nodes-or-none order: check every node, then apply.
   */
  repair?: boolean;
}

export interface DataplaneBackend<C> {
  readonly name: string;
  /** The configuration of `desired.node`; fails with every diagnostic of the renderers. */
  render(desired: NodeDesired): Result<C>;
  /** Whether `apply` would take the configuration now, without changing anything. */
  check(node: string, config: C, opts?: ApplyOptions): Promise<Result<void>>;
  /** Puts the configuration in force on the node, all or nothing (whole with `repair`). */
  apply(node: string, config: C, opts?: ApplyOptions): Promise<Result<ApplyReport>>;
  /** Every counting rule in force on the node. */
  counters(node: string): Promise<Result<RuleCounter[]>>;
  /**
   * Reads back what is in force on the node and compares it with what this backend applied
   * last; changes nothing. Nothing applied yet is not an error: `inForce` false, with the reason.
   */
  drift(node: string): Promise<Result<Drift>>;
}
