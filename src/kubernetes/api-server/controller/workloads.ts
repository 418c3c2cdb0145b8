/**
 * The workload controllers, each a level-triggered reconcile of one object, much simplified:
 *
 * - Deployment → one ReplicaSet per pod template, `<name>-<hash>`, labelled and selected by
 *   `pod-template-hash`; a changed template (e.g. `kubectl rollout restart`) makes a new
 *   ReplicaSet with all the replicas and scales the old ones to zero at once, where the real
 *   controller rolls in steps of maxSurge/maxUnavailable.
 * - ReplicaSet → pods `<replicaset>-<5 chars>`, owned by the ReplicaSet.
 * - StatefulSet → pods `<name>-0 ... <name>-(n-1)`, with `controller-revision-hash` and
 *   `statefulset.kubernetes.io/pod-name`; a changed template replaces every pod at once.
 * - DaemonSet → one pod per node, bound to its node from the start.
 *
 * Status (replicas, ready, available, observedGeneration) is written through `/status`; pods
 * are ready once the kubelet stand-in (kubelet.ts) has them Running.
 */
import { at, copy, isMap, jsonEqual, type JsonMap, type KubeObject, mapAt, stringMap } from '../object.js';
import { randomSuffix, templateHash, timestamp } from '../names.js';
import { type Access, ownerRef, podReady, replicasOf } from './owners.js';

const HASH = 'pod-template-hash';
const REVISION = 'controller-revision-hash';
const DEPLOY_REVISION = 'deployment.kubernetes.io/revision';

function template(owner: KubeObject): JsonMap {
  return mapAt(owner, 'spec.template');
}

/** A pod (or ReplicaSet template) made from a workload's template, with extra labels. */
function fromTemplate(tpl: JsonMap, labels: Record<string, string>): { metadata: JsonMap; spec: JsonMap } {
  const meta = isMap(tpl.metadata) ? (copy(tpl.metadata) as JsonMap) : {};
  meta.labels = { ...stringMap(meta.labels), ...labels };
  return { metadata: meta, spec: isMap(tpl.spec) ? (copy(tpl.spec) as JsonMap) : {} };
}

function alive(pod: KubeObject): boolean {
  return !pod.metadata.deletionTimestamp && at(pod, 'status.phase') !== 'Failed' && at(pod, 'status.phase') !== 'Succeeded';
}

/** Conditions keep their transition time while their status stays, so a reconcile that changes nothing writes nothing. */
function condition(existing: unknown, type: string, status: boolean, reason: string, message: string, now: Date): JsonMap {
  const prev = Array.isArray(existing) ? existing.find((c) => isMap(c) && c.type === type) : undefined;
  const s = status ? 'True' : 'False';
  const since = isMap(prev) && prev.status === s && prev.reason === reason ? String(prev.lastTransitionTime) : timestamp(now);
  return { type, status: s, lastUpdateTime: since, lastTransitionTime: since, reason, message };
}

export class Workloads {
  constructor(private readonly a: Access) {}

