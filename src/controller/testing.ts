/**
 * Test helpers for the controller without root: an orchestrator that records every operation
 * and keeps the management context in memory, whose counters show the rules a real data plane
 * would install for it (a quarantine rule per isolated instance's node, a `restrict <id>` rule
 * per restriction on every node), with handles and packet counts a test can move.
 */
import type { ApplyReport, Drift, RuleCounter, SourceRestriction } from '../dataplane/index.js';
import { FlowtapError, ok, type Result } from '../diagnostics/index.js';
import { loadApp, planAddresses, type Addressing, type App } from '../model/index.js';
import type {
  DeploymentSpec,
  DeploymentStatus,
  DownReport,
  LifecycleEvent,
  ManagementContext,
  NodePush,
  NodeReports,
  Orchestrator,
  Probe,
  SpecChange,
} from '../orchestrator/index.js';
import type { System } from '../system/index.js';

type Listener = (e: LifecycleEvent) => void;

export class FakeOrchestrator implements Orchestrator {
  readonly app: App;
  readonly addressing: Addressing;
  /** Every operation, in order: `isolate user-create-0`, `restrict rx-... 198.51.100.7`, ... */
  readonly calls: string[] = [];
  readonly states: Record<string, 'running' | 'isolated' | 'terminated'> = {};
  readonly restrictions: SourceRestriction[] = [];
  /** Packets counted by the rules of an instance's quarantine or a restriction id, moved by tests. */
  readonly packets = new Map<string, number>();
  /** Drift the next reconcile reports. */
  drift: Drift[] = [];
  /** An operation that throws, to test failures. */
  failing?: string;
  /**
   * What isolate answers of the rules it added: nothing (a backend that does not say), nft's echo
   * (handles), or the rules of the accepted transaction (no handle: the controller's nft sessions).
   */
  answers: 'nothing' | 'echo' | 'committed' = 'nothing';
  /** Nodes whose counters were listed, in order. */
  readonly listed: string[] = [];
  private readonly listeners = new Set<Listener>();
  private readonly specValue: DeploymentSpec;
  private handle = 100;
  private readonly handles = new Map<string, number>();

  constructor(descriptor: string, spec: Partial<DeploymentSpec> = {}) {
    const loaded = loadApp(descriptor);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    this.app = loaded.value;
    const planned = planAddresses(this.app);
    if (!planned.ok) throw new Error(JSON.stringify(planned.errors));
    this.addressing = planned.value;
    for (const i of this.app.instances) this.states[i.name] = 'running';
    this.specValue = {
      descriptor,
      policies: [],
      mode: 'enforce',
      strategy: 'per-app',
      downMonitors: [],
      agents: { level: 1, periodMs: 5000 },
      ...spec,
    };
  }

