/**
 * The embedded orchestrator: an application deployed on network namespaces of this
 * machine, with real processes. What it creates is recorded in a state file after every
 * step, so `status` and `down` work from another shell and after a crash.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diag, FlowtapError } from '../diagnostics/index.js';
import type { Addressing, App, Attachment } from '../model/index.js';
import { applyNft, checkNft } from '../dataplane/index.js';
import { EventHub, type LifecycleListener, type ManagementContext, type Orchestrator } from './lifecycle.js';
import { instanceNs, monitorNs, nodeNs, nsPrefix, externalNs, underlayNs } from './names.js';
import { startInNamespace, stopProcess, stopProcesses } from './processes.js';
import { expandRunSpec } from './run-spec.js';
import { appRunDir, loadState, removeState, saveState, type CloudState } from './state-file.js';
import { instancePlan, instanceUnplugPlan, monitorPlan, nodePlan, underlayPlan, type Step } from './topology-plan.js';
import { mustRun, systemRunner, type CommandRunner } from './runner.js';
import { startOrder } from './start-order.js';
import { waitForPorts } from './readiness.js';

export interface LocalCloudOptions {
  runner?: CommandRunner;
  progress?: (line: string) => void;
  /** The complete nft script (firewall and taps) for one node in the current context. */
  dataplane: (node: string, ctx: ManagementContext) => string;
  /** Project root: working folder of started processes. */
  root: string;
  mode?: 'enforce' | 'audit';
  policies?: string[];
  /** Seconds to wait for an instance's ports to accept connections. */
  readyTimeout?: number;
  /**
   * The command that runs a security monitor inside its namespace, given where to find the
   * descriptor, the current addressing and where to write logs; none = monitors not started.
   */
  monitorCommand?: (m: { monitor: string; descriptor: string; addressing: string; logDir: string }) => string[];
}

export class LocalCloud implements Orchestrator {
  private readonly hub = new EventHub();
  private readonly runner: CommandRunner;
  private readonly progress: (line: string) => void;

  private constructor(
    readonly app: App,
    private state: CloudState,
    private readonly opts: LocalCloudOptions,
  ) {
    this.runner = opts.runner ?? systemRunner;
    this.progress = opts.progress ?? (() => {});
  }

  /** Creates the whole cloud. On failure everything made so far is left recorded for `down`. */
  static async up(app: App, addressing: Addressing, descriptor: string, opts: LocalCloudOptions): Promise<LocalCloud> {
    const existing = loadState(app.name);
    if (existing)
      throw new FlowtapError(
        diag('E_ALREADY_UP', `${app.name} is already up (state ${existing.phase}); run \`flowtap down ${app.name}\` first`),
      );
    const state: CloudState = {
      app: app.name,
      tenant: app.tenant,
      descriptor,
      createdAt: new Date().toISOString(),
      addressing,
      namespaces: [],
      processes: [],
      isolated: [],
      terminated: [],
      mode: opts.mode ?? 'enforce',
      policies: opts.policies ?? [],
      phase: 'creating',
    };
    saveState(state);
    const cloud = new LocalCloud(app, state, opts);
    try {
      await cloud.build();
      state.phase = 'running';
      saveState(state);
      return cloud;
    } catch (e) {
      state.phase = 'failed';
      saveState(state);
      throw e;
    }
  }

  /** Re-attaches to a running cloud from its state file (another shell, another process). */
  static attach(app: App, opts: LocalCloudOptions): LocalCloud {
    const state = loadState(app.name);
    if (!state) throw new FlowtapError(diag('E_NOT_UP', `${app.name} is not up (no state file)`));
    return new LocalCloud(app, state, opts);
  }

  onEvent(listener: LifecycleListener): () => void {
    return this.hub.on(listener);
  }

  get addressing(): Addressing {
    return this.state.addressing;
  }

  context(): ManagementContext {
    const status: ManagementContext['status'] = {};
    for (const i of this.app.instances)
      status[i.name] = this.state.terminated.includes(i.name)
        ? 'terminated'
        : this.state.isolated.includes(i.name)
          ? 'isolated'
          : 'running';
    return { tenant: this.app.tenant, app: this.app.name, addressing: this.state.addressing, status };
  }

