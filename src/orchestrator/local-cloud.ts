/**
 * The embedded orchestrator: an application deployed on network namespaces of this
 * machine, with real processes. Every command and process goes through the system driver;
 * what it creates is recorded in a state file after every step, so `status` and `down` work
 * from another shell and after a crash.
 *
 * Each node's data plane goes through a data-plane backend, nftables in the node's namespace
 * unless the spec says Open vSwitch (cloud-dataplane.ts): `up` replaces the rules whole, every
 * later change (an operation, a new spec) changes only the rules that differ, so the counters
 * of the others survive. What the backend applied last is kept in the state file, so a process
 * that attaches later does the same.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { diag, FlowtapError, type Diagnostic, type Result } from '../diagnostics/index.js';
import { OrchestratorCode } from './codes.js';
import type { Addressing, App, Attachment } from '../model/index.js';
import {
  NftSessions,
  type ApplyOptions,
  type ApplyReport,
  type Drift,
  type RuleCounter,
  type SourceRestriction,
} from '../dataplane/index.js';
import { cloudDataplane, type CloudDataplane } from './cloud-dataplane.js';
import { ovsBridgesOf, ovsLinksOf } from './ovs-plan.js';
import { mustRun, realSystem, type System } from '../system/index.js';
import { agentLogFile, agentSpec, agentSpecFile, relayPlan, type AgentPlan } from './agents.js';
import {
  EventHub,
  type AgentCommand,
  type Deployed,
  type DeploymentSpec,
  type DeploymentStatus,
  type DownReport,
  type InstanceHealth,
  type InstanceStatus,
  type LifecycleListener,
  type ManagementContext,
  type MonitorCommand,
  type MonitorSetup,
  type MonitorStatus,
  type Orchestrator,
  type Prepare,
  type Probe,
  type RelayCommand,
  type ControllerCommand,
  type NodePush,
  type NodeReports,
  type SpecChange,
  type StatusOptions,
} from './lifecycle.js';
import { instanceNs, monitorNs, nodeNs, nsPrefix, externalNs, underlayNs } from './names.js';
import { namespacePids, stopNamespace } from './namespace-processes.js';
import { probeMatrix } from './probe.js';
import { portsOpen, waitForPorts } from './readiness.js';
import { checkRestriction, describeRestriction } from './restriction.js';
import { expandRunSpec } from './run-spec.js';
import { StateStore, STATE_VERSION, type CloudState } from './state-file.js';
import { monitorTunnels, underlayPlan, type Step } from './topology-plan.js';
import { startOrder } from './start-order.js';
import { withDeploymentLock } from './deployment-lock.js';

/** Where the local cloud runs: shared by every deployment a driver makes or attaches to. */
export interface LocalCloudEnv {
  /** Runs every command and process (default: the real one). */
  system?: System;
  /** Folder of state files and run files (default FLOWTAP_STATE_DIR, else /var/lib/flowtap). */
  stateDir?: string;
  /** Project root: working folder of started processes. */
  root: string;
  progress?: (line: string) => void;
  /**
   * Keep one interactive nft per node namespace for incremental changes (dataplane/nft
   * session.ts): for a long-lived caller that changes rules often, the security controller.
   * `close()` ends them.
   */
  nftSessions?: boolean;
  /** Seconds to wait for an instance's ports to accept connections (default 30). */
  readyTimeout?: number;
  /** How long monitor captures get to attach before traffic starts (default 1000 ms). */
  monitorSettleMs?: number;
  /** Told of every lifecycle event, those of `up` itself included. */
  onEvent?: LifecycleListener;
}

/** What the agents start with when the spec does not say. */
const DEFAULT_AGENTS = { level: 1, periodMs: 5000 };

export interface LocalCloudOptions extends LocalCloudEnv {
  /** One node's desired data plane (firewall and taps) in the current context. */
  desired: Deployed['desired'];
  mode?: DeploymentSpec['mode'];
  policies?: string[];
  strategy?: DeploymentSpec['strategy'];
  downMonitors?: string[];
  /** The context broker the agents ship to, and what they start with (kept in the spec). */
  broker?: DeploymentSpec['broker'];
  agents?: DeploymentSpec['agents'];
  /** The security controller to start once everything runs (kept in the spec). */
  controller?: DeploymentSpec['controller'];
  controllerCommand?: ControllerCommand;
  /** The command that runs a security monitor in its namespace; none = monitors not started. */
  monitorCommand?: MonitorCommand;
  /** How monitors stand in redirected flows (kept in the spec), and what makes their namespaces for it. */
  inlineMode?: DeploymentSpec['inlineMode'];
  inlineWorkers?: DeploymentSpec['inlineWorkers'];
  monitorSetup?: MonitorSetup;
  /** The nodes' data plane (kept in the spec): absent = nftables, `ovs` = Open vSwitch bridges. */
  dataplane?: DeploymentSpec['dataplane'];
  /** The command that runs a node's agent; none (or no broker in the spec) = no agents. */
  agentCommand?: AgentCommand;
  relayCommand?: RelayCommand;
  /** Renders the deployment again when its spec changes (reconfigure); none = the spec is fixed. */
  prepare?: Prepare;
  /** What is deployed (rules, contracts), for the first progress line. */
  summary?: string;
}

export class LocalCloud implements Orchestrator {
  private readonly hub = new EventHub();
  private readonly system: System;
  private readonly progress: (line: string) => void;
  private readonly dataplane: CloudDataplane;
  private readonly sessions: NftSessions | undefined;
  private desired: LocalCloudOptions['desired'];
  private monitorCommand: MonitorCommand | undefined;
  /** The state file as last read or written by this process (mtime and size): read again when another process changed it. */
  private seen = '';

  /** The application as its descriptor says now: a reconfigure reads the descriptor again. */
  get app(): App {
    return this.model;
  }

