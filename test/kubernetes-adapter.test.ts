/**
 * The Kubernetes adapter against the stand-in API server (real HTTP, real client-node): the
 * watches survive compaction, drops and bookmarks without losing or repeating an event, the
 * workload controllers' pods become lifecycle events, and the management operations change
 * what they say on the server. No root needed.
 */
import { type TestContext, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowtapError } from '../src/diagnostics/index.js';
import {
  type ApiServer,
  type ClusterModel,
  type ConnectOptions,
  connectCluster,
  type FirewallApplied,
  type KubernetesCluster,
  kubernetesDriver,
  loadKubeConfig,
  startApiServer,
} from '../src/kubernetes/index.js';
import type { LifecycleEvent } from '../src/orchestrator/index.js';

const NS = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'shop', labels: { 'flowtap.io/app': 'shop', 'flowtap.io/tenant': 'acme' } },
};
const REQUIREMENTS = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'flowtap-requirements', namespace: 'shop' },
  data: { 'requirements.yaml': 'requirements:\n  - from: external\n    to: web:http\n  - from: web\n    to: db:pg\n' },
};
const LB = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
};

function deployment(name: string, replicas: number, port: { name: string; containerPort: number }, kind = 'Deployment') {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace: 'shop' },
    spec: {
      replicas,
      ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `${name}:1`, ports: [port] }] } },
    },
  };
}

/** A pod of no controller, already running (status given, as a test may preload it). */
function barePod(name: string, ip: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop', labels: { role: 'tool' } },
    spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'tool:1' }] },
    status: { phase: 'Running', podIP: ip, hostIP: '172.18.0.2', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

interface Rig {
  srv: ApiServer;
  c: KubernetesCluster;
  events: LifecycleEvent[];
  said: (type?: string) => string[];
}

/** Clusters to close before their server, per test (after-hooks run in the order they were added). */
const clients = new WeakMap<TestContext, KubernetesCluster[]>();
const closeFirst = (t: TestContext, c: KubernetesCluster) => clients.get(t)?.push(c);

async function server(t: TestContext, objects: object[], bookmarkEveryMs = 0): Promise<{ srv: ApiServer; kubeconfig: string }> {
  const srv = await startApiServer({ objects, bookmarkEveryMs });
  clients.set(t, []);
  t.after(async () => {
    for (const c of clients.get(t) ?? []) await c.close();
    await srv.close();
  });
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'flowtap-k8s-')), 'kubeconfig');
  srv.writeKubeconfig(kubeconfig);
  return { srv, kubeconfig };
}

