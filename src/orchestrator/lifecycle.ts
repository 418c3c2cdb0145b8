/**
 * The orchestrator as the rest of flowtap sees it: lifecycle events, management context,
 * management operations and the deployment's health. The CLI and the controller use only
 * this; the local cloud implements it, and a Kubernetes adapter will, from the API server.
 */
import type {
  ApplyReport,
  Drift,
  NftApplied,
  NftNodeConfig,
  NodeDesired,
  OvsNodeConfig,
  RuleCounter,
  SourceRestriction,
} from '../dataplane/index.js';
import type { Result } from '../diagnostics/index.js';
import type { Addressing, App } from '../model/index.js';
import type { System } from '../system/index.js';
import type { RelayRoute } from './broker-relay.js';

export type LifecycleType =
  | 'deploying'
  | 'deployed'
  | 'failed'
  | 'terminated'
  | 'isolated'
  | 'released'
  | 'moved'
  | 'restricted'
  | 'unrestricted'
  | 'drift';

/**
 * Something that happened to the deployment. Instance events name the instance, its service
 * and node; a restriction names none of them (it holds on every node, `detail` says which
 * source); drift names the node whose rules were repaired.
 */
export interface LifecycleEvent {
  type: LifecycleType;
  instance?: string;
  service?: string;
  node?: string;
  ts: string;
  detail?: string;
}

export type InstanceState = 'running' | 'isolated' | 'terminated';

export interface ManagementContext {
  tenant: string;
  app: string;
  addressing: Addressing;
  /** Instance -> running / isolated / terminated. */
  status: Record<string, InstanceState>;
  /** Sources outside the application limited or dropped on every node. */
  restrictions: SourceRestriction[];
}

/** Where a deployment's context broker lives, as `openBroker` takes it. */
export interface BrokerAddresses {
  store: string;
  bus: string;
}

/** What the node agents start with; `flowtap verbosity` changes it at run time. */
export interface AgentSettings {
  level: number;
  periodMs: number;
}

/**
 * What was asked for at `up`, kept for the deployment's whole life: every later re-render
 * (an operation, a reaction, another process attaching) starts from it, never from defaults.
 */
export interface DeploymentSpec {
  /** Absolute path of the application descriptor. */
  descriptor: string;
  /** Monitoring policy files (absolute paths) in force. */
  policies: string[];
  mode: 'enforce' | 'audit';
  /** Monitor placement the tap contracts were compiled for. */
  strategy: 'per-app' | 'per-node';
  /** Monitors marked down: their redirects are rendered to their failMode. */
  downMonitors: string[];
  /**
   * Monitors that get only a sample of their copies: monitor -> 1 in N flows (a reaction to an
   * overloaded monitor). Redirects are never sampled: what they divert must all arrive.
   */
  sampledMonitors?: Record<string, number>;
  /** The context broker the node agents ship to; none = the deployment has no agents. */
  broker?: BrokerAddresses;
  /** The agents' starting level and period (default level 1, every 5 s). */
  agents?: AgentSettings;
  /** The security controller started with the deployment (`up --controller`); none = not started. */
  controller?: ControllerSettings;
  /**
   * How monitors stand in redirected flows: `queue` = netfilter queues (monitor/inline/queue),
   * absent = hold until retransmitted. Fixed at `up`: the monitor namespaces are made for it.
   */
  inlineMode?: 'queue';
  /**
   * Queue workers per inline monitor (`monitor --workers`, monitor/engine/workers), absent = one.
   * Only with `inlineMode: 'queue'`; fixed at `up` like it (the namespace steers to their queues).
   */
  inlineWorkers?: number;
  /**
   * The nodes' data plane: `ovs` = one Open vSwitch bridge per node (dataplane/ovs), absent =
   * nftables in the node namespaces. Fixed at `up`: the ports are plugged for it.
   */
  dataplane?: 'ovs';
}

/** What the deployment's security controller runs with. */
export interface ControllerSettings {
  /** Absolute path of the reaction rules. */
  rules: string;
  /** Record would-be reactions only. */
  dryRun: boolean;
}

