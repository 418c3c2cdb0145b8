import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { renderTenantIsolation, tenantIsolationPolicies } from './admin-network-policy.js';
import { miniApp } from './testing.js';

const shop = miniApp(['web:80/tcp'], [], 'acme', 'shop');
const blog = miniApp(['web:80/tcp'], [], 'zeta', 'blog');
const wiki = miniApp(['web:80/tcp'], [], 'acme', 'wiki');

test('one AdminNetworkPolicy per tenant: deny other tenants’ namespaces both ways, pass within the tenant', () => {
  const r = tenantIsolationPolicies([blog, shop, wiki]);
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.map((p) => p.metadata.name),
    ['flowtap-tenant-acme', 'flowtap-tenant-zeta'],
  );
  const acme = r.value[0];
  assert.equal(acme.apiVersion, 'policy.networking.k8s.io/v1alpha1');
  assert.equal(acme.spec.priority, 100);
  assert.deepEqual(acme.spec.subject, { namespaces: { matchLabels: { 'flowtap.io/tenant': 'acme' } } });
  const others = {
    matchExpressions: [
      { key: 'flowtap.io/tenant', operator: 'Exists' },
      { key: 'flowtap.io/tenant', operator: 'NotIn', values: ['acme'] },
    ],
  };
  assert.deepEqual(acme.spec.ingress, [
    { name: 'deny-from-other-tenants', action: 'Deny', from: [{ namespaces: others }] },
    { name: 'pass-within-tenant', action: 'Pass', from: [{ namespaces: { matchLabels: { 'flowtap.io/tenant': 'acme' } } }] },
  ]);
  assert.deepEqual(acme.spec.egress, [
    { name: 'deny-to-other-tenants', action: 'Deny', to: [{ namespaces: others }] },
    { name: 'pass-within-tenant', action: 'Pass', to: [{ namespaces: { matchLabels: { 'flowtap.io/tenant': 'acme' } } }] },
  ]);
  // A tenant's policy does not depend on which other applications are exported with it.
  const alone = tenantIsolationPolicies([shop]);
  assert.ok(alone.ok);
  assert.deepEqual(alone.value, [acme]);
});

test('the YAML labels each application’s namespace with its tenant, then lists the policies', () => {
  const yaml = renderTenantIsolation([shop, blog], { priority: 40 });
  assert.ok(yaml.ok);
  const docs = parseAllDocuments(yaml.value).map((d) => d.toJS());
  assert.deepEqual(
    docs.map((d) => [d.kind, d.metadata.name, d.metadata.labels?.['flowtap.io/tenant'] ?? null, d.spec?.priority ?? null]),
    [
      ['Namespace', 'shop', 'acme', null],
      ['Namespace', 'blog', 'zeta', null],
      ['AdminNetworkPolicy', 'flowtap-tenant-acme', 'acme', 40],
      ['AdminNetworkPolicy', 'flowtap-tenant-zeta', 'zeta', 40],
    ],
  );
  assert.doesNotMatch(yaml.value, /[&*]a\d/, 'no YAML anchors or aliases');
});

test('bad tenants, shared namespaces and priorities out of range are errors', () => {
  const bad = tenantIsolationPolicies([miniApp([], [], 'no tenant!', 'x')]);
  assert.deepEqual(!bad.ok && bad.errors.map((e) => [e.code, e.loc?.field]), [['E_K8S_NAME', 'tenant']]);
  const clash = tenantIsolationPolicies([shop, miniApp([], [], 'zeta', 'shop')]);
  assert.deepEqual(!clash.ok && clash.errors.map((e) => e.code), ['E_K8S_DUP_OBJECT']);
  assert.match(!clash.ok ? clash.errors[0].message : '', /shop \(tenant acme\) and shop \(tenant zeta\) would share namespace shop/);
  const sameName = tenantIsolationPolicies([miniApp([], [], 'Acme', 'a'), miniApp([], [], 'acme', 'b')]);
  assert.deepEqual(!sameName.ok && sameName.errors.map((e) => e.code), ['E_K8S_NAME']);
  const prio = tenantIsolationPolicies([shop], { priority: 1001 });
  assert.deepEqual(!prio.ok && prio.errors.map((e) => e.code), ['E_BACKEND_UNSUPPORTED']);
});
