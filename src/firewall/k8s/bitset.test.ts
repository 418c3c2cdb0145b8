import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bitset } from './bitset.js';

test('members across word boundaries; full sets stop at their size', () => {
  const b = Bitset.of(70, [0, 31, 32, 63, 64, 69]);
  assert.deepEqual(b.toArray(), [0, 31, 32, 63, 64, 69]);
  assert.ok(b.has(31) && b.has(32) && !b.has(33) && !b.has(1));
  assert.deepEqual(Bitset.full(70).toArray().length, 70);
  assert.deepEqual(Bitset.full(64).toArray().slice(-2), [62, 63]);
  assert.ok(new Bitset(70).isEmpty());
  assert.ok(!b.isEmpty());
});

test('and, or and andNot work in place; copy is independent', () => {
  const a = Bitset.of(40, [1, 2, 3, 35]);
  const b = Bitset.of(40, [2, 3, 4, 39]);
  assert.deepEqual(a.copy().and(b).toArray(), [2, 3]);
  assert.deepEqual(a.copy().or(b).toArray(), [1, 2, 3, 4, 35, 39]);
  assert.deepEqual(a.copy().andNot(b).toArray(), [1, 35]);
  assert.deepEqual(a.toArray(), [1, 2, 3, 35]);
});
