import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unwrap } from '../diagnostics/index.js';
import { planAddresses } from './addressing.js';
import { modelFacts, type Fact } from './facts.js';
import { loadApp } from './load-app.js';
import { findUp } from './testing.js';
import type { App } from './types.js';

function load(rel: string): App {
  const r = loadApp(findUp(rel));
  assert.ok(r.ok);
  return r.value;
}

const has = (facts: Fact[], pred: string, ...args: (string | number)[]): boolean =>
  facts.some((f) => f.pred === pred && f.args.length === args.length && f.args.every((a, i) => a === args[i]));
const of = (facts: Fact[], pred: string): Fact['args'][] => facts.filter((f) => f.pred === pred).map((f) => f.args);

test('web-sql facts: topology, and wildcards for unconstrained requirements', () => {
  const f = modelFacts(load('examples/web-sql/app.yaml'));
  assert.ok(has(f, 'tenant', 'web-sql', 'demo'));
  assert.ok(has(f, 'network', 'web-sql', '10.77.0.0/16'));
  assert.deepEqual(of(f, 'service'), [['web'], ['sql']]);
  assert.ok(has(f, 'public', 'web') && has(f, 'internal', 'sql'));
  assert.ok(has(f, 'port', 'web', 'http', 'tcp', 80, 'http'));
  assert.ok(has(f, 'port', 'sql', 'sql', 'tcp', 3306, 'postgres'));
  assert.deepEqual(of(f, 'instance'), [
    ['web-0', 'web', 'node1'],
    ['sql-0', 'sql', 'node1'],
  ]);
  assert.deepEqual(of(f, 'requirement'), [
    [0, 'external', 'web', 'http'],
    [1, 'web', 'sql', 'sql'],
  ]);
  assert.deepEqual(of(f, 'http_allow'), [[0, '*', '*']]);
  assert.deepEqual(of(f, 'sql_allow'), [[1, '*', '*']]);
  assert.deepEqual(of(f, 'constrained'), []);
  assert.deepEqual(of(f, 'inspects'), [
    ['mon1', 'http'],
    ['mon1', 'postgres'],
  ]);
  assert.deepEqual(of(f, 'address'), [], 'no addressing, no address facts');
});

test('dvd-rental facts: L7 constraints as cross products, identities, NATS directions', () => {
  const app = load('examples/dvd-rental/app.yaml');
  const f = modelFacts(app);
  const idOf = (from: string, to: string) => app.requirements.find((r) => r.from === from && r.to === to)!.id;

  const contract = idOf('external', 'contract-update');
  assert.deepEqual(
    of(f, 'http_allow').filter((a) => a[0] === contract),
    [[contract, 'POST', '/contracts']],
  );
  assert.ok(has(f, 'identity', contract, 'header', 'x-user-id'));
  assert.ok(has(f, 'constrained', contract, 'http'));

  const bill = idOf('contract-update', 'user-update');
  assert.ok(has(f, 'http_allow', bill, 'POST', '/users/*/bill'));

  const uu = idOf('user-update', 'db');
  assert.deepEqual(
    of(f, 'sql_allow').filter((a) => a[0] === uu),
    [
      [uu, 'SELECT', 'users'],
      [uu, 'UPDATE', 'users'],
    ],
  );
  assert.ok(has(f, 'identity', uu, 'sql-param', '1'));
  const du = idOf('dvd-update', 'db');
  assert.equal(of(f, 'sql_allow').filter((a) => a[0] === du).length, 6);
  assert.ok(has(f, 'sql_allow', du, 'INSERT', 'rentals'));
  assert.ok(has(f, 'sql_allow', du, 'UPDATE', 'rentals'));

  assert.deepEqual(of(f, 'nats_allow'), [
    [idOf('contract-update', 'mq'), 'pub', 'rentals.created'],
    [idOf('dvd-update', 'mq'), 'sub', 'rentals.>'],
  ]);

  const fromToDb = of(f, 'requirement')
    .filter((a) => a[2] === 'db')
    .map((a) => a[1]);
  assert.ok(!fromToDb.includes('dvd-return') && !fromToDb.includes('shipping'));
  assert.ok(has(f, 'monitor', 'mon-http', 'node1', 2000));
  assert.ok(has(f, 'label', 'db', 'tier', 'data'));
  assert.ok(has(f, 'replicas', 'db', 1));
  assert.ok(f.every((x) => x.args.every((a) => typeof a === 'string' || typeof a === 'number')));
});

test('with addressing: address, attach and MAC facts for every instance and monitor', () => {
  const app = load('examples/dvd-rental/app.yaml');
  const a = unwrap(planAddresses(app));
  const f = modelFacts(app, a);
  for (const inst of app.instances) {
    assert.ok(has(f, 'address', inst.name, a.instances[inst.name].ip));
    assert.ok(has(f, 'attach', inst.name, a.instances[inst.name].port));
    assert.ok(has(f, 'mac', inst.name, a.instances[inst.name].mac));
  }
  for (const m of app.monitors) assert.ok(has(f, 'monitor_address', m.name, a.monitors[m.name].ip));
  assert.ok(has(f, 'underlay', 'node2', '10.250.0.2'));
  assert.ok(has(f, 'node_subnet', 'node2', '10.77.1.0/24', '10.77.1.1'));
  assert.deepEqual(modelFacts(app, a), f, 'deterministic');
});

test('a monitor that inspects anything says "*"; an unconstrained NATS requirement allows ">" both ways', () => {
  const app = load('examples/web-sql/app.yaml');
  const f = modelFacts({
    ...app,
    services: [
      ...app.services,
      {
        name: 'q',
        exposure: 'internal',
        replicas: 1,
        placement: [],
        labels: {},
        ports: [{ name: 'n', protocol: 'tcp', port: 4222, app: 'nats' }],
      },
    ],
    monitors: [{ name: 'all', node: 'node1', capacity: 10, inspects: ['any'] }],
    requirements: [{ id: 0, from: 'web', to: 'q', port: 'n' }],
  });
  assert.deepEqual(of(f, 'inspects'), [['all', '*']]);
  assert.deepEqual(of(f, 'nats_allow'), [
    [0, 'pub', '>'],
    [0, 'sub', '>'],
  ]);
});
