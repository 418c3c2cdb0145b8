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

/** The part of the orchestrator's management context the data plane follows. */
export interface NodeContext {
  addressing: Addressing;
  /** Instance -> status; only instances listed and not terminated have ports (and rules on them). */
  status: Record<string, InstanceStatus>;
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
}

export interface DataplaneBackend<C> {
  readonly name: string;
  /** The configuration of `desired.node`; fails with every diagnostic of the renderers. */
  render(desired: NodeDesired): Result<C>;
  /** Whether `apply` would take the configuration now, without changing anything. */
  check(node: string, config: C): Promise<Result<void>>;
  /** Puts the configuration in force on the node, all or nothing. */
  apply(node: string, config: C): Promise<Result<ApplyReport>>;
  /** Every counting rule in force on the node. */
  counters(node: string): Promise<Result<RuleCounter[]>>;
}
