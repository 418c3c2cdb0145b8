/**
 * The local cloud's data plane, chosen at `up` and kept in the spec: nftables in each node's
 * namespace (the default), or one Open vSwitch bridge per node (`dataplane: 'ovs'`). Both sit
 * behind the data-plane backend interface; what differs is where the ports are plugged (the
 * plans) and how the state file keeps what each node was given last.
 *
 * The nodes' agents apply either: a push carries the node's configuration and what the state file
 * records as in force (nft's tables with their handles, or the flows a bridge was given last), so
 * the agent changes only what differs. On Open vSwitch the agent's answer carries no handles
 * (flows are named by cookie): what it applied is the configuration pushed, and that is recorded.
 */
import {
  nftBackend,
  OvsBackend,
  type DataplaneBackend,
  type NftApplied,
  type NftBackend,
  type NftNodeConfig,
  type NftTransactions,
  type OvsNodeConfig,
} from '../dataplane/index.js';
import type { Addressing, App } from '../model/index.js';
import type { System } from '../system/index.js';
import { nodeNs } from './names.js';
import { ovsBridge, ovsInstancePlan, ovsInstanceUnplugPlan, ovsMonitorPlan, ovsNodePlan } from './ovs-plan.js';
import type { PushApplied } from './lifecycle.js';
import type { CloudState } from './state-file.js';
import { instancePlan, instanceUnplugPlan, monitorPlan, nodePlan, type Step } from './topology-plan.js';

export interface CloudPlans {
  node(app: App, a: Addressing, node: string): Step[];
  monitor(app: App, a: Addressing, monitor: string, setup?: Step[]): Step[];
  instance(app: App, a: Addressing, instance: string): Step[];
  /** Takes an instance off its node; the first step detaches its port. */
  unplug(app: App, a: Addressing, instance: string): Step[];
}

export interface CloudDataplane {
  readonly kind: 'nftables' | 'ovs';
  readonly backend: DataplaneBackend<unknown>;
  /** What the backend applied last, per node. */
  readonly applied: Map<string, unknown>;
  readonly plans: CloudPlans;
  /** Whether a node already has this configuration in force (agents hear only of nodes that change). */
  unchanged(node: string, config: unknown): boolean;
  /** The configuration as the agents take it. */
  pushable(config: unknown): NftNodeConfig | OvsNodeConfig;
  /** Takes what the state file recorded as applied (another process may have applied since). */
  restore(state: CloudState): void;
  /** Records what was applied into the state. */
  record(state: CloudState): void;
}

const NFT_PLANS: CloudPlans = { node: nodePlan, monitor: monitorPlan, instance: instancePlan, unplug: instanceUnplugPlan };

const OVS_PLANS: CloudPlans = {
  node: (app, a, node) => [...nodePlan(app, a, node), ...ovsNodePlan(app, a, node)],
  monitor: ovsMonitorPlan,
  instance: ovsInstancePlan,
  unplug: ovsInstanceUnplugPlan,
};

export function cloudDataplane(app: App, state: CloudState, system: System, transactions?: NftTransactions): CloudDataplane {
  if (state.spec.dataplane === 'ovs') {
    const indexOf = (node: string) => state.addressing.nodes[node]?.index ?? 0;
    const applied = new OvsAppliedMap(Object.entries(state.ovsApplied ?? {}));
    const backend = new OvsBackend({ system, bridgeOf: (node) => ovsBridge(app.name, indexOf(node)), applied });
    return {
      kind: 'ovs',
      backend,
      applied: applied as Map<string, unknown>,
      plans: OVS_PLANS,
      unchanged: (node, config) => backend.unchanged(node, config as OvsNodeConfig),
      pushable: (config) => config as OvsNodeConfig,
      restore(s) {
        applied.clear();
        for (const [node, c] of Object.entries(s.ovsApplied ?? {})) applied.set(node, c);
      },
      record(s) {
        s.ovsApplied = Object.fromEntries(applied);
      },
    };
  }
  const backend: NftBackend = nftBackend({
    system,
    nsOf: (node) => nodeNs(app.name, node),
    applied: new Map(Object.entries(state.dataplane ?? {})),
    ...(transactions ? { transactions } : {}),
  });
  return {
    kind: 'nftables',
    backend,
    applied: backend.applied as Map<string, unknown>,
    plans: NFT_PLANS,
    unchanged: (node, config) => backend.unchanged(node, config as NftNodeConfig),
    pushable: (config) => config as NftNodeConfig,
    restore(s) {
      backend.applied.clear();
      for (const [node, a] of Object.entries(s.dataplane ?? {})) backend.applied.set(node, a);
    },
    record(s) {
      s.dataplane = Object.fromEntries(backend.applied) as Record<string, NftApplied>;
    },
  };
}

/**
 * What each bridge was given last. The orchestrator records an agent's answer to a push as it
 * records nft's (`{config, handles, stamp}`); for a bridge the configuration alone is what the
 * backend and the state file keep, so that answer is taken apart here.
 */
class OvsAppliedMap extends Map<string, OvsNodeConfig> {
  override set(node: string, value: OvsNodeConfig | PushApplied): this {
    return super.set(node, 'flows' in value ? value : (value.config as OvsNodeConfig));
  }
}
