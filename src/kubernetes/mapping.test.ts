import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic } from '../diagnostics/index.js';
import { mapCluster } from './mapping.js';
import { lookupOf, podOf, shop, workload } from './testing.js';
import type { KubeObject } from './watch/index.js';

const REQS = `# what the shop needs
requirements:
  - from: external
    to: web:http
    http: {methods: [GET], paths: [/items/*]}
  - from: web
    to: db:pg
    sql: {statements: [SELECT]}
`;

function mapped(objects: KubeObject[], app = 'shop') {
  const r = mapCluster(lookupOf(objects), app);
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatDiagnostic).join('\n'));
  return r.value;
}

function refused(objects: KubeObject[], app = 'shop'): string[] {
  const r = mapCluster(lookupOf(objects), app);
  assert.ok(!r.ok, 'expected the mapping to fail');
  return r.errors.map(formatDiagnostic);
}

test('a labelled namespace becomes the application: workloads, pods, nodes, addresses, requirements', () => {
  const m = mapped(shop({ requirements: REQS }));
  assert.equal(m.namespace, 'shop');
  assert.equal(m.app.tenant, 'acme');
  assert.deepEqual(
    m.app.services.map((s) => [s.name, s.exposure, s.replicas, s.ports.map((p) => `${p.name}/${p.port}/${p.app}`).join()]),
    [
      ['db', 'internal', 1, 'pg/5432/postgres'],
      ['web', 'public', 2, 'http/8080/http'],
    ],
  );
  assert.deepEqual(m.workloads, { db: { kind: 'StatefulSet', name: 'db' }, web: { kind: 'Deployment', name: 'web' } });
  assert.deepEqual(
    m.app.instances.map((i) => `${i.name} ${i.service}#${i.ordinal} on ${i.node} at ${m.addressing.instances[i.name].ip}`),
    ['db-0 db#0 on node-b at 10.244.2.5', 'web-5d9c7-0 web#0 on node-a at 10.244.1.10', 'web-5d9c7-1 web#1 on node-a at 10.244.1.11'],
  );
  assert.deepEqual(m.addressing.nodes['node-a'], { ip: '172.18.0.2', index: 0, subnet: '10.244.1.0/24', gateway: '' });
  assert.equal(m.app.network, '10.244.0.0/16');
  assert.deepEqual(m.status, { 'db-0': 'running', 'web-5d9c7-0': 'running', 'web-5d9c7-1': 'running' });
  assert.deepEqual(
    m.app.requirements.map(
      (r) =>
        `${r.from} -> ${r.to}:${r.port} ${r.http ? `http ${r.http.methods}` : ''}${r.sql ? `sql ${r.sql.statements}` : ''} @${r.loc?.line}:${r.loc?.col}`,
    ),
    ['external -> web:http http GET @3:5', 'web -> db:pg sql SELECT @6:5'],
  );
  assert.equal(m.app.requirements[0].loc?.file, 'shop/configmap/flowtap-requirements/requirements.yaml');
  assert.deepEqual(m.problems, []);
  assert.equal(m.requirementsBroken, false);
  // The import of the same objects, for what the cluster's own policies allow.
  assert.deepEqual(
    m.imported.workloads.map((w) => w.id),
    ['shop/db', 'shop/web'],
  );
});

test('a requirement that does not fit the workloads is reported where it is in the ConfigMap', () => {
  const bad = `requirements:
  - from: web
    to: dbx:pg
  - from: external
    to: db:pg
`;
  const m = mapped(shop({ requirements: bad }));
  assert.equal(m.requirementsBroken, true);
  assert.deepEqual(m.app.requirements, []);
  const lines = m.problems.map(formatDiagnostic);
  assert.ok(
    lines.some((l) =>
      /^shop\/configmap\/flowtap-requirements\/requirements\.yaml:3:9 .*error E_UNKNOWN_SERVICE: unknown service "dbx".*did you mean "db"/.test(
        l,
      ),
    ),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => /requirements\.yaml:4:11 .*E_EXTERNAL_TO_INTERNAL: "db" is internal/.test(l)),
    lines.join('\n'),
  );
});

test('a ConfigMap without the key, with other keys in the section, or in flow style is refused by name', () => {
  const noKey = shop();
  noKey.push({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'flowtap-requirements', namespace: 'shop' },
    data: { 'reqs.yaml': 'x' },
  });
  const a = mapped(noKey);
  assert.equal(a.requirementsBroken, true);
  assert.match(
    formatDiagnostic(a.problems[0]),
    /E_K8S_REQUIREMENTS: ConfigMap shop\/flowtap-requirements has no key requirements\.yaml \(it has reqs\.yaml\)/,
  );

  const extra = mapped(shop({ requirements: 'tenant: other\nrequirements: []\n' }));
  assert.equal(extra.requirementsBroken, true);
  assert.match(formatDiagnostic(extra.problems[0]), /requirements\.yaml:1:1.*E_UNKNOWN_KEY/);

  const flow = mapped(shop({ requirements: '{requirements: [{from: web, to: "db:pg"}]}' }));
  assert.equal(flow.requirementsBroken, true);
  assert.match(formatDiagnostic(flow.problems[0]), /E_K8S_REQUIREMENTS: .*block style/);

  const none = mapped(shop());
  assert.equal(none.requirementsBroken, false, 'no ConfigMap: no requirements, nothing broken');
  assert.deepEqual(none.app.requirements, []);
});

