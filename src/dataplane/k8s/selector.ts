/**
 * Label selectors as Cilium reads them in a CiliumNetworkPolicy: Kubernetes semantics (every
 * matchLabels pair and every matchExpressions requirement holds; NotIn and DoesNotExist hold
 * when the key is absent), keys optionally prefixed with their source (`k8s:`, `any:`), and a
 * namespaced policy's selectors limited to its own namespace unless they name one.
 */

/** The label Cilium gives every endpoint for its namespace. */
export const CILIUM_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: Array<{ key: string; operator: SelectorOperator; values: string[] }>;
}

/** An endpoint as policies see it: Kubernetes labels; `namespace` becomes Cilium's namespace label. */
export interface Endpoint {
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

/**
 * The key without a `k8s:` or `any:` source; null for any other source (`reserved:`, `cidr:`),
 * whose labels no Kubernetes endpoint carries.
 */
export function labelKey(key: string): string | null {
  const m = /^([a-z0-9-]+):(.*)$/.exec(key);
  if (!m) return key;
  return m[1] === 'k8s' || m[1] === 'any' ? m[2] : null;
}

export function selectorMatches(selector: LabelSelector, endpoint: Endpoint, policyNamespace: string | null): boolean {
  const labels: Record<string, string> = { ...endpoint.labels, [CILIUM_NAMESPACE_LABEL]: endpoint.namespace };
  const namesNamespace =
    Object.keys(selector.matchLabels).some((k) => labelKey(k) === CILIUM_NAMESPACE_LABEL) ||
    selector.matchExpressions.some((e) => labelKey(e.key) === CILIUM_NAMESPACE_LABEL);
  if (policyNamespace !== null && !namesNamespace && endpoint.namespace !== policyNamespace) return false;
  for (const [rawKey, value] of Object.entries(selector.matchLabels)) {
    const key = labelKey(rawKey);
    if (key === null || !Object.hasOwn(labels, key) || labels[key] !== value) return false;
  }
  for (const req of selector.matchExpressions) {
    const key = labelKey(req.key);
    const has = key !== null && Object.hasOwn(labels, key);
    const value = has ? labels[key!] : undefined;
    switch (req.operator) {
      case 'In':
        if (!has || !req.values.includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && req.values.includes(value!)) return false;
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