  private constructor(
    private model: App,
    private state: CloudState,
    private readonly store: StateStore,
    private readonly opts: LocalCloudOptions,
  ) {
    this.system = opts.system ?? realSystem;
    this.progress = opts.progress ?? (() => {});
    this.desired = opts.desired;
    this.monitorCommand = opts.monitorCommand;
    if (opts.onEvent) this.hub.on(opts.onEvent);
    // Without echo: it would make nft fetch the whole ruleset after every commit (session.ts);
    // the controller reads the handles when it confirms.
    if (opts.nftSessions) this.sessions = new NftSessions(this.system, { echo: false });
    this.dataplane = cloudDataplane(model, state, this.system, this.sessions);
    // Started now, not at the first reaction: that one would pay nft's start-up after all.
    if (this.sessions && this.dataplane.kind === 'nftables')
      for (const n of model.nodes) void this.sessions.transact(nodeNs(model.name, n.name), '');
    this.seen = store.fingerprint(model.name);
  }

  /** Ends the nft sessions (`nftSessions`); the cloud stays usable, later changes start new ones. */
  async close(): Promise<void> {
    await this.sessions?.close();
  }

  /** Creates the whole cloud. On failure everything made so far is left recorded for `down`. */
  static async up(app: App, addressing: Addressing, descriptor: string, opts: LocalCloudOptions): Promise<LocalCloud> {
    const store = new StateStore(opts.stateDir);
    const existing = store.load(app.name);
    if (!existing.ok || existing.value)
      throw new FlowtapError(
        diag(
          OrchestratorCode.ALREADY_UP,
          `${app.name} is already up (${existing.ok ? `state ${existing.value!.phase}` : 'its state file is damaged'}); run \`flowtap down ${app.name}\` first`,
          { file: store.file(app.name) },
        ),
      );
    const state: CloudState = {
      version: STATE_VERSION,
      app: app.name,
      tenant: app.tenant,
      createdAt: new Date().toISOString(),
      phase: 'creating',
      spec: {
        descriptor,
        policies: opts.policies ?? [],
        mode: opts.mode ?? 'enforce',
        strategy: opts.strategy ?? 'per-node',
        downMonitors: opts.downMonitors ?? [],
        ...(opts.broker ? { broker: opts.broker, agents: opts.agents ?? DEFAULT_AGENTS } : {}),
        ...(opts.controller ? { controller: opts.controller } : {}),
        ...(opts.inlineMode ? { inlineMode: opts.inlineMode } : {}),
        ...(opts.inlineWorkers ? { inlineWorkers: opts.inlineWorkers } : {}),
        ...(opts.dataplane ? { dataplane: opts.dataplane } : {}),
      },
      addressing,
      namespaces: [],
      processes: [],
      isolated: [],
      terminated: [],
    };
    store.save(state);
    const cloud = new LocalCloud(app, state, store, opts);
    try {
      await cloud.build();
      return cloud;
    } catch (e) {
      cloud.state.phase = 'failed';
      cloud.save();
      throw e;
    }
  }

  /** Re-attaches to a cloud from its state file (another shell, another process), rendered from its recorded spec. */
  static attach(appName: string, prepare: Prepare, env: LocalCloudEnv): LocalCloud {
    const store = new StateStore(env.stateDir);
    const loaded = store.load(appName);
    if (!loaded.ok) throw new FlowtapError(loaded.errors);
    const state = loaded.value;
    if (!state) throw new FlowtapError(diag(OrchestratorCode.NOT_UP, `${appName} is not up (no state file ${store.file(appName)})`));
    const d = prepare(state.spec, state.addressing);
    if (d.app.name !== state.app)
      throw new FlowtapError(
        diag(OrchestratorCode.STATE_FILE, `the descriptor ${state.spec.descriptor} now describes "${d.app.name}", not "${state.app}"`, {
          file: store.file(appName),
        }),
      );
    return new LocalCloud(d.app, state, store, {
      ...env,
      desired: d.desired,
      monitorCommand: d.monitorCommand,
      agentCommand: d.agentCommand,
      relayCommand: d.relayCommand,
      controllerCommand: d.controllerCommand,
      prepare,
    });
  }

  onEvent(listener: LifecycleListener): () => void {
    return this.hub.on(listener);
  }

  get addressing(): Addressing {
    return this.state.addressing;
  }

  spec(): DeploymentSpec {
    this.fresh();
    return structuredClone(this.state.spec);
  }

  context(): ManagementContext {
    this.fresh();
    const status: ManagementContext['status'] = {};
    for (const i of this.app.instances)
      status[i.name] = this.state.terminated.includes(i.name)
        ? 'terminated'
        : this.state.isolated.includes(i.name)
          ? 'isolated'
          : 'running';
    return {
      tenant: this.app.tenant,
      app: this.app.name,
      addressing: this.state.addressing,
      status,
      restrictions: structuredClone(this.state.restrictions ?? []),
    };
  }

  private save(): void {
    this.store.save(this.state);
    this.seen = this.store.fingerprint(this.app.name);
  }

  /**
   * The deployment as it is now: when another process (a shell's `flowtap isolate`, the
   * controller) saved a later revision, that one replaces what this process holds, rendered
   * anew, with the backend's record of what each node has applied. A state file gone (the
   * deployment taken down) leaves this one as it was.
   */
  private fresh(): void {
    const now = this.store.fingerprint(this.app.name);
    if (now === this.seen || now === '') return;
    this.seen = now;
    const loaded = this.store.load(this.app.name);
    if (!loaded.ok || !loaded.value || (loaded.value.revision ?? 0) === (this.state.revision ?? 0)) return;
    const next = loaded.value;
    // Rendered anew, descriptor read again: another process may have changed either.
    if (this.opts.prepare) {
      const d = this.opts.prepare(next.spec, next.addressing);
      if (sameTopology(this.model, d.app)) this.model = d.app;
      this.desired = d.desired;
      this.monitorCommand = d.monitorCommand;
    }
    this.state = next;
    this.dataplane.restore(next);
  }

