import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpPathProblem, natsSubjectProblem } from './l7-syntax.js';
import { closest } from './suggest.js';
import { parentField } from './field-path.js';

test('HTTP path patterns', () => {
  for (const good of ['/', '/users', '/users/*/bill', '/static/**', '*', '/a%20b']) assert.equal(httpPathProblem(good), null, good);
  for (const bad of ['users', '/a/**/b', '/a*', '/a?b=1', '/a b']) assert.notEqual(httpPathProblem(bad), null, bad);
});

test('NATS subjects', () => {
  for (const good of ['a', 'rentals.created', 'rentals.>', '*.x', '>']) assert.equal(natsSubjectProblem(good), null, good);
  for (const bad of ['', 'a..b', '.a', 'a.', 'a.>.b', 'a*', 'a b', 'a.b>']) assert.notEqual(natsSubjectProblem(bad), null, bad);
});

test('suggestions and field parents', () => {
  assert.equal(closest('protocl', ['name', 'protocol', 'port']), 'protocol');
  assert.equal(closest('zzzz', ['name', 'port']), undefined);
  assert.equal(parentField('services.web.ports[1].port'), 'services.web.ports[1]');
  assert.equal(parentField('services.web.ports[1]'), 'services.web.ports');
  assert.equal(parentField('tenant'), '');
  assert.equal(parentField(''), null);
});
