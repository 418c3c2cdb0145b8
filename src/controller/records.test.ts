/**
 * A deployment's records: one topology snapshot (services, nodes, instances with addresses and
 * ports, monitors, taps with where their two ends are), every record the broker accepts, and
 * lifecycle events with who they are about.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openBroker } from '../broker/index.js';
import { repoFile } from '../orchestrator/testing.js';
import { prepareDeployment } from './deployment.js';
import { lifecycleRecord, topologyRecords } from './records.js';

test('a topology snapshot of dvd-rental with its taps, stored as it is by the broker', async () => {
  const dep = prepareDeployment(repoFile('examples/dvd-rental/app.yaml'), {
    policies: [repoFile('examples/dvd-rental/policies/database.dl'), repoFile('examples/dvd-rental/policies/public-http.dl')],
    mode: 'enforce',
  });
  const records = topologyRecords(dep, 1000);
  const of = (type: string) => records.filter((r) => r.data.type === type);
  assert.equal(of('service').length, 8);
  assert.equal(of('node').length, 2);
  assert.equal(of('instance').length, 8);
  assert.equal(of('monitor').length, 5);
  assert.equal(of('tap').length, dep.contracts.length);
  assert.ok(dep.contracts.length > 0);
  assert.ok(
    records.every(
      (r) => r.kind === 'topology' && r.tenant === 'acme' && r.app === 'dvd-rental' && r.provenance === 'topology:1000' && r.ts === 1000,
    ),
  );
  const db = of('instance').find((r) => r.instance === 'db-0')!;
  assert.deepEqual(
    [db.node, db.service, db.data.ip, db.data.port],
    ['node2', 'db', dep.addressing.instances['db-0'].ip, dep.addressing.instances['db-0'].port],
  );
  const tap = of('tap').find((r) => r.data.src === 'db-0')!;
  assert.deepEqual(
    [tap.instance, tap.node, tap.data.dst, tap.data.srcNode, tap.data.dstNode, tap.data.action],
    ['db-0', 'node2', 'mon-sql', 'node2', 'node2', 'forward'],
  );
  assert.match(String(tap.data.flow), /tp_(dst|src)=5432/);
  assert.match(String(tap.data.policy), /database\.dl$/);
  const pg = of('service').find((r) => r.service === 'db')!;
  assert.deepEqual(pg.data.ports, [{ name: 'pg', protocol: 'tcp', port: 5432, app: 'postgres' }]);
  assert.deepEqual(pg.data.instances, ['db-0']);
  // The broker takes the snapshot whole (it refuses a batch with one malformed record).
  const b = await openBroker({ store: 'sqlite::memory:' });
  assert.ok(b.ok);
  await b.value.store.append(records);
  assert.equal(
    (await b.value.store.query({ kinds: ['topology'], instance: 'db-0' })).length,
    1 + of('tap').filter((r) => r.instance === 'db-0').length,
  );
  await b.value.close();
});

test('a lifecycle event as a record: about its instance, service and node; the deployment own events about none', () => {
  const r = lifecycleRecord('acme', 'dvd-rental', {
    type: 'moved',
    instance: 'shipping-0',
    service: 'shipping',
    node: 'node1',
    ts: '2026-11-21T09:00:00.000Z',
    detail: 'from node2',
  });
  assert.deepEqual(r, {
    ts: Date.parse('2026-11-21T09:00:00.000Z'),
    kind: 'lifecycle',
    tenant: 'acme',
    app: 'dvd-rental',
    node: 'node1',
    service: 'shipping',
    instance: 'shipping-0',
    data: { type: 'moved', detail: 'from node2' },
  });
  const down = lifecycleRecord('acme', 'dvd-rental', { type: 'down', ts: '2026-11-21T10:00:00.000Z' }, { processes: 3 });
  assert.deepEqual([down.node, down.instance, down.data], [undefined, undefined, { type: 'down', processes: 3 }]);
});
