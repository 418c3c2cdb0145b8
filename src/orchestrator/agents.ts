/**
 * The node agents of a deployment on the local cloud, as plain values: where the broker lives
 * by default (a SQLite file in the state folder), which of its servers need the relay, and the
 * spec file each node's agent is started with — its node's instances (namespace, log, address,
 * port) and monitors (log folder).
 */
import { join } from 'node:path';
import { AGENT_SPEC_VERSION, type AgentSpec } from '../agent/index.js';
import type { Addressing, App } from '../model/index.js';
import { relayTarget, type RelayRoute } from './broker-relay.js';
import type { AgentSettings, BrokerAddresses } from './lifecycle.js';
import { instanceNs, nodeNs } from './names.js';
import { ovsBridge } from './ovs-plan.js';

/** The embedded broker of a state folder: every deployment made from it shares the file. */
function embeddedStore(stateDir: string): string {
  return `sqlite:${join(stateDir, 'broker.db')}`;
}

/**
 * The broker a deployment uses: what was asked for, the embedded one otherwise. An embedded
 * bus beside a server store gets a file of its own: in process memory, the agents and the
 * commands (each its own process) would not share it.
 */
export function deploymentBroker(given: { store?: string; bus?: string }, stateDir: string): BrokerAddresses {
  const store = given.store ?? embeddedStore(stateDir);
  let bus = given.bus ?? 'memory';
  if (bus === 'memory' && !store.startsWith('sqlite:')) bus = `memory:${join(stateDir, 'bus.db')}`;
  return { store, bus };
}

/** The relay's routes for the broker's servers, and the sockets the agents are told of. */
export function relayPlan(broker: BrokerAddresses, runDir: string): { routes: RelayRoute[]; sockets: { store?: string; bus?: string } } {
  const routes: RelayRoute[] = [];
  const sockets: { store?: string; bus?: string } = {};
  for (const which of ['store', 'bus'] as const) {
    const t = relayTarget(broker[which]);
    if (!t) continue;
    const socket = join(runDir, 'broker', `${which}.sock`);
    routes.push({ ...t, socket });
    sockets[which] = socket;
  }
  return { routes, sockets };
}

export interface AgentPlan {
  runDir: string;
  broker: BrokerAddresses;
  relay: { store?: string; bus?: string };
  settings: AgentSettings;
  /** The deployment's start: verbosity changes from then on are replayed by a (re)started agent. */
  since: number;
}

export const agentSpecFile = (runDir: string, node: string) => join(runDir, 'agents', `${node}.json`);
const agentReadyFile = (runDir: string, node: string) => join(runDir, 'agents', `${node}.ready`);
export const agentLogFile = (runDir: string, node: string) => join(runDir, 'agents', `${node}.log`);

/** One node's agent: the instances attached to the node now and the monitors placed there. */
export function agentSpec(app: App, addressing: Addressing, node: string, plan: AgentPlan): AgentSpec {
  const instances = Object.values(addressing.instances)
    .filter((a) => a.node === node)
    .map((a) => ({
      name: a.instance,
      service: app.instances.find((i) => i.name === a.instance)?.service ?? a.instance,
      ns: instanceNs(app.name, a.instance),
      logFile: join(plan.runDir, a.instance, 'process.log'),
      ip: a.ip,
      iface: a.port,
    }))
    .sort((x, y) => x.name.localeCompare(y.name));
  const monitors = app.monitors
    .filter((m) => (addressing.monitors[m.name]?.node ?? m.node) === node)
    .map((m) => ({ name: m.name, logDir: join(plan.runDir, m.name) }));
  const relay = Object.keys(plan.relay).length ? { relay: plan.relay } : {};
  return {
    version: AGENT_SPEC_VERSION,
    tenant: app.tenant,
    app: app.name,
    node,
    nodeNs: nodeNs(app.name, node),
    // Named whatever the data plane: on nftables there is no such bridge, and a push for one fails.
    ovsBridge: ovsBridge(app.name, addressing.nodes[node]?.index ?? 0),
    instances,
    monitors,
    broker: { ...plan.broker, ...relay },
    level: plan.settings.level,
    periodMs: plan.settings.periodMs,
    controlSince: plan.since,
    ready: agentReadyFile(plan.runDir, node),
  };
}