  /** A change of the deployment: under its lock, from its latest state. */
  private async op<T>(fn: () => Promise<T>): Promise<T> {
    return withDeploymentLock(`${this.store.file(this.app.name)}.lock`, async () => {
      this.fresh();
      return fn();
    });
  }

  private async steps(label: string, steps: Step[]): Promise<void> {
    this.progress(label);
    for (const s of steps) {
      if (s[0] === 'ip' && s[1] === 'netns' && s[2] === 'add') {
        this.state.namespaces.push(s[3]);
        this.save();
      }
      await mustRun(this.system, s);
    }
  }

  private async build(): Promise<void> {
    const { app } = this;
    const a = this.state.addressing;
    const t0 = Date.now();
    const what = this.opts.summary ? `, ${this.opts.summary}` : '';
    this.progress(
      `bringing up ${app.tenant}/${app.name}: ${app.nodes.length} nodes, ${app.instances.length} instances${what} (${this.state.spec.mode})`,
    );
    await this.steps('underlay and external network', underlayPlan(app, a));
    const plans = this.dataplane.plans;
    for (const n of app.nodes) await this.steps(`node ${n.name}`, plans.node(app, a, n.name));
    for (const m of app.monitors) {
      const tunnels = monitorTunnels(app, m.name).map((t) => t.ifname);
      const setup = await this.opts.monitorSetup?.({ monitor: m.name, ns: monitorNs(app.name, m.name), tunnels });
      await this.steps(`monitor ${m.name} on ${m.node}`, plans.monitor(app, a, m.name, setup));
    }
    for (const i of app.instances) {
      this.hub.emit({ type: 'deploying', instance: i.name, service: i.service, node: i.node });
      await this.steps(`instance ${i.name} on ${i.node} (${a.instances[i.name].ip})`, plans.instance(app, a, i.name));
    }
    await this.applyDataplane();
    await this.startMonitors();
    // Before the instances: the agents see the deployment's traffic from its first connection.
    await this.startRelay();
    await this.startAgents();
    for (const i of startOrder(app)) await this.startInstance(i);
    // Running before the controller starts: from then on it may change the deployment too.
    this.state.phase = 'running';
    this.save();
    // Last: a controller started earlier would take the instances' start for attacks on nothing.
    await this.startController();
    this.progress(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  /** The security controller, in the host's namespace (it reaches the broker and every node from there). */
  private async startController(): Promise<void> {
    const settings = this.state.spec.controller;
    const cmd = this.opts.controllerCommand;
    if (!settings || !cmd) return;
    if (!this.state.spec.broker)
      throw new FlowtapError(
        diag(OrchestratorCode.CONTROLLER, 'a controller needs the deployment to have a broker (its notices come through it)'),
      );
    const dir = join(this.runDir(), 'controller');
    mkdirSync(dir, { recursive: true });
    const log = join(dir, 'serve.log');
    writeFileSync(log, '');
    const argv = cmd({ app: this.app.name, settings });
    // Held while it is started and recorded: its first change of the deployment comes after this save.
    const p = await withDeploymentLock(`${this.store.file(this.app.name)}.lock`, async () => {
      const started = this.system.daemon({ argv, cwd: this.opts.root, log, env: { FLOWTAP_STATE_DIR: this.store.dir } });
      this.state.processes.push({ owner: 'controller', pid: started.pid, argv, log });
      this.save();
      return started;
    });
    const deadline = Date.now() + (this.opts.readyTimeout ?? 30) * 1000;
    // `flowtap serve` says so once it follows notices (its rules loaded, drift repaired).
    while ((await this.system.run(['grep', '-q', 'following notices', log])).code !== 0) {
      if (!this.system.alive(p.pid) || Date.now() > deadline)
        throw new FlowtapError(diag(OrchestratorCode.CONTROLLER, `the security controller did not start; see ${log}`, { file: log }));
      await new Promise((r) => setTimeout(r, 50));
    }
    this.progress(`security controller following notices with ${settings.rules}${settings.dryRun ? ' (dry run)' : ''} (log ${log})`);
  }

  private runDir(): string {
    return this.store.runDir(this.app.name);
  }

  /** Monitors read the addressing from a file; it is rewritten whenever an address changes. */
  private addressingFile(): string {
    const file = join(this.runDir(), 'addressing.json');
    mkdirSync(this.runDir(), { recursive: true });
    writeFileSync(file, JSON.stringify(this.state.addressing, null, 2));
    return file;
  }

  /** Starts one monitor process per monitor namespace, reading every packet delivered there. */
  private async startMonitors(): Promise<void> {
    const cmd = this.monitorCommand;
    if (!cmd) return;
    const addressing = this.addressingFile();
    for (const m of this.app.monitors) {
      const owner = `monitor:${m.name}`;
      const logDir = join(this.runDir(), m.name);
      mkdirSync(logDir, { recursive: true });
      const ns = monitorNs(this.app.name, m.name);
      const argv = cmd({ monitor: m.name, descriptor: this.state.spec.descriptor, addressing, logDir });
      const log = join(logDir, 'monitor.log');
      const p = this.system.daemon({ argv, ns, cwd: this.opts.root, log });
      this.state.processes.push({ owner, ns, pid: p.pid, argv, log });
      this.save();
      this.progress(`monitor ${m.name} reading its port (logs in ${logDir})`);
    }
    const settle = this.opts.monitorSettleMs ?? 1000;
    if (settle > 0) await new Promise((r) => setTimeout(r, settle));
  }

  /** What every agent of this deployment is started with; null when it has none. */
  private agentPlan(): AgentPlan | null {
    const broker = this.state.spec.broker;
    if (!broker || !this.opts.agentCommand) return null;
    return {
      runDir: this.runDir(),
      broker,
      relay: relayPlan(broker, this.runDir()).sockets,
      settings: this.state.spec.agents ?? DEFAULT_AGENTS,
      since: Date.parse(this.state.createdAt),
    };
  }

  /** The host side of the way agents reach the broker's servers (see broker-relay.ts); none for files. */
  private async startRelay(): Promise<void> {
    const broker = this.state.spec.broker;
    if (!broker || !this.opts.agentCommand) return;
    const { routes } = relayPlan(broker, this.runDir());
    if (!routes.length) return;
    if (!this.opts.relayCommand)
      throw new FlowtapError(
        diag(
          OrchestratorCode.AGENT_START,
          `the broker's servers (${routes.map((r) => `${r.host}:${r.port}`).join(', ')}) need a relay, and there is no command for one`,
        ),
      );
    const argv = this.opts.relayCommand(routes);
    const log = join(this.runDir(), 'broker', 'relay.log');
    mkdirSync(dirname(log), { recursive: true, mode: 0o700 });
    const p = this.system.daemon({ argv, cwd: this.opts.root, log });
    this.state.processes.push({ owner: 'relay', pid: p.pid, argv, log });
    this.save();
    this.progress(
      `relay to the broker's servers ${routes.map((r) => `${r.host}:${r.port}`).join(', ')} (sockets in ${dirname(routes[0].socket)})`,
    );
  }

  /** One agent per node, in the node's namespace, each waited for until it listens to its controls. */
  private async startAgents(nodes: string[] = this.app.nodes.map((n) => n.name)): Promise<void> {
    const plan = this.agentPlan();
    if (!plan) return;
    const started: { node: string; pid: number; ready: string; log: string }[] = [];
    for (const node of nodes) {
      const spec = agentSpec(this.app, this.state.addressing, node, plan);
      const specFile = agentSpecFile(plan.runDir, node);
      mkdirSync(dirname(specFile), { recursive: true, mode: 0o700 });
      writeFileSync(specFile, JSON.stringify(spec, null, 2), { mode: 0o600 });
      // A ready file of an earlier agent must not pass for this one's.
      rmSync(spec.ready!, { force: true });
      const ns = nodeNs(this.app.name, node);
      const argv = this.opts.agentCommand!({ node, specFile });
      const log = agentLogFile(plan.runDir, node);
      const p = this.system.daemon({ argv, ns, cwd: this.opts.root, log });
      this.state.processes.push({ owner: `agent:${node}`, ns, pid: p.pid, argv, log });
      this.save();
      started.push({ node, pid: p.pid, ready: spec.ready!, log });
    }
    await Promise.all(started.map((a) => this.waitForAgent(a)));
    const s = plan.settings;
    this.progress(`agents on ${nodes.join(', ')}: level ${s.level}, every ${s.periodMs / 1000} s (logs in ${dirname(started[0].log)})`);
  }

  private async waitForAgent(a: { node: string; pid: number; ready: string; log: string }): Promise<void> {
    const timeoutMs = (this.opts.readyTimeout ?? 30) * 1000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if ((await this.system.run(['test', '-e', a.ready])).code === 0) return;
      if (!this.system.alive(a.pid))
        throw new FlowtapError(diag(OrchestratorCode.AGENT_START, `the agent on ${a.node} exited before it started; see ${a.log}`));
      if (Date.now() > deadline)
        throw new FlowtapError(
          diag(OrchestratorCode.AGENT_START, `the agent on ${a.node} did not start within ${timeoutMs / 1000} s; see ${a.log}`),
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Agents whose node's instances changed start again from a new spec (their level is replayed from the bus). */
  private async restartAgents(nodes: string[]): Promise<void> {
    if (!this.agentPlan()) return;
    const owners = new Set(nodes.map((n) => `agent:${n}`));
    const mine = this.state.processes.filter((p) => owners.has(p.owner));
    if (mine.length) await this.system.stop(mine.map((p) => p.pid));
    this.state.processes = this.state.processes.filter((p) => !owners.has(p.owner));
    this.save();
    await this.startAgents(nodes);
  }

  private async restartMonitors(): Promise<void> {
    const mine = this.state.processes.filter((p) => p.owner.startsWith('monitor:'));
    if (mine.length) await this.system.stop(mine.map((p) => p.pid));
    this.state.processes = this.state.processes.filter((p) => !p.owner.startsWith('monitor:'));
    await this.startMonitors();
  }

  /**
   * Brings every node's data plane to the current context, each node in one atomic nft
   * transaction that changes only what differs from what it applied last. Every node is
   * rendered and checked before any is changed: a configuration that fails to render, a full
   * replacement nft refuses or a device missing anywhere leaves every node as it was. (An
   * incremental update is not run past `nft -c`, for speed, see nft/backend.ts: one nft refuses
   * only at apply leaves the nodes before it changed, and is thrown.)
   */
  async applyDataplane(
    nodes: string[] = this.app.nodes.map((n) => n.name),
    opts: ApplyOptions & { push?: NodePush; all?: boolean } = {},
  ): Promise<Record<string, ApplyReport>> {
    const ctx = this.context();
    const errors: Diagnostic[] = [];
    const { backend } = this.dataplane;
    const configs: { node: string; config: unknown }[] = [];
    for (const node of nodes) {
      const r = backend.render(this.desired(node, ctx));
      if (r.ok) configs.push({ node, config: r.value });
      else errors.push(...r.errors);
    }
    if (errors.length) throw new FlowtapError(errors);
    for (const c of configs) {
      const r = await backend.check(c.node, c.config, opts);
      if (!r.ok) throw new FlowtapError(r.errors);
    }
    const reports: Record<string, ApplyReport> = {};
    try {
      for (const c of configs) {
        const t0 = performance.now();
        if (opts.push) {
          // Only the nodes whose rules change hear of it (unless all are asked for).
          if (!opts.all && this.dataplane.unchanged(c.node, c.config)) {
            reports[c.node] = { kind: 'unchanged', rulesAdded: 0, rulesRemoved: 0 };
            continue;
          }
          const config = this.dataplane.pushable(c.config);
          const version = (this.state.configVersion ?? 0) + 1;
          this.state.configVersion = version;
          const since = this.dataplane.applied.get(c.node) as Parameters<NodePush>[0]['since'];
          const r = await opts.push({ node: c.node, version, config, since });
          if (!r.ok) throw new FlowtapError(r.errors);
          this.dataplane.applied.set(c.node, r.value.applied);
          reports[c.node] = r.value.report;
          this.progress(
            `data plane on ${c.node} through its agent (version ${version}): ${describeApply(r.value.report)} in ${(performance.now() - t0).toFixed(0)} ms`,
          );
          continue;
        }
        const r = await backend.apply(c.node, c.config, opts);
        if (!r.ok) throw new FlowtapError(r.errors);
        reports[c.node] = r.value;
        this.progress(`data plane on ${c.node}: ${describeApply(r.value)} in ${(performance.now() - t0).toFixed(0)} ms`);
      }
    } finally {
      // Whatever was applied, on whichever node, before a failure: the next apply starts from it.
      this.dataplane.record(this.state);
      this.save();
    }
    return reports;
  }

  private async startInstance(name: string): Promise<void> {
    const inst = this.app.instances.find((i) => i.name === name)!;
    const svc = this.app.services.find((s) => s.name === inst.service)!;
    const at = this.state.addressing.instances[name];
    const dir = join(this.runDir(), name);
    mkdirSync(dir, { recursive: true });
    if (!svc.run) {
      this.hub.emit({ type: 'deployed', instance: name, service: svc.name, node: at.node, detail: 'no process to run' });
      return;
    }
    const { argv, env } = expandRunSpec(svc.run, { ip: at.ip, dir, root: this.opts.root, addressOf: (s) => this.addressOf(s) }, svc.name);
    const ns = instanceNs(this.app.name, name);
    const log = join(dir, 'process.log');
    const p = this.system.daemon({ argv, ns, env, cwd: this.opts.root, log });
    this.state.processes.push({ owner: name, ns, pid: p.pid, argv, log });
    this.save();
    const ports = svc.ports.filter((x) => x.protocol === 'tcp').map((x) => x.port);
    const ready = await waitForPorts(this.system, ns, at.ip, ports, (this.opts.readyTimeout ?? 30) * 1000);
    if (!ready.ok) {
      this.hub.emit({ type: 'failed', instance: name, service: svc.name, node: at.node, detail: ready.detail });
      throw new FlowtapError(diag(OrchestratorCode.INSTANCE_FAILED, `instance ${name} did not become ready: ${ready.detail}; see ${log}`));
    }
    this.progress(`instance ${name} ready (${ports.join(', ') || 'no tcp ports'})`);
    this.hub.emit({ type: 'deployed', instance: name, service: svc.name, node: at.node });
  }

  private addressOf(service: string): string | undefined {
    const inst = this.app.instances.find((i) => i.service === service && !this.state.terminated.includes(i.name));
    return inst ? this.state.addressing.instances[inst.name]?.ip : undefined;
  }

  /** The recorded processes first (their groups), then whatever still lives in the namespace (daemonised servers). */
  private async stopInstanceProcesses(name: string): Promise<void> {
    const mine = this.state.processes.filter((x) => x.owner === name);
    if (mine.length) await this.system.stop(mine.map((p) => p.pid));
    await stopNamespace(this.system, instanceNs(this.app.name, name));
    this.state.processes = this.state.processes.filter((x) => x.owner !== name);
  }

  private instance(name: string) {
    const inst = this.app.instances.find((i) => i.name === name);
    if (!inst) throw new FlowtapError(diag(OrchestratorCode.UNKNOWN_INSTANCE, `no instance named "${name}" in ${this.app.name}`));
    return inst;
  }

  async isolate(name: string): Promise<NodeReports> {
    return this.op(async () => {
      const inst = this.instance(name);
      if (!this.state.isolated.includes(name)) this.state.isolated.push(name);
      this.save();
      const reports = await this.applyDataplane();
      this.hub.emit({ type: 'isolated', instance: name, service: inst.service, node: this.state.addressing.instances[name].node });
      return reports;
    });
  }

  async release(name: string): Promise<void> {
    return this.op(async () => {
      const inst = this.instance(name);
      this.state.isolated = this.state.isolated.filter((x) => x !== name);
      this.save();
      await this.applyDataplane();
      this.hub.emit({ type: 'released', instance: name, service: inst.service, node: this.state.addressing.instances[name].node });
    });
  }

  async terminate(name: string): Promise<void> {
    return this.op(async () => {
      const inst = this.instance(name);
      if (this.state.terminated.includes(name)) return;
      const at = this.state.addressing.instances[name];
      await this.stopInstanceProcesses(name);
      const ns = instanceNs(this.app.name, name);
      // The port goes first, explicitly: a deleted namespace takes its veth with it only when the
      // kernel gets round to it, and a redeploy right after would find the port still there.
      await this.system.run(this.dataplane.plans.unplug(this.app, this.state.addressing, name)[0]);
      await this.system.run(['ip', 'netns', 'del', ns]);
      await this.system.run(['ip', '-n', nodeNs(this.app.name, at.node), 'route', 'del', `${at.ip}/32`]);
      this.state.namespaces = this.state.namespaces.filter((x) => x !== ns);
      this.state.terminated.push(name);
      this.save();
      await this.applyDataplane();
      this.hub.emit({ type: 'terminated', instance: name, service: inst.service, node: at.node });
    });
  }

  async redeploy(name: string): Promise<void> {
    return this.op(async () => {
      const inst = this.instance(name);
      await this.terminate(name);
      this.hub.emit({ type: 'deploying', instance: name, service: inst.service, node: this.state.addressing.instances[name].node });
      await this.steps(`instance ${name} redeployed`, this.dataplane.plans.instance(this.app, this.state.addressing, name));
      this.state.terminated = this.state.terminated.filter((x) => x !== name);
      this.save();
      await this.applyDataplane();
      await this.startInstance(name);
    });
  }

  /** Moves an instance to another node: new address there, same port name, so contracts follow it. */
  async move(name: string, node: string): Promise<void> {
    return this.op(async () => {
      const inst = this.instance(name);
      if (!this.app.nodes.some((n) => n.name === node))
        throw new FlowtapError(diag(OrchestratorCode.UNKNOWN_NODE, `no node named "${node}" in ${this.app.name}`));
      const old = this.state.addressing.instances[name];
      if (old.node === node) return;
      await this.stopInstanceProcesses(name);
      await mustRun(this.system, this.dataplane.plans.unplug(this.app, this.state.addressing, name)[0]);
      await this.system.run(['ip', '-n', nodeNs(this.app.name, old.node), 'route', 'del', `${old.ip}/32`]);
      const ns = instanceNs(this.app.name, name);
      await this.system.run(['ip', 'netns', 'del', ns]);
      this.state.namespaces = this.state.namespaces.filter((x) => x !== ns);
      const moved: Attachment = { ...old, node, ip: freeAddress(this.state.addressing, node) };
      this.state.addressing = { ...this.state.addressing, instances: { ...this.state.addressing.instances, [name]: moved } };
      this.save();
      await this.steps(
        `instance ${name} moved to ${node} (${moved.ip})`,
        this.dataplane.plans.instance(this.app, this.state.addressing, name),
      );
      await this.applyDataplane();
      await this.restartMonitors();
      await this.startInstance(name);
      await this.restartAgents([old.node, node]);
      this.hub.emit({
        type: 'moved',
        instance: name,
        service: inst.service,
        node,
        detail: `from ${old.node} (${old.ip}) to ${node} (${moved.ip})`,
      });
    });
  }

  /** A new spec: rendered anew, applied to every node at once, monitors restarted on their new contracts. */
  async deliver(push: NodePush, opts: { all?: boolean } = {}): Promise<Record<string, ApplyReport>> {
    return this.op(() => this.applyDataplane(undefined, { push, ...(opts.all ? { all: true } : {}) }));
  }

  async reconfigure(change: SpecChange, opts: { push?: NodePush } = {}): Promise<Record<string, ApplyReport>> {
    return this.op(async () => {
      const prepare = this.opts.prepare;
      if (!prepare)
        throw new FlowtapError(
          diag(OrchestratorCode.RECONFIGURE, `${this.app.name} was brought up with a fixed deployment; it cannot be reconfigured`),
        );
      const spec: DeploymentSpec = { ...this.state.spec, ...structuredClone(change) };
      for (const m of spec.downMonitors)
        if (!this.app.monitors.some((x) => x.name === m))
          throw new FlowtapError(
            diag(OrchestratorCode.UNKNOWN_MONITOR, `no monitor named "${m}" in ${this.app.name}`, { field: 'downMonitors' }),
          );
      for (const [m, n] of Object.entries(spec.sampledMonitors ?? {})) {
        if (!this.app.monitors.some((x) => x.name === m))
          throw new FlowtapError(
            diag(OrchestratorCode.UNKNOWN_MONITOR, `no monitor named "${m}" in ${this.app.name}`, { field: 'sampledMonitors' }),
          );
        if (!Number.isInteger(n) || n < 2 || n > 1_000_000)
          throw new FlowtapError(
            diag(OrchestratorCode.RECONFIGURE, `sampling of ${m} must be 1 in a whole number from 2 to 1000000 flows, not ${n}`, {
              field: 'sampledMonitors',
            }),
          );
      }
      if (spec.sampledMonitors && Object.keys(spec.sampledMonitors).length === 0) delete spec.sampledMonitors;
      const d = prepare(spec, this.state.addressing);
      // The descriptor is read again: its requirements and policies may change here, not what runs where.
      if (!sameTopology(this.model, d.app))
        throw new FlowtapError(
          diag(
            OrchestratorCode.RECONFIGURE,
            `${spec.descriptor} now has other nodes, services, ports, instances or monitors than the running deployment; that takes \`flowtap down\` and \`flowtap up\``,
            { file: spec.descriptor },
          ),
        );
      const previous = { desired: this.desired, monitorCommand: this.monitorCommand, model: this.model };
      this.desired = d.desired;
      this.monitorCommand = d.monitorCommand;
      this.model = d.app;
      let reports: Record<string, ApplyReport>;
      try {
        reports = await this.applyDataplane(undefined, opts.push ? { push: opts.push } : {});
      } catch (e) {
        // Every node is rendered and checked before any is changed: a spec nft rejects changes nothing.
        this.desired = previous.desired;
        this.monitorCommand = previous.monitorCommand;
        this.model = previous.model;
        throw e;
      }
      this.state.spec = spec;
      this.save();
      this.progress(
        `reconfigured: ${spec.mode}, ${spec.strategy}, ${spec.policies.length} policies, monitors down: ${spec.downMonitors.join(', ') || 'none'}`,
      );
      await this.restartMonitors();
      return reports;
    });
  }

  /** Validated first: a bad field is reported and nothing is applied. The same id again replaces it in place. */
  async restrict(r: SourceRestriction): Promise<NodeReports> {
    return this.op(async () => {
      const checked = checkRestriction(r, this.app.network);
      if (!checked.ok) throw new FlowtapError(checked.errors);
      const next = checked.value;
      const before = this.state.restrictions ?? [];
      const at = before.findIndex((x) => x.id === next.id);
      const reports = await this.withRestrictions(at >= 0 ? before.map((x, i) => (i === at ? next : x)) : [...before, next]);
      this.progress(`restricted ${describeRestriction(next)}`);
      this.hub.emit({ type: 'restricted', detail: describeRestriction(next) });
      return reports;
    });
  }

  async unrestrict(id: string): Promise<void> {
    return this.op(async () => {
      const before = this.state.restrictions ?? [];
      const gone = before.find((x) => x.id === id);
      if (!gone) return;
      await this.withRestrictions(before.filter((x) => x !== gone));
      this.progress(`lifted ${describeRestriction(gone)}`);
      this.hub.emit({ type: 'unrestricted', detail: describeRestriction(gone) });
    });
  }

  /**
   * Every node brought to a new list of restrictions. Should it fail, the list goes back; a
   * node changed before a later one failed is recorded as applied, so the next apply takes its
   * restriction out again.
   */
  private async withRestrictions(list: SourceRestriction[]): Promise<NodeReports> {
    const previous = this.state.restrictions;
    this.state.restrictions = list;
    let reports: NodeReports;
    try {
      reports = await this.applyDataplane();
    } catch (e) {
      this.state.restrictions = previous;
      this.save();
      throw e;
    }
    this.save();
    return reports;
  }

  /**
   * Every node's drift read first (a node that cannot be read stops it before anything is
   * repaired), then the nodes whose rules are not in force get their tables replaced whole,
   * from the current context: after a hand edit no handle recorded for them can be trusted.
   * The other nodes are not touched, so their counters run on.
   */
  async reconcile(): Promise<Drift[]> {
    return this.op(async () => {
      const found: Drift[] = [];
      for (const n of this.app.nodes) {
        const d = await this.dataplane.backend.drift(n.name);
        if (!d.ok) throw new FlowtapError(d.errors);
        found.push(d.value);
      }
      const broken = found.filter((d) => !d.inForce);
      if (broken.length) {
        this.progress(`repairing the data plane on ${broken.map((d) => d.node).join(', ')}`);
        await this.applyDataplane(
          broken.map((d) => d.node),
          { repair: true },
        );
      } else {
        // Reading them back taught the backend every handle: the next update needs no listing.
        this.dataplane.record(this.state);
        this.save();
      }
      for (const d of broken) this.hub.emit({ type: 'drift', node: d.node, detail: describeDrift(d) });
      // The hooks are part of what must be in force: an agent that died (killed, crashed) is started again.
      const dead = this.state.processes
        .filter((p) => p.owner.startsWith('agent:') && !this.system.alive(p.pid))
        .map((p) => p.owner.slice('agent:'.length));
      if (dead.length) {
        this.progress(`restarting the agent${dead.length > 1 ? 's' : ''} on ${dead.join(', ')}`);
        await this.restartAgents(dead);
        for (const node of dead) this.hub.emit({ type: 'drift', node, detail: `the agent on ${node} was not running; restarted` });
      }
      return found;
    });
  }

  async probe(): Promise<Probe[]> {
    return probeMatrix(this.system, this.app, this.context());
  }

  /** How to run commands where a node's data plane lives (its namespace). */
  nodeAccess(node: string): { system: System; ns: string } {
    this.node(node);
    return { system: this.system, ns: nodeNs(this.app.name, node) };
  }

  async counters(node: string): Promise<Result<RuleCounter[]>> {
    this.node(node);
    return this.dataplane.backend.counters(node);
  }

  private node(name: string): void {
    if (!this.state.addressing.nodes[name])
      throw new FlowtapError(diag(OrchestratorCode.UNKNOWN_NODE, `no node named "${name}" in ${this.app.name}`));
  }

  async status(opts: StatusOptions = {}): Promise<DeploymentStatus> {
    this.fresh();
    const probe = opts.probe ?? true;
    const ctx = this.context();
    const instances = await Promise.all(
      this.app.instances.map(async (i): Promise<InstanceStatus> => {
        const at = this.state.addressing.instances[i.name];
        const tcp = this.app.services.find((s) => s.name === i.service)!.ports.filter((p) => p.protocol === 'tcp');
        const base = { instance: i.name, service: i.service, node: at.node, ip: at.ip, state: ctx.status[i.name] };
        if (ctx.status[i.name] === 'terminated')
          return { ...base, health: 'down', processes: 0, ports: tcp.map((p) => ({ port: p.port, name: p.name, open: false })) };
        const ns = instanceNs(this.app.name, i.name);
        const pids = await namespacePids(this.system, ns);
        // Nothing running there: nothing can be listening, no need to knock.
        const open =
          probe && pids.length
            ? await portsOpen(
                this.system,
                ns,
                at.ip,
                tcp.map((p) => p.port),
              )
            : tcp.map(() => false);
        return {
          ...base,
          health: instanceHealth(pids.length, open, probe),
          processes: pids.length,
          ports: tcp.map((p, k) => ({ port: p.port, name: p.name, open: open[k] })),
        };
      }),
    );
    const monitors = await Promise.all(
      this.app.monitors.map(async (m): Promise<MonitorStatus> => {
        const pids = await namespacePids(this.system, monitorNs(this.app.name, m.name));
        return {
          monitor: m.name,
          node: this.state.addressing.monitors[m.name]?.node ?? m.node,
          health: pids.length ? 'running' : 'down',
          processes: pids.length,
          logDir: join(this.runDir(), m.name),
        };
      }),
    );
    return {
      tenant: this.state.tenant,
      app: this.state.app,
      phase: this.state.phase,
      since: this.state.createdAt,
      spec: this.spec(),
      instances,
      monitors,
      processes: this.state.processes.map((p) => ({
        owner: p.owner,
        ...(p.ns ? { ns: p.ns } : {}),
        pid: p.pid,
        alive: this.system.alive(p.pid),
        argv: p.argv,
        log: p.log,
      })),
    };
  }

  async down(): Promise<DownReport> {
    return downCloud(this.app.name, { ...this.opts });
  }
}

/**
 * A started process can exit while its service runs on (a server that daemonises), so health
 * comes from what lives in the sandbox and what answers on the declared ports.
 */
function instanceHealth(processes: number, open: boolean[], probed = true): InstanceHealth {
  if (processes === 0) return 'down';
  return probed && open.length > 0 && open.every(Boolean) ? 'listening' : 'running';
}

/** `missing: flowtap in_db_0: r3 req9 ...; extra: none`, and why when the tables themselves are gone or replaced. */
function describeDrift(d: Drift): string {
  const refs = (list: Drift['missing']) => (list.length ? list.map((r) => `${r.table} ${r.chain}: ${r.comment}`).join(', ') : 'none');
  return `missing: ${refs(d.missing)}; extra: ${refs(d.extra)}${d.reason ? ` (${d.reason})` : ''}`;
}

function describeApply(r: ApplyReport): string {
  if (r.kind === 'unchanged') return 'unchanged';
  if (r.kind === 'incremental')
    return r.rulesAdded || r.rulesRemoved
      ? `incremental (+${r.rulesAdded} -${r.rulesRemoved} rules)`
      : 'incremental (sets and chains only, no rule)';
  return `full (${r.rulesAdded} rules${r.reason ? `: ${r.reason}` : ''})`;
}

/** Next unused host address in a node's subnet. */
function freeAddress(addressing: Addressing, node: string): string {
  const used = new Set([...Object.values(addressing.instances).map((a) => a.ip), addressing.nodes[node].gateway]);
  const [a, b, c] = addressing.nodes[node].subnet.split('/')[0].split('.');
  for (let h = 2; h < 255; h++) {
    const ip = `${a}.${b}.${c}.${h}`;
    if (!used.has(ip)) return ip;
  }
  throw new FlowtapError(diag(OrchestratorCode.NO_ADDRESS, `node ${node} has no free address left`));
}

/**
 * Removes everything an application's cloud made: processes, namespaces (and with them
 * links and nft tables). Works from the state file and, for leftovers of a crash or a
 * damaged state file, from the namespace prefix. Idempotent.
 */
export async function downCloud(appName: string, env: Pick<LocalCloudEnv, 'system' | 'stateDir'> = {}): Promise<DownReport> {
  const system = env.system ?? realSystem;
  const store = new StateStore(env.stateDir);
  const loaded = store.load(appName);
  const state = loaded.ok ? loaded.value : null;
  let processes = 0;
  if (state) {
    state.phase = 'stopping';
    store.save(state);
    // Agents first: they ship what they still hold, through the relay, which must still run.
    const agents = state.processes.filter((p) => p.owner.startsWith('agent:'));
    const rest = state.processes.filter((p) => !p.owner.startsWith('agent:'));
    if (agents.length) await system.stop(agents.map((p) => p.pid));
    if (rest.length) await system.stop(rest.map((p) => p.pid));
    processes += state.processes.length;
  }
  const listed = await system.run(['ip', 'netns', 'list']);
  const prefix = nsPrefix(appName);
  // Only names this application's plans make: `web-inline-ovs`'s namespaces also start with
  // `ft-web-inline-`, and `down web-inline` must leave them alone.
  const kinds = /^(?:[nim]-.+|underlay|external)$/;
  const present = listed.stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(prefix) && kinds.test(n.slice(prefix.length)));
  const all = [...new Set([...(state?.namespaces ?? []), ...present])];
  // Instances and monitors first, nodes after, the underlay last: no link is left dangling.
  const rank = (ns: string) => (ns === underlayNs(appName) || ns === externalNs(appName) ? 2 : ns.startsWith(`${prefix}n-`) ? 1 : 0);
  all.sort((x, y) => rank(x) - rank(y));
  const counts = await Promise.all(all.map((ns) => stopNamespace(system, ns)));
  processes += counts.reduce((a, b) => a + b, 0);
  const removed: string[] = [];
  for (const ns of all) {
    const r = await system.run(['ip', 'netns', 'del', ns]);
    if (r.code === 0) removed.push(ns);
  }
  // The bridges and the veths' ends live in the host's namespace: they go by name.
  if (state?.spec.dataplane === 'ovs') {
    const bridges = await system.run(['ovs-vsctl', 'list-br']);
    for (const b of ovsBridgesOf(appName, bridges.stdout)) await system.run(['ovs-vsctl', '--if-exists', 'del-br', b]);
    const links = await system.run(['ip', '-br', 'link']);
    for (const l of ovsLinksOf(appName, links.stdout)) await system.run(['ip', 'link', 'del', l]);
  }
  store.remove(appName);
  return { namespaces: removed, processes };
}

/** What runs where is the same (nodes, services and their ports, instances and their nodes, monitors); requirements may differ. */
function sameTopology(a: App, b: App): boolean {
  const shape = (x: App) =>
    JSON.stringify([
      x.name,
      x.nodes.map((n) => n.name),
      x.services.map((v) => [v.name, v.ports.map((p) => [p.name, p.port, p.protocol])]),
      x.instances.map((i) => [i.name, i.node]),
      x.monitors.map((m) => [m.name, m.node]),
    ]);
  return shape(a) === shape(b);
}