async function rig(t: TestContext, objects: object[], opts: { bookmarkEveryMs?: number; backoffMs?: number } = {}): Promise<Rig> {
  const { srv, kubeconfig } = await server(t, objects, opts.bookmarkEveryMs);
  const events: LifecycleEvent[] = [];
  const connect: ConnectOptions = {
    kubeconfig,
    app: 'shop',
    onEvent: (e) => events.push(e),
    watch: { backoff: { initialMs: opts.backoffMs ?? 20, maxMs: 200 } },
  };
  const c = await connectCluster(connect);
  closeFirst(t, c);
  // Every kind's watch open on the server before the test starts cutting them.
  await until('every watch open', () => srv.store.openWatches >= 9);
  const said = (type?: string) => events.filter((e) => !type || e.type === type).map((e) => `${e.type} ${e.instance}`);
  return { srv, c, events, said };
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const podsOf = (srv: ApiServer) => srv.store.list('v1', 'Pod', 'shop');
const watchesOfPods = (srv: ApiServer) =>
  srv.requests
    .filter((r) => r.method === 'GET' && r.url.startsWith('/api/v1/pods?') && /[?&]watch=true/.test(r.url))
    .map((r) => new URL(r.url, 'http://x').searchParams);

test('a Deployment created makes deploying/deployed events for its pods; deleted, terminated ones', async (t) => {
  const { srv, c, said } = await rig(t, [NS, REQUIREMENTS, LB]);
  assert.deepEqual(said(), []);
  const created = srv.store.create(deployment('web', 3, { name: 'http', containerPort: 8080 }));
  assert.ok(created.ok);
  await until('3 pods deployed', () => said('deployed').length === 3);
  const pods = podsOf(srv)
    .map((p) => p.metadata.name)
    .sort();
  assert.deepEqual(
    said('deployed')
      .map((s) => s.slice('deployed '.length))
      .sort(),
    pods,
  );
  assert.ok(said('deploying').length <= 3);
  assert.deepEqual(Object.keys(c.context().status).sort(), pods);
  assert.deepEqual(new Set(Object.values(c.context().status)), new Set(['running']));
  assert.equal(c.app.services.find((s) => s.name === 'web')?.exposure, 'public');
  assert.ok(srv.store.delete({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' }, 'Background').ok);
  await until('3 pods terminated', () => said('terminated').length === 3);
  assert.deepEqual(
    said('terminated')
      .map((s) => s.slice('terminated '.length))
      .sort(),
    pods,
  );
  await until('no instance left', () => Object.keys(c.context().status).length === 0);
});

test('after compaction a reconnecting watch gets 410, relists, and reports what changed meanwhile', async (t) => {
  const { srv, c, said } = await rig(t, [NS, barePod('tool-a', '10.244.0.50'), barePod('tool-b', '10.244.0.51')], { backoffMs: 300 });
  // In one tick: the watches drop, a pod goes, another comes, the history is forgotten.
  assert.ok(srv.store.dropWatches() > 0);
  assert.ok(srv.store.delete({ apiVersion: 'v1', kind: 'Pod', name: 'tool-a', namespace: 'shop' }).ok);
  assert.ok(srv.store.create(barePod('tool-c', '10.244.0.52')).ok);
  const rv = srv.store.compact();
  await until('the pod relist', () => c.watchCounters().Pod.relists === 1 && said().length === 2);
  assert.deepEqual(said().sort(), ['deployed tool-c', 'terminated tool-a']);
  assert.deepEqual(Object.keys(c.context().status).sort(), ['tool-b', 'tool-c']);
  // The watch after the relist starts from the list's version, not from the lost one.
  await until('a new pod watch', () => Number(watchesOfPods(srv).at(-1)?.get('resourceVersion')) >= Number(rv));
  assert.equal(c.watchCounters().Pod.failures, 1, 'the cut connection; the 410 is no failure');
});

test('bookmarks advance the resource version a dropped watch resumes from', async (t) => {
  const { srv, c } = await rig(t, [NS, barePod('tool-a', '10.244.0.50')], { bookmarkEveryMs: 50 });
  const before = c.watchCounters().Pod;
  // Changes of another kind move the store's version; the pod watch hears of it only through bookmarks.
  for (let i = 0; i < 5; i++) assert.ok(srv.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `other-${i}` } }).ok);
  const latest = srv.store.resourceVersion;
  await until('a bookmark at the latest version', () => c.watchCounters().Pod.resourceVersion === latest);
  const after = c.watchCounters().Pod;
  assert.ok(after.bookmarks > before.bookmarks);
  assert.equal(after.events, before.events, 'no pod event came');
  srv.store.dropWatches();
  await until('the pod watch resumed', () => c.watchCounters().Pod.reconnects >= 1 && watchesOfPods(srv).length >= 2);
  assert.equal(watchesOfPods(srv).at(-1)?.get('resourceVersion'), latest);
  assert.equal(watchesOfPods(srv).at(-1)?.get('allowWatchBookmarks'), 'true');
  assert.equal(c.watchCounters().Pod.relists, 0);
});

test('dropped watches resume without losing or repeating an event', async (t) => {
  const { srv, c, said } = await rig(t, [NS]);
  const names: string[] = [];
  for (let i = 0; i < 12; i++) {
    const name = `tool-${i}`;
    names.push(name);
    assert.ok(srv.store.create(barePod(name, `10.244.0.${100 + i}`)).ok);
    if (i % 3 === 2) {
      assert.equal(srv.store.dropWatches(), 9);
      // A pod created and one deleted while nobody watches, then the watches come back.
      assert.ok(srv.store.create(barePod(`late-${i}`, `10.244.1.${100 + i}`)).ok);
      names.push(`late-${i}`);
      assert.ok(srv.store.delete({ apiVersion: 'v1', kind: 'Pod', name: `tool-${i - 1}`, namespace: 'shop' }).ok);
      await until('the watches back', () => srv.store.openWatches >= 9);
    }
  }
  await until('every event', () => said('deployed').length === 16 && said('terminated').length === 4);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(said('deployed').sort(), names.map((n) => `deployed ${n}`).sort(), 'each pod deployed exactly once');
  assert.deepEqual(said('terminated').sort(), ['terminated tool-1', 'terminated tool-10', 'terminated tool-4', 'terminated tool-7']);
  const pods = c.watchCounters().Pod;
  assert.equal(pods.reconnects, 4, JSON.stringify(pods));
  assert.equal(pods.relists, 0);
  assert.equal(pods.objects, 12);
});

test('isolate, release, terminate and redeploy do what they say on the server; the firewall goes in as NetworkPolicies', async (t) => {
  const { srv, c, said } = await rig(t, [
    NS,
    REQUIREMENTS,
    LB,
    deployment('web', 2, { name: 'http', containerPort: 8080 }),
    deployment('db', 1, { name: 'pg', containerPort: 5432 }, 'StatefulSet'),
  ]);
  await until('3 instances running', () => Object.values(c.context().status).filter((s) => s === 'running').length === 3);
  const np = (name: string) => srv.store.get({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', name, namespace: 'shop' });
  const spec = (name: string) => (np(name)?.spec ?? {}) as { podSelector?: unknown; ingress?: unknown[] };
  const pod = (name: string) => srv.store.get({ apiVersion: 'v1', kind: 'Pod', name, namespace: 'shop' });

  const applied: FirewallApplied = await c.applyFirewall();
  assert.deepEqual(applied.created.sort(), ['db-flowtap', 'default-deny', 'web-flowtap']);
  assert.equal(np('db-flowtap')?.metadata.labels?.['app.kubernetes.io/managed-by'], 'flowtap');
  assert.deepEqual(spec('db-flowtap').podSelector, {
    matchLabels: { app: 'db' },
    matchExpressions: [{ key: 'flowtap.io/quarantine', operator: 'DoesNotExist' }],
  });
  // The client's model class calls a rule's `from` `_from`: written carelessly, the peers vanish and the rule allows everyone.
  assert.deepEqual(spec('db-flowtap').ingress, [
    { from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 5432 }] },
  ]);
  await until('the policies in the cache', () => c.objects('NetworkPolicy').length === 3);
  assert.deepEqual((await c.applyFirewall()).unchanged.length, 3);

  const web = Object.keys(c.context().status)
    .filter((n) => n.startsWith('web-'))
    .sort();
  await c.isolate(web[0]);
  assert.equal(pod(web[0])?.metadata.labels?.['flowtap.io/quarantine'], 'true');
  assert.deepEqual(np(`flowtap-quarantine-${web[0]}`)?.spec, {
    podSelector: { matchLabels: { 'flowtap.io/quarantine': 'true' } },
    policyTypes: ['Ingress', 'Egress'],
  });
  await until('isolated in the context', () => c.context().status[web[0]] === 'isolated');

  await c.release(web[0]);
  assert.equal(pod(web[0])?.metadata.labels?.['flowtap.io/quarantine'], undefined);
  assert.equal(np(`flowtap-quarantine-${web[0]}`), undefined);
  await until('running again', () => c.context().status[web[0]] === 'running');

  await c.terminate('db-0');
  await until('db-0 terminated', () => said('terminated').includes('terminated db-0'));
  // Its StatefulSet makes db-0 again.
  await until('db-0 back', () => said('deployed').includes('deployed db-0'));

  await c.redeploy(web[1]);
  const restarted = srv.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' })?.spec as
    | { template: { metadata: { annotations?: Record<string, string> } } }
    | undefined;
  assert.match(restarted?.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'] ?? '', /^\d{4}-\d\d-\d\dT/);
  await until('both old web pods replaced', () => {
    const now = Object.keys(c.context().status).filter((n) => n.startsWith('web-'));
    return now.length === 2 && !now.includes(web[0]) && !now.includes(web[1]);
  });
  assert.ok(said('terminated').includes(`terminated ${web[0]}`) && said('terminated').includes(`terminated ${web[1]}`));

  await assert.rejects(
    c.move('db-0', 'node-1'),
    (e: unknown) => e instanceof FlowtapError && e.diagnostics[0].code === 'E_K8S_UNSUPPORTED',
  );
  await c.down();
  assert.deepEqual(srv.store.list('networking.k8s.io/v1', 'NetworkPolicy', 'shop'), []);
});

test('listed objects reach the cache in their wire form (a NetworkPolicy keeps its peers)', async (t) => {
  const theirs = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'theirs', namespace: 'shop' },
    spec: { podSelector: { matchLabels: { role: 'tool' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'admin' } } }] }] },
  };
  const { c } = await rig(t, [NS, barePod('tool-a', '10.244.0.50'), theirs]);
  const listed = c.objects('NetworkPolicy')[0];
  assert.deepEqual((listed.spec as { ingress: unknown[] }).ingress, [{ from: [{ podSelector: { matchLabels: { role: 'admin' } } }] }]);
  const model: ClusterModel = c.model();
  assert.equal(model.imported.policies[0].ingress[0].peers.length, 1);
  assert.equal(typeof c.objects('Pod')[0].metadata.creationTimestamp, 'string');
});

