import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importK8sManifests, k8sWorkloadKinds, parseK8sManifests } from './import.js';

/** test/fixtures/k8s of the repository, found from wherever the compiled test runs. */
function fixtures(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'fixtures', 'k8s');
    if (existsSync(candidate)) return join(candidate, name);
    const parent = dirname(dir);
    if (parent === dir) throw new Error('test/fixtures/k8s not found');
    dir = parent;
  }
}

const brief = (d: { code: string; loc?: { file?: string; line?: number; col?: number; field?: string } }) =>
  `${d.loc?.file?.split('/').pop()}:${d.loc?.line}:${d.loc?.col} ${d.code} ${d.loc?.field ?? ''}`.trim();

test('workloads become services named namespace/name, with template labels, ports and replicas', () => {
  const r = importK8sManifests(fixtures('default-deny'));
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  const imp = r.value;
  assert.deepEqual(
    imp.workloads.map((w) => [w.id, w.kind, w.replicas, w.labels, w.ports]),
    [
      ['other/client', 'Pod', 1, { app: 'client' }, []],
      ['shop/db', 'StatefulSet', 1, { app: 'db' }, [{ name: 'postgres', port: 5432, protocol: 'TCP' }]],
      ['shop/web', 'Deployment', 2, { app: 'web' }, [{ name: 'http', port: 8080, protocol: 'TCP' }]],
    ],
  );
  assert.deepEqual(k8sWorkloadKinds(imp), { 'other/client': 'Pod', 'shop/db': 'StatefulSet', 'shop/web': 'Deployment' });
  assert.equal(imp.app.name, 'default-deny');
  const web = imp.app.services.find((s) => s.name === 'shop/web')!;
  assert.deepEqual(web.ports, [{ name: 'http', protocol: 'tcp', port: 8080, app: 'http' }]);
  assert.deepEqual(web.labels, { app: 'web' });
  assert.deepEqual(imp.app.services.find((s) => s.name === 'shop/db')!.ports[0].app, 'postgres');
  assert.deepEqual(
    imp.app.instances.map((i) => i.name),
    ['other/client-0', 'shop/db-0', 'shop/web-0', 'shop/web-1'],
  );
  // Namespace `other` is only referred to: it exists implicitly, with the label Kubernetes gives it.
  assert.deepEqual(
    imp.namespaces.map((n) => [n.name, n.labels, n.declared]),
    [
      ['other', { 'kubernetes.io/metadata.name': 'other' }, false],
      ['shop', { 'kubernetes.io/metadata.name': 'shop' }, true],
    ],
  );
  assert.equal(imp.policies.length, 1);
  assert.deepEqual(imp.policies[0].policyTypes, ['Ingress']);
  assert.deepEqual(imp.notes.map(brief), ['workloads.yaml:55:7 W_K8S_IGNORED_KIND kind']);
});

test('pods get distinct deterministic addresses inside the application network', () => {
  const a = importK8sManifests(fixtures('default-deny'));
  const b = importK8sManifests(fixtures('default-deny'));
  assert.ok(a.ok && b.ok);
  const ips = Object.values(a.value.addressing.instances).map((x) => x.ip);
  assert.deepEqual(
    ips,
    Object.values(b.value.addressing.instances).map((x) => x.ip),
  );
  assert.equal(new Set(ips).size, 4);
  for (const ip of ips) assert.match(ip, /^10\.77\.\d+\.\d+$/);
  assert.equal(a.value.app.network, '10.77.0.0/16');
  const custom = importK8sManifests(fixtures('default-deny'), { network: '172.20.0.0/16', tenant: 'acme', name: 'shop' });
  assert.ok(custom.ok);
  assert.equal(custom.value.app.tenant, 'acme');
  assert.equal(custom.value.app.name, 'shop');
  for (const x of Object.values(custom.value.addressing.instances)) assert.match(x.ip, /^172\.20\./);
});

test('kind: List in JSON, DaemonSet, protocol defaults and policyTypes defaults', () => {
  const r = importK8sManifests(fixtures('udp'));
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  const dns = r.value.workloads.find((w) => w.id === 'kube-system/dns')!;
  assert.equal(dns.kind, 'DaemonSet');
  assert.equal(dns.replicas, 1);
  assert.deepEqual(dns.ports, [
    { name: 'dns', port: 53, protocol: 'UDP' },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
  ]);
  const policy = r.value.policies[0];
  assert.deepEqual(policy.policyTypes, ['Ingress']);
  // `from` missing: every peer.
  assert.deepEqual(policy.ingress[0].peers, []);
  assert.deepEqual(policy.ingress[0].ports, [{ protocol: 'UDP', port: 53 }]);

  const ie = importK8sManifests(fixtures('ingress-egress'));
  assert.ok(ie.ok);
  const aEgress = ie.value.policies.find((p) => p.name === 'a-egress')!;
  assert.deepEqual(aEgress.policyTypes, ['Ingress', 'Egress']);
  assert.deepEqual(aEgress.egress[0].ports, [
    { protocol: 'TCP', port: 443 },
    { protocol: 'TCP', port: 8443 },
  ]);
});