/** A change of the spec after `up` (the descriptor and the broker stay). */
export type SpecChange = Partial<
  Omit<DeploymentSpec, 'descriptor' | 'broker' | 'agents' | 'controller' | 'inlineMode' | 'inlineWorkers' | 'dataplane'>
>;

/** What an orchestrator needs to render a deployment; the controller computes it. */
export interface Deployed {
  app: App;
  addressing: Addressing;
  /**
   * One node's desired data plane (firewall, taps, inline paths) in a context: the orchestrator
   * renders it with its data-plane backend and applies what changed.
   */
  desired: (node: string, ctx: ManagementContext) => NodeDesired;
  /** The command that runs a monitor; none = monitors are not started. */
  monitorCommand?: MonitorCommand;
  /**
   * What makes a monitor namespace's inline path, run once when the namespace is made; none =
   * the hold mode's table (dataplane/nft-inline.ts).
   */
  monitorSetup?: MonitorSetup;
  /** One line on what is deployed (rules, contracts), for progress output. */
  summary?: string;
  /** The command that runs a node's agent from its spec file; none = agents are not started. */
  agentCommand?: AgentCommand;
  /** The command that runs the relay to the broker's servers (see broker-relay.ts). */
  relayCommand?: RelayCommand;
  /** The command that runs the deployment's security controller; none = it is not started. */
  controllerCommand?: ControllerCommand;
}

export type MonitorCommand = (m: { monitor: string; descriptor: string; addressing: string; logDir: string }) => string[];
/** `tunnels`: the monitor namespace's tap tunnels from other nodes (`tun<i>`), which the setup steers too. */
export type MonitorSetup = (m: { monitor: string; ns: string; tunnels: string[] }) => Promise<string[][]>;
export type AgentCommand = (a: { node: string; specFile: string }) => string[];
export type RelayCommand = (routes: RelayRoute[]) => string[];
export type ControllerCommand = (c: { app: string; settings: ControllerSettings }) => string[];

/** Renders a spec; with no addressing, the deployment's default one is planned. */
export type Prepare = (spec: DeploymentSpec, addressing?: Addressing) => Deployed;

/**
 * Whether an instance's service is actually up, whatever its management state:
 * `listening` every declared TCP port accepts connections; `running` processes live in its
 * sandbox but not every port accepts; `down` nothing runs there.
 */
export type InstanceHealth = 'listening' | 'running' | 'down';

export interface PortStatus {
  port: number;
  name: string;
  open: boolean;
}

export interface InstanceStatus {
  instance: string;
  service: string;
  node: string;
  ip: string;
  state: InstanceState;
  health: InstanceHealth;
  /** Processes living in the instance's sandbox (daemonised servers included). */
  processes: number;
  ports: PortStatus[];
}

export interface MonitorStatus {
  monitor: string;
  node: string;
  health: 'running' | 'down';
  processes: number;
  /** Where its logs (notice.log, ...) are written, when they are files on this machine. */
  logDir?: string;
}

/** A process the orchestrator started (its first pid; a daemonising server leaves it behind). */
export interface TrackedProcess {
  /** Instance name, `monitor:NAME`, `agent:NODE`, `relay` or `controller`. */
  owner: string;
  /** The namespace it runs in; none = the host's. */
  ns?: string;
  pid: number;
  alive: boolean;
  argv: string[];
  log?: string;
}

export interface DeploymentStatus {
  tenant: string;
  app: string;
  phase: 'creating' | 'running' | 'failed' | 'stopping';
  since: string;
  spec: DeploymentSpec;
  instances: InstanceStatus[];
  monitors: MonitorStatus[];
  processes: TrackedProcess[];
}

export interface StatusOptions {
  /** Try each declared TCP port (default true); false reports processes only. */
  probe?: boolean;
}

/** One real TCP connection attempt between instances (or from outside). */
export interface Probe {
  /** Source instance, or `external`. */
  from: string;
  fromService: string;
  to: string;
  toService: string;
  port: number;
  portName: string;
  open: boolean;
  error?: string;
}

export interface DownReport {
  /** Sandboxes removed (namespaces, pods). */
  namespaces: string[];
  processes: number;
}