  deployment(d: KubeObject): void {
    const tpl = template(d);
    const hash = templateHash(tpl);
    const owned = this.a.ownedBy('ReplicaSet', d);
    const desired = replicasOf(d);
    let current = owned.find((rs) => rs.metadata.labels?.[HASH] === hash);
    if (!current) {
      const revision = Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations?.[DEPLOY_REVISION] ?? 0))) + 1;
      const pod = fromTemplate(tpl, { [HASH]: hash });
      const selector = isMap(at(d, 'spec.selector')) ? (copy(at(d, 'spec.selector')) as JsonMap) : {};
      selector.matchLabels = { ...stringMap(selector.matchLabels), [HASH]: hash };
      current = this.a.create('ReplicaSet', d.metadata.namespace, {
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          labels: stringMap(pod.metadata.labels),
          annotations: { 'deployment.kubernetes.io/desired-replicas': String(desired), [DEPLOY_REVISION]: String(revision) },
          ownerReferences: [ownerRef(d)],
        },
        spec: { replicas: desired, selector, template: pod },
      });
    } else if (replicasOf(current) !== desired) {
      current = this.a.update('ReplicaSet', current, (rs) => {
        (rs.spec as JsonMap).replicas = desired;
        rs.metadata.annotations = { ...rs.metadata.annotations, 'deployment.kubernetes.io/desired-replicas': String(desired) };
      });
    }
    for (const old of owned)
      if (old.metadata.uid !== current?.metadata.uid && replicasOf(old) !== 0)
        this.a.update('ReplicaSet', old, (rs) => ((rs.spec as JsonMap).replicas = 0));
    this.deploymentStatus(d, hash);
  }

  private deploymentStatus(d: KubeObject, hash: string): void {
    const sets = this.a.ownedBy('ReplicaSet', d);
    const sum = (path: string, only?: (rs: KubeObject) => boolean) =>
      sets.filter((rs) => !only || only(rs)).reduce((n, rs) => n + (typeof at(rs, path) === 'number' ? (at(rs, path) as number) : 0), 0);
    const desired = replicasOf(d);
    const available = sum('status.availableReplicas');
    const updated = sum('status.replicas', (rs) => rs.metadata.labels?.[HASH] === hash);
    const now = this.a.store.now;
    const status: JsonMap = {
      observedGeneration: d.metadata.generation,
      replicas: sum('status.replicas'),
      updatedReplicas: updated,
      readyReplicas: sum('status.readyReplicas'),
      availableReplicas: available,
      conditions: [
        condition(
          at(d, 'status.conditions'),
          'Available',
          available >= desired,
          available >= desired ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
          available >= desired ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
          now,
        ),
        condition(
          at(d, 'status.conditions'),
          'Progressing',
          true,
          updated === desired ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
          `ReplicaSet "${d.metadata.name}-${hash}" is progressing.`,
          now,
        ),
      ],
    };
    if (desired > available) status.unavailableReplicas = desired - available;
    this.writeStatus('Deployment', d, status);
  }

  replicaSet(rs: KubeObject): void {
    const desired = replicasOf(rs);
    let pods = this.a.ownedBy('Pod', rs).filter(alive);
    const tpl = template(rs);
    for (let i = pods.length; i < desired; i++) {
      const pod = fromTemplate(tpl, {});
      pod.metadata.generateName = `${rs.metadata.name}-`;
      pod.metadata.ownerReferences = [ownerRef(rs)];
      delete pod.metadata.name;
      this.a.create('Pod', rs.metadata.namespace, pod as KubeObject);
    }
    if (pods.length > desired) {
      // Unready pods go first, then the newest, as the real controller prefers.
      const doomed = [...pods]
        .sort(
          (x, y) =>
            Number(podReady(x)) - Number(podReady(y)) ||
            String(y.metadata.creationTimestamp).localeCompare(String(x.metadata.creationTimestamp)),
        )
        .slice(0, pods.length - desired);
      for (const p of doomed) this.a.delete('Pod', p);
    }
    pods = this.a.ownedBy('Pod', rs).filter(alive);
    const ready = pods.filter(podReady).length;
    this.writeStatus('ReplicaSet', rs, {
      replicas: pods.length,
      fullyLabeledReplicas: pods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rs.metadata.generation,
    });
  }

  statefulSet(s: KubeObject): void {
    const name = s.metadata.name!;
    const tpl = template(s);
    const revision = `${name}-${templateHash(tpl)}`;
    const desired = replicasOf(s);
    const service = at(s, 'spec.serviceName');
    const owned = new Map(this.a.ownedBy('Pod', s).map((p) => [p.metadata.name!, p]));
    for (let i = 0; i < desired; i++) {
      const podName = `${name}-${i}`;
      const existing = owned.get(podName);
      if (existing && existing.metadata.labels?.[REVISION] === revision && alive(existing)) continue;
      if (existing) this.a.delete('Pod', existing);
      else if (this.a.get('Pod', s.metadata.namespace, podName)) continue; // a pod of that name we do not own
      const pod = fromTemplate(tpl, {
        [REVISION]: revision,
        'statefulset.kubernetes.io/pod-name': podName,
        'apps.kubernetes.io/pod-index': String(i),
      });
      pod.metadata.name = podName;
      pod.metadata.ownerReferences = [ownerRef(s)];
      pod.spec.hostname = podName;
      if (typeof service === 'string' && service) pod.spec.subdomain = service;
      this.a.create('Pod', s.metadata.namespace, pod as KubeObject);
    }
    for (const [podName, pod] of owned) {
      const index = Number(podName.slice(name.length + 1));
      if (!(index < desired)) this.a.delete('Pod', pod);
    }
    const pods = this.a.ownedBy('Pod', s).filter(alive);
    const ready = pods.filter(podReady).length;
    const updated = pods.filter((p) => p.metadata.labels?.[REVISION] === revision).length;
    this.writeStatus('StatefulSet', s, {
      observedGeneration: s.metadata.generation,
      replicas: pods.length,
      readyReplicas: ready,
      currentReplicas: updated,
      updatedReplicas: updated,
      availableReplicas: ready,
      currentRevision: revision,
      updateRevision: revision,
      collisionCount: 0,
    });
  }

  daemonSet(ds: KubeObject): void {
    const tpl = template(ds);
    const revision = templateHash(tpl);
    const nodes = this.a.all('Node').map((n) => n.metadata.name!);
    const owned = this.a.ownedBy('Pod', ds);
    for (const node of nodes) {
      const mine = owned.filter((p) => at(p, 'spec.nodeName') === node);
      const current = mine.find((p) => p.metadata.labels?.[REVISION] === revision && alive(p));
      for (const p of mine) if (p !== current) this.a.delete('Pod', p);
      if (current) continue;
      const pod = fromTemplate(tpl, { [REVISION]: revision, 'pod-template-generation': String(ds.metadata.generation ?? 1) });
      pod.metadata.generateName = `${ds.metadata.name}-`;
      pod.metadata.name = `${ds.metadata.name}-${randomSuffix(this.a.store.random)}`;
      pod.metadata.ownerReferences = [ownerRef(ds)];
      pod.spec.nodeName = node;
      this.a.create('Pod', ds.metadata.namespace, pod as KubeObject);
    }
    for (const p of owned) if (!nodes.includes(String(at(p, 'spec.nodeName')))) this.a.delete('Pod', p);
    const pods = this.a.ownedBy('Pod', ds).filter(alive);
    const ready = pods.filter(podReady).length;
    this.writeStatus('DaemonSet', ds, {
      desiredNumberScheduled: nodes.length,
      currentNumberScheduled: pods.length,
      numberMisscheduled: 0,
      numberReady: ready,
      updatedNumberScheduled: pods.filter((p) => p.metadata.labels?.[REVISION] === revision).length,
      numberAvailable: ready,
      observedGeneration: ds.metadata.generation,
    });
  }

  private writeStatus(kind: string, obj: KubeObject, status: JsonMap): void {
    const cur = this.a.fresh(kind, obj);
    if (!cur || jsonEqual(cur.status, status)) return;
    this.a.update(kind, cur, (o) => (o.status = status), true);
  }
}