  spec(): DeploymentSpec {
    return structuredClone(this.specValue);
  }
  onEvent(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  private emit(e: Omit<LifecycleEvent, 'ts'>): void {
    for (const l of this.listeners) l({ ...e, ts: new Date().toISOString() });
  }
  private op(line: string): void {
    this.calls.push(line);
    if (this.failing && line.startsWith(this.failing)) throw new Error(`${line}: refused by the test`);
  }
  context(): ManagementContext {
    return {
      tenant: this.app.tenant,
      app: this.app.name,
      addressing: this.addressing,
      status: { ...this.states },
      restrictions: this.restrictions.map((r) => ({ ...r })),
    };
  }
  /** Only what the controller reads: when the deployment was made. */
  async status(): Promise<DeploymentStatus> {
    return { since: this.since } as DeploymentStatus;
  }
  /** When the deployment was made; a test sets another to stand for a new deployment. */
  since = new Date().toISOString();
  /** What the next probe finds: by default every pair open exactly as the requirements ask. */
  probes: Probe[] | null = null;
  async probe(): Promise<Probe[]> {
    this.op('probe');
    if (this.probes) return this.probes;
    const out: Probe[] = [];
    const live = this.app.instances.filter((i) => this.states[i.name] === 'running');
    for (const to of live)
      for (const port of this.app.services.find((x) => x.name === to.service)!.ports)
        for (const from of live)
          if (from !== to)
            out.push({
              from: from.name,
              fromService: from.service,
              to: to.name,
              toService: to.service,
              port: port.port,
              portName: port.name,
              open: this.app.requirements.some((r) => r.from === from.service && r.to === to.service && r.port === port.name),
            });
    return out;
  }
  /** Configuration versions pushed, per node. */
  private version = 0;
  private async pushAll(push: NodePush): Promise<Record<string, ApplyReport>> {
    const reports: Record<string, ApplyReport> = {};
    for (const n of this.app.nodes) {
      const version = ++this.version;
      this.op(`push ${n.name} v${version}`);
      const r = await push({ node: n.name, version, config: { node: n.name, tables: [] } });
      if (!r.ok) throw new FlowtapError(r.errors);
      reports[n.name] = r.value.report;
    }
    return reports;
  }
  async deliver(push: NodePush): Promise<Record<string, ApplyReport>> {
    this.op('deliver');
    return this.pushAll(push);
  }
  private nodeOf(instance: string): string {
    return this.addressing.instances[instance].node;
  }
  async isolate(instance: string): Promise<NodeReports> {
    this.op(`isolate ${instance}`);
    this.states[instance] = 'isolated';
    this.emit({ type: 'isolated', instance, service: instance.replace(/-\d+$/, ''), node: this.nodeOf(instance) });
    const node = this.nodeOf(instance);
    if (this.answers === 'nothing') return {};
    const { handle, ...rule } = this.rule(node, 'quarantine', 'quarantine', instance);
    const installed = this.answers === 'echo' ? [{ ...rule, handle }] : [{ ...rule, packets: 0 }];
    return { [node]: { kind: 'incremental', rulesAdded: 1, rulesRemoved: 0, installed } };
  }
  async release(instance: string): Promise<void> {
    this.op(`release ${instance}`);
    this.states[instance] = 'running';
    this.emit({ type: 'released', instance, node: this.nodeOf(instance) });
  }
  async terminate(instance: string): Promise<void> {
    this.op(`terminate ${instance}`);
    this.states[instance] = 'terminated';
  }
  async redeploy(instance: string): Promise<void> {
    this.op(`redeploy ${instance}`);
    this.states[instance] = 'running';
  }
  async move(instance: string, node: string): Promise<void> {
    this.op(`move ${instance} ${node}`);
  }
  async restrict(r: SourceRestriction): Promise<NodeReports> {
    this.op(
      `restrict ${r.id} ${r.source}${r.port !== undefined ? ` port ${r.port}` : ''}${r.rate ? ` rate ${r.rate.perSecond}/${r.rate.burst}` : ''}`,
    );
    const i = this.restrictions.findIndex((x) => x.id === r.id);
    if (i >= 0) this.restrictions.splice(i, 1);
    this.restrictions.push(r);
    this.emit({ type: 'restricted', detail: `${r.source} (${r.id})` });
    return {};
  }
  async unrestrict(id: string): Promise<void> {
    this.op(`unrestrict ${id}`);
    const i = this.restrictions.findIndex((x) => x.id === id);
    if (i >= 0) this.restrictions.splice(i, 1);
    this.emit({ type: 'unrestricted', detail: id });
  }
  async reconcile(): Promise<Drift[]> {
    this.op('reconcile');
    const d = this.drift;
    this.drift = [];
    return d;
  }
  async reconfigure(change: SpecChange, opts: { push?: NodePush } = {}): Promise<Record<string, ApplyReport>> {
    this.op(`reconfigure ${JSON.stringify(change)}`);
    Object.assign(this.specValue, change);
    return opts.push ? this.pushAll(opts.push) : {};
  }
  private rule(node: string, chain: string, comment: string, key: string): RuleCounter {
    let h = this.handles.get(`${node}|${key}`);
    if (h === undefined) {
      h = this.handle++;
      this.handles.set(`${node}|${key}`, h);
    }
    return { family: 'inet', table: 'flowtap', chain, comment, packets: this.packets.get(key) ?? 0, bytes: 0, handle: h };
  }
  async counters(node: string): Promise<Result<RuleCounter[]>> {
    this.listed.push(node);
    const out: RuleCounter[] = [this.rule(node, 'forward', 'r1 req0', 'r1')];
    for (const [i, s] of Object.entries(this.states))
      if (s === 'isolated' && this.nodeOf(i) === node) out.push(this.rule(node, 'quarantine', 'quarantine', i));
    for (const r of this.restrictions) out.push(this.rule(node, 'forward', `restrict ${r.id}`, r.id));
    return ok(out);
  }
  nodeAccess(): { system: System; ns?: string } {
    throw new Error('not used by the controller');
  }
  async down(): Promise<DownReport> {
    return { namespaces: [], processes: 0 };
  }
}
