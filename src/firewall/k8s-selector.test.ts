import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { K8sLabelSelector } from '../model/index.js';
import { selectorMatches } from './k8s-selector.js';

const sel = (matchLabels: Record<string, string>, matchExpressions: K8sLabelSelector['matchExpressions'] = []): K8sLabelSelector => ({
  matchLabels,
  matchExpressions,
});

test('matchLabels and every operator, with Kubernetes semantics for absent keys', () => {
  const pod = { app: 'web', tier: 'front' };
  assert.equal(selectorMatches(sel({}), pod), true);
  assert.equal(selectorMatches(sel({ app: 'web' }), pod), true);
  assert.equal(selectorMatches(sel({ app: 'web', env: 'prod' }), pod), false);
  assert.equal(selectorMatches(sel({}, [{ key: 'tier', operator: 'In', values: ['back', 'front'] }]), pod), true);
  assert.equal(selectorMatches(sel({}, [{ key: 'env', operator: 'In', values: ['prod'] }]), pod), false);
  assert.equal(selectorMatches(sel({}, [{ key: 'tier', operator: 'NotIn', values: ['front'] }]), pod), false);
  // NotIn holds for a pod without the key.
  assert.equal(selectorMatches(sel({}, [{ key: 'env', operator: 'NotIn', values: ['prod'] }]), pod), true);
  assert.equal(selectorMatches(sel({}, [{ key: 'app', operator: 'Exists', values: [] }]), pod), true);
  assert.equal(selectorMatches(sel({}, [{ key: 'env', operator: 'Exists', values: [] }]), pod), false);
  assert.equal(selectorMatches(sel({}, [{ key: 'env', operator: 'DoesNotExist', values: [] }]), pod), true);
  assert.equal(selectorMatches(sel({ app: 'web' }, [{ key: 'tier', operator: 'DoesNotExist', values: [] }]), pod), false);
  // Inherited object properties are not labels.
  assert.equal(selectorMatches(sel({}, [{ key: 'constructor', operator: 'Exists', values: [] }]), pod), false);
});
