import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../object.js';
import { type ApiServer, startApiServer } from '../server.js';
import { call, deployment, loose, type Loose, watch } from '../testing.js';

const DEPLOYMENTS = '/apis/apps/v1/namespaces/default/deployments';
const pods = (s: ApiServer, ns = 'default') => s.store.list('v1', 'Pod', ns);
const ownerOf = (o: KubeObject) => o.metadata.ownerReferences?.find((r) => r.controller);
const inPodCidr = (ip: unknown) => typeof ip === 'string' && /^10\.244\.\d{1,3}\.\d{1,3}$/.test(ip);

describe('the controllers of the stand-in', () => {
  let s: ApiServer;
  before(async () => {
    s = await startApiServer({ nodes: ['alpha', 'beta', 'gamma'] });
  });
  after(async () => {
    await s.close();
  });

  test('nodes get a /24 of the pod block each', () => {
    const cidrs = s.store.list('v1', 'Node').map((n) => loose(n.spec).podCIDR);
    assert.deepEqual(cidrs, ['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24']);
  });

  test('a Deployment gets a ReplicaSet and running pods named and owned as on a real cluster', async () => {
    const made = await call(s.url, 'POST', DEPLOYMENTS, deployment('web', 3));
    assert.equal(made.status, 201);
    const [rs] = s.store.list('apps/v1', 'ReplicaSet', 'default').filter((r) => ownerOf(r)?.uid === made.body.metadata.uid);
    assert.ok(rs, 'a ReplicaSet owned by the Deployment');
    const hash = rs.metadata.labels?.['pod-template-hash'];
    assert.match(hash ?? '', /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.deepEqual(ownerOf(rs), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'web',
      uid: made.body.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    });
    const web = pods(s).filter((p) => p.metadata.labels?.app === 'web');
    assert.equal(web.length, 3);
    for (const p of web) {
      assert.match(p.metadata.name!, new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      assert.equal(ownerOf(p)?.kind, 'ReplicaSet');
      assert.equal(ownerOf(p)?.uid, rs.metadata.uid);
      assert.equal(loose(p.status).phase, 'Running');
      assert.ok(inPodCidr(loose(p.status).podIP), String(loose(p.status).podIP));
      assert.ok(['alpha', 'beta', 'gamma'].includes(loose(p.spec).nodeName));
    }
    assert.equal(new Set(web.map((p) => loose(p.status).podIP)).size, 3, 'addresses are distinct');
    assert.equal(new Set(web.map((p) => loose(p.spec).nodeName)).size, 3, 'spread over the nodes');
    const node = s.store.get({ apiVersion: 'v1', kind: 'Node', name: loose(web[0].spec).nodeName })!;
    assert.ok(loose(web[0].status).podIP.startsWith(loose(node.spec).podCIDR.replace('0/24', '')), 'the address is in the node’s range');
    const d = s.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'default' })!;
    assert.deepEqual(
      {
        replicas: loose(d.status).replicas,
        ready: loose(d.status).readyReplicas,
        available: loose(d.status).availableReplicas,
        gen: loose(d.status).observedGeneration,
      },
      { replicas: 3, ready: 3, available: 3, gen: 1 },
    );
  });

  test('a watcher sees a pod come, get bound, then get its address, each at a later resourceVersion', async () => {
    const w = await watch(
      s.url,
      `/api/v1/namespaces/default/pods?watch=1&resourceVersion=${s.store.resourceVersion}&labelSelector=app%3Dsolo`,
    );
    await call(s.url, 'POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'solo', labels: { app: 'solo' } },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    });
    await w.until((x) => x.events.length >= 3);
    assert.deepEqual(
      w.events.map((e) => [e.type, Boolean(e.object.spec.nodeName), e.object.status.podIP ?? null]),
      [
        ['ADDED', false, null],
        ['MODIFIED', true, null],
        ['MODIFIED', true, w.events[2].object.status.podIP],
      ],
    );
    assert.ok(inPodCidr(w.events[2].object.status.podIP));
    w.close();
  });

  test('rollout restart replaces the pods; scaling changes their number', async () => {
    const before = pods(s).filter((p) => p.metadata.labels?.app === 'web');
    const restarted = await call(
      s.url,
      'PATCH',
      `${DEPLOYMENTS}/web`,
      { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-01T10:00:00Z' } } } } },
      { 'content-type': 'application/strategic-merge-patch+json' },
    );
    assert.equal(restarted.status, 200);
    assert.equal(restarted.body.metadata.generation, 2);
    const after = pods(s).filter((p) => p.metadata.labels?.app === 'web');
    assert.equal(after.length, 3);
    const beforeNames = new Set(before.map((p) => p.metadata.name));
    assert.ok(
      after.every((p) => !beforeNames.has(p.metadata.name)),
      'every pod is new',
    );
    assert.ok(after.every((p) => p.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']));
    const sets = s.store.list('apps/v1', 'ReplicaSet', 'default').filter((r) => r.metadata.name!.startsWith('web-'));
    assert.deepEqual(sets.map((r) => loose(r.spec).replicas).sort(), [0, 3]);
    const newest = sets.find((r) => loose(r.spec).replicas === 3)!;
    assert.equal(newest.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    await call(s.url, 'PATCH', `${DEPLOYMENTS}/web`, { spec: { replicas: 1 } }, { 'content-type': 'application/merge-patch+json' });
    assert.equal(pods(s).filter((p) => p.metadata.labels?.app === 'web').length, 1);
  });

  test('deleting a pod of a ReplicaSet brings a new one', async () => {
    const [pod] = pods(s).filter((p) => p.metadata.labels?.app === 'web');
    await call(s.url, 'DELETE', `/api/v1/namespaces/default/pods/${pod.metadata.name}`);
    const now = pods(s).filter((p) => p.metadata.labels?.app === 'web');
    assert.equal(now.length, 1);
    assert.notEqual(now[0].metadata.name, pod.metadata.name);
  });

  test('deleting a Deployment deletes its ReplicaSets and pods; Orphan leaves them ownerless', async () => {
    await call(s.url, 'DELETE', `${DEPLOYMENTS}/web`, { propagationPolicy: 'Background' });
    assert.equal(pods(s).filter((p) => p.metadata.labels?.app === 'web').length, 0);
    assert.equal(s.store.list('apps/v1', 'ReplicaSet', 'default').filter((r) => r.metadata.name!.startsWith('web-')).length, 0);
    await call(s.url, 'POST', DEPLOYMENTS, deployment('kept', 2));
    await call(s.url, 'DELETE', `${DEPLOYMENTS}/kept`, { propagationPolicy: 'Orphan' });
    const [rs] = s.store.list('apps/v1', 'ReplicaSet', 'default').filter((r) => r.metadata.name!.startsWith('kept-'));
    assert.ok(rs);
    assert.equal(rs.metadata.ownerReferences, undefined);
    assert.equal(pods(s).filter((p) => p.metadata.labels?.app === 'kept').length, 2, 'the ReplicaSet keeps running its pods');
  });

  test('a StatefulSet gets <name>-0..n-1; a DaemonSet one pod per node', async () => {
    const sts = await call(s.url, 'POST', '/apis/apps/v1/namespaces/default/statefulsets', {
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db',
        replicas: 3,
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'pg', image: 'pg' }] } },
      },
    });
    const db = pods(s)
      .filter((p) => p.metadata.labels?.app === 'db')
      .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    assert.deepEqual(
      db.map((p) => p.metadata.name),
      ['db-0', 'db-1', 'db-2'],
    );
    assert.deepEqual(ownerOf(db[0]), {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name: 'db',
      uid: sts.body.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    });
    assert.equal(loose(db[1].spec).hostname, 'db-1');
    assert.equal(loose(db[1].spec).subdomain, 'db');
    const uid0 = db[0].metadata.uid;
    await call(
      s.url,
      'PATCH',
      '/apis/apps/v1/namespaces/default/statefulsets/db',
      { spec: { replicas: 2, template: { metadata: { annotations: { r: '1' } } } } },
      {
        'content-type': 'application/strategic-merge-patch+json',
      },
    );
    const after = pods(s).filter((p) => p.metadata.labels?.app === 'db');
    assert.deepEqual(after.map((p) => p.metadata.name).sort(), ['db-0', 'db-1']);
    assert.notEqual(after.find((p) => p.metadata.name === 'db-0')?.metadata.uid, uid0, 'a new template replaces the pod');

    await call(s.url, 'POST', '/apis/apps/v1/namespaces/default/daemonsets', {
      metadata: { name: 'agent' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'a' }] } },
      },
    });
    const agents = pods(s).filter((p) => p.metadata.labels?.app === 'agent');
    assert.deepEqual(agents.map((p) => loose(p.spec).nodeName).sort(), ['alpha', 'beta', 'gamma']);
    assert.ok(agents.every((p) => /^agent-[bcdfghjklmnpqrstvwxz2456789]{5}$/.test(p.metadata.name!)));
    s.store.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'delta' },
      status: { addresses: [{ type: 'InternalIP', address: '172.18.0.9' }] },
    });
    assert.equal(pods(s).filter((p) => p.metadata.labels?.app === 'agent').length, 4, 'a new node gets its pod');
    const onDelta = pods(s).find((p) => p.metadata.labels?.app === 'agent' && loose(p.spec).nodeName === 'delta')!;
    assert.ok(loose(onDelta.status).podIP.startsWith('10.244.3.'));
  });

  test('Services get Endpoints and an EndpointSlice of their ready pods, named ports resolved', async () => {
    await call(s.url, 'POST', DEPLOYMENTS, deployment('api', 2));
    const svc = await call(s.url, 'POST', '/api/v1/namespaces/default/services', {
      metadata: { name: 'api' },
      spec: { selector: { app: 'api' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] },
    });
    assert.equal(svc.status, 201);
    const ips = pods(s)
      .filter((p) => p.metadata.labels?.app === 'api')
      .map((p) => loose(p.status).podIP)
      .sort();
    const ep = s.store.get({ apiVersion: 'v1', kind: 'Endpoints', name: 'api', namespace: 'default' })!;
    assert.deepEqual(
      loose(ep)
        .subsets[0].addresses.map((a: Loose) => a.ip)
        .sort(),
      ips,
    );
    assert.deepEqual(loose(ep).subsets[0].ports, [{ name: 'web', port: 8080, protocol: 'TCP' }]);
    const [slice] = s.store
      .list('discovery.k8s.io/v1', 'EndpointSlice', 'default')
      .filter((x) => x.metadata.labels?.['kubernetes.io/service-name'] === 'api');
    assert.match(slice.metadata.name!, /^api-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.equal(ownerOf(slice)?.uid, svc.body.metadata.uid);
    assert.deepEqual(
      loose(slice)
        .endpoints.map((e: Loose) => e.addresses[0])
        .sort(),
      ips,
    );
    assert.ok(loose(slice).endpoints.every((e: Loose) => e.conditions.ready === true && e.targetRef.kind === 'Pod'));
    await call(s.url, 'PATCH', `${DEPLOYMENTS}/api`, { spec: { replicas: 3 } }, { 'content-type': 'application/merge-patch+json' });
    const grown = s.store.get({ apiVersion: 'v1', kind: 'Endpoints', name: 'api', namespace: 'default' })!;
    assert.equal(loose(grown).subsets[0].addresses.length, 3);
    await call(s.url, 'DELETE', '/api/v1/namespaces/default/services/api');
    assert.equal(s.store.get({ apiVersion: 'v1', kind: 'Endpoints', name: 'api', namespace: 'default' }), undefined);
    assert.equal(
      s.store
        .list('discovery.k8s.io/v1', 'EndpointSlice', 'default')
        .filter((x) => x.metadata.labels?.['kubernetes.io/service-name'] === 'api').length,
      0,
    );
  });

  test('deleting a namespace deletes what is in it', async () => {
    await call(s.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'shop' } });
    await call(s.url, 'POST', '/apis/apps/v1/namespaces/shop/deployments', deployment('cart', 2, 'shop'));
    assert.equal(pods(s, 'shop').length, 2);
    const gone = await call(s.url, 'DELETE', '/api/v1/namespaces/shop');
    assert.equal(gone.status, 200);
    assert.equal(pods(s, 'shop').length, 0);
    assert.equal(s.store.list('apps/v1', 'Deployment', 'shop').length, 0);
    assert.equal((await call(s.url, 'POST', '/api/v1/namespaces/shop/configmaps', { metadata: { name: 'x' } })).status, 404);
  });
});

test('without controllers, workloads stay as written', async () => {
  const s = await startApiServer({ controllers: false });
  try {
    await call(s.url, 'POST', DEPLOYMENTS, deployment('idle', 2));
    assert.equal(pods(s).length, 0);
    assert.equal(s.store.list('apps/v1', 'ReplicaSet', 'default').length, 0);
  } finally {
    await s.close();
  }
});