test('every problem of a broken manifest is reported with file, line, column and field', () => {
  const r = importK8sManifests(fixtures('bad'));
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(r.errors.map(brief), [
    'broken.yaml:7:13 E_TYPE spec.replicas',
    'broken.yaml:12:18 E_TYPE spec.template.metadata.labels.version',
    'broken.yaml:18:30 E_K8S_PORT spec.template.spec.containers[0].ports[0].containerPort',
    'broken.yaml:29:19 E_K8S_SELECTOR spec.podSelector.matchExpressions[0].operator',
    'broken.yaml:35:22 E_K8S_EXCEPT spec.ingress[0].from[0].ipBlock.except[0]',
    'broken.yaml:36:11 E_K8S_PEER spec.ingress[0].from[1]',
    'broken.yaml:41:20 E_K8S_PORT spec.ingress[0].ports[0].endPort',
  ]);
  assert.match(r.errors[1].message, /quote it: "2"/);
});

test('YAML syntax errors and unreadable paths are positioned errors', () => {
  const r = importK8sManifests(fixtures('bad-syntax'));
  assert.equal(r.ok, false);
  if (!r.ok) assert.deepEqual(r.errors.map(brief), ['broken.yaml:7:1 E_YAML_SYNTAX']);
  const missing = importK8sManifests(fixtures('no-such-case'));
  assert.equal(missing.ok, false);
  if (!missing.ok) assert.equal(missing.errors[0].code, 'E_READ');
});

test('pods with a controller are grouped under it; duplicates are errors; LoadBalancer targets are public', () => {
  const pod = (name: string, owner: string, labels = 'app: web') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ns
  labels: {${labels}}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: ${owner}, uid: x, controller: true}]
spec: {containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}
`;
  const text = [
    pod('web-abc-1', 'web-abc'),
    pod('web-abc-2', 'web-abc'),
    pod('web-abc-3', 'web-abc'),
    pod('api-1', 'api'),
    `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: api, namespace: ns}
spec: {replicas: 2, template: {metadata: {labels: {app: api}}, spec: {containers: [{name: c, image: i}]}}}
`,
    `apiVersion: v1