test('no namespace for the application, two of them, or label and annotation disagreeing: E_K8S_APP', () => {
  assert.match(refused(shop(), 'other').join('\n'), /E_K8S_APP: no namespace is labelled flowtap\.io\/app=other/);
  const two = shop();
  two.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop2', annotations: { 'flowtap.io/app': 'shop' } } });
  assert.match(refused(two).join('\n'), /E_K8S_APP: namespaces shop, shop2 are all labelled flowtap\.io\/app=shop/);
  const clash = shop();
  clash[0].metadata.annotations = { 'flowtap.io/tenant': 'other' };
  assert.match(refused(clash).join('\n'), /label flowtap\.io\/tenant=acme but annotation flowtap\.io\/tenant=other; keep one/);
  const badTenant = shop();
  badTenant[0].metadata.labels!['flowtap.io/tenant'] = 'Acme_Corp';
  assert.match(
    refused(badTenant).join('\n'),
    /namespace\/shop \(flowtap\.io\/tenant\): error E_K8S_APP: namespace shop: tenant "Acme_Corp" is not valid/,
  );
});

test('pods: pending ones are not instances yet, terminating ones are terminated, quarantined ones isolated', () => {
  const objs = shop();
  const ports = [{ name: 'http', containerPort: 8080 }];
  objs.push(
    podOf(
      'web',
      'web-5d9c7-9',
      'ReplicaSet',
      'web-5d9c7',
      { app: 'web', 'pod-template-hash': '5d9c7' },
      undefined,
      undefined,
      ports,
      'Pending',
    ),
  );
  const leaving = objs.find((o) => o.metadata.name === 'web-5d9c7-0')!;
  leaving.metadata.deletionTimestamp = '2030-01-01T00:00:00Z';
  objs.find((o) => o.metadata.name === 'web-5d9c7-1')!.metadata.labels!['flowtap.io/quarantine'] = 'true';
  const m = mapped(objs);
  assert.deepEqual(m.status, { 'db-0': 'running', 'web-5d9c7-0': 'terminated', 'web-5d9c7-1': 'isolated' });
  assert.equal(m.app.services.find((s) => s.name === 'web')?.replicas, 2);
});

test('pods of no known workload: under their controller, or alone; exposure and network from annotations', () => {
  const objs = shop();
  const ports = [{ name: 'dns', containerPort: 53, protocol: 'UDP' }];
  objs.push(podOf('x', 'cache-abc12', 'ReplicaSet', 'cache-77', { role: 'cache' }, '10.244.1.30', 'node-a', ports));
  const bare = podOf('x', 'debug', undefined, '', { role: 'debug' }, '10.244.3.4', 'node-c', [{ name: 'http', containerPort: 80 }]);
  bare.metadata.annotations = { 'flowtap.io/exposure': 'public' };
  objs.push(bare);
  objs.find((o) => o.kind === 'StatefulSet')!.metadata.annotations = { 'flowtap.io/exposure': 'sideways' };
  objs[0].metadata.annotations = { 'flowtap.io/network': '10.244.0.0/14' };
  const m = mapped(objs);
  assert.deepEqual(m.workloads['cache-77'], { kind: 'ReplicaSet', name: 'cache-77' });
  assert.deepEqual(m.workloads.debug, { kind: 'Pod', name: 'debug' });
  assert.equal(m.app.services.find((s) => s.name === 'debug')?.exposure, 'public');
  assert.equal(m.app.services.find((s) => s.name === 'db')?.exposure, 'internal');
  assert.match(
    formatDiagnostic(m.problems.find((p) => p.code === 'E_K8S_APP')!),
    /flowtap\.io\/exposure is "sideways", not public or internal; ignored/,
  );
  assert.equal(m.app.network, '10.244.0.0/14');
  assert.deepEqual(
    m.app.nodes.map((n) => n.name),
    ['node-a', 'node-b', 'node-c'],
  );
});

test('a workload whose name cannot be a flowtap service is left out, with its pods, and said so', () => {
  const objs = shop();
  objs.push(workload('Deployment', '9lives', { app: 'cat' }, [], 1));
  objs.push(
    podOf('x', '9lives-1a2b3-x', 'ReplicaSet', '9lives-1a2b3', { app: 'cat', 'pod-template-hash': '1a2b3' }, '10.244.1.40', 'node-a', []),
  );
  const m = mapped(objs);
  assert.deepEqual(
    m.app.services.map((s) => s.name),
    ['db', 'web'],
  );
  assert.equal(m.app.instances.length, 3);
  const lines = m.problems.map(formatDiagnostic);
  assert.ok(
    lines.some((l) => /W_K8S_SKIPPED: workload shop\/9lives is left out: service name "9lives" is not valid/.test(l)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => /W_K8S_SKIPPED: pod shop\/9lives-1a2b3-x is left out: its Deployment 9lives is not in the model/.test(l)),
    lines.join('\n'),
  );
});

test('an object the import refuses is left out alone; the rest is mapped', () => {
  const objs = shop();
  objs.push({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'odd', namespace: 'shop' },
    spec: { podSelector: { matchExpressions: [{ key: 'a', operator: 'Sometimes' }] } },
  });
  const m = mapped(objs);
  assert.equal(m.app.services.length, 2);
  const lines = m.problems.map(formatDiagnostic);
  assert.ok(
    lines.some((l) => /^shop\/NetworkPolicy\/odd:.*E_K8S_SELECTOR/.test(l)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => /W_K8S_SKIPPED: NetworkPolicy\/odd is left out/.test(l)),
    lines.join('\n'),
  );
});
