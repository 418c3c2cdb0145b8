import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch } from './json-patch.js';
import { applyPatch, mergePatch, patchType, strategicMerge } from './patch.js';
import { type Loose, loose } from './testing.js';

const deployment = {
  metadata: { name: 'web', labels: { app: 'web', tier: 'front' }, finalizers: ['a'] },
  spec: {
    replicas: 2,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%' } },
    template: {
      spec: {
        containers: [
          { name: 'web', image: 'web:1', ports: [{ containerPort: 80, name: 'http' }], env: [{ name: 'A', value: '1' }] },
          { name: 'side', image: 'side:1' },
        ],
        tolerations: [{ key: 'x' }],
      },
    },
  },
};

test('content types pick the patch kind', () => {
  assert.equal(patchType('application/merge-patch+json'), 'merge');
  assert.equal(patchType('application/strategic-merge-patch+json; charset=utf-8'), 'strategic');
  assert.equal(patchType('application/json-patch+json'), 'json');
  assert.equal(patchType('application/apply-patch+yaml'), 'apply');
  assert.equal(patchType('application/json'), undefined);
});

test('merge patch: maps merge, null deletes, lists are replaced', () => {
  const out = loose(
    mergePatch(deployment, {
      metadata: { labels: { tier: null, new: 'x' } },
      spec: { template: { spec: { containers: [{ name: 'only' }] } } },
    }),
  );
  assert.deepEqual(out.metadata.labels, { app: 'web', new: 'x' });
  assert.deepEqual(out.spec.template.spec.containers, [{ name: 'only' }]);
  assert.equal(out.spec.replicas, 2);
  assert.equal(deployment.metadata.labels.tier, 'front', 'the original is not changed');
});

test('strategic merge: containers merge by name, ports by containerPort, env by name', () => {
  const r = strategicMerge('Deployment', deployment, {
    spec: {
      template: {
        spec: {
          containers: [
            { name: 'web', image: 'web:2', ports: [{ containerPort: 9090, name: 'metrics' }], env: [{ name: 'A', value: '2' }] },
          ],
          tolerations: [{ key: 'y' }],
        },
      },
    },
  });
  assert.ok(r.ok);
  const spec = loose(r.value).spec.template.spec;
  assert.equal(spec.containers.length, 2, 'the side container stays');
  assert.equal(spec.containers[0].image, 'web:2');
  assert.deepEqual(
    spec.containers[0].ports.map((p: Loose) => p.containerPort),
    [80, 9090],
  );
  assert.deepEqual(spec.containers[0].env, [{ name: 'A', value: '2' }]);
  assert.deepEqual(spec.tolerations, [{ key: 'y' }], 'a list without a merge key is replaced');
});

test('strategic merge directives: $patch delete and replace, $retainKeys, $setElementOrder, $deleteFromPrimitiveList', () => {
  const r = strategicMerge('Deployment', deployment, {
    metadata: { finalizers: ['b'] },
    spec: {
      strategy: { $retainKeys: ['type'], type: 'Recreate' },
      template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } },
    },
  });
  assert.ok(r.ok);
  const v = loose(r.value);
  assert.deepEqual(v.metadata.finalizers, ['a', 'b'], 'finalizers merge as a set');
  assert.deepEqual(v.spec.strategy, { type: 'Recreate' });
  assert.deepEqual(
    v.spec.template.spec.containers.map((c: Loose) => c.name),
    ['web'],
  );

  const ordered = strategicMerge('Deployment', deployment, {
    spec: {
      template: {
        spec: { '$setElementOrder/containers': [{ name: 'side' }, { name: 'web' }], containers: [{ name: 'side', image: 'side:2' }] },
      },
    },
    metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] },
  });
  assert.ok(ordered.ok);
  const o = loose(ordered.value);
  assert.deepEqual(
    o.spec.template.spec.containers.map((c: Loose) => `${c.name}:${c.image}`),
    ['side:side:2', 'web:web:1'],
  );
  assert.deepEqual(o.metadata.finalizers, []);

  const replaced = strategicMerge('Deployment', deployment, {
    spec: { template: { spec: { $patch: 'replace', containers: [{ name: 'x' }] } } },
  });
  assert.ok(replaced.ok);
  assert.deepEqual(loose(replaced.value).spec.template.spec, { containers: [{ name: 'x' }] });

  const bad = strategicMerge('Deployment', deployment, { spec: { $patch: 'sideways' } });
  assert.ok(!bad.ok);
  assert.equal(bad.error.code, 'E_KAPI_BAD_REQUEST');
});

test('strategic merge: Service ports merge by port', () => {
  const svc = { spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } };
  const r = strategicMerge('Service', svc, { spec: { ports: [{ port: 80, targetPort: 9090 }] } });
  assert.ok(r.ok);
  assert.deepEqual(loose(r.value).spec.ports, [{ port: 80, targetPort: 9090 }, { port: 443 }]);
  const other = strategicMerge('EndpointSlice', { ports: [{ port: 1 }] }, { ports: [{ port: 2 }] });
  assert.ok(other.ok);
  assert.deepEqual(loose(other.value).ports, [{ port: 2 }], 'no merge key outside a Service spec');
});

test('JSON patch: every operation; a failing one changes nothing', () => {
  const doc = { a: { b: [1, 2, 3] }, c: 'x' };
  const r = applyJsonPatch(doc, [
    { op: 'add', path: '/a/b/1', value: 9 },
    { op: 'add', path: '/a/b/-', value: 4 },
    { op: 'remove', path: '/a/b/0' },
    { op: 'replace', path: '/c', value: 'y' },
    { op: 'copy', from: '/c', path: '/d' },
    { op: 'move', from: '/d', path: '/e~1f' },
    { op: 'test', path: '/c', value: 'y' },
  ]);
  assert.ok(r.ok);
  assert.deepEqual(r.value, { a: { b: [9, 2, 3, 4] }, c: 'y', 'e/f': 'y' });
  const failed = applyJsonPatch(doc, [
    { op: 'replace', path: '/c', value: 'z' },
    { op: 'test', path: '/c', value: 'x' },
  ]);
  assert.ok(!failed.ok);
  assert.equal(failed.error.code, 'E_KAPI_INVALID');
  assert.match(failed.error.message, /operation 1 \(test\)/);
  assert.equal(doc.c, 'x');
  for (const bad of [
    { op: 'add', path: '/nope/x', value: 1 },
    { op: 'remove', path: '/a/b/7' },
    { op: 'replace', path: 'c', value: 1 },
  ]) {
    const f = applyJsonPatch(doc, [bad]);
    assert.ok(!f.ok, JSON.stringify(bad));
  }
  const notList = applyPatch('json', 'Pod', doc, { op: 'add' });
  assert.ok(!notList.ok);
  assert.equal(notList.error.code, 'E_KAPI_BAD_REQUEST');
});
