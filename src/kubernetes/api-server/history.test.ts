import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Change, History } from './history.js';
import { RESOURCES } from './resources.js';

const change = (rv: number): Change => ({ rv, type: 'ADDED', resource: RESOURCES[0], object: { metadata: { name: `o${rv}` } } });

test('the history keeps the latest changes; older resourceVersions fall below the floor', () => {
  const h = new History(3);
  for (let rv = 1; rv <= 5; rv++) h.push(change(rv));
  assert.equal(h.size, 3);
  assert.equal(h.floor, 2);
  assert.deepEqual(
    h.since(2)?.map((c) => c.rv),
    [3, 4, 5],
  );
  assert.deepEqual(
    h.since(4)?.map((c) => c.rv),
    [5],
  );
  assert.deepEqual(h.since(5), []);
  assert.equal(h.since(1), undefined, 'change 2 is gone, so a watch from 1 would miss it');
});

test('compaction forgets everything up to a resourceVersion', () => {
  const h = new History(10);
  for (let rv = 1; rv <= 4; rv++) h.push(change(rv));
  h.compact(4);
  assert.equal(h.size, 0);
  assert.equal(h.since(3), undefined);
  assert.deepEqual(h.since(4), []);
  h.push(change(5));
  assert.deepEqual(
    h.since(4)?.map((c) => c.rv),
    [5],
  );
});

test('a history must hold at least one change', () => {
  assert.throws(() => new History(0), RangeError);
});
