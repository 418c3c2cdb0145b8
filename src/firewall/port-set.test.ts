import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ALL_PORTS,
  NO_PORTS,
  containsPort,
  formatPorts,
  intersectPorts,
  isAllPorts,
  portSetOf,
  subtractPorts,
  unionPorts,
} from './port-set.js';

const r = (from: number, to: number) => ({ from, to });

test('portSetOf sorts, merges overlapping and adjacent ranges, clips to 1..65535', () => {
  assert.deepEqual(portSetOf([r(443, 443), r(80, 80), r(81, 90), r(85, 100), r(0, 0)]), [r(80, 100), r(443, 443)]);
  assert.deepEqual(portSetOf([r(0, 70000)]), ALL_PORTS);
  assert.equal(portSetOf(null), ALL_PORTS);
  assert.equal(portSetOf([]), NO_PORTS);
  assert.equal(portSetOf([r(10, 5)]), NO_PORTS);
});

test('union, intersection and difference of range sets', () => {
  const a = portSetOf([r(1, 10), r(20, 30)]);
  const b = portSetOf([r(5, 22), r(30, 40)]);
  assert.deepEqual(unionPorts(a, b), [r(1, 40)]);
  assert.deepEqual(intersectPorts(a, b), [r(5, 10), r(20, 22), r(30, 30)]);
  assert.deepEqual(subtractPorts(a, b), [r(1, 4), r(23, 29)]);
  assert.deepEqual(subtractPorts(b, a), [r(11, 19), r(31, 40)]);
  // A hole in the middle of a range splits it.
  assert.deepEqual(subtractPorts(ALL_PORTS, portSetOf([r(8080, 8080)])), [r(1, 8079), r(8081, 65535)]);
  assert.ok(isAllPorts(unionPorts(portSetOf([r(1, 100)]), portSetOf([r(101, 65535)]))));
  assert.equal(subtractPorts(a, ALL_PORTS), NO_PORTS);
});

test('membership and the analyzer spelling', () => {
  const s = portSetOf([r(80, 80), r(443, 443), r(1000, 2000)]);
  assert.equal(containsPort(s, 443), true);
  assert.equal(containsPort(s, 1500), true);
  assert.equal(containsPort(s, 444), false);
  assert.equal(formatPorts(s), '80,443,1000-2000');
});
