/**
 * The controllers of the stand-in, wired to the store. The kubelet and the garbage collector
 * act on each change as it comes; the workload and endpoints controllers mark what a change
 * concerns and reconcile each marked object once when the store is idle, as real controllers
 * batch through their work queues (a ReplicaSet's status is written once for a hundred pods
 * starting, not a hundred times). Reconciles are level-triggered (they read the store, not the
 * change), write only what differs, and run synchronously, so by the time a write to the API
 * returns its consequences (ReplicaSets, pods, addresses, endpoints, garbage collection) are
 * stored and their watch events sent, each with its own resourceVersion.
 */
import { at, controllerOf, type KubeObject } from '../object.js';
import type { ObjectStore, StoreChange } from '../store.js';
import { Endpoints } from './endpoints.js';
import { GarbageCollector } from './garbage.js';
import { Kubelet } from './kubelet.js';
import { Access } from './owners.js';
import { Workloads } from './workloads.js';

interface ControllerOptions {
  podCidr: string;
}

const WORKLOADS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet']);

export class Controllers {
  private readonly a: Access;
  private readonly workloads: Workloads;
  private readonly kubelet: Kubelet;
  private readonly endpoints: Endpoints;
  private readonly gc: GarbageCollector;
  private readonly stops: (() => void)[];
  /** Workloads to reconcile at the next idle moment, by kind/namespace/name. */
  private readonly dirty = new Map<string, { kind: string; namespace?: string; name: string }>();
  /** Namespaces whose Services' endpoints to recompute. */
  private readonly dirtyEndpoints = new Set<string>();

  constructor(store: ObjectStore, opts: ControllerOptions) {
    this.a = new Access(store);
    this.workloads = new Workloads(this.a);
    this.kubelet = new Kubelet(this.a, opts.podCidr);
    this.endpoints = new Endpoints(this.a);
    this.gc = new GarbageCollector(this.a);
    this.stops = [store.subscribe((c) => this.route(c)), store.onIdle(() => this.flush())];
  }

  stop(): void {
    for (const stop of this.stops) stop();
  }

  private mark(kind: string, o: KubeObject): void {
    this.dirty.set(`${kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, {
      kind,
      namespace: o.metadata.namespace,
      name: o.metadata.name!,
    });
  }

  /** The workload that controls `o`: its pods or ReplicaSets changed. */
  private markOwner(o: KubeObject): void {
    const ref = controllerOf(o);
    if (ref && WORKLOADS.has(ref.kind))
      this.dirty.set(`${ref.kind}/${o.metadata.namespace ?? ''}/${ref.name}`, {
        kind: ref.kind,
        namespace: o.metadata.namespace,
        name: ref.name,
      });
  }

  private markDaemonSets(): void {
    for (const ds of this.a.all('DaemonSet')) this.mark('DaemonSet', ds);
  }

  private route(c: StoreChange): void {
    const kind = c.resource.kind;
    if (c.type === 'DELETED') {
      this.gc.deleted(c.object, c.propagation);
      if (kind === 'Pod') {
        this.kubelet.podDeleted(c.object);
        this.markOwner(c.object);
        this.dirtyEndpoints.add(c.object.metadata.namespace!);
      } else if (kind === 'Service') this.endpoints.serviceDeleted(c.object);
      else if (kind === 'Node') {
        this.kubelet.nodeDeleted(c.object);
        this.markDaemonSets();
      } else if (kind === 'ReplicaSet') this.markOwner(c.object);
      return;
    }
    const cur = this.a.fresh(kind, c.object);
    if (!cur) return;
    if (kind === 'Pod') {
      this.kubelet.pod(cur);
      this.markOwner(cur);
      if (podChangedForEndpoints(c)) this.dirtyEndpoints.add(cur.metadata.namespace!);
    } else if (kind === 'Node') {
      this.kubelet.node(cur);
      this.markDaemonSets();
    } else if (WORKLOADS.has(kind)) {
      this.mark(kind, cur);
      if (kind === 'ReplicaSet') this.markOwner(cur);
    } else if (kind === 'Service') this.dirtyEndpoints.add(cur.metadata.namespace!);
  }

  private flush(): void {
    const batch = [...this.dirty.values()];
    this.dirty.clear();
    for (const { kind, namespace, name } of batch) {
      const o = this.a.get(kind, namespace, name);
      if (!o) continue;
      if (kind === 'Deployment') this.workloads.deployment(o);
      else if (kind === 'ReplicaSet') this.workloads.replicaSet(o);
      else if (kind === 'StatefulSet') this.workloads.statefulSet(o);
      else this.workloads.daemonSet(o);
    }
    const namespaces = [...this.dirtyEndpoints];
    this.dirtyEndpoints.clear();
    for (const ns of namespaces) this.endpoints.namespace(ns);
  }
}

/** Whether a pod's change can change an endpoint: its address, readiness, labels or node. */
function podChangedForEndpoints(c: StoreChange): boolean {
  if (!c.prev) return true;
  const seen = (o: KubeObject) =>
    JSON.stringify([at(o, 'status.podIP'), at(o, 'status.conditions'), o.metadata.labels, at(o, 'spec.nodeName')]);
  return seen(c.prev) !== seen(c.object);
}
