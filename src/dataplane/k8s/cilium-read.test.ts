import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ciliumPolicies } from './cilium.js';
import { cnpAllowances, parseCiliumPolicies, readCiliumPolicies } from './cilium-read.js';
import { miniApp } from './testing.js';

const POLICY = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: api
  namespace: shop
spec:
  endpointSelector:
    matchLabels:
      k8s:app.kubernetes.io/name: api
  ingress:
    - fromEndpoints:
        - matchLabels:
            app.kubernetes.io/name: web
        - matchExpressions:
            - {key: tier, operator: In, values: [front]}
      toPorts:
        - ports:
            - {port: "9000", protocol: TCP}
            - {port: 9100, endPort: 9105}
          rules:
            http:
              - {method: GET, path: "/items/[0-9]+"}
              - {path: "/health"}
`;

test('endpoint peers, ports and HTTP rules read back as allowances', () => {
  const r = parseCiliumPolicies(POLICY, 'p.yaml');
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const rows = cnpAllowances(r.value).map((a) => [a.client, a.server, a.port, a.endPort, a.protocol, a.method, a.path]);
  assert.deepEqual(rows.slice(0, 4), [
    ['web', 'api', 9000, null, 'TCP', 'GET', '/items/[0-9]+'],
    ['web', 'api', 9000, null, 'TCP', null, '/health'],
    ['web', 'api', 9100, 9105, 'ANY', 'GET', '/items/[0-9]+'],
    ['web', 'api', 9100, 9105, 'ANY', null, '/health'],
  ]);
  assert.deepEqual(rows[4].slice(0, 2), ['{tier In (front)}', 'api']);
  assert.equal(rows.length, 8);
  assert.equal(r.value[0].egress, null, 'no egress section: egress is left alone');
});

test('the export’s own objects read back without YAML', () => {
  const app = miniApp(
    ['web:8080/tcp', 'api:9000/tcp'],
    [
      { from: 'external', to: 'web', port: 'http' },
      { from: 'web', to: 'api', port: 'http', http: { methods: ['PUT'], paths: ['/x'] } },
    ],
  );
  const exported = ciliumPolicies(app);
  assert.ok(exported.ok);
  const r = readCiliumPolicies(exported.value.policies);
  assert.ok(r.ok);
  const ingress = cnpAllowances(r.value).filter((a) => a.direction === 'ingress');
  assert.deepEqual(
    ingress.map((a) => [a.client, a.server, a.port, a.method, a.path]),
    [
      ['external', 'web', 8080, null, null],
      ['web', 'api', 9000, '^PUT$', '^/x([?].*)?$'],
    ],
  );
});

test('fields the reader does not model are errors naming the field and its line', () => {
  const text = POLICY.replace('  ingress:\n', '  ingressDeny: []\n  ingress:\n')
    .replace('      toPorts:\n', '      fromCIDR: [10.0.0.0/8]\n      toPorts:\n')
    .replace('{path: "/health"}', '{path: "/health", headers: ["X: 1"]}');
  const r = parseCiliumPolicies(text, 'p.yaml');
  assert.equal(r.ok, false);
  assert.deepEqual(!r.ok && r.errors.map((e) => [e.code, e.loc?.field, e.loc?.line]), [
    ['E_BACKEND_UNSUPPORTED', 'spec.ingressDeny', 10],
    ['E_BACKEND_UNSUPPORTED', 'spec.ingress[0].fromCIDR', 17],
    ['E_BACKEND_UNSUPPORTED', 'spec.ingress[0].toPorts[0].rules.http[1].headers', 25],
  ]);
});

test('bad regexes, selectors, ports and shapes are errors, not crashes', () => {
  const cases: Array<[string, string, string]> = [
    ['path: "/items/[0-9]+"', 'path: "(a"', 'E_K8S_REGEX'],
    ['path: "/items/[0-9]+"', 'path: "(?=x)"', 'E_K8S_REGEX'],
    ['path: "/items/[0-9]+"', 'path: 7', 'E_TYPE'],
    ['operator: In', 'operator: Near', 'E_K8S_SELECTOR'],
    ['values: [front]', 'values: []', 'E_K8S_SELECTOR'],
    ['port: "9000"', 'port: http', 'E_BACKEND_UNSUPPORTED'],
    ['port: "9000"', 'port: "70000"', 'E_K8S_PORT'],
    ['endPort: 9105', 'endPort: 9000', 'E_K8S_PORT'],
    ['protocol: TCP', 'protocol: QUIC', 'E_ENUM'],
    ['apiVersion: cilium.io/v2', 'apiVersion: cilium.io/v1', 'E_ENUM'],
    ['  endpointSelector:', '  endpointSelectr:', 'E_UNKNOWN_KEY'],
    ['          rules:\n            http:', '          rules:\n            kafka: []\n            http:', 'E_BACKEND_UNSUPPORTED'],
  ];
  for (const [from, to, code] of cases) {
    assert.ok(POLICY.includes(from), from);
    const r = parseCiliumPolicies(POLICY.replace(from, to), 'p.yaml');
    assert.equal(r.ok, false, to);
    assert.ok(!r.ok && r.errors.some((e) => e.code === code), `${to}: ${JSON.stringify(!r.ok && r.errors)}`);
  }
  const notObject = parseCiliumPolicies('- 1\n- 2\n', 'p.yaml');
  assert.deepEqual(!notObject.ok && notObject.errors.map((e) => e.code), ['E_K8S_NOT_OBJECT']);
  const dup = parseCiliumPolicies('kind: A\nkind: B\n', 'p.yaml');
  assert.deepEqual(!dup.ok && dup.errors.map((e) => e.code), ['E_DUPLICATE_KEY']);
  const bomb = parseCiliumPolicies(
    `a: &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`).join('\n')}\n`,
    'p.yaml',
  );
  assert.deepEqual(!bomb.ok && bomb.errors.map((e) => e.code), ['E_YAML_SYNTAX']);
  for (const deep of [
    '['.repeat(5000) + ']'.repeat(5000),
    `a:\n${Array.from({ length: 600 }, (_, i) => `${' '.repeat(i + 1)}b:`).join('\n')}`,
  ]) {
    const r = parseCiliumPolicies(deep, 'p.yaml');
    assert.deepEqual(!r.ok && r.errors.map((e) => e.code), ['E_YAML_SYNTAX']);
    assert.match(!r.ok ? r.errors[0].message : '', /deeper than/);
  }
  // Other kinds are not this reader's business.
  const other = parseCiliumPolicies('apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n', 'p.yaml');
  assert.deepEqual(other.ok && other.value, []);
});