kind: Service
metadata: {name: web, namespace: ns}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
`,
  ].join('---\n');
  const r = parseK8sManifests([{ file: 'live.yaml', text }]);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  assert.deepEqual(
    r.value.workloads.map((w) => [w.id, w.kind, w.replicas]),
    [
      ['ns/api', 'ReplicaSet', 2],
      ['ns/web-abc', 'ReplicaSet', 3],
    ],
  );
  assert.deepEqual(
    r.value.notes.map((n) => n.code),
    ['W_K8S_OWNED_POD'],
  );
  assert.deepEqual(
    r.value.app.services.map((s) => [s.name, s.exposure, s.ports.map((p) => p.name)]),
    [
      ['ns/api', 'internal', []],
      ['ns/web-abc', 'public', ['tcp-80']],
    ],
  );

  const dup = parseK8sManifests([
    { file: 'a.yaml', text: 'kind: Deployment\nmetadata: {name: web}\n' },
    { file: 'b.yaml', text: 'kind: StatefulSet\nmetadata: {name: web, namespace: default}\n' },
  ]);
  assert.equal(dup.ok, false);
  if (!dup.ok)
    assert.deepEqual(
      dup.errors.map((e) => [e.code, e.loc?.file, e.loc?.line]),
      [['E_K8S_DUP_WORKLOAD', 'b.yaml', 1]],
    );
});

test('documents that are no Kubernetes objects are skipped with a warning; broken List items are errors', () => {
  const r = parseK8sManifests([
    { file: 'x.yaml', text: '---\n---\n- just\n- a list\n---\nmetadata: {name: x}\n' },
    { file: 'package.json', text: '{"name": "tool", "version": "1.0.0"}' },
  ]);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  assert.deepEqual(r.value.notes.map(brief), [
    'package.json:1:1 W_K8S_NOT_OBJECT',
    'x.yaml:3:1 W_K8S_NOT_OBJECT',
    'x.yaml:6:1 W_K8S_NOT_OBJECT',
  ]);
  assert.match(r.value.notes[0].message, /no "kind"/);
  assert.match(r.value.notes[1].message, /a list, not a Kubernetes object/);
  assert.equal(r.value.workloads.length, 0);

  const list = parseK8sManifests([
    { file: 'l.json', text: '{"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "a"}}, 7, {"metadata": {}}]}' },
  ]);
  assert.equal(list.ok, false);
  if (!list.ok)
    assert.deepEqual(list.errors.map(brief), ['l.json:1:72 E_K8S_NOT_OBJECT items[1]', 'l.json:1:75 E_K8S_NOT_OBJECT items[2].kind']);
});

test('ownership chains: top controllers, hash-named ReplicaSets, CronJobs, mirror pods', () => {
  const pod = (name: string, labels: string, kind: string, owner: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ns
  labels: {${labels}}
  ownerReferences: [{apiVersion: v1, kind: ${kind}, name: ${owner}, uid: x, controller: true}]
spec: {containers: [{name: c, image: i}]}
`;
  const text = [
    // A rollout: two ReplicaSets of Deployment web (neither in the manifests), told apart only by the hash.
    pod('web-aaa11-x', 'app: web, pod-template-hash: aaa11', 'ReplicaSet', 'web-aaa11'),
    pod('web-bbb22-y', 'app: web, pod-template-hash: bbb22', 'ReplicaSet', 'web-bbb22'),
    pod('web-bbb22-z', 'app: web, pod-template-hash: bbb22', 'ReplicaSet', 'web-bbb22'),
    // The hash label does not end the ReplicaSet's name: it stays a ReplicaSet.
    pod('cache-q', 'app: cache, pod-template-hash: zzz', 'ReplicaSet', 'cache-abc'),
    pod('kube-proxy-node1', 'k8s-app: kube-proxy', 'Node', 'node1'),
    pod('backup-2900-k', 'app: backup, job-name: backup-2900', 'Job', 'backup-2900'),
    `apiVersion: batch/v1
kind: Job
metadata:
  name: backup-2900
  namespace: ns
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: backup, uid: x, controller: true}]
spec: {template: {metadata: {labels: {app: backup}}, spec: {containers: [{name: c, image: i}]}}}
`,
    `apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: ns}
spec: {schedule: "@daily", jobTemplate: {spec: {template: {metadata: {labels: {app: backup}}, spec: {containers: [{name: c, image: i, ports: [{containerPort: 9000}]}]}}}}}
`,
  ].join('---\n');
  const r = parseK8sManifests([{ file: 'owners.yaml', text }]);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  assert.deepEqual(
    r.value.workloads.map((w) => `${w.id}[${w.kind}] x${w.replicas}`),
    ['ns/backup[CronJob] x1', 'ns/cache-abc[ReplicaSet] x1', 'ns/kube-proxy-node1[Pod] x1', 'ns/web[Deployment] x3'],
  );
  assert.deepEqual(r.value.workloads[0].ports, [{ port: 9000, protocol: 'TCP' }]);
  assert.deepEqual(r.value.notes, []);
});

test('unknown fields are warned about with the likely spelling; Services keep their ports, Ingresses their backends', () => {
  const text = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: ns, labls: {a: b}}
spec:
  podSelector: {matchLables: {app: db}}
  ingress:
    - from: [{podSelector: {}, namespaceSelectr: {}}]
      prots: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ns}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}, {port: 53, protocol: UDP}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: site, namespace: ns}
spec:
  defaultBackend: {service: {name: web, port: {name: http}}}
  rules: [{host: a.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
`;
  const r = parseK8sManifests([{ file: 'typos.yaml', text }]);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  assert.deepEqual(
    r.value.notes.map((n) => `${brief(n)} ${/did you mean "([^"]+)"/.exec(n.message)?.[1] ?? '-'}`),
    [
      'typos.yaml:3:36 W_K8S_UNKNOWN_FIELD metadata.labls labels',
      'typos.yaml:5:17 W_K8S_UNKNOWN_FIELD spec.podSelector.matchLables matchLabels',
      'typos.yaml:7:32 W_K8S_UNKNOWN_FIELD spec.ingress[0].from[0].namespaceSelectr namespaceSelector',
      'typos.yaml:8:7 W_K8S_UNKNOWN_FIELD spec.ingress[0].prots ports',
    ],
  );
  // Dropped as the API server would: the selector selects every pod, the rule every port.
  assert.deepEqual(r.value.policies[0].podSelector, { matchLabels: {}, matchExpressions: [] });
  assert.deepEqual(r.value.policies[0].ingress[0].ports, []);
  assert.deepEqual(r.value.services[0].ports, [
    { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
    { port: 53, targetPort: 53, protocol: 'UDP' },
  ]);
  assert.deepEqual(
    r.value.ingresses?.[0].backends.map((b) => [b.service, b.port]),
    [
      ['web', 'http'],
      ['web', 80],
    ],
  );
});
