import { type TestContext, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowtapError } from '../diagnostics/index.js';
import type { LifecycleEvent } from '../orchestrator/index.js';
import { KubernetesCluster } from './adapter.js';
import { FakeCluster, podOf, shop } from './testing.js';

const REQS = `requirements:
  - from: external
    to: web:http
  - from: web
    to: db:pg
`;
const T0 = new Date('2031-05-04T03:02:01Z');
const settle = () => new Promise((r) => setTimeout(r, 10));
const ports = [{ name: 'http', containerPort: 8080 }];
const webPod = (name: string, phase: string, ip?: string) =>
  podOf('web', name, 'ReplicaSet', 'web-5d9c7', { app: 'web', 'pod-template-hash': '5d9c7' }, ip, ip ? 'node-a' : undefined, ports, phase);

async function connected(t: TestContext, objects = shop({ requirements: REQS })) {
  const fc = new FakeCluster(objects);
  const events: LifecycleEvent[] = [];
  const c = await KubernetesCluster.connect({
    app: 'shop',
    sources: fc.sourceOf,
    api: fc.api,
    onEvent: (e) => events.push(e),
    now: () => T0,
    watch: { backoff: { initialMs: 1, maxMs: 5 } },
  });
  // Closed whatever the test's outcome: an open watch would keep the process alive.
  t.after(() => c.close());
  await Promise.all(['Pod', 'NetworkPolicy', 'Namespace'].map((k) => fc.source(k).watches(1)));
  const said = () => events.map((e) => `${e.type} ${e.instance ?? ''} ${e.service ?? ''} ${e.node ?? ''}`.trim());
  return { fc, c, events, said };
}

async function failsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof FlowtapError);
    assert.equal(e.diagnostics[0].code, code);
    assert.match(e.diagnostics[0].message, message);
    return true;
  });
}

test('pods seen on connecting are the state found; later ones are deploying, deployed, terminated', async (t) => {
  const { fc, c, said } = await connected(t);
  assert.deepEqual(said(), []);
  fc.put(webPod('web-5d9c7-7', 'Pending'));
  fc.put(webPod('web-5d9c7-7', 'Running', '10.244.1.77'));
  // A label change of a running pod is not a second deployment.
  const again = webPod('web-5d9c7-7', 'Running', '10.244.1.77');
  again.metadata.labels!.extra = 'x';
  fc.put(again);
  fc.remove('Pod', 'shop/web-5d9c7-7');
  fc.remove('Pod', 'shop/db-0');
  assert.deepEqual(said(), [
    'deploying web-5d9c7-7 web',
    'deployed web-5d9c7-7 web node-a',
    'terminated web-5d9c7-7 web node-a',
    'terminated db-0 db node-b',
  ]);
  assert.ok(c.watchTotals().events >= 5);
});

test('pods of other namespaces say nothing; the model follows the cache', async (t) => {
  const { fc, c, said } = await connected(t);
  const elsewhere = webPod('web-zz', 'Running', '10.9.9.9');
  elsewhere.metadata.namespace = 'other';
  fc.put(elsewhere);
  fc.put(webPod('web-5d9c7-2', 'Running', '10.244.1.12'));
  assert.deepEqual(said(), ['deployed web-5d9c7-2 web node-a']);
  assert.deepEqual(Object.keys(c.context().status).sort(), ['db-0', 'web-5d9c7-0', 'web-5d9c7-1', 'web-5d9c7-2']);
  assert.equal(c.context().addressing.instances['web-5d9c7-2'].ip, '10.244.1.12');
  assert.equal(c.app.name, 'shop');
  assert.equal(c.context().tenant, 'acme');
});

