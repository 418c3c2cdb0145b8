/**
 * A cluster for tests without a server: one fake list+watch source per kind (watch/testing.ts)
 * kept in step with a store of objects, and a ClusterApi that records every call and plays it
 * on the store, so what an operation changes comes back through the watches as on a cluster.
 */
import { diag, FlowtapError } from '../diagnostics/index.js';
import type { ClusterApi } from './api.js';
import { keyOf, type KubeObject, RESOURCE_KINDS, type ResourceKind } from './watch/index.js';
import { FakeSource } from './watch/testing.js';

export class FakeCluster {
  readonly calls: string[] = [];
  /** Makes the next API call fail with this HTTP status. */
  failNext: number | undefined;
  private version = 100;
  private readonly sources = new Map<string, FakeSource>();

  constructor(objects: KubeObject[] = []) {
    for (const k of RESOURCE_KINDS) this.sources.set(k.kind, new FakeSource());
    for (const o of objects) this.put(o);
  }

  readonly sourceOf = (k: ResourceKind): FakeSource => this.source(k.kind);

  source(kind: string): FakeSource {
    const s = this.sources.get(kind);
    if (!s) throw new Error(`no kind ${kind}`);
    return s;
  }

  get(kind: string, key: string): KubeObject | undefined {
    return this.source(kind).items.find((o) => keyOf(o) === key);
  }

  /** Creates or changes an object (a new resource version); an open watch hears of it. */
  put(o: KubeObject): KubeObject {
    const kind = o.kind!;
    const s = this.source(kind);
    const next = structuredClone(o);
    next.metadata.resourceVersion = String(++this.version);
    next.metadata.uid ??= `uid-${kind}-${keyOf(o)}`;
    const at = s.items.findIndex((x) => keyOf(x) === keyOf(o));
    if (at >= 0) s.items[at] = next;
    else s.items.push(next);
    for (const x of this.sources.values()) x.version = String(this.version);
    if (s.watching) s.send(at >= 0 ? 'MODIFIED' : 'ADDED', next);
    return next;
  }

  remove(kind: string, key: string): boolean {
    const s = this.source(kind);
    const at = s.items.findIndex((x) => keyOf(x) === key);
    if (at < 0) return false;
    const [gone] = s.items.splice(at, 1);
    gone.metadata.resourceVersion = String(++this.version);
    for (const x of this.sources.values()) x.version = String(this.version);
    if (s.watching) s.send('DELETED', gone);
    return true;
  }

  readonly api: ClusterApi = {
    patchPodLabels: async (namespace, pod, labels) => {
      this.call(`patch pod ${namespace}/${pod} labels ${JSON.stringify(labels)}`);
      const o = this.must('Pod', `${namespace}/${pod}`);
      const next = structuredClone(o);
      const merged: Record<string, string> = { ...(next.metadata.labels ?? {}) };
      for (const [k, v] of Object.entries(labels)) {
        if (v === null) delete merged[k];
        else merged[k] = v;
      }
      next.metadata.labels = merged;
      this.put(next);
    },
    deletePod: async (namespace, pod) => {
      this.call(`delete pod ${namespace}/${pod}`);
      this.must('Pod', `${namespace}/${pod}`);
      this.remove('Pod', `${namespace}/${pod}`);
    },
    restartWorkload: async (namespace, kind, name, at) => {
      this.call(`restart ${kind} ${namespace}/${name} at ${at}`);
      const next = structuredClone(this.must(kind, `${namespace}/${name}`));
      next.spec ??= {};
      const spec = next.spec as { template?: { metadata?: { annotations?: Record<string, string> } } };
      spec.template ??= {};
      spec.template.metadata ??= {};
      spec.template.metadata.annotations = { ...(spec.template.metadata.annotations ?? {}), 'kubectl.kubernetes.io/restartedAt': at };
      this.put(next);
    },
    putNetworkPolicy: async (policy) => {
      const key = keyOf(policy);
      const existed = this.get('NetworkPolicy', key) !== undefined;
      this.call(`${existed ? 'replace' : 'create'} networkpolicy ${key}`);
      this.put({ ...structuredClone(policy), kind: 'NetworkPolicy' });
      return existed ? 'replaced' : 'created';
    },
    deleteNetworkPolicy: async (namespace, name) => {
      this.call(`delete networkpolicy ${namespace}/${name}`);
      return this.remove('NetworkPolicy', `${namespace}/${name}`);
    },
  };

