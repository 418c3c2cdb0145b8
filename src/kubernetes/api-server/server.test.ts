import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowtapError } from '../../diagnostics/index.js';
import { type ApiServer, startApiServer } from './server.js';
import { call, configMap, loose, type Loose, watch } from './testing.js';

const CM = '/api/v1/namespaces/default/configmaps';

describe('the stand-in API server over HTTP', () => {
  let s: ApiServer;
  before(async () => {
    s = await startApiServer({ bookmarkEveryMs: 50, maxWatchEvents: 50, maxBodyBytes: 64 * 1024 });
  });
  after(async () => {
    await s.close();
  });

  test('discovery: version, groups, resource lists with verbs, scope, kinds and short names', async () => {
    const version = await call(s.url, 'GET', '/version');
    assert.equal(version.body.gitVersion, 'v1.29.0');
    const api = await call(s.url, 'GET', '/api');
    assert.deepEqual(api.body.versions, ['v1']);
    const groups = await call(s.url, 'GET', '/apis');
    assert.deepEqual(
      groups.body.groups.map((g: Loose) => g.preferredVersion.groupVersion),
      ['apps/v1', 'discovery.k8s.io/v1', 'networking.k8s.io/v1', 'policy.networking.k8s.io/v1alpha1'],
    );
    const core = await call(s.url, 'GET', '/api/v1');
    const pods = core.body.resources.find((r: Loose) => r.name === 'pods');
    assert.deepEqual(pods, {
      name: 'pods',
      singularName: 'pod',
      namespaced: true,
      kind: 'Pod',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['po'],
      categories: ['all'],
    });
    assert.ok(core.body.resources.some((r: Loose) => r.name === 'pods/status'));
    assert.equal(core.body.resources.find((r: Loose) => r.name === 'nodes').namespaced, false);
    const anp = await call(s.url, 'GET', '/apis/policy.networking.k8s.io/v1alpha1');
    assert.deepEqual(
      anp.body.resources.filter((r: Loose) => !r.name.includes('/')).map((r: Loose) => [r.name, r.kind, r.namespaced]),
      [
        ['adminnetworkpolicies', 'AdminNetworkPolicy', false],
        ['baselineadminnetworkpolicies', 'BaselineAdminNetworkPolicy', false],
      ],
    );
    const missing = await call(s.url, 'GET', '/apis/batch/v1');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.kind, 'Status');
    assert.equal(missing.body.reason, 'NotFound');
    const pb = await call(s.url, 'GET', '/openapi/v2', undefined, { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' });
    assert.equal(pb.status, 200);
    assert.equal(pb.body, '\n\x032.0');
  });

  test('list: kind, apiVersion and resourceVersion of the list; items carry no kind or apiVersion', async () => {
    for (const name of ['l1', 'l2']) assert.equal((await call(s.url, 'POST', CM, configMap(name, { list: 'yes' }))).status, 201);
    const list = await call(s.url, 'GET', `${CM}?labelSelector=list%3Dyes`);
    assert.equal(list.status, 200);
    assert.equal(list.body.kind, 'ConfigMapList');
    assert.equal(list.body.apiVersion, 'v1');
    assert.equal(list.body.metadata.resourceVersion, s.store.resourceVersion);
    assert.deepEqual(
      list.body.items.map((i: Loose) => i.metadata.name),
      ['l1', 'l2'],
    );
    for (const item of list.body.items) {
      assert.equal(item.kind, undefined);
      assert.equal(item.apiVersion, undefined);
    }
    const all = await call(s.url, 'GET', '/api/v1/namespaces');
    assert.deepEqual(
      all.body.items.map((i: Loose) => i.metadata.name),
      ['default', 'kube-node-lease', 'kube-public', 'kube-system'],
    );
    const nodes = await call(s.url, 'GET', '/api/v1/nodes?fieldSelector=metadata.name%3Dnode-2');
    assert.deepEqual(
      nodes.body.items.map((i: Loose) => i.metadata.name),
      ['node-2'],
    );
    const bad = await call(s.url, 'GET', `${CM}?labelSelector=a%20b`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.reason, 'BadRequest');
    const badField = await call(s.url, 'GET', `${CM}?fieldSelector=data.k%3Dx`);
    assert.equal(badField.status, 400);
    assert.match(badField.body.message, /field label not supported/);
  });

  test('chunked lists: every page at the first page’s resourceVersion; an expired token is 410', async () => {
    await call(s.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'paging' } });
    const path = '/api/v1/namespaces/paging/configmaps';
    for (const n of ['c1', 'c2', 'c3', 'c4', 'c5']) await call(s.url, 'POST', path, configMap(n, {}, 'paging'));
    const first = await call(s.url, 'GET', `${path}?limit=2`);
    assert.deepEqual(
      first.body.items.map((i: Loose) => i.metadata.name),
      ['c1', 'c2'],
    );
    assert.equal(first.body.metadata.remainingItemCount, 3);
    assert.ok(first.body.metadata.continue);
    const rv = first.body.metadata.resourceVersion;
    // Writes between pages do not show: the list is a snapshot.
    await call(s.url, 'DELETE', `${path}/c4`);
    await call(s.url, 'POST', path, configMap('c6', {}, 'paging'));
    await call(s.url, 'PUT', `${path}/c3`, { ...configMap('c3', {}, 'paging'), data: { k: 'changed' } });
    const second = await call(s.url, 'GET', `${path}?limit=2&continue=${encodeURIComponent(first.body.metadata.continue)}`);
    assert.equal(second.status, 200);
    assert.equal(second.body.metadata.resourceVersion, rv);
    assert.deepEqual(
      second.body.items.map((i: Loose) => [i.metadata.name, i.data.k]),
      [
        ['c3', 'c3'],
        ['c4', 'c4'],
      ],
    );
    const third = await call(s.url, 'GET', `${path}?limit=2&continue=${encodeURIComponent(second.body.metadata.continue)}`);
    assert.deepEqual(
      third.body.items.map((i: Loose) => i.metadata.name),
      ['c5'],
    );
    assert.equal(third.body.metadata.continue, undefined);
    s.store.compact();
    const expired = await call(s.url, 'GET', `${path}?limit=2&continue=${encodeURIComponent(second.body.metadata.continue)}`);
    assert.equal(expired.status, 410);
    assert.equal(expired.body.reason, 'Expired');
    assert.equal(expired.body.code, 410);
    const garbage = await call(s.url, 'GET', `${path}?limit=2&continue=nonsense`);
    assert.equal(garbage.status, 400);
    const badLimit = await call(s.url, 'GET', `${path}?limit=-1`);
    assert.equal(badLimit.status, 400);
  });

  test('watch: ADDED, MODIFIED, DELETED in order, each object whole, with its resourceVersion', async () => {
    const from = s.store.resourceVersion;
    const w = await watch(s.url, `${CM}?watch=1&resourceVersion=${from}`);
    assert.equal(w.status, 200);
    const made = await call(s.url, 'POST', CM, configMap('w1'));
    await call(s.url, 'PATCH', `${CM}/w1`, { data: { k: 'v2' } }, { 'content-type': 'application/merge-patch+json' });
    await call(s.url, 'DELETE', `${CM}/w1`);
    await w.until((x) => x.events.length >= 3);
    assert.deepEqual(
      w.events.map((e) => e.type),
      ['ADDED', 'MODIFIED', 'DELETED'],
    );
    assert.equal(w.events[0].object.kind, 'ConfigMap');
    assert.equal(w.events[0].object.apiVersion, 'v1');
    assert.equal(w.events[0].object.metadata.uid, made.body.metadata.uid);
    assert.equal(w.events[1].object.data.k, 'v2');
    const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
    assert.ok(rvs[0] > Number(from) && rvs[0] < rvs[1] && rvs[1] < rvs[2], `resourceVersions ${rvs}`);
    w.close();
  });

  test('watch from an older resourceVersion replays the history; from "" or 0 starts with synthetic ADDED', async () => {
    const from = s.store.resourceVersion;
    await call(s.url, 'POST', CM, configMap('r1', { replay: 'yes' }));
    await call(s.url, 'POST', CM, configMap('r2', { replay: 'yes' }));
    const replay = await watch(s.url, `${CM}?watch=true&resourceVersion=${from}&labelSelector=replay%3Dyes`);
    await replay.until((x) => x.events.length >= 2);
    assert.deepEqual(
      replay.events.map((e) => `${e.type} ${e.object.metadata.name}`),
      ['ADDED r1', 'ADDED r2'],
    );
    replay.close();
    for (const rv of ['', '0']) {
      const initial = await watch(s.url, `${CM}?watch=1&resourceVersion=${rv}&labelSelector=replay%3Dyes`);
      await initial.until((x) => x.events.length >= 2);
      assert.deepEqual(
        initial.events.map((e) => `${e.type} ${e.object.metadata.name}`),
        ['ADDED r1', 'ADDED r2'],
      );
      initial.close();
    }
  });

  test('watch through a selector: an object that stops matching is DELETED, one that starts is ADDED', async () => {
    await call(s.url, 'POST', CM, configMap('sel', { colour: 'red' }));
    const w = await watch(s.url, `${CM}?watch=1&resourceVersion=${s.store.resourceVersion}&labelSelector=colour%3Dred`);
    const patch = (colour: string) =>
      call(s.url, 'PATCH', `${CM}/sel`, { metadata: { labels: { colour } } }, { 'content-type': 'application/strategic-merge-patch+json' });
    await patch('blue');
    await patch('red');
    await w.until((x) => x.events.length >= 2);
    assert.deepEqual(
      w.events.map((e) => e.type),
      ['DELETED', 'ADDED'],
    );
    assert.equal(w.events[0].object.metadata.labels.colour, 'red', 'the object as it was when it last matched');
    assert.ok(Number(w.events[0].object.metadata.resourceVersion) < Number(w.events[1].object.metadata.resourceVersion));
    w.close();
  });

  test('a watch from a resourceVersion older than the history gets ERROR 410 Expired and ends', async () => {
    const old = s.store.resourceVersion;
    await call(s.url, 'POST', CM, configMap('exp'));
    s.store.compact();
    const w = await watch(s.url, `${CM}?watch=1&resourceVersion=${old}`);
    await w.until((x) => x.ended);
    assert.equal(w.status, 200);
    assert.equal(w.events.length, 1);
    assert.equal(w.events[0].type, 'ERROR');
    assert.deepEqual(
      {
        kind: w.events[0].object.kind,
        status: w.events[0].object.status,
        reason: w.events[0].object.reason,
        code: w.events[0].object.code,
      },
      { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 },
    );
    const fresh = await watch(s.url, `${CM}?watch=1&resourceVersion=${s.store.resourceVersion}`);
    await call(s.url, 'POST', CM, configMap('exp2'));
    await fresh.until((x) => x.events.length === 1);
    assert.equal(fresh.events[0].type, 'ADDED');
    fresh.close();
  });

  test('the history is bounded: a burst pushes an idle watcher’s resourceVersion out', async () => {
    const old = s.store.resourceVersion;
    for (let i = 0; i < 60; i++) await call(s.url, 'POST', CM, configMap(`burst-${i}`));
    const w = await watch(s.url, `${CM}?watch=1&resourceVersion=${old}`);
    await w.until((x) => x.ended);
    assert.equal(w.events[0].object.code, 410);
  });

  test('bookmarks: only when allowed, carrying nothing but kind, apiVersion and the resourceVersion', async () => {
    const rv = s.store.resourceVersion;
    const w = await watch(s.url, `${CM}?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true`);
    const plain = await watch(s.url, `${CM}?watch=1&resourceVersion=${rv}`);
    await w.until((x) => x.events.length >= 2);
    assert.deepEqual(w.events[0], { type: 'BOOKMARK', object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: rv } } });
    assert.equal(plain.events.length, 0);
    w.close();
    plain.close();
  });

  test('dropped watches break like a lost connection; timeoutSeconds ends a watch cleanly', async () => {
    const a = await watch(s.url, `${CM}?watch=1`);
    const b = await watch(s.url, '/api/v1/pods?watch=1');
    await a.until((x) => x.events.length > 0);
    assert.equal(s.store.openWatches, 2);
    assert.equal(s.store.dropWatches(), 2);
    await a.until((x) => x.broken);
    await b.until((x) => x.broken);
    assert.ok(!a.ended);
    assert.equal(s.store.openWatches, 0);
    const t0 = Date.now();
    const timed = await watch(s.url, `${CM}?watch=1&resourceVersion=${s.store.resourceVersion}&timeoutSeconds=1`);
    await timed.until((x) => x.ended, 3000);
    assert.ok(!timed.broken);
    assert.ok(Date.now() - t0 >= 900, 'ended by the timeout, not at once');
  });

  test('writes: 201 on create, AlreadyExists and Conflict as 409 Status, delete returns the object', async () => {
    const made = await call(s.url, 'POST', CM, configMap('wr'));
    assert.equal(made.status, 201);
    const again = await call(s.url, 'POST', CM, configMap('wr'));
    assert.equal(again.status, 409);
    assert.deepEqual(again.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'configmaps "wr" already exists',
      reason: 'AlreadyExists',
      details: { name: 'wr', group: '', kind: 'configmaps' },
      code: 409,
    });
    const replaced = await call(s.url, 'PUT', `${CM}/wr`, { ...made.body, data: { k: 'new' } });
    assert.equal(replaced.status, 200);
    const stale = await call(s.url, 'PUT', `${CM}/wr`, { ...made.body, data: { k: 'newer' } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'Conflict');
    const got = await call(s.url, 'GET', `${CM}/wr`);
    assert.equal(got.body.data.k, 'new');
    assert.equal(got.body.kind, 'ConfigMap');
    const gone = await call(s.url, 'DELETE', `${CM}/wr`, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
    assert.equal(gone.status, 200);
    assert.equal(gone.body.metadata.uid, made.body.metadata.uid);
    assert.equal((await call(s.url, 'GET', `${CM}/wr`)).status, 404);
    assert.equal((await call(s.url, 'DELETE', `${CM}/wr`)).status, 404);
    const badPolicy = await call(s.url, 'DELETE', `${CM}/x`, { propagationPolicy: 'Sideways' });
    assert.equal(badPolicy.status, 400);
  });

  test('PATCH: merge, strategic, JSON patch and apply; an unknown type is 415', async () => {
    await call(s.url, 'POST', CM, { ...configMap('pt'), data: { a: '1', b: '2' } });
    const merge = await call(s.url, 'PATCH', `${CM}/pt`, { data: { a: null, c: '3' } }, { 'content-type': 'application/merge-patch+json' });
    assert.deepEqual(merge.body.data, { b: '2', c: '3' });
    const json = await call(s.url, 'PATCH', `${CM}/pt`, [{ op: 'replace', path: '/data/b', value: 'two' }], {
      'content-type': 'application/json-patch+json',
    });
    assert.deepEqual(json.body.data, { b: 'two', c: '3' });
    const failedTest = await call(s.url, 'PATCH', `${CM}/pt`, [{ op: 'test', path: '/data/b', value: 'x' }], {
      'content-type': 'application/json-patch+json',
    });
    assert.equal(failedTest.status, 422);
    const strategic = await call(
      s.url,
      'PATCH',
      `${CM}/pt`,
      { metadata: { annotations: { n: 'v' } } },
      { 'content-type': 'application/strategic-merge-patch+json' },
    );
    assert.equal(strategic.body.metadata.annotations.n, 'v');
    const stalePatch = await call(
      s.url,
      'PATCH',
      `${CM}/pt`,
      { metadata: { resourceVersion: '1' }, data: { z: '1' } },
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal(stalePatch.status, 409);
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  x: "1"\n';
    const noManager = await call(s.url, 'PATCH', `${CM}/applied`, yaml, { 'content-type': 'application/apply-patch+yaml' });
    assert.equal(noManager.status, 422);
    const applied = await call(s.url, 'PATCH', `${CM}/applied?fieldManager=test`, yaml, { 'content-type': 'application/apply-patch+yaml' });
    assert.equal(applied.status, 201);
    const reapplied = await call(s.url, 'PATCH', `${CM}/applied?fieldManager=test`, yaml.replace('"1"', '"2"'), {
      'content-type': 'application/apply-patch+yaml',
    });
    assert.equal(reapplied.status, 200);
    assert.equal(reapplied.body.data.x, '2');
    const unknown = await call(s.url, 'PATCH', `${CM}/pt`, {}, { 'content-type': 'application/json' });
    assert.equal(unknown.status, 415);
    assert.equal(unknown.body.reason, 'UnsupportedMediaType');
    const missing = await call(s.url, 'PATCH', `${CM}/none`, {}, { 'content-type': 'application/merge-patch+json' });
    assert.equal(missing.status, 404);
  });

  test('the status subresource: PUT /status changes status only; a PUT of the object keeps it', async () => {
    const path = '/apis/networking.k8s.io/v1/namespaces/default/ingresses';
    const made = await call(s.url, 'POST', path, {
      metadata: { name: 'ing' },
      spec: { rules: [] },
      status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
    });
    assert.equal(made.body.status, undefined, 'status sent on create is dropped');
    const st = await call(s.url, 'PUT', `${path}/ing/status`, {
      ...made.body,
      spec: { rules: [{ host: 'x' }] },
      status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
    });
    assert.equal(st.status, 200);
    assert.deepEqual(st.body.spec, { rules: [] });
    assert.equal(st.body.status.loadBalancer.ingress[0].ip, '1.2.3.4');
    const main = await call(s.url, 'PUT', `${path}/ing`, { ...st.body, status: {} });
    assert.equal(main.body.status.loadBalancer.ingress[0].ip, '1.2.3.4');
  });

  test('the scale subresource reads and writes spec.replicas as an autoscaling/v1 Scale', async () => {
    const path = '/apis/apps/v1/namespaces/default/replicasets';
    const made = await call(s.url, 'POST', path, {
      metadata: { name: 'sc' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'sc' } },
        template: { metadata: { labels: { app: 'sc' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    });
    const scale = await call(s.url, 'GET', `${path}/sc/scale`);
    assert.equal(scale.body.kind, 'Scale');
    assert.equal(scale.body.apiVersion, 'autoscaling/v1');
    assert.deepEqual(scale.body.spec, { replicas: 1 });
    assert.equal(scale.body.status.selector, 'app=sc');
    assert.equal(scale.body.metadata.uid, made.body.metadata.uid);
    const put = await call(s.url, 'PUT', `${path}/sc/scale`, { ...scale.body, spec: { replicas: 3 } });
    assert.equal(put.status, 200);
    assert.equal(put.body.spec.replicas, 3);
    const stale = await call(s.url, 'PUT', `${path}/sc/scale`, { ...scale.body, spec: { replicas: 2 } });
    assert.equal(stale.status, 409);
    const patched = await call(
      s.url,
      'PATCH',
      `${path}/sc/scale`,
      { spec: { replicas: 0 } },
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal(patched.body.spec.replicas, 0);
    assert.equal(loose(s.store.get({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'sc', namespace: 'default' })).spec.replicas, 0);
    const negative = await call(
      s.url,
      'PATCH',
      `${path}/sc/scale`,
      { spec: { replicas: -1 } },
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal(negative.status, 422);
    assert.equal((await call(s.url, 'GET', '/api/v1/namespaces/default/configmaps/x/scale')).status, 404);
  });

  test('bad input: JSON that does not parse, bodies over the limit, deep nesting, wrong verbs', async () => {
    const badJson = await call(s.url, 'POST', CM, '{"metadata": ');
    assert.equal(badJson.status, 400);
    assert.equal(badJson.body.reason, 'BadRequest');
    const big = await call(s.url, 'POST', CM, { metadata: { name: 'big' }, data: { k: 'x'.repeat(70 * 1024) } });
    assert.equal(big.status, 413);
    assert.equal(big.body.reason, 'RequestEntityTooLarge');
    let deep: unknown = 'x';
    for (let i = 0; i < 200; i++) deep = { d: deep };
    const nested = await call(s.url, 'POST', CM, { metadata: { name: 'deep' }, data: deep });
    assert.equal(nested.status, 400);
    const allNs = await call(s.url, 'POST', '/api/v1/configmaps', configMap('x'));
    assert.equal(allNs.status, 405);
    const clusterWithNs = await call(s.url, 'GET', '/api/v1/namespaces/default/nodes');
    assert.equal(clusterWithNs.status, 404);
    const wrongKind = await call(s.url, 'POST', CM, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } });
    assert.equal(wrongKind.status, 400);
    const invalid = await call(s.url, 'POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'nocontainers' }, spec: {} });
    assert.equal(invalid.status, 422);
    assert.equal(invalid.body.reason, 'Invalid');
    assert.match(invalid.body.message, /spec.containers: Required value/);
    const badName = await call(s.url, 'GET', `${CM}/%E0%A4%A`);
    assert.equal(badName.status, 404);
  });

  test('server-side printing: a Table when kubectl asks for one', async () => {
    await call(s.url, 'POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'tp' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    });
    const t = await call(s.url, 'GET', '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dtp', undefined, {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
    });
    assert.equal(t.body.kind, 'Table');
    assert.equal(t.body.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(
      t.body.columnDefinitions.map((c: Loose) => c.name),
      ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates'],
    );
    const [name, ready, status, restarts] = t.body.rows[0].cells;
    assert.deepEqual([name, ready, status, restarts], ['tp', '1/1', 'Running', 0]);
    assert.equal(t.body.rows[0].object.kind, 'PartialObjectMetadata');
  });

  test('the store behind the API: programmatic writes show in lists, kubeconfig points here', async () => {
    const made = s.store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'direct', namespace: 'default' } });
    assert.ok(made.ok);
    const got = await call(s.url, 'GET', `${CM}/direct`);
    assert.equal(got.body.metadata.uid, made.value.metadata.uid);
    const unknown = s.store.create({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' } });
    assert.ok(!unknown.ok);
    assert.equal(unknown.error.code, 'E_KAPI_NOT_FOUND');
    assert.equal(s.store.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'direct', namespace: 'default' })?.metadata.name, 'direct');
    const dir = mkdtempSync(join(tmpdir(), 'kapi-'));
    try {
      s.writeKubeconfig(join(dir, 'config'), 'kube-system');
      const text = readFileSync(join(dir, 'config'), 'utf8');
      assert.ok(text.includes(`server: ${s.url}`));
      assert.ok(text.includes('namespace: kube-system'));
    } finally {
      rmSync(dir, { recursive: true });
    }
    assert.ok(s.requests.some((r) => r.method === 'GET' && r.url === `${CM}/direct` && r.status === 200));
  });
});

test('initial objects are stored as given, namespaces first; a bad one stops the start', async () => {
  const s = await startApiServer({
    controllers: false,
    objects: [
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', namespace: 'shop' },
        spec: { containers: [{ name: 'c', image: 'i' }] },
        status: { phase: 'Running', podIP: '10.1.2.3' },
      },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    ],
  });
  try {
    const pod = s.store.get({ apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'shop' });
    assert.equal(loose(pod?.status).podIP, '10.1.2.3');
  } finally {
    await s.close();
  }
  await assert.rejects(
    startApiServer({ objects: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'absent' } }] }),
    (e: unknown) => e instanceof FlowtapError && e.diagnostics[0].code === 'E_KAPI_NOT_FOUND' && /initial object 0/.test(e.message),
  );
});
