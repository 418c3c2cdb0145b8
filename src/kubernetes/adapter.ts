/**
 * A Kubernetes cluster as flowtap's orchestrator: lifecycle events and management context
 * from the cache that the resilient watches keep (watch/), the model from the mapping
 * (mapping.ts), management operations through the API (api.ts). What a cluster cannot do
 * for flowtap (move a pod, run flowtap's own nftables data plane, probe from inside pods) is
 * an error naming the operation and Kubernetes.
 */
import { type Diagnostic, diag, FlowtapError, fail, type Result } from '../diagnostics/index.js';
import type { ApplyReport, Drift, RuleCounter, SourceRestriction } from '../dataplane/index.js';
import { inferFirewall, type Ruleset, selectorMatches } from '../firewall/index.js';
import type { App } from '../model/index.js';
import type {
  DeploymentSpec,
  DeploymentStatus,
  DownReport,
  LifecycleEvent,
  ManagementContext,
  NodeReports,
  Orchestrator,
  Probe,
} from '../orchestrator/index.js';
import type { System } from '../system/index.js';
import { APP_KEY, QUARANTINE_LABEL } from './annotations.js';
import type { ClusterApi } from './api.js';
import { KubernetesCode } from './codes.js';
import { type ClusterModel, mapCluster } from './mapping.js';
import { isUp, podView, WORKLOAD_KINDS, workloadOf } from './pods.js';
import { firewallPolicies, isOwned, quarantinePolicy, quarantinePolicyName } from './policies.js';
import {
  type CacheEvent,
  ClusterWatch,
  type ClusterWatchOptions,
  type KindCounters,
  type KubeObject,
  type ResourceKind,
  type WatchCounters,
  type WatchSource,
} from './watch/index.js';

type Listener = (e: LifecycleEvent) => void;

/**
 * A change to what the model is made of besides pods (their changes are lifecycle events): the
 * application's namespace, its workloads and Services, its requirements ConfigMap.
 */
export interface ModelChange {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  kind: string;
  name: string;
}

const MODEL_KINDS: ReadonlySet<string> = new Set([...WORKLOAD_KINDS, 'Service', 'ConfigMap']);

export interface KubernetesClusterOptions {
  /** The application: the namespace labelled `flowtap.io/app` with this name. */
  app: string;
  /** Where each kind's list and watch come from (clientSource, or a fake). */
  sources: (k: ResourceKind) => WatchSource;
  api: ClusterApi;
  /** What `spec()` reports beyond its defaults (mode, policies, ...); the descriptor names the namespace by default. */
  spec?: Partial<DeploymentSpec>;
  watch?: ClusterWatchOptions;
  /** Told of every lifecycle event. */
  onEvent?: Listener;
  /** How long connecting waits for the first list of every kind (default 30 s). */
  connectTimeoutMs?: number;
  /** Where the events and the restart stamp take their time from (tests). */
  now?: () => Date;
}

/** What `applyFirewall` did to the namespace's flowtap firewall policies. */
export interface FirewallApplied {
  created: string[];
  replaced: string[];
  unchanged: string[];
  deleted: string[];
}

type PodPhase = 'deploying' | 'deployed' | 'failed';

export class KubernetesCluster implements Orchestrator {
  private readonly listeners = new Set<Listener>();
  private readonly changeListeners = new Set<(c: ModelChange) => void>();
  private readonly phases = new Map<string, PodPhase>();
  /** The service of each of the application's pods, kept for its `terminated` event: by then its workload may be gone. */
  private readonly podServices = new Map<string, string>();
  private current: ClusterModel;
  private dirty = false;
  private readonly mapProblems: Diagnostic[] = [];
  private namespaceName: string;

  private constructor(
    private readonly opts: KubernetesClusterOptions,
    private readonly watch: ClusterWatch,
    model: ClusterModel,
  ) {
    this.current = model;
    this.namespaceName = model.namespace;
    if (opts.onEvent) this.listeners.add(opts.onEvent);
  }