export type LifecycleListener = (e: LifecycleEvent) => void;

/**
 * One node's data-plane configuration handed to whoever applies it there (its agent), with what
 * the orchestrator records as in force on it (`since`), so that the change goes in as a
 * difference and the rules it keeps keep their counters. The answer says how it went in and
 * what is in force now, which the orchestrator records in turn.
 */
export type NodePush = (p: {
  node: string;
  version: number;
  config: NftNodeConfig | OvsNodeConfig;
  since?: NftApplied | OvsNodeConfig;
}) => Promise<Result<{ report: ApplyReport; applied: PushApplied }>>;

/**
 * What a node has in force after a push, as its agent answered: the configuration, with the
 * nft rule handles and the tables' stamp. Open vSwitch names flows by cookie, not by handle:
 * its answer has no handles, and the configuration is what the orchestrator records.
 */
export interface PushApplied {
  config: NftNodeConfig | OvsNodeConfig;
  handles: NftApplied['handles'];
  stamp: string;
}

/** What one change put in force, per node it touched, as the data plane reported it. */
export type NodeReports = Record<string, ApplyReport>;

export interface Orchestrator {
  readonly app: App;
  spec(): DeploymentSpec;
  onEvent(listener: LifecycleListener): () => void;
  context(): ManagementContext;
  status(opts?: StatusOptions): Promise<DeploymentStatus>;
  /** A connection attempt from every running instance and the outside to every other instance's TCP ports. */
  probe(): Promise<Probe[]>;
  /** Ends what the orchestrator keeps running for its own use (nft sessions); optional. */
  close?(): Promise<void>;
  /** Resolves with what the data plane reported per node it changed (none where the orchestrator has no such reports). */
  isolate(instance: string): Promise<NodeReports>;
  release(instance: string): Promise<void>;
  terminate(instance: string): Promise<void>;
  redeploy(instance: string): Promise<void>;
  move(instance: string, node: string): Promise<void>;
  /** Limits or drops a source outside the application on every node (replaces one with the same id). */
  restrict(r: SourceRestriction): Promise<NodeReports>;
  /** Lifts a restriction; an unknown id changes nothing. */
  unrestrict(id: string): Promise<void>;
  /**
   * Compares every node's rules in force with what was applied last and puts back what differs
   * (a rule deleted by hand comes back); returns each node's drift as found, before the repair.
   */
  reconcile(): Promise<Drift[]>;
  /**
   * Changes the spec (policies, mode, strategy, monitors down) and re-renders everything from
   * it; only the nodes whose rules change are touched. With `push`, each of those nodes gets its
   * configuration through `push` (its agent) instead of from this process.
   */
  reconfigure(change: SpecChange, opts?: { push?: NodePush }): Promise<Record<string, ApplyReport>>;
  /**
   * Hands every node whose rules in force differ from its desired state (or every node, with
   * `all`) its configuration through `push`; returns what each node reported.
   */
  deliver(push: NodePush, opts?: { all?: boolean }): Promise<Record<string, ApplyReport>>;
  /** Every counting data-plane rule in force on a node, as the backend that applied them reads them back. */
  counters(node: string): Promise<Result<RuleCounter[]>>;
  /** How to run commands where a node's data plane lives (later, its agent). */
  nodeAccess(node: string): { system: System; ns?: string };
  /** Removes the whole deployment. */
  down(): Promise<DownReport>;
}

/** Deploys, re-attaches to, and removes deployments by application name. */
export interface OrchestratorDriver {
  up(spec: DeploymentSpec, prepare: Prepare): Promise<Orchestrator>;
  /** A deployment made earlier, possibly by another process; rendered from its recorded spec. */
  attach(app: string, prepare: Prepare): Promise<Orchestrator>;
  /** Removes what a deployment made, even when its record is lost or unreadable. */
  down(app: string): Promise<DownReport>;
}

export class EventHub {
  private listeners = new Set<LifecycleListener>();
  on(l: LifecycleListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: Omit<LifecycleEvent, 'ts'>): void {
    const full = { ...e, ts: new Date().toISOString() };
    for (const l of this.listeners) l(full);
  }
}