  private async steps(label: string, steps: Step[]): Promise<void> {
    this.progress(label);
    for (const s of steps) {
      if (s[0] === 'ip' && s[1] === 'netns' && s[2] === 'add') {
        this.state.namespaces.push(s[3]);
        saveState(this.state);
      }
      await mustRun(this.runner, s);
    }
  }

  private async build(): Promise<void> {
    const { app } = this;
    const a = this.state.addressing;
    const t0 = Date.now();
    await this.steps('underlay and external network', underlayPlan(app, a));
    for (const n of app.nodes) await this.steps(`node ${n.name}`, nodePlan(app, a, n.name));
    for (const m of app.monitors) await this.steps(`monitor ${m.name} on ${m.node}`, monitorPlan(app, a, m.name));
    for (const i of app.instances) {
      this.hub.emit({ type: 'deploying', instance: i.name, service: i.service, node: i.node });
      await this.steps(`instance ${i.name} on ${i.node} (${a.instances[i.name].ip})`, instancePlan(app, a, i.name));
    }
    await this.applyDataplane();
    await this.startMonitors();
    for (const i of startOrder(app)) await this.startInstance(i);
    this.progress(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  /** Monitors read the addressing from a file; it is rewritten whenever an address changes. */
  private addressingFile(): string {
    const file = join(appRunDir(this.app.name), 'addressing.json');
    mkdirSync(appRunDir(this.app.name), { recursive: true });
    writeFileSync(file, JSON.stringify(this.state.addressing, null, 2));
    return file;
  }

  /** Starts one monitor process per monitor namespace, reading every packet delivered there. */
  async startMonitors(): Promise<void> {
    const cmd = this.opts.monitorCommand;
    if (!cmd) return;
    const addressing = this.addressingFile();
    for (const m of this.app.monitors) {
      const owner = `monitor:${m.name}`;
      const logDir = join(appRunDir(this.app.name), m.name);
      mkdirSync(logDir, { recursive: true });
      const ns = monitorNs(this.app.name, m.name);
      const argv = cmd({ monitor: m.name, descriptor: this.state.descriptor, addressing, logDir });
      const p = startInNamespace(ns, argv, {}, join(logDir, 'monitor.log'), this.opts.root);
      this.state.processes.push({ owner, ns, pid: p.pid, argv, log: p.log });
      saveState(this.state);
      this.progress(`monitor ${m.name} reading its port (logs in ${logDir})`);
    }
    // Give the captures a moment to attach before traffic starts.
    await new Promise((r) => setTimeout(r, 1000));
  }

  private async restartMonitors(): Promise<void> {
    const mine = this.state.processes.filter((p) => p.owner.startsWith('monitor:'));
    await stopProcesses(mine.map((p) => p.pid));
    this.state.processes = this.state.processes.filter((p) => !p.owner.startsWith('monitor:'));
    await this.startMonitors();
  }

  /** Applies every node's nft script, each atomically; a rejected script leaves that node's previous rules. */
  async applyDataplane(nodes: string[] = this.app.nodes.map((n) => n.name)): Promise<void> {
    const ctx = this.context();
    // Render and check every node first, so one node's bad script cannot leave the nodes
    // half updated: either every node gets its new rules or none does.
    const scripts = nodes.map((node) => ({ node, ns: nodeNs(this.app.name, node), script: this.opts.dataplane(node, ctx) }));
    for (const s of scripts) {
      const c = await checkNft(this.runner, s.ns, s.script);
      if (!c.ok) throw new FlowtapError(c.errors);
    }
    for (const s of scripts) {
      const r = await applyNft(this.runner, s.ns, s.script);
      if (!r.ok) throw new FlowtapError(r.errors);
      this.progress(`data plane applied on ${s.node}`);
    }
  }

  private async startInstance(name: string): Promise<void> {
    const inst = this.app.instances.find((i) => i.name === name)!;
    const svc = this.app.services.find((s) => s.name === inst.service)!;
    const at = this.state.addressing.instances[name];
    const dir = join(appRunDir(this.app.name), name);
    mkdirSync(dir, { recursive: true });
    if (!svc.run) {
      this.hub.emit({ type: 'deployed', instance: name, service: svc.name, node: at.node, detail: 'no process to run' });
      return;
    }
    const { argv, env } = expandRunSpec(
      svc.run,
      { ip: at.ip, dir, root: this.opts.root, addressOf: (s) => this.addressOf(s) },
      svc.name,
    );
    const ns = instanceNs(this.app.name, name);
    const p = startInNamespace(ns, argv, env, join(dir, 'process.log'), this.opts.root);
    this.state.processes.push({ owner: name, ns, pid: p.pid, argv, log: p.log });
    saveState(this.state);
    const ports = svc.ports.filter((x) => x.protocol === 'tcp').map((x) => x.port);
    const ready = await waitForPorts(this.runner, ns, at.ip, ports, (this.opts.readyTimeout ?? 30) * 1000);
    if (!ready.ok) {
      this.hub.emit({ type: 'failed', instance: name, service: svc.name, node: at.node, detail: ready.detail });
      throw new FlowtapError(diag('E_INSTANCE_FAILED', `instance ${name} did not become ready: ${ready.detail}; see ${p.log}`));
    }
    this.progress(`instance ${name} ready (${ports.join(', ') || 'no tcp ports'})`);
    this.hub.emit({ type: 'deployed', instance: name, service: svc.name, node: at.node });
  }

  private addressOf(service: string): string | undefined {
    const inst = this.app.instances.find((i) => i.service === service && !this.state.terminated.includes(i.name));
    return inst ? this.state.addressing.instances[inst.name]?.ip : undefined;
  }

  private async stopInstanceProcesses(name: string): Promise<void> {
    const ns = instanceNs(this.app.name, name);
    for (const p of this.state.processes.filter((x) => x.owner === name)) await stopProcess(p.pid);
    await killNamespacePids(this.runner, ns);
    this.state.processes = this.state.processes.filter((x) => x.owner !== name);
  }

  private instance(name: string) {
    const inst = this.app.instances.find((i) => i.name === name);
    if (!inst) throw new FlowtapError(diag('E_UNKNOWN_INSTANCE', `no instance named "${name}"`));
    return inst;
  }

  async isolate(name: string): Promise<void> {
    const inst = this.instance(name);
    if (!this.state.isolated.includes(name)) this.state.isolated.push(name);
    saveState(this.state);
    await this.applyDataplane();
    this.hub.emit({ type: 'isolated', instance: name, service: inst.service, node: this.state.addressing.instances[name].node });
  }

  async release(name: string): Promise<void> {
    const inst = this.instance(name);
    this.state.isolated = this.state.isolated.filter((x) => x !== name);
    saveState(this.state);
    await this.applyDataplane();
    this.hub.emit({ type: 'released', instance: name, service: inst.service, node: this.state.addressing.instances[name].node });
  }

  async terminate(name: string): Promise<void> {
    const inst = this.instance(name);
    if (this.state.terminated.includes(name)) return;
    await this.stopInstanceProcesses(name);
    const ns = instanceNs(this.app.name, name);
    await this.runner.run(['ip', 'netns', 'del', ns]);
    await this.runner.run(['ip', '-n', nodeNs(this.app.name, this.state.addressing.instances[name].node), 'route', 'del', `${this.state.addressing.instances[name].ip}/32`]);
    this.state.namespaces = this.state.namespaces.filter((x) => x !== ns);
    this.state.terminated.push(name);
    saveState(this.state);
    await this.applyDataplane();
    this.hub.emit({ type: 'terminated', instance: name, service: inst.service, node: this.state.addressing.instances[name].node });
  }

  async redeploy(name: string): Promise<void> {
    const inst = this.instance(name);
    await this.terminate(name);
    this.hub.emit({ type: 'deploying', instance: name, service: inst.service, node: this.state.addressing.instances[name].node });
    await this.steps(`instance ${name} redeployed`, instancePlan(this.app, this.state.addressing, name));
    this.state.terminated = this.state.terminated.filter((x) => x !== name);
    saveState(this.state);
    await this.applyDataplane();
    await this.startInstance(name);
  }

  /** Moves an instance to another node: new address there, same port name, so contracts follow it. */
  async move(name: string, node: string): Promise<void> {
    const inst = this.instance(name);
    if (!this.app.nodes.some((n) => n.name === node)) throw new FlowtapError(diag('E_UNKNOWN_NODE', `no node named "${node}"`));
    const old = this.state.addressing.instances[name];
    if (old.node === node) return;
    await this.stopInstanceProcesses(name);
    await mustRun(this.runner, instanceUnplugPlan(this.app, this.state.addressing, name)[0]);
    await this.runner.run(['ip', '-n', nodeNs(this.app.name, old.node), 'route', 'del', `${old.ip}/32`]);
    const ns = instanceNs(this.app.name, name);
    await this.runner.run(['ip', 'netns', 'del', ns]);
    this.state.namespaces = this.state.namespaces.filter((x) => x !== ns);
    const moved: Attachment = { ...old, node, ip: freeAddress(this.state.addressing, node) };
    this.state.addressing = { ...this.state.addressing, instances: { ...this.state.addressing.instances, [name]: moved } };
    saveState(this.state);
    await this.steps(`instance ${name} moved to ${node} (${moved.ip})`, instancePlan(this.app, this.state.addressing, name));
    await this.applyDataplane();
    await this.restartMonitors();
    await this.startInstance(name);
    this.hub.emit({ type: 'moved', instance: name, service: inst.service, node, detail: `from ${old.node} (${old.ip}) to ${node} (${moved.ip})` });
  }
}

/** Next unused host address in a node's subnet. */
export function freeAddress(addressing: Addressing, node: string): string {
  const used = new Set([...Object.values(addressing.instances).map((a) => a.ip), addressing.nodes[node].gateway]);
  const [a, b, c] = addressing.nodes[node].subnet.split('/')[0].split('.');
  for (let h = 2; h < 255; h++) {
    const ip = `${a}.${b}.${c}.${h}`;
    if (!used.has(ip)) return ip;
  }
  throw new FlowtapError(diag('E_NO_ADDRESS', `node ${node} has no free address left`));
}

async function killNamespacePids(runner: CommandRunner, ns: string): Promise<number> {
  const r = await runner.run(['ip', 'netns', 'pids', ns]);
  if (r.code !== 0) return 0;
  const pids = r.stdout.split(/\s+/).filter(Boolean).map(Number);
  await stopProcesses(pids, 3000);
  return pids.length;
}

export interface DownReport {
  namespaces: string[];
  processes: number;
}

/**
 * Removes everything an application's cloud made: processes, namespaces (and with them
 * links and nft tables). Works from the state file and, for leftovers of a crash, from
 * the namespace prefix. Idempotent.
 */
export async function downCloud(appName: string, runner: CommandRunner = systemRunner): Promise<DownReport> {
  const state = loadState(appName);
  let processes = 0;
  if (state) {
    state.phase = 'stopping';
    saveState(state);
    await stopProcesses(state.processes.map((p) => p.pid));
    processes += state.processes.length;
  }
  const listed = await runner.run(['ip', 'netns', 'list']);
  const prefix = nsPrefix(appName);
  const present = listed.stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(prefix));
  const all = [...new Set([...(state?.namespaces ?? []), ...present])];
  // Instances and monitors first, nodes after, the underlay last: no link is left dangling.
  const rank = (ns: string) => (ns === underlayNs(appName) || ns === externalNs(appName) ? 2 : ns.startsWith(`${prefix}n-`) ? 1 : 0);
  all.sort((x, y) => rank(x) - rank(y));
  const counts = await Promise.all(all.map((ns) => killNamespacePids(runner, ns)));
  processes += counts.reduce((a, b) => a + b, 0);
  const removed: string[] = [];
  for (const ns of all) {
    const r = await runner.run(['ip', 'netns', 'del', ns]);
    if (r.code === 0) removed.push(ns);
  }
  removeState(appName);
  return { namespaces: removed, processes };
}

