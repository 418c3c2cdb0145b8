import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findPort, instancesOf, serviceOf } from './lookup.js';
import { parseApp } from './parse-app.js';

test('instancesOf, serviceOf and findPort', () => {
  const r = parseApp(
    'tenant: t\napp: a\nnodes: [{name: n1}]\nservices:\n  s: {replicas: 3, ports: [{name: p, port: 1}]}\n  u: {}\n',
    'l.yaml',
  );
  assert.ok(r.ok);
  const app = r.value;
  assert.deepEqual(
    instancesOf(app, 's').map((i) => i.name),
    ['s-0', 's-1', 's-2'],
  );
  assert.deepEqual(instancesOf(app, 'nope'), []);
  assert.equal(serviceOf(app, 's-2')?.name, 's');
  assert.equal(serviceOf(app, 'u-0')?.name, 'u');
  assert.equal(serviceOf(app, 's-3'), undefined);
  assert.equal(findPort(app, 's', 'p')?.port, 1);
  assert.equal(findPort(app, 's', 'q'), undefined);
  assert.equal(findPort(app, 'u', 'p'), undefined);
});