test('the driver attaches to an application and takes down what flowtap made; up is not for kubernetes', async (t) => {
  const { srv, kubeconfig } = await server(t, [
    NS,
    REQUIREMENTS,
    LB,
    deployment('web', 1, { name: 'http', containerPort: 8080 }),
    deployment('db', 1, { name: 'pg', containerPort: 5432 }, 'StatefulSet'),
  ]);
  const driver = kubernetesDriver({ kubeconfig, watch: { backoff: { initialMs: 20 } } });
  await assert.rejects(
    driver.up({ descriptor: 'app.yaml', policies: [], mode: 'enforce', strategy: 'per-node', downMonitors: [] }, () => {
      throw new Error('not called');
    }),
    /E_K8S_UNSUPPORTED: up of app\.yaml: not supported on kubernetes/,
  );
  const o = await driver.attach('shop', () => {
    throw new Error('not called');
  });
  closeFirst(t, o as KubernetesCluster);
  await until('both pods', () => Object.keys(o.context().status).length === 2);
  assert.equal(o.context().tenant, 'acme');
  assert.equal(o.spec().descriptor, 'kubernetes:namespace/shop');
  await (o as KubernetesCluster).applyFirewall();
  await o.isolate(Object.keys(o.context().status)[0]);
  assert.equal(srv.store.list('networking.k8s.io/v1', 'NetworkPolicy', 'shop').length, 4);
  assert.deepEqual(await driver.down('shop'), { namespaces: [], processes: 0 });
  assert.deepEqual(srv.store.list('networking.k8s.io/v1', 'NetworkPolicy', 'shop'), []);
  assert.ok(srv.store.list('v1', 'Pod', 'shop').every((p) => p.metadata.labels?.['flowtap.io/quarantine'] === undefined));
  await assert.rejects(
    driver.attach('nothere', () => ({}) as never),
    /E_K8S_APP: no namespace is labelled flowtap\.io\/app=nothere/,
  );
});

test('a kubeconfig that cannot be read is E_K8S_KUBECONFIG naming the file', () => {
  assert.throws(
    () => loadKubeConfig('/nonexistent/kubeconfig'),
    (e: unknown) =>
      e instanceof FlowtapError && e.diagnostics[0].code === 'E_K8S_KUBECONFIG' && e.diagnostics[0].loc?.file === '/nonexistent/kubeconfig',
  );
});
