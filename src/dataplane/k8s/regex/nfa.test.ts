import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRng } from '../../../random/index.js';
import { compileRegex } from './index.js';

const re = (s: string) => {
  const r = compileRegex(s);
  assert.ok(r.ok, s);
  return r.regex;
};

test('matching is whole-string, as Envoy applies Cilium rules', () => {
  assert.equal(re('/public').test('/public'), true);
  assert.equal(re('/public').test('/public/x'), false);
  assert.equal(re('/public').test('x/public'), false);
  assert.equal(re('/public.*').test('/public/x'), true);
  assert.equal(re('GET|HEAD').test('HEAD'), true);
  assert.equal(re('GET|HEAD').test('GETHEAD'), false);
  assert.equal(re('^a$|^b$').test('b'), true);
  assert.equal(re('a^b').test('ab'), false);
  assert.equal(re('').test(''), true);
  assert.equal(re('').test('a'), false);
});

test('classes, escapes and counted repetitions mean what RE2 says', () => {
  assert.equal(re('[^/]+').test('a.b'), true);
  assert.equal(re('[^/]+').test('a/b'), false);
  assert.equal(re('.').test('\n'), false);
  assert.equal(re('[^a]').test('\n'), true);
  assert.equal(re('\\s').test('\v'), false);
  assert.equal(re('a{2,3}').test('a'), false);
  assert.equal(re('a{2,3}').test('aaa'), true);
  assert.equal(re('a{2,3}').test('aaaa'), false);
  assert.equal(re('a{2,}').test('a'.repeat(50)), true);
  assert.equal(re('a{,2}').test('a{,2}'), true);
  assert.equal(re('\\x{263a}.').test('\u263a\u{1f600}'), true, 'a code point outside the BMP is one character');
  assert.equal(re('[]a]+').test(']a]'), true);
  assert.equal(re('(a*)*b').test('aaab'), true);
});

/** Random regexes over a small alphabet, compared with JavaScript's engine where the two agree on meaning. */
function randomRegex(rng: () => number, depth: number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rng() * xs.length)];
  if (depth <= 0 || rng() < 0.3) return pick(['a', 'b', '.', '[ab]', '[^a]', '\\d', '[.]']);
  switch (pick(['cat', 'alt', 'rep', 'group'])) {
    case 'cat':
      return randomRegex(rng, depth - 1) + randomRegex(rng, depth - 1);
    case 'alt':
      return `(${randomRegex(rng, depth - 1)}|${randomRegex(rng, depth - 1)})`;
    case 'rep':
      return `(${randomRegex(rng, depth - 1)})${pick(['*', '+', '?', '{2}', '{1,3}', '{2,}'])}`;
    default:
      return `(?:${randomRegex(rng, depth - 1)})`;
  }
}

test('agrees with JavaScript on random regexes and strings (seeded)', () => {
  const rng = seededRng(12);
  let compared = 0;
  let matched = 0;
  for (let i = 0; i < 300; i++) {
    const source = randomRegex(rng, 4);
    const ours = re(source);
    const js = new RegExp(`^(?:${source})$`);
    for (let k = 0; k < 20; k++) {
      const input = Array.from({ length: Math.floor(rng() * 7) }, () => 'ab1.'[Math.floor(rng() * 4)]).join('');
      const expected = js.test(input);
      assert.equal(ours.test(input), expected, `${source} on ${JSON.stringify(input)}`);
      compared++;
      if (expected) matched++;
    }
  }
  // Both outcomes must be well represented, or the comparison proves little.
  assert.ok(matched > 300 && compared - matched > 300, `${matched} of ${compared} matched`);
});

test('time stays linear on the inputs that make backtracking engines explode', () => {
  const evil = re('(a+)+$');
  const input = `${'a'.repeat(20_000)}!`;
  const t0 = process.hrtime.bigint();
  assert.equal(evil.test(input), false);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  // A backtracking engine needs about 2^20000 steps here; the NFA a few per character.
  assert.ok(ms < 2000, `${ms} ms`);
});
