/**
 * Kubernetes label selector semantics: every matchLabels pair and every
 * matchExpressions requirement must hold; the empty selector selects everything.
 * NotIn and DoesNotExist hold for objects without the key, as in Kubernetes.
 */
import type { K8sLabelSelector } from '../model/index.js';

export function selectorMatches(selector: K8sLabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const key of Object.keys(selector.matchLabels)) {
    if (!Object.hasOwn(labels, key) || labels[key] !== selector.matchLabels[key]) return false;
  }
  for (const req of selector.matchExpressions) {
    const has = Object.hasOwn(labels, req.key);
    switch (req.operator) {
      case 'In':
        if (!has || !req.values.includes(labels[req.key])) return false;
        break;
      case 'NotIn':
        if (has && req.values.includes(labels[req.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}
