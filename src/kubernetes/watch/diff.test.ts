import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffList } from './diff.js';
import { checkObject, keyOf, type KubeObject } from './object.js';

const pod = (name: string, rv: string, uid = `u-${name}`): KubeObject => ({
  metadata: { name, namespace: 'shop', resourceVersion: rv, uid },
});
const cacheOf = (...objs: KubeObject[]) => new Map(objs.map((o) => [keyOf(o), o]));

test('a relist yields the objects added, changed and gone since the cache was filled', () => {
  const cache = cacheOf(pod('a', '1'), pod('b', '2'), pod('c', '3'));
  const d = diffList(cache, [pod('a', '1'), pod('b', '7'), pod('d', '8')]);
  assert.deepEqual(
    d.added.map((o) => o.metadata.name),
    ['d'],
  );
  assert.deepEqual(
    d.modified.map((m) => [m.object.metadata.name, m.previous.metadata.resourceVersion, m.object.metadata.resourceVersion]),
    [['b', '2', '7']],
  );
  assert.deepEqual(
    d.deleted.map((o) => o.metadata.name),
    ['c'],
  );
});

test('an object deleted and created again under its name (new uid) counts as changed', () => {
  const d = diffList(cacheOf(pod('a', '1', 'old')), [pod('a', '1', 'new')]);
  assert.equal(d.modified.length, 1);
});

test('same list, no events; empty list, everything deleted', () => {
  const cache = cacheOf(pod('a', '1'), pod('b', '2'));
  const same = diffList(cache, [pod('b', '2'), pod('a', '1')]);
  assert.deepEqual([same.added.length, same.modified.length, same.deleted.length], [0, 0, 0]);
  assert.equal(diffList(cache, []).deleted.length, 2);
});

test('objects from the network are checked: what is wrong is named', () => {
  assert.equal(typeof checkObject(pod('a', '1')), 'object');
  assert.match(String(checkObject(null)), /expected an object, got null/);
  assert.match(String(checkObject({ metadata: {} })), /metadata\.name: expected a non-empty string/);
  assert.match(String(checkObject({ metadata: { name: 'a', labels: { x: 1 } } })), /metadata\.labels\.x: expected a string, got number 1/);
  assert.match(String(checkObject({ metadata: { name: 'a', ownerReferences: [{ kind: 'ReplicaSet' }] } })), /ownerReferences\[0\]/);
  assert.match(String(checkObject({ metadata: { name: 'a' }, spec: [1] })), /spec: expected a mapping, got a list/);
  assert.equal(keyOf({ metadata: { name: 'node-ns' } }), 'node-ns');
});
