import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseK8sManifests, type K8sImport } from '../../model/index.js';
import { renderConnlist } from '../connlist.js';
import { k8sConnectivity } from './connectivity.js';

function parse(text: string): K8sImport {
  const r = parseK8sManifests([{ file: 'test.yaml', text }]);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  return r.value;
}

const deployment = (name: string, labels: string, ports = '[]') => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: web}
spec: {template: {metadata: {labels: {${labels}}}, spec: {containers: [{name: c, image: i, ports: ${ports}}]}}}
---
`;

test('the ingress controller is an arbitrary pod of an unlabelled namespace: which peers admit it', () => {
  const backend = (name: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: web}
spec: {selector: {app: ${name}}, ports: [{port: 80}]}
---
`;
  const policy = (name: string, ingress: string) => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ${name}, namespace: web}
spec: {podSelector: {matchLabels: {app: ${name}}}, ingress: ${ingress}}
---
`;
  const names = ['a', 'b', 'c', 'd'];
  const text = [
    ...names.map((n) => deployment(n, `app: ${n}`) + backend(n)),
    // a: every namespace but kube-system; b: pods labelled app=x in any namespace; c: pods of web;
    // d: a rule without `from`.
    policy(
      'a',
      '[{from: [{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}]}}]}]',
    ),
    policy('b', '[{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: x}}}]}]'),
    policy('c', '[{from: [{podSelector: {}}]}]'),
    policy('d', '[{ports: [{port: 80}]}]'),
    `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: all, namespace: web}
spec:
  rules:
    - http:
        paths: [${names.map((n) => `{path: /${n}, pathType: Prefix, backend: {service: {name: ${n}, port: {number: 80}}}}`).join(', ')}]
`,
  ].join('');
  const c = k8sConnectivity(parse(text));
  const fromController = [...c.entries()].filter((e) => e.src === '{ingress-controller}').map((e) => `${e.dst} ${e.conn}`);
  assert.deepEqual(fromController, ['web/a[Deployment] TCP 80', 'web/d[Deployment] TCP 80']);
  assert.deepEqual(
    c.notes.map((n) => [n.code, /web\/(\w)\[/.exec(n.message)?.[1]]),
    [
      ['W_K8S_INGRESS_BLOCKED', 'b'],
      ['W_K8S_INGRESS_BLOCKED', 'c'],
    ],
  );
});

test('egress named ports resolve per destination, and never toward outside addresses', () => {
  const text = [
    deployment('client', 'app: client'),
    deployment('s1', 'app: s1', '[{name: http, containerPort: 8080}]'),
    deployment('s2', 'app: s2', '[{name: http, containerPort: 9090}]'),
    deployment('s3', 'app: s3', '[{name: http, containerPort: 8080, protocol: UDP}]'),
    `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client, namespace: web}
spec: {podSelector: {matchLabels: {app: client}}, policyTypes: [Egress], egress: [{ports: [{port: http}]}]}
`,
  ].join('');
  const from = [...k8sConnectivity(parse(text)).entries()].filter((e) => e.src === 'web/client[Deployment]');
  assert.deepEqual(
    from.map((e) => `${e.dst} ${e.conn}`),
    ['web/s1[Deployment] TCP 8080', 'web/s2[Deployment] TCP 9090'],
  );
});

test('an admin named port resolves against the destination with its own protocol', () => {
  const text = [
    deployment('client', 'app: client'),
    deployment('dns', 'app: dns', '[{name: dns, containerPort: 53, protocol: UDP}]'),
    `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: only-dns}
spec:
  priority: 3
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: client}}}}
  egress:
    - {name: dns, action: Allow, to: [{namespaces: {}}], ports: [{namedPort: dns}]}
    - {name: rest, action: Deny, to: [{namespaces: {}}]}
`,
  ].join('');
  const lines = renderConnlist(k8sConnectivity(parse(text)).entries(), 'txt').split('\n');
  // The Deny covers pods only: outside addresses stay open for client.
  assert.deepEqual(
    lines.filter((l) => l.startsWith('web/client')),
    ['web/client[Deployment] => 0.0.0.0-255.255.255.255 : All Connections', 'web/client[Deployment] => web/dns[Deployment] : UDP 53'],
  );
});

test('JSON is JSON.stringify of the entries, and size counts them', () => {
  const c = k8sConnectivity(parse(deployment('a', 'app: a') + deployment('b', 'app: b')));
  const entries = [...c.entries()];
  assert.equal(entries.length, c.size);
  assert.equal(c.size, 6);
  assert.equal(renderConnlist(c.entries(), 'json'), JSON.stringify(entries, null, 2));
  assert.equal(renderConnlist([], 'json'), '[]');
  assert.equal(renderConnlist([], 'txt'), '');
});
