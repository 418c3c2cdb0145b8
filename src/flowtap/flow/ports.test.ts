import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decomposeRange, intersectPort, maxMatch, minMatch, normalisePort, portContains, portSubset, portToMasks } from './ports.js';
import { seededRng } from '../../random/index.js';
import type { PortMatch } from './fields.js';

function bruteMin(value: number, mask: number, from: number): number {
  for (let x = Math.max(0, from); x <= 0xffff; x++) if ((x & mask) === value) return x;
  return -1;
}

function bruteMax(value: number, mask: number, to: number): number {
  for (let x = Math.min(0xffff, to); x >= 0; x--) if ((x & mask) === value) return x;
  return -1;
}

const MASKS = [0, 0xffff, 0xfff0, 0xfc00, 0x0001, 0x8001, 0x0f0f, 0x1234, 0xff00, 0x00ff, 0xaaaa];

test('minMatch and maxMatch agree with brute force', () => {
  const r = seededRng(1);
  for (let i = 0; i < 400; i++) {
    const mask = i < MASKS.length ? MASKS[i] : Math.floor(r() * 0x10000);
    const value = Math.floor(r() * 0x10000) & mask;
    const bound = Math.floor(r() * 0x10000);
    assert.equal(minMatch(value, mask, bound), bruteMin(value, mask, bound), `min ${value}/${mask} >= ${bound}`);
    assert.equal(maxMatch(value, mask, bound), bruteMax(value, mask, bound), `max ${value}/${mask} <= ${bound}`);
  }
});

function randomPort(r: () => number): PortMatch | null {
  const mask = r() < 0.4 ? 0 : MASKS[Math.floor(r() * MASKS.length)];
  const value = Math.floor(r() * 0x10000) & mask;
  if (r() < 0.4) return normalisePort(value, mask);
  const a = Math.floor(r() * 0x10000);
  const b = Math.min(0xffff, a + Math.floor(r() * (r() < 0.5 ? 300 : 0x10000)));
  return normalisePort(value, mask, { from: a, to: b });
}

function members(p: PortMatch): Set<number> {
  const s = new Set<number>();
  for (let x = 0; x <= 0xffff; x++) if (portContains(p, x)) s.add(x);
  return s;
}

test('normalising a port constraint keeps exactly its ports', () => {
  const r = seededRng(2);
  for (let i = 0; i < 200; i++) {
    const mask = MASKS[i % MASKS.length];
    const value = Math.floor(r() * 0x10000) & mask;
    const from = Math.floor(r() * 0x10000);
    const to = Math.min(0xffff, from + Math.floor(r() * 5000));
    const n = normalisePort(value, mask, { from, to });
    let count = 0;
    for (let x = 0; x <= 0xffff; x++) {
      const want = (x & mask) === value && x >= from && x <= to;
      if (want) count++;
      if (n) assert.equal(portContains(n, x), want, `${value}/${mask} ${from}-${to} at ${x}`);
    }
    assert.equal(n === null, count === 0);
    if (n) assert.deepEqual(normalisePort(n.value, n.mask, n.range), n, 'normalising is idempotent');
  }
});

test('intersection and subset of port constraints agree with their member sets', () => {
  const r = seededRng(3);
  for (let i = 0; i < 150; i++) {
    const a = randomPort(r);
    const b = randomPort(r);
    if (!a || !b) continue;
    const ma = members(a);
    const mb = members(b);
    const both = intersectPort(a, b);
    const expected = [...ma].filter((x) => mb.has(x));
    if (both === null) assert.equal(expected.length, 0);
    else assert.deepEqual([...members(both)], expected);
    assert.equal(
      portSubset(a, b),
      [...ma].every((x) => mb.has(x)),
      'a within b',
    );
  }
});

test('a range decomposes into disjoint aligned blocks covering exactly it', () => {
  const r = seededRng(4);
  const cases: Array<[number, number]> = [
    [0, 65535],
    [1000, 1999],
    [80, 80],
    [0, 0],
    [65535, 65535],
    [1, 65534],
    [8000, 8100],
  ];
  for (let i = 0; i < 40; i++) {
    const a = Math.floor(r() * 0x10000);
    cases.push([a, Math.min(0xffff, a + Math.floor(r() * 3000))]);
  }
  for (const [from, to] of cases) {
    const blocks = decomposeRange(from, to);
    for (let x = 0; x <= 0xffff; x++) {
      const hits = blocks.filter((b) => (x & b.mask) === b.value).length;
      assert.equal(hits, x >= from && x <= to ? 1 : 0, `${from}-${to} at ${x}`);
    }
  }
  // The documented OVS example: 1000-1999 is seven blocks.
  assert.equal(decomposeRange(1000, 1999).length, 7);
});

test('a port constraint with mask and range becomes bitwise matches admitting the same ports', () => {
  const r = seededRng(5);
  for (let i = 0; i < 60; i++) {
    const p = randomPort(r);
    if (!p) continue;
    const masks = portToMasks(p);
    for (let x = 0; x <= 0xffff; x += 1 + Math.floor(r() * 7)) {
      assert.equal(
        masks.some((m) => (x & m.mask) === m.value),
        portContains(p, x),
        `${JSON.stringify(p)} at ${x}`,
      );
    }
  }
});