test('a relist after 410 reports what was deleted and created while nobody watched', async (t) => {
  const { fc, c, said } = await connected(t);
  const pods = fc.source('Pod');
  // Changed behind the watch's back: the store changes, the open watch is not told.
  pods.items = pods.items.filter((p) => p.metadata.name !== 'web-5d9c7-1');
  pods.items.push({
    ...webPod('web-5d9c7-5', 'Running', '10.244.1.15'),
    metadata: { ...webPod('web-5d9c7-5', 'Running').metadata, resourceVersion: '900' },
  });
  pods.version = '901';
  pods.send('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
  await pods.watches(2);
  assert.deepEqual(said(), ['deployed web-5d9c7-5 web node-a', 'terminated web-5d9c7-1 web node-a']);
  assert.equal(c.watchCounters().Pod.relists, 1);
  assert.equal(pods.watchedFrom.at(-1), '901');
});

test('isolate: the deny-all policy first, then the label; release undoes both, label first', async (t) => {
  const { fc, c, said } = await connected(t);
  await c.isolate('web-5d9c7-0');
  assert.deepEqual(fc.calls, [
    'create networkpolicy shop/flowtap-quarantine-web-5d9c7-0',
    'patch pod shop/web-5d9c7-0 labels {"flowtap.io/quarantine":"true"}',
  ]);
  const policy = fc.get('NetworkPolicy', 'shop/flowtap-quarantine-web-5d9c7-0')!;
  assert.deepEqual(policy.spec, { podSelector: { matchLabels: { 'flowtap.io/quarantine': 'true' } }, policyTypes: ['Ingress', 'Egress'] });
  assert.equal(policy.metadata.labels?.['app.kubernetes.io/managed-by'], 'flowtap');
  await settle();
  assert.equal(c.context().status['web-5d9c7-0'], 'isolated');
  fc.calls.length = 0;
  await c.release('web-5d9c7-0');
  assert.deepEqual(fc.calls, [
    'patch pod shop/web-5d9c7-0 labels {"flowtap.io/quarantine":null}',
    'delete networkpolicy shop/flowtap-quarantine-web-5d9c7-0',
  ]);
  assert.equal(fc.get('Pod', 'shop/web-5d9c7-0')?.metadata.labels?.['flowtap.io/quarantine'], undefined);
  assert.equal(c.context().status['web-5d9c7-0'], 'running');
  assert.deepEqual(said(), ['isolated web-5d9c7-0 web node-a', 'released web-5d9c7-0 web node-a']);
});

test('isolate says which policies of others keep allowing the pod something', async (t) => {
  const objs = shop({ requirements: REQS });
  objs.push({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'allow-monitoring', namespace: 'shop' },
    spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 9100 }] }] },
  });
  const { c, events } = await connected(t, objs);
  await c.isolate('web-5d9c7-1');
  assert.equal(events[0].detail, 'NetworkPolicies allow-monitoring also select it and still allow what they allow');
});

test('terminate deletes the pod; redeploy restarts its workload, or deletes a pod its controller remakes', async (t) => {
  const objs = shop({ requirements: REQS });
  objs.push(podOf('x', 'cache-1', 'ReplicaSet', 'cache-77', { role: 'cache' }, '10.244.1.30', 'node-a', []));
  objs.push(podOf('x', 'debug', undefined, '', { role: 'debug' }, '10.244.1.31', 'node-a', []));
  const { fc, c, said } = await connected(t, objs);
  await c.terminate('db-0');
  await c.redeploy('web-5d9c7-1');
  await c.redeploy('cache-1');
  assert.deepEqual(fc.calls, [
    'delete pod shop/db-0',
    'restart Deployment shop/web at 2031-05-04T03:02:01.000Z',
    'delete pod shop/cache-1',
  ]);
  const template = fc.get('Deployment', 'shop/web')?.spec?.template as { metadata: { annotations: Record<string, string> } };
  assert.equal(template.metadata.annotations['kubectl.kubernetes.io/restartedAt'], '2031-05-04T03:02:01.000Z');
  assert.deepEqual(said(), ['terminated db-0 db node-b', 'terminated cache-1 cache-77 node-a']);
  await failsWith(c.redeploy('debug'), 'E_K8S_UNSUPPORTED', /^redeploy of debug: not supported on kubernetes \(the pod has no controller/);
  await failsWith(c.isolate('nope'), 'E_UNKNOWN_INSTANCE', /no pod named "nope" in namespace shop/);
});

test('what a cluster cannot do is an error naming the operation and kubernetes', async (t) => {
  const { c } = await connected(t);
  await failsWith(c.move('db-0', 'node-a'), 'E_K8S_UNSUPPORTED', /^move of db-0 to node-a: not supported on kubernetes/);
  await failsWith(
    c.restrict({ id: 'r1', source: '1.2.3.4/32', action: 'drop' } as never),
    'E_K8S_UNSUPPORTED',
    /^restrict r1: not supported on kubernetes/,
  );
  await failsWith(c.probe(), 'E_K8S_UNSUPPORTED', /^probe: not supported on kubernetes/);
  await failsWith(c.reconcile(), 'E_K8S_UNSUPPORTED', /^reconcile: not supported on kubernetes/);
  await failsWith(c.reconfigure(), 'E_K8S_UNSUPPORTED', /^reconfigure: not supported on kubernetes/);
  const counters = await c.counters('node-a');
  assert.ok(!counters.ok && counters.errors[0].code === 'E_K8S_UNSUPPORTED' && /kubernetes/.test(counters.errors[0].message));
  assert.throws(() => c.nodeAccess('node-a'), /E_K8S_UNSUPPORTED: node access to node-a: not supported on kubernetes/);
});

test('applyFirewall creates the inferred policies, leaves equal ones, replaces changed ones, deletes stale ones', async (t) => {
  const { fc, c } = await connected(t);
  const first = await c.applyFirewall();
  assert.deepEqual(first, { created: ['default-deny', 'db-flowtap', 'web-flowtap'], replaced: [], unchanged: [], deleted: [] });
  await settle();
  const again = await c.applyFirewall();
  assert.deepEqual(again, { created: [], replaced: [], unchanged: ['default-deny', 'db-flowtap', 'web-flowtap'], deleted: [] });
  // web no longer reaches db: web's policy keeps its ingress only.
  const cm = fc.get('ConfigMap', 'shop/flowtap-requirements')!;
  fc.put({ ...cm, data: { 'requirements.yaml': 'requirements:\n  - from: external\n    to: web:http\n' } });
  const stale = {
    ...fc.get('NetworkPolicy', 'shop/web-flowtap')!,
    metadata: { ...fc.get('NetworkPolicy', 'shop/web-flowtap')!.metadata, name: 'old-flowtap' },
  };
  fc.put(stale);
  await settle();
  const third = await c.applyFirewall();
  // db keeps no allow of its own: the namespace's default deny covers it, so its policy goes too.
  assert.deepEqual(third, { created: [], replaced: ['web-flowtap'], unchanged: ['default-deny'], deleted: ['db-flowtap', 'old-flowtap'] });
  const web = fc.get('NetworkPolicy', 'shop/web-flowtap')!;
  assert.deepEqual(web.spec?.podSelector, {
    matchLabels: { app: 'web' },
    matchExpressions: [{ key: 'flowtap.io/quarantine', operator: 'DoesNotExist' }],
  });
  assert.equal(web.spec?.egress, undefined);
});

test('applyFirewall refuses while the requirements cannot be read; nothing is applied', async (t) => {
  const { fc, c } = await connected(t, shop({ requirements: 'requirements:\n  - from: web\n    to: nowhere:http\n' }));
  await failsWith(c.applyFirewall(), 'E_K8S_REQUIREMENTS', /the requirements of shop cannot be read; no firewall is applied/);
  assert.deepEqual(fc.calls, []);
});

test('down takes away the policies and labels flowtap made, and nothing else', async (t) => {
  const objs = shop({ requirements: REQS });
  objs.push({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'theirs', namespace: 'shop' },
    spec: { podSelector: {} },
  });
  const { fc, c } = await connected(t, objs);
  await c.applyFirewall();
  await c.isolate('db-0');
  await settle();
  fc.calls.length = 0;
  assert.deepEqual(await c.down(), { namespaces: [], processes: 0 });
  assert.deepEqual(fc.calls.sort(), [
    'delete networkpolicy shop/db-flowtap',
    'delete networkpolicy shop/default-deny',
    'delete networkpolicy shop/flowtap-quarantine-db-0',
    'delete networkpolicy shop/web-flowtap',
    'patch pod shop/db-0 labels {"flowtap.io/quarantine":null}',
  ]);
  assert.deepEqual(
    fc.source('NetworkPolicy').items.map((p) => p.metadata.name),
    ['theirs'],
  );
});