  /** Lists every kind, then follows them; fails (watches stopped) when the application is not on the cluster. */
  static async connect(opts: KubernetesClusterOptions): Promise<KubernetesCluster> {
    const watch = new ClusterWatch(opts.sources, opts.watch);
    const early: CacheEvent[] = [];
    let cluster: KubernetesCluster | undefined;
    watch.onEvent((e) => (cluster ? cluster.onCache(e) : early.push(e)));
    const limit = opts.connectTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    let refused: Error | undefined;
    const listed = await Promise.race([
      watch.start().then(
        () => true,
        (e: Error) => {
          refused = e;
          return false;
        },
      ),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), limit);
      }),
    ]);
    clearTimeout(timer);
    if (!listed) {
      const why = watch.problems().at(-1)?.message;
      await watch.stop();
      throw new FlowtapError(
        diag(
          KubernetesCode.API,
          refused
            ? `kubernetes: ${refused.message}`
            : `kubernetes: the API server did not answer every list within ${limit / 1000} s${why ? ` (last: ${why})` : ''}`,
        ),
      );
    }
    const mapped = mapCluster(watch, opts.app);
    if (!mapped.ok) {
      await watch.stop();
      throw new FlowtapError(mapped.errors);
    }
    cluster = new KubernetesCluster(opts, watch, mapped.value);
    for (const e of early) cluster.onCache(e);
    return cluster;
  }

  get app(): App {
    return this.model().app;
  }

  /** The namespace the application lives in. */
  get namespace(): string {
    return this.model().namespace;
  }

  /** The model as the cache has it now (rebuilt after changes; the last good one while the cluster says nothing usable). */
  model(): ClusterModel {
    if (!this.dirty) return this.current;
    this.dirty = false;
    const mapped = mapCluster(this.watch, this.opts.app);
    if (mapped.ok) {
      this.current = mapped.value;
      this.namespaceName = mapped.value.namespace;
      this.mapProblems.length = 0;
    } else this.mapProblems.splice(0, this.mapProblems.length, ...mapped.errors);
    return this.current;
  }

  /** What the mapping left out or could not read, and the watches' recent troubles. */
  problems(): Diagnostic[] {
    const m = this.model();
    return [...this.mapProblems, ...m.problems, ...this.watch.problems()];
  }

  async counters(node: string): Promise<Result<RuleCounter[]>> {
    return fail(
      diag(
        KubernetesCode.UNSUPPORTED,
        `counters of node ${node}: not supported on kubernetes (its CNI enforces the NetworkPolicies and keeps no flowtap rule counters)`,
      ),
    );
  }

  /** Per kind: relists, reconnects, events, bookmarks, malformed events, failures, last resource version, objects cached. */
  watchCounters(): Record<string, KindCounters> {
    return this.watch.counters();
  }

  watchTotals(): WatchCounters {
    return this.watch.totals();
  }

  /** The cached objects of a kind, as the API server last sent them. */
  objects(kind: string): KubeObject[] {
    return [...this.watch.objects(kind)];
  }

  spec(): DeploymentSpec {
    return {
      descriptor: `kubernetes:namespace/${this.namespaceName}`,
      policies: [],
      mode: 'enforce',
      strategy: 'per-node',
      downMonitors: [],
      ...structuredClone(this.opts.spec ?? {}),
    };
  }

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Told of every change to the namespace, workloads, Services or requirements the model is made of. */
  onChange(listener: (c: ModelChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  context(): ManagementContext {
    const m = this.model();
    return { tenant: m.app.tenant, app: m.app.name, addressing: structuredClone(m.addressing), status: { ...m.status }, restrictions: [] };
  }

  async status(): Promise<DeploymentStatus> {
    const m = this.model();
    const ns = this.watch.get('Namespace', m.namespace);
    const since = ns?.metadata.creationTimestamp;
    return {
      tenant: m.app.tenant,
      app: m.app.name,
      phase: 'running',
      since: since instanceof Date ? since.toISOString() : (since ?? ''),
      spec: this.spec(),
      instances: m.app.instances.map((i) => {
        const v = m.pods[i.name];
        return {
          instance: i.name,
          service: i.service,
          node: i.node,
          ip: v.ip ?? '',
          state: m.status[i.name],
          // The pod's readiness is the cluster's own probe of it.
          health: v.ready && m.status[i.name] !== 'terminated' ? 'listening' : v.runningContainers > 0 ? 'running' : 'down',
          processes: v.runningContainers,
          ports: v.ports.filter((p) => p.protocol === 'TCP').map((p) => ({ port: p.port, name: p.name ?? `tcp-${p.port}`, open: v.ready })),
        };
      }),
      monitors: [],
      processes: [],
    };
  }

  async probe(): Promise<Probe[]> {
    throw unsupported('probe', 'connection attempts from inside pods need an exec into each of them, which the adapter does not do');
  }

  /**
   * Cuts an instance off: a deny-all NetworkPolicy for quarantined pods, then the label that
   * puts the pod under it (and takes it out of the firewall's own policies), in that order so
   * the pod is never selected by none.
   */
  async isolate(instance: string): Promise<NodeReports> {
    const { ns, pod } = this.pod(instance);
    await this.opts.api.putNetworkPolicy(quarantinePolicy(ns, pod.metadata.name, this.opts.app));
    await this.opts.api.patchPodLabels(ns, pod.metadata.name, { [QUARANTINE_LABEL]: 'true' });
    const others = this.otherAllowingPolicies(ns, { ...(pod.metadata.labels ?? {}), [QUARANTINE_LABEL]: 'true' });
    this.emit(
      'isolated',
      pod,
      others.length ? `NetworkPolicies ${others.join(', ')} also select it and still allow what they allow` : undefined,
    );
    // The cluster's network plugin enforces the NetworkPolicy; it reports no rules of its own.
    return {};
  }

  /** The label goes first: the firewall's policies select the pod again before its quarantine policy goes. */
  async release(instance: string): Promise<void> {
    const { ns, pod } = this.pod(instance);
    await this.opts.api.patchPodLabels(ns, pod.metadata.name, { [QUARANTINE_LABEL]: null });
    await this.opts.api.deleteNetworkPolicy(ns, quarantinePolicyName(pod.metadata.name));
    this.emit('released', pod);
  }

  /** Deletes the pod (its controller, if any, makes another); the watch reports it terminated. */
  async terminate(instance: string): Promise<void> {
    const { ns, pod } = this.pod(instance);
    await this.opts.api.deletePod(ns, pod.metadata.name);
    await this.dropQuarantine(ns, pod.metadata.name);
  }

  /**
   * A rollout restart of the pod's workload (every pod replaced); the pod alone is deleted when
   * its controller is of another kind (it makes a new one), and a pod of no controller cannot
   * be redeployed.
   */
  async redeploy(instance: string): Promise<void> {
    const { ns, pod } = this.pod(instance);
    const w = workloadOf(pod, this.watch);
    if ((WORKLOAD_KINDS as readonly string[]).includes(w.kind)) {
      const at = (this.opts.now?.() ?? new Date()).toISOString();
      await this.opts.api.restartWorkload(ns, w.kind as (typeof WORKLOAD_KINDS)[number], w.name, at);
    } else if (w.kind === 'Pod') {
      throw unsupported(`redeploy of ${instance}`, 'the pod has no controller to make it again; terminate it and create it anew');
    } else await this.opts.api.deletePod(ns, pod.metadata.name);
    await this.dropQuarantine(ns, pod.metadata.name);
  }

  async move(instance: string, node: string): Promise<void> {
    throw unsupported(`move of ${instance} to ${node}`, 'the scheduler places pods; use node affinity on the workload');
  }

  async restrict(r: SourceRestriction): Promise<NodeReports> {
    throw unsupported(`restrict ${r.id}`, 'NetworkPolicies only allow: they can neither drop one source nor limit its rate');
  }

  async unrestrict(id: string): Promise<void> {
    throw unsupported(`unrestrict ${id}`, 'no source restriction can be in force on a cluster');
  }

  async reconcile(): Promise<Drift[]> {
    throw unsupported('reconcile', 'there are no flowtap nftables rules on a cluster; applyFirewall puts the firewall policies back');
  }

  async reconfigure(): Promise<Record<string, ApplyReport>> {
    throw unsupported('reconfigure', 'the monitors and taps of a spec need the nftables data plane; applyFirewall renders the firewall');
  }

  async deliver(): Promise<Record<string, ApplyReport>> {
    throw unsupported('deliver', 'there are no node agents on a cluster');
  }

  nodeAccess(node: string): { system: System; ns?: string } {
    throw unsupported(`node access to ${node}`, "the adapter runs nothing on the cluster's nodes");
  }

  /** The firewall inferred from the model; refused while the requirements cannot be read (it would cut every connection). */
  inferredFirewall(): Ruleset {
    const m = this.model();
    if (m.requirementsBroken)
      throw new FlowtapError([
        diag(KubernetesCode.REQUIREMENTS, `the requirements of ${m.app.name} cannot be read; no firewall is applied until they are fixed`),
        ...m.problems.filter((p) => p.code !== KubernetesCode.SKIPPED),
      ]);
    return inferFirewall(m.app);
  }

  /**
   * Applies a firewall (by default the one inferred from the model) as NetworkPolicies in the
   * application's namespace: each created, or replaced when it differs; the firewall policies
   * flowtap made earlier and no longer renders are deleted. Refused while the requirements
   * cannot be read: a firewall inferred without them would cut every connection.
   */
  async applyFirewall(ruleset?: Ruleset): Promise<FirewallApplied> {
    const m = this.model();
    const rendered = firewallPolicies(m, ruleset ?? this.inferredFirewall(), this.watch);
    if (!rendered.ok) throw new FlowtapError(rendered.errors);
    const existing = new Map(
      this.objects('NetworkPolicy')
        .filter((p) => p.metadata.namespace === m.namespace && isOwned(p, 'firewall'))
        .map((p) => [p.metadata.name, p]),
    );
    const out: FirewallApplied = { created: [], replaced: [], unchanged: [], deleted: [] };
    for (const p of rendered.value) {
      const old = existing.get(p.metadata.name);
      existing.delete(p.metadata.name);
      if (old && same(old, p)) {
        out.unchanged.push(p.metadata.name);
        continue;
      }
      out[(await this.opts.api.putNetworkPolicy(p)) === 'created' ? 'created' : 'replaced'].push(p.metadata.name);
    }
    for (const name of existing.keys()) {
      await this.opts.api.deleteNetworkPolicy(m.namespace, name);
      out.deleted.push(name);
    }
    return out;
  }

  /**
   * Takes away what flowtap made in the namespace (its NetworkPolicies, its quarantine labels)
   * and stops following the cluster. The workloads are the cluster's: they stay.
   */
  async down(): Promise<DownReport> {
    const m = this.model();
    for (const p of this.objects('Pod'))
      if (p.metadata.namespace === m.namespace && p.metadata.labels?.[QUARANTINE_LABEL] !== undefined)
        await this.opts.api.patchPodLabels(m.namespace, p.metadata.name, { [QUARANTINE_LABEL]: null });
    for (const p of this.objects('NetworkPolicy'))
      if (p.metadata.namespace === m.namespace && (isOwned(p, 'firewall') || isOwned(p, 'quarantine')))
        await this.opts.api.deleteNetworkPolicy(m.namespace, p.metadata.name);
    await this.close();
    return { namespaces: [], processes: 0 };
  }

  /** Stops following the cluster; nothing on it changes. */
  async close(): Promise<void> {
    await this.watch.stop();
  }

  private pod(instance: string): { ns: string; pod: KubeObject } {
    const ns = this.model().namespace;
    const pod = this.watch.get('Pod', `${ns}/${instance}`);
    if (!pod)
      throw new FlowtapError(
        diag(KubernetesCode.UNKNOWN_INSTANCE, `no pod named "${instance}" in namespace ${ns} (application ${this.opts.app})`),
      );
    return { ns, pod };
  }

  private async dropQuarantine(ns: string, pod: string): Promise<void> {
    const name = quarantinePolicyName(pod);
    if (this.watch.get('NetworkPolicy', `${ns}/${name}`)) await this.opts.api.deleteNetworkPolicy(ns, name);
  }

  /** Policies not flowtap's that select these labels and allow something: they keep allowing it. */
  private otherAllowingPolicies(ns: string, labels: Record<string, string>): string[] {
    const out: string[] = [];
    for (const p of this.objects('NetworkPolicy')) {
      if (p.metadata.namespace !== ns || isOwned(p, 'quarantine') || isOwned(p, 'firewall')) continue;
      const spec = p.spec ?? {};
      const allows = (Array.isArray(spec.ingress) && spec.ingress.length > 0) || (Array.isArray(spec.egress) && spec.egress.length > 0);
      const sel = spec.podSelector as { matchLabels?: Record<string, string>; matchExpressions?: never[] } | undefined;
      if (allows && selectorMatches({ matchLabels: sel?.matchLabels ?? {}, matchExpressions: sel?.matchExpressions ?? [] }, labels))
        out.push(p.metadata.name);
    }
    return out;
  }

  /** A change in the cache: the model is rebuilt when next asked for; a pod's change may be a lifecycle event. */
  private onCache(e: CacheEvent): void {
    this.dirty = true;
    // The application may have moved to another namespace: pods are judged by the current one.
    if (e.kind === 'Namespace') this.model();
    if (e.kind !== 'Pod') {
      if (!e.initial && this.changesModel(e)) {
        const c: ModelChange = { type: e.type, kind: e.kind, name: e.object.metadata.name };
        for (const l of this.changeListeners) l(c);
      }
      return;
    }
    const before = this.phases.get(e.key);
    if (e.type === 'DELETED') {
      this.phases.delete(e.key);
      const service = this.podServices.get(e.key);
      this.podServices.delete(e.key);
      if (e.object.metadata.namespace === this.namespaceName) this.emit('terminated', e.object, undefined, service);
      return;
    }
    if (e.object.metadata.namespace === this.namespaceName) {
      // A pod's workload is found through the cache, which may not hold it yet (another watch) or any more.
      const w = workloadOf(e.object, this.watch);
      if (!this.podServices.has(e.key) || (WORKLOAD_KINDS as readonly string[]).includes(w.kind)) this.podServices.set(e.key, w.name);
    }
    const v = podView(e.object);
    let now: PodPhase | undefined = before;
    if (isUp(v)) now = 'deployed';
    else if (v.phase === 'Failed') now = 'failed';
    else if (v.phase === 'Pending' && !v.terminating && before === undefined) now = 'deploying';
    if (now === undefined) return;
    this.phases.set(e.key, now);
    // What was there on connecting is the state found, not news.
    if (e.initial || now === before || e.object.metadata.namespace !== this.namespaceName) return;
    this.emit(now, e.object);
  }

  /**
   * Whether a change concerns the application's model: status updates (a Deployment's ready
   * count, a load balancer's address) do not, nor do other namespaces' objects.
   */
  private changesModel(e: CacheEvent): boolean {
    if (e.kind === 'Namespace') {
      const mine = (o: KubeObject | undefined) =>
        o !== undefined && (o.metadata.labels?.[APP_KEY] === this.opts.app || o.metadata.annotations?.[APP_KEY] === this.opts.app);
      if (!mine(e.object) && !mine(e.previous)) return false;
    } else if (!MODEL_KINDS.has(e.kind) || e.object.metadata.namespace !== this.namespaceName) return false;
    if (e.type !== 'MODIFIED' || !e.previous) return true;
    const meaning = (o: KubeObject) =>
      canonical({ labels: o.metadata.labels ?? {}, annotations: o.metadata.annotations ?? {}, spec: o.spec ?? {}, data: o.data ?? {} });
    return meaning(e.previous) !== meaning(e.object);
  }

  private emit(type: LifecycleEvent['type'], pod: KubeObject, detail?: string, service?: string): void {
    const v = podView(pod);
    const e: LifecycleEvent = {
      type,
      instance: v.name,
      service: service ?? workloadOf(pod, this.watch).name,
      ts: (this.opts.now?.() ?? new Date()).toISOString(),
    };
    if (v.node) e.node = v.node;
    if (detail) e.detail = detail;
    for (const l of this.listeners) l(e);
  }
}

function unsupported(operation: string, why: string): FlowtapError {
  return new FlowtapError(diag(KubernetesCode.UNSUPPORTED, `${operation}: not supported on kubernetes (${why})`));
}

/**
 * Same labels and spec, whatever the key order, the client's types or the server's way of
 * leaving out empty fields (an empty list of peers, ports or expressions means what none does).
 */
function same(a: KubeObject, b: KubeObject): boolean {
  return (
    canonical({ labels: a.metadata.labels ?? {}, spec: a.spec ?? {} }) ===
    canonical({ labels: b.metadata.labels ?? {}, spec: b.spec ?? {} })
  );
}

function canonical(v: unknown): string {
  const prune = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(prune);
    if (!x || typeof x !== 'object') return x;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(x).sort()) {
      const y = prune((x as Record<string, unknown>)[k]);
      if (
        y === undefined ||
        y === null ||
        (Array.isArray(y) && !y.length) ||
        (typeof y === 'object' && !Array.isArray(y) && !Object.keys(y).length)
      )
        continue;
      out[k] = y;
    }
    return out;
  };
  return JSON.stringify(prune(JSON.parse(JSON.stringify(v))));
}
