import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRegex, MAX_REGEX_LENGTH } from './index.js';
import { parseRegex } from './parse.js';

const error = (source: string) => {
  const r = parseRegex(source);
  assert.equal(r.ok, false, `${source} should not parse`);
  return r.ok ? null : r.error;
};

test('the RE2 subset Cilium users write parses', () => {
  for (const s of [
    '^/users/[0-9]+$',
    '/api/v1/.*',
    '(?:GET|HEAD)',
    '(?P<id>[a-z]+)',
    '(?<id>[a-z]+)',
    'a{2}b{1,}c{0,3}',
    'a*?b+?c??',
    '[]a]',
    '[^-a-]',
    '\\d\\w\\s\\D\\W\\S\\.\\/\\x41\\x{263a}',
    '\\A/x\\z',
    'a{,2}',
    '',
    'a|',
  ])
    assert.equal(parseRegex(s).ok, true, s);
});

test('syntax RE2 refuses, or that flowtap would read differently, is an error naming it and where', () => {
  assert.deepEqual(error('(a'), { message: 'missing closing )', at: 0 });
  assert.deepEqual(error('a)'), { message: 'unmatched ")"', at: 1 });
  assert.deepEqual(error('x[a-'), { message: 'missing closing ]', at: 1 });
  assert.match(error('*a')!.message, /missing argument to repetition/);
  assert.match(error('a**')!.message, /bad repetition operator: \*\*/);
  assert.match(error('a{2}{3}')!.message, /bad repetition operator/);
  assert.match(error('a{1001}')!.message, /above 1000/);
  assert.match(error('a{3,2}')!.message, /bad repetition range/);
  assert.match(error('(a)\\1')!.message, /backreferences/);
  assert.match(error('(?=a)')!.message, /lookaround/);
  assert.match(error('(?i)abc')!.message, /inline flags/);
  assert.match(error('[[:alpha:]]')!.message, /POSIX classes/);
  assert.match(error('\\bword')!.message, /word boundaries/);
  assert.match(error('\\pL')!.message, /Unicode classes/);
  assert.match(error('\\q')!.message, /unknown escape/);
  assert.match(error('[z-a]')!.message, /bad character class range/);
  assert.match(error('^*')!.message, /anchor cannot be repeated/);
  assert.match(error('a\\')!.message, /trailing backslash/);
});

test('deep nesting and big expansions are refused, not run out of stack or memory', () => {
  assert.match(error(`${'('.repeat(200)}a${')'.repeat(200)}`)!.message, /nest deeper/);
  const huge = compileRegex('(((a{1000}){1000}){1000})');
  assert.equal(huge.ok, false);
  assert.match(!huge.ok ? huge.message : '', /too large/);
  const long = compileRegex('a'.repeat(MAX_REGEX_LENGTH + 1));
  assert.equal(long.ok, false);
});
