import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cnpAllows, cnpDecide, normalizeRequestPath } from './cilium-eval.js';
import { parseCiliumPolicies, type ReadCnp } from './cilium-read.js';

function policies(...docs: string[]): ReadCnp[] {
  const r = parseCiliumPolicies(docs.join('---\n'), 'p.yaml');
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.value;
}
const cnp = (name: string, spec: string, ns = 'shop') =>
  `apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${spec}`;

const API = cnp(
  'api',
  `  endpointSelector: {matchLabels: {app.kubernetes.io/name: api}}
  ingress:
    - fromEndpoints: [{matchLabels: {app.kubernetes.io/name: web}}]
      toPorts:
        - ports: [{port: "9000", protocol: TCP}]
          rules: {http: [{method: "^GET$", path: "^/items/[0-9]+$"}]}
`,
);

test('a selected server admits only what a rule allows: peer, port, protocol, method and path', () => {
  const p = policies(API);
  const req = { from: 'web', to: 'api', port: 9000, method: 'GET', path: '/items/7' };
  assert.equal(cnpAllows(p, req), true);
  assert.equal(cnpAllows(p, { ...req, method: 'POST' }), false);
  assert.equal(cnpAllows(p, { ...req, path: '/items/x' }), false);
  assert.equal(cnpAllows(p, { ...req, path: '/items/7/x' }), false, 'paths match whole');
  assert.equal(cnpAllows(p, { ...req, port: 9001 }), false);
  assert.equal(cnpAllows(p, { ...req, protocol: 'UDP' }), false);
  assert.equal(cnpAllows(p, { ...req, from: 'admin' }), false);
  assert.equal(cnpAllows(p, { ...req, from: 'other/web' }), false, 'selectors stay in the policy’s namespace');
  assert.equal(cnpAllows(p, { ...req, from: 'external' }), false);
  assert.equal(cnpAllows(p, { from: 'web', to: 'api', port: 9000 }), false, 'non-HTTP traffic fails an HTTP rule');
  // Nothing selects web for egress and nothing selects db: both directions are open there.
  assert.equal(cnpAllows(p, { from: 'web', to: 'db', port: 5432 }), true);
  assert.match(cnpDecide(p, { ...req, method: 'PUT' }).reason, /^ingress of the server: no rule of shop\/api/);
});

test('an L4-only rule for the same peer and port allows every request, as Cilium merges them', () => {
  const l4 = cnp(
    'api-l4',
    `  endpointSelector: {matchLabels: {app.kubernetes.io/name: api}}
  ingress:
    - fromEndpoints: [{matchLabels: {app.kubernetes.io/name: web}}]
      toPorts: [{ports: [{port: "9000"}]}]
`,
  );
  assert.equal(cnpAllows(policies(API, l4), { from: 'web', to: 'api', port: 9000, method: 'DELETE', path: '/' }), true);
});

test('egress is checked on the client, entities and peerless rules mean what Cilium says', () => {
  const web = cnp(
    'web',
    `  endpointSelector: {matchLabels: {app.kubernetes.io/name: web}}
  ingress:
    - fromEntities: [world]
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
  egress:
    - toEndpoints: [{matchLabels: {app.kubernetes.io/name: api}}]
      toPorts: [{ports: [{port: "9000", protocol: TCP}]}]
`,
  );
  const p = policies(API, web);
  assert.equal(cnpAllows(p, { from: 'external', to: 'web', port: 8080 }), true);
  assert.equal(cnpAllows(p, { from: 'api', to: 'web', port: 8080 }), false, 'world is not a pod of the cluster');
  assert.equal(cnpAllows(p, { from: 'web', to: 'db', port: 5432 }), false, 'web is in egress default deny');
  assert.match(cnpDecide(p, { from: 'web', to: 'db', port: 5432 }).reason, /^egress of the client/);

  const denyAll = cnp('deny', '  endpointSelector: {}\n  ingress: [{}]\n');
  assert.equal(cnpAllows(policies(denyAll), { from: 'a', to: 'b', port: 1 }), false, '`ingress: [{}]` denies everything');
  const anyPeer = cnp('any', '  endpointSelector: {}\n  ingress: [{toPorts: [{ports: [{port: "80"}]}]}]\n');
  assert.equal(
    cnpAllows(policies(anyPeer), { from: 'external', to: 'b', port: 80 }),
    true,
    'a rule with ports and no peer allows every peer',
  );
  assert.equal(cnpAllows(policies(anyPeer), { from: 'a', to: 'b', port: 81 }), false);
  const cluster = cnp('cluster', '  endpointSelector: {}\n  ingress: [{fromEntities: [cluster]}]\n');
  assert.equal(cnpAllows(policies(cluster), { from: 'x/a', to: 'b', port: 1 }), true);
  assert.equal(cnpAllows(policies(cluster), { from: 'external', to: 'b', port: 1 }), false);
  const off = cnp('off', '  endpointSelector: {}\n  enableDefaultDeny: {ingress: false}\n  ingress: [{fromEntities: [cluster]}]\n');
  assert.equal(cnpAllows(policies(off), { from: 'external', to: 'b', port: 1 }), true, 'enableDefaultDeny: false leaves the rest open');
});

test('namespace selectors cross namespaces; parties may be given as endpoints with labels', () => {
  const p = policies(
    cnp(
      'db',
      `  endpointSelector: {matchLabels: {app: db}}
  ingress:
    - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: tools, role: backup}}]
`,
      'data',
    ),
  );
  const db = { namespace: 'data', labels: { app: 'db' } };
  assert.equal(cnpAllows(p, { from: { namespace: 'tools', labels: { role: 'backup' } }, to: db, port: 5432 }), true);
  assert.equal(cnpAllows(p, { from: { namespace: 'data', labels: { role: 'backup' } }, to: db, port: 5432 }), false);
  assert.equal(
    cnpAllows(p, {
      from: { namespace: 'tools', labels: { role: 'backup' } },
      to: { namespace: 'other', labels: { app: 'db' } },
      port: 5432,
    }),
    true,
    'the policy selects only its own namespace',
  );
});

test('path normalisation resolves dot segments, encoded ones too, and keeps the query', () => {
  assert.equal(normalizeRequestPath('/api/x/../admin'), '/api/admin');
  assert.equal(normalizeRequestPath('/api/%2e%2E/admin?x=/../y'), '/admin?x=/../y');
  assert.equal(normalizeRequestPath('/a/./b/.'), '/a/b/');
  assert.equal(normalizeRequestPath('/../../x'), '/x');
  assert.equal(normalizeRequestPath('/a/..'), '/');
  assert.equal(normalizeRequestPath('*'), '*');
  const p = policies(API);
  const req = { from: 'web', to: 'api', port: 9000, method: 'GET', path: '/items/x/../7' };
  assert.equal(cnpAllows(p, req), false);
  assert.equal(cnpAllows(p, req, { normalize: true }), true);
});