  private call(line: string): void {
    this.calls.push(line);
    const status = this.failNext;
    this.failNext = undefined;
    if (status !== undefined) throw new FlowtapError(diag('E_K8S_API', `kubernetes: ${line} failed: HTTP ${status}`));
  }

  private must(kind: string, key: string): KubeObject {
    const o = this.get(kind, key);
    if (!o) throw new FlowtapError(diag('E_K8S_API', `kubernetes: ${kind} ${key} failed: HTTP 404: not found`));
    return o;
  }
}

/** Objects of a small shop: a namespace labelled for flowtap, a Deployment and its pods, a database StatefulSet. */
export function shop(opts: { requirements?: string; pods?: number } = {}): KubeObject[] {
  const ns: KubeObject = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop', 'flowtap.io/app': 'shop', 'flowtap.io/tenant': 'acme' } },
  };
  const web = workload('Deployment', 'web', { app: 'web' }, [{ name: 'http', containerPort: 8080 }], opts.pods ?? 2);
  const db = workload('StatefulSet', 'db', { app: 'db' }, [{ name: 'pg', containerPort: 5432 }], 1);
  const lb: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { type: 'LoadBalancer', selector: { app: 'web' } },
  };
  const out = [ns, web, db, lb];
  for (let i = 0; i < (opts.pods ?? 2); i++)
    out.push(
      podOf(
        'web',
        `web-5d9c7-${i}`,
        'ReplicaSet',
        'web-5d9c7',
        { app: 'web', 'pod-template-hash': '5d9c7' },
        `10.244.1.${10 + i}`,
        'node-a',
        [{ name: 'http', containerPort: 8080 }],
      ),
    );
  out.push(podOf('db', 'db-0', 'StatefulSet', 'db', { app: 'db' }, '10.244.2.5', 'node-b', [{ name: 'pg', containerPort: 5432 }]));
  if (opts.requirements !== undefined)
    out.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'flowtap-requirements', namespace: 'shop' },
      data: { 'requirements.yaml': opts.requirements },
    });
  return out;
}

export function workload(kind: string, name: string, labels: Record<string, string>, ports: unknown[], replicas: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace: 'shop' },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name, image: `${name}:1`, ports }] } },
    },
  };
}

export function podOf(
  _service: string,
  name: string,
  ownerKind: string | undefined,
  owner: string,
  labels: Record<string, string>,
  ip: string | undefined,
  node: string | undefined,
  ports: unknown[],
  phase = 'Running',
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      labels,
      ...(ownerKind ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: ownerKind, name: owner, controller: true }] } : {}),
    },
    spec: { ...(node ? { nodeName: node } : {}), containers: [{ name: 'c', image: 'x', ports }] },
    status: {
      phase,
      ...(ip ? { podIP: ip, hostIP: node === 'node-a' ? '172.18.0.2' : '172.18.0.3' } : {}),
      conditions: [{ type: 'Ready', status: phase === 'Running' ? 'True' : 'False' }],
      containerStatuses: phase === 'Running' ? [{ name: 'c', state: { running: {} } }] : [],
    },
  };
}

/** The cache's view of a list of objects, for the mapping alone. */
export function lookupOf(objects: KubeObject[]): {
  get(kind: string, key: string): KubeObject | undefined;
  objects(kind: string): KubeObject[];
} {
  return {
    get: (kind, key) => objects.find((o) => o.kind === kind && keyOf(o) === key),
    objects: (kind) => objects.filter((o) => o.kind === kind),
  };
}
