/**
 * Label selectors evaluated over all pod classes at once: an inverted index from each
 * `key=value` (and each key) to the classes carrying it turns a selector into a few
 * bitset intersections, and every distinct (selector, scope) is computed once however
 * many policies repeat it (`podSelector: {}` in every default-deny).
 */
import type { K8sLabelSelector } from '../../model/index.js';
import { selectorMatches } from '../k8s-selector.js';
import { Bitset } from './bitset.js';
import type { PodClass } from './endpoints.js';

export class SelectorIndex {
  private readonly byLabel = new Map<string, Bitset>();
  private readonly byKey = new Map<string, Bitset>();
  private readonly byNamespace = new Map<string, Bitset>();
  private readonly namespaceLabels = new Map<string, Readonly<Record<string, string>>>();
  private readonly allPods: Bitset;
  private readonly empty: Bitset;
  private readonly cache = new Map<string, Bitset>();

  /** `size`: the endpoint index space the sets live in (classes first). */
  constructor(classes: readonly PodClass[], size: number) {
    this.empty = new Bitset(size);
    this.allPods = new Bitset(size);
    const at = (map: Map<string, Bitset>, key: string) => {
      let b = map.get(key);
      if (!b) {
        b = new Bitset(size);
        map.set(key, b);
      }
      return b;
    };
    for (const c of classes) {
      this.allPods.add(c.index);
      at(this.byNamespace, c.namespace).add(c.index);
      this.namespaceLabels.set(c.namespace, c.namespaceLabels);
      for (const [k, v] of Object.entries(c.labels)) {
        at(this.byLabel, `${k}\u0000${v}`).add(c.index);
        at(this.byKey, k).add(c.index);
      }
    }
  }

  /** Classes of `namespace` (every namespace when null) that `selector` (absent: all) matches. Shared: do not modify. */
  pods(namespace: string | null, selector: K8sLabelSelector | undefined): Bitset {
    const key = `p\u0000${namespace ?? '*'}\u0000${selector ? selectorKey(selector) : ''}`;
    let hit = this.cache.get(key);
    if (!hit) {
      const scope = namespace === null ? this.allPods : (this.byNamespace.get(namespace) ?? this.empty);
      hit = selector ? this.narrow(scope.copy(), selector) : scope;
      this.cache.set(key, hit);
    }
    return hit;
  }

  /** Classes in namespaces whose labels `namespaceSelector` matches, narrowed by `podSelector`. Shared: do not modify. */
  podsInNamespaces(namespaceSelector: K8sLabelSelector, podSelector: K8sLabelSelector | undefined): Bitset {
    const key = `n\u0000${selectorKey(namespaceSelector)}\u0000${podSelector ? selectorKey(podSelector) : ''}`;
    let hit = this.cache.get(key);
    if (!hit) {
      hit = new Bitset(this.empty.size);
      for (const [ns, labels] of this.namespaceLabels) {
        if (selectorMatches(namespaceSelector, labels)) hit.or(this.pods(ns, podSelector));
      }
      this.cache.set(key, hit);
    }
    return hit;
  }

  private narrow(set: Bitset, selector: K8sLabelSelector): Bitset {
    for (const [k, v] of Object.entries(selector.matchLabels)) set.and(this.byLabel.get(`${k}\u0000${v}`) ?? this.empty);
    for (const req of selector.matchExpressions) {
      switch (req.operator) {
        case 'In':
          set.and(this.anyOf(req.key, req.values));
          break;
        case 'NotIn':
          set.andNot(this.anyOf(req.key, req.values));
          break;
        case 'Exists':
          set.and(this.byKey.get(req.key) ?? this.empty);
          break;
        case 'DoesNotExist':
          set.andNot(this.byKey.get(req.key) ?? this.empty);
          break;
      }
    }
    return set;
  }

  private anyOf(key: string, values: readonly string[]): Bitset {
    const out = new Bitset(this.empty.size);
    for (const v of values) {
      const b = this.byLabel.get(`${key}\u0000${v}`);
      if (b) out.or(b);
    }
    return out;
  }
}

function selectorKey(s: K8sLabelSelector): string {
  const labels = Object.keys(s.matchLabels)
    .sort()
    .map((k) => `${k}=${s.matchLabels[k]}`)
    .join(',');
  const exprs = s.matchExpressions.map((e) => `${e.key} ${e.operator} ${e.values.join('|')}`).join(';');
  return `${labels}\u0001${exprs}`;
}
