import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelKey, selectorMatches } from './selector.js';

const web = { namespace: 'shop', labels: { app: 'web', tier: 'front' } };

test('matchLabels and every operator, with Kubernetes’ meaning for absent keys', () => {
  const m = (sel: Parameters<typeof selectorMatches>[0]) => selectorMatches(sel, web, 'shop');
  assert.equal(m({ matchLabels: {}, matchExpressions: [] }), true);
  assert.equal(m({ matchLabels: { app: 'web' }, matchExpressions: [] }), true);
  assert.equal(m({ matchLabels: { app: 'api' }, matchExpressions: [] }), false);
  assert.equal(m({ matchLabels: {}, matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'x'] }] }), true);
  assert.equal(m({ matchLabels: {}, matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }), true);
  assert.equal(m({ matchLabels: {}, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }), false);
  assert.equal(m({ matchLabels: {}, matchExpressions: [{ key: 'zone', operator: 'Exists', values: [] }] }), false);
  assert.equal(m({ matchLabels: {}, matchExpressions: [{ key: 'zone', operator: 'DoesNotExist', values: [] }] }), true);
});

test('sources and namespaces as Cilium reads them', () => {
  assert.equal(labelKey('k8s:app'), 'app');
  assert.equal(labelKey('any:app'), 'app');
  assert.equal(labelKey('reserved:host'), null);
  assert.equal(labelKey('app.kubernetes.io/name'), 'app.kubernetes.io/name');
  assert.equal(selectorMatches({ matchLabels: { 'k8s:app': 'web' }, matchExpressions: [] }, web, 'shop'), true);
  assert.equal(selectorMatches({ matchLabels: { 'reserved:host': '' }, matchExpressions: [] }, web, 'shop'), false);
  assert.equal(selectorMatches({ matchLabels: { app: 'web' }, matchExpressions: [] }, web, 'other'), false);
  assert.equal(
    selectorMatches({ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'shop', app: 'web' }, matchExpressions: [] }, web, 'other'),
    true,
  );
});