test('connecting to an application the cluster does not have fails and leaves nothing running', async () => {
  const fc = new FakeCluster(shop());
  await failsWith(
    KubernetesCluster.connect({ app: 'nothere', sources: fc.sourceOf, api: fc.api }),
    'E_K8S_APP',
    /no namespace is labelled flowtap\.io\/app=nothere/,
  );
  assert.equal(fc.source('Pod').watching, false);
});

test('connecting to a server that never answers its lists gives up after the timeout, naming the last failure', async () => {
  const fc = new FakeCluster(shop());
  fc.source('Pod').listErrors = Array.from({ length: 1000 }, () => ({ statusCode: 503 }));
  const t0 = Date.now();
  await failsWith(
    KubernetesCluster.connect({
      app: 'shop',
      sources: fc.sourceOf,
      api: fc.api,
      connectTimeoutMs: 80,
      watch: { backoff: { initialMs: 5, maxMs: 10 } },
    }),
    'E_K8S_API',
    /^kubernetes: the API server did not answer every list within 0\.08 s \(last: listing Pod failed: HTTP 503; retrying\)$/,
  );
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(fc.source('Namespace').watching, false, 'the watches that did start are stopped');
});

test('connecting without the rights to list a kind fails at once, naming the kind and the answer', async () => {
  const fc = new FakeCluster(shop());
  fc.source('NetworkPolicy').listErrors = [{ statusCode: 403, body: { message: 'networkpolicies.networking.k8s.io is forbidden' } }];
  await failsWith(
    KubernetesCluster.connect({ app: 'shop', sources: fc.sourceOf, api: fc.api, watch: { backoff: { initialMs: 5 } } }),
    'E_K8S_API',
    /^kubernetes: listing NetworkPolicy failed: HTTP 403: networkpolicies\.networking\.k8s\.io is forbidden$/,
  );
  assert.equal(fc.source('Pod').watching, false);
});
