import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonLocator } from './json-locator.js';

const text = `{
  "kind": "PodList",
  "items": [
    {"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x", "app": "y"}}},
    {
      "metadata": {"name": "b\\"q"},
      "spec": {"containers": [{"ports": [{"containerPort": 80}, {"containerPort": 70000}]}]}
    }
  ]
}`;

test('locates values and keys by field path, through arrays and keys with dots', () => {
  const at = jsonLocator(text, 'pods.json');
  const pos = (field: string, key?: 'key') => {
    const l = at(field, key);
    return `${l.line}:${l.col}`;
  };
  assert.equal(pos('items[0]'), '4:5');
  assert.equal(pos('items[1].spec.containers[0].ports[1].containerPort'), '7:83');
  assert.equal(pos('items[1].spec.containers[0].ports[1].containerPort', 'key'), '7:66');
  // A label key with dots wins over a shorter key it starts with.
  assert.equal(pos('items[0].metadata.labels.app.kubernetes.io/name'), '4:69');
  assert.equal(pos('items[0].metadata.labels.app'), '4:81');
  assert.equal(pos('items[1].metadata.name'), '6:28');
  assert.deepEqual(at('items[1].metadata.name'), { file: 'pods.json', line: 6, col: 28, field: 'items[1].metadata.name' });
});

test('a path that leaves the document stops at the deepest value it reached', () => {
  const at = jsonLocator(text, 'pods.json');
  assert.equal(at('items[1].spec.missing').line, 7);
  assert.equal(at('items[9]').line, 3);
  assert.deepEqual(at(''), { file: 'pods.json', line: 1, col: 1 });
});
