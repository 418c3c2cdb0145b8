import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from './object.js';
import { resourceByPath } from './resources.js';
import { fieldsMatch, labelsMatch, parseFieldSelector, parseLabelSelector, selectorQuery } from './selectors.js';

const pods = resourceByPath('', 'v1', 'pods')!;

function labels(text: string) {
  const q = parseLabelSelector(text);
  assert.ok(q.ok, text);
  return q.value;
}

test('label selectors: every operator of the query-string form', () => {
  const l = { app: 'web', tier: 'front', 'example.com/v': '3' };
  const cases: [string, boolean][] = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (db, web)', true],
    ['app notin (web)', false],
    ['missing notin (web)', true],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['app=web,tier=back', false],
    ['app=web, tier in (front,back)', true],
    ['example.com/v>2', true],
    ['example.com/v<3', false],
    ['app>1', false],
  ];
  for (const [text, want] of cases) assert.equal(labelsMatch(labels(text), l), want, text);
});

test('malformed label selectors are BadRequest naming the requirement', () => {
  // An empty value is allowed: it matches the label with an empty value.
  assert.ok(labelsMatch(labels('app='), { app: '' }));
  for (const text of ['app==web==x', 'a b', 'app in ()', 'app in (x', ',', 'Bad Key=v', 'app=web,']) {
    const q = parseLabelSelector(text);
    assert.ok(!q.ok, text);
    assert.equal(q.error.code, 'E_KAPI_BAD_REQUEST');
    assert.equal(q.error.loc?.field, 'labelSelector');
  }
});

test('structured selectors: matchLabels and matchExpressions; bad shapes select nothing', () => {
  const q = selectorQuery({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] });
  assert.ok(q);
  assert.ok(labelsMatch(q, { app: 'web' }));
  assert.ok(!labelsMatch(q, { app: 'web', tier: 'db' }));
  assert.deepEqual(selectorQuery({}), []);
  assert.equal(selectorQuery({ matchExpressions: [{ key: 'a', operator: 'Near' }] }), undefined);
  assert.equal(selectorQuery('app=web'), undefined);
});

test('field selectors: the fields the resource allows, = and !=, escapes', () => {
  const pod: KubeObject = { metadata: { name: 'a,b', namespace: 'ns' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } };
  const ok = (text: string) => {
    const q = parseFieldSelector(text, pods);
    assert.ok(q.ok, text);
    return fieldsMatch(q.value, pod);
  };
  assert.ok(ok('spec.nodeName=n1'));
  assert.ok(ok('spec.nodeName==n1,metadata.namespace=ns'));
  assert.ok(!ok('spec.nodeName!=n1'));
  assert.ok(ok('metadata.name=a\\,b'));
  assert.ok(ok('status.phase=Running'));
  assert.ok(!ok('status.podIP=10.0.0.1'));
  const bad = parseFieldSelector('spec.containers=x', pods);
  assert.ok(!bad.ok);
  assert.match(bad.error.message, /field label not supported: spec.containers/);
  assert.ok(!parseFieldSelector('nonsense', pods).ok);
});
