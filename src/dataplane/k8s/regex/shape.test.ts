import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRegex } from './parse.js';
import { regexShapeProblems } from './shape.js';

const problems = (s: string) => {
  const r = parseRegex(s);
  assert.ok(r.ok, s);
  return regexShapeProblems(r.node);
};

test('anchored, flat regexes keep the rules', () => {
  assert.deepEqual(problems('^/users/[^/]+/bill$'), []);
  assert.deepEqual(problems('^/a(/[^/]*(x|y)*)?$'), [], 'an optional group may hold one repetition');
});

test('missing anchors and nested repetitions are named', () => {
  assert.deepEqual(problems('/users'), ['not anchored at the start (^)', 'not anchored at the end ($)']);
  assert.deepEqual(problems('^/users'), ['not anchored at the end ($)']);
  assert.deepEqual(problems('^(a+)+$'), ['a repetition inside a repetition (nested quantifiers)']);
  assert.deepEqual(problems('^(a|b*){2}$'), ['a repetition inside a repetition (nested quantifiers)']);
  assert.deepEqual(problems('^((ab)*c)*$'), ['a repetition inside a repetition (nested quantifiers)']);
});
