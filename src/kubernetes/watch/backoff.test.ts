import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from './backoff.js';

test('delays double from the first one up to the cap, without jitter', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
  assert.deepEqual(
    Array.from({ length: 7 }, () => b.next()),
    [100, 200, 400, 800, 1000, 1000, 1000],
  );
  assert.equal(b.attempts, 7);
});

test('a reset after a success starts again from the first delay', () => {
  const b = new Backoff({ initialMs: 50, maxMs: 10_000, jitter: 0 });
  b.next();
  b.next();
  b.next();
  b.reset();
  assert.equal(b.attempts, 0);
  assert.equal(b.next(), 50);
});

test('jitter keeps every delay between (1 - jitter) and 1 times the ceiling', () => {
  const low = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.5 }, () => 0);
  const high = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.5 }, () => 0.999999);
  assert.equal(low.next(), 500);
  assert.equal(high.next(), 1000);
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const b = new Backoff({ initialMs: 100, maxMs: 3200, jitter: 0.5 }, random);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const ceiling = Math.min(3200, 100 * 2 ** Math.min(i, 64));
    const d = b.next();
    assert.ok(d >= ceiling / 2 && d <= ceiling, `delay ${d} outside [${ceiling / 2}, ${ceiling}] at attempt ${i}`);
    seen.add(d);
  }
  assert.ok(seen.size > 20, 'jitter spreads the delays');
});

test('nonsense options fall back to sane ones and never give Infinity or NaN', () => {
  const b = new Backoff({ initialMs: -5, maxMs: Number.NaN, factor: 0, jitter: 7 }, () => 1);
  for (let i = 0; i < 2000; i++) {
    const d = b.next();
    assert.ok(Number.isFinite(d) && d >= 0 && d <= 30_000, String(d));
  }
});
