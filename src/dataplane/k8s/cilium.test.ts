import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ciliumPolicies, renderCiliumPolicies } from './cilium.js';
import { miniApp } from './testing.js';

const SERVICES = ['web:8080/tcp', 'api:9000/tcp,9100/tcp', 'dns:53/udp', 'idle:7000/tcp'];

test('HTTP constraints become one L7 rule per method and path, on the server’s ingress', () => {
  const app = miniApp(SERVICES, [
    { from: 'web', to: 'api', port: 'http', http: { methods: ['GET', 'POST'], paths: ['/items/*', '/items'] } },
    { from: 'external', to: 'web', port: 'http' },
  ]);
  const r = ciliumPolicies(app);
  assert.ok(r.ok);
  const api = r.value.policies.find((p) => p.metadata.name === 'api-flowtap')!;
  assert.deepEqual(api.spec.endpointSelector, { matchLabels: { 'app.kubernetes.io/name': 'api' } });
  assert.deepEqual(api.spec.ingress, [
    {
      fromEndpoints: [{ matchLabels: { 'app.kubernetes.io/name': 'web' } }],
      toPorts: [
        {
          ports: [{ port: '9000', protocol: 'TCP' }],
          rules: {
            http: [
              { method: '^GET$', path: api.spec.ingress[0].toPorts![0].rules!.http[0].path },
              { method: '^GET$', path: '^/items([?].*)?$' },
              { method: '^POST$', path: api.spec.ingress[0].toPorts![0].rules!.http[0].path },
              { method: '^POST$', path: '^/items([?].*)?$' },
            ],
          },
        },
      ],
    },
  ]);
  assert.match(api.spec.ingress[0].toPorts![0].rules!.http[0].path!, /^\^\/items\/\(/);
  // The client's egress names the server and port, L4 only, and DNS is allowed.
  const web = r.value.policies.find((p) => p.metadata.name === 'web-flowtap')!;
  assert.deepEqual(web.spec.ingress, [{ fromEntities: ['world'], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }]);
  assert.deepEqual(web.spec.egress[0], {
    toEndpoints: [{ matchLabels: { 'app.kubernetes.io/name': 'api' } }],
    toPorts: [{ ports: [{ port: '9000', protocol: 'TCP' }] }],
  });
  assert.deepEqual(web.spec.egress[1].toPorts, [{ ports: [{ port: '53', protocol: 'ANY' }] }]);
});

test('a service nothing may reach denies all ingress; without DNS, one that reaches nothing denies all egress', () => {
  const app = miniApp(SERVICES, [{ from: 'web', to: 'api', port: 'http' }]);
  const r = ciliumPolicies(app, { dns: false });
  assert.ok(r.ok);
  const idle = r.value.policies.find((p) => p.metadata.name === 'idle-flowtap')!;
  assert.deepEqual(idle.spec.ingress, [{}]);
  assert.deepEqual(idle.spec.egress, [{}]);
});

test('an L4-only requirement for the same client and port wins over HTTP rules; ports resolve by name', () => {
  const app = miniApp(SERVICES, [
    { from: 'web', to: 'api', port: 'http', http: { methods: ['GET'], paths: ['/a'] } },
    { from: 'web', to: 'api', port: 'http', sql: { statements: ['SELECT'], tables: [] } },
    { from: 'web', to: 'api', port: 'p2', http: { methods: [], paths: ['*'] } },
    { from: 'idle', to: 'api', port: 'p2', http: { methods: ['DELETE'], paths: ['*', '/x'] } },
  ]);
  const r = ciliumPolicies(app);
  assert.ok(r.ok);
  const api = r.value.policies.find((p) => p.metadata.name === 'api-flowtap')!;
  assert.deepEqual(api.spec.ingress[0].toPorts, [
    { ports: [{ port: '9000', protocol: 'TCP' }] },
    { ports: [{ port: '9100', protocol: 'TCP' }] },
  ]);
  // `*` among the paths allows every path: only the method remains.
  assert.deepEqual(api.spec.ingress[1].toPorts, [
    { ports: [{ port: '9100', protocol: 'TCP' }], rules: { http: [{ method: '^DELETE$' }] } },
  ]);
  assert.equal(r.value.notes.length, 1);
  assert.match(r.value.notes[0], /requirement 1 .*SQL constraints are not expressible/);
});

test('what Cilium cannot express, or the model does not have, is an error naming the requirement', () => {
  const udp = ciliumPolicies(miniApp(SERVICES, [{ from: 'web', to: 'dns', port: 'http', http: { methods: ['GET'], paths: ['/'] } }]));
  assert.equal(udp.ok, false);
  assert.deepEqual(!udp.ok && udp.errors.map((e) => [e.code, e.loc?.field]), [['E_BACKEND_UNSUPPORTED', 'requirements[0]']]);
  const bad = ciliumPolicies(
    miniApp(SERVICES, [
      { from: 'web', to: 'nope', port: 'http' },
      { from: 'web', to: 'api', port: 'grpc' },
      { from: 'ghost', to: 'api', port: 'http' },
      { from: 'web', to: 'api', port: 'http', http: { methods: ['GE T'], paths: [] } },
      { from: 'web', to: 'api', port: 'http', http: { methods: [], paths: ['/a/**/b'] } },
    ]),
  );
  assert.equal(bad.ok, false);
  assert.deepEqual(!bad.ok && bad.errors.map((e) => e.code), [
    'E_UNKNOWN_SERVICE',
    'E_UNKNOWN_PORT',
    'E_UNKNOWN_SERVICE',
    'E_HTTP_METHOD',
    'E_HTTP_PATH',
  ]);
  assert.match(!bad.ok ? bad.errors[4].message : '', /requirement 4: path "\/a\/\*\*\/b" "\*\*" may only be the last segment/);
});

test('the YAML is one document per service, ports as strings as Cilium’s schema wants, notes as comments', () => {
  const app = miniApp(SERVICES, [{ from: 'web', to: 'api', port: 'http', nats: { publish: ['x'], subscribe: [] } }]);
  const yaml = renderCiliumPolicies(app);
  assert.ok(yaml.ok);
  assert.match(yaml.value, /^# requirement 0 \(web -> api:http\): its NATS constraints/);
  const docs = yaml.value.split(/^---$/m).map((d) => parse(d));
  assert.equal(docs.length, 4);
  assert.deepEqual(
    docs.map((d) => [d.apiVersion, d.kind, d.metadata.namespace]),
    Array(4).fill(['cilium.io/v2', 'CiliumNetworkPolicy', 'shop']),
  );
  assert.equal(docs[1].spec.ingress[0].toPorts[0].ports[0].port, '9000');
  assert.doesNotMatch(yaml.value, /[&*]a\d/, 'no YAML anchors or aliases');
});
