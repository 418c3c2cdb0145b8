import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeLiteral, methodRegex, pathPatternRegex } from './path-regex.js';
import { compileRegex, regexShapeProblems } from './regex/index.js';

function matcher(pattern: string): (path: string) => boolean {
  const r = pathPatternRegex(pattern);
  assert.ok(r.ok && r.regex !== null, pattern);
  const compiled = compileRegex(r.regex);
  assert.ok(compiled.ok, r.regex);
  return compiled.regex.test;
}

test('exact patterns match themselves, with any query, and nothing else', () => {
  const m = matcher('/contracts');
  assert.equal(m('/contracts'), true);
  assert.equal(m('/contracts?user=1&x=/admin'), true);
  assert.equal(m('/contracts/'), false);
  assert.equal(m('/contracts/1'), false);
  assert.equal(m('/contractsX'), false);
  assert.equal(m('/Contracts'), false);
});

test('a `*` is one segment that is not a dot segment', () => {
  const m = matcher('/users/*/bill');
  for (const ok of ['/users/42/bill', '/users/a.b/bill', '/users/.hidden/bill', '/users/.../bill', '/users/..x/bill', '/users/42/bill?x'])
    assert.equal(m(ok), true, ok);
  for (const bad of [
    '/users//bill',
    '/users/./bill',
    '/users/../bill',
    '/users/%2e%2e/bill',
    '/users/%2E/bill',
    '/users/a/b/bill',
    '/users/42?/bill',
    '/users/42#/bill',
    '/users/42/bill/x',
  ])
    assert.equal(m(bad), false, bad);
});

test('a trailing `**` is any number of segments, none of them a dot segment', () => {
  const m = matcher('/api/**');
  for (const ok of ['/api', '/api/', '/api/x', '/api/x/y/z', '/api/x/', '/api/.well-known/x', '/api/x?q=../..'])
    assert.equal(m(ok), true, ok);
  for (const bad of ['/apix', '/api/x/../admin', '/api/..', '/api/.', '/api/x/./y', '/api/%2e%2e/admin', '/api//x', '/ap', '/other/api'])
    assert.equal(m(bad), false, bad);
  const all = matcher('/**');
  assert.equal(all('/'), true);
  assert.equal(all('/a/b'), true);
  assert.equal(all('/a/../b'), false);
});

test('`*` alone means every path: no path field', () => {
  assert.deepEqual(pathPatternRegex('*'), { ok: true, regex: null });
});

test('regex characters in literal segments are escaped, in a form RE2, ERE and JavaScript share', () => {
  assert.equal(escapeLiteral("a.b$c(d)e+f'g"), "a[.]b[$]c[(]d[)]e[+]f'g");
  const m = matcher('/v1.0/(x)+');
  assert.equal(m('/v1.0/(x)+'), true);
  assert.equal(m('/v1x0/(x)+'), false);
  assert.equal(m('/v1.0/xx'), false);
  assert.equal(methodRegex('GET'), '^GET$');
});

test('malformed patterns are refused with the reason', () => {
  assert.deepEqual(pathPatternRegex('users'), { ok: false, problem: 'must start with "/"' });
  assert.deepEqual(pathPatternRegex('/a/**/b'), { ok: false, problem: '"**" may only be the last segment' });
  assert.deepEqual(pathPatternRegex('/a*'), { ok: false, problem: '"*" must be a whole segment, not part of "a*"' });
  assert.equal(pathPatternRegex('/a b').ok, false);
  assert.equal(pathPatternRegex('/a?b').ok, false);
});

test('every generated regex is anchored and has no nested repetition', () => {
  for (const p of ['/', '/a', '/a/*', '/*/*/x', '/a/**', '/**', '/a/*/**', '/x.y/$z/**']) {
    const r = pathPatternRegex(p);
    assert.ok(r.ok && r.regex);
    const c = compileRegex(r.regex);
    assert.ok(c.ok);
    assert.deepEqual(regexShapeProblems(c.regex.node), [], `${p} -> ${r.regex}`);
  }
});
