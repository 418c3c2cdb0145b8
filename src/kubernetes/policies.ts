/**
 * The NetworkPolicies flowtap owns on a cluster: the inferred firewall, as the NetworkPolicy
 * export renders it but selecting each workload's pods by the workload's own selector, and
 * one deny-all quarantine policy per isolated pod.
 *
 * NetworkPolicies only add up allows, so a deny-all policy isolates a pod only where no other
 * policy allows it something: the firewall's policies therefore leave out pods that carry the
 * quarantine label, and the quarantine label is what the quarantine policies select.
 */
import { createHash } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { type Diagnostic, diag, fail, ok, type Result } from '../diagnostics/index.js';
import { renderK8sNetworkPolicies } from '../dataplane/index.js';
import type { Ruleset } from '../firewall/index.js';
import type { K8sLabelSelector } from '../model/index.js';
import { MANAGED_BY, MANAGED_BY_LABEL, QUARANTINE_LABEL, ROLE_LABEL } from './annotations.js';
import type { ClusterModel } from './mapping.js';
import { type ObjectLookup, selectorOf, WORKLOAD_KINDS } from './pods.js';
import { isRecord, type KubeObject } from './watch/index.js';

/** The label the NetworkPolicy export selects a service's pods by. */
const EXPORT_NAME_LABEL = 'app.kubernetes.io/name';
const MAX_NAME = 253;

export type PolicyRole = 'firewall' | 'quarantine';

export function quarantinePolicyName(pod: string): string {
  const name = `flowtap-quarantine-${pod}`;
  if (name.length <= MAX_NAME) return name;
  // Still unique per pod, and still a DNS subdomain.
  const hash = createHash('sha256').update(pod).digest('hex').slice(0, 10);
  return `${name.slice(0, MAX_NAME - 11).replace(/[.-]+$/, '')}-${hash}`;
}

/** Denies every connection to and from the quarantined pods of a namespace (they carry the label). */
export function quarantinePolicy(namespace: string, pod: string, app: string): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: quarantinePolicyName(pod),
      namespace,
      labels: ownedLabels('quarantine', app),
      annotations: { 'flowtap.io/pod': pod },
    },
    spec: { podSelector: { matchLabels: { [QUARANTINE_LABEL]: 'true' } }, policyTypes: ['Ingress', 'Egress'] },
  };
}

function ownedLabels(role: PolicyRole, app: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, [ROLE_LABEL]: role, 'app.kubernetes.io/part-of': app };
}

export function isOwned(o: KubeObject, role: PolicyRole): boolean {
  return o.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY && o.metadata.labels?.[ROLE_LABEL] === role;
}

/** The firewall's NetworkPolicies for the application's namespace, labelled as flowtap's. */
export function firewallPolicies(model: ClusterModel, ruleset: Ruleset, look: ObjectLookup): Result<KubeObject[]> {
  const rendered = renderK8sNetworkPolicies(ruleset, model.app, { namespace: model.namespace });
  if (!rendered.ok) return rendered;
  const errors: Diagnostic[] = [];
  const selectors = new Map<string, K8sLabelSelector>();
  for (const s of model.app.services) {
    const sel = serviceSelector(model, look, s.name);
    if (typeof sel === 'string')
      errors.push(diag('E_BACKEND_UNSUPPORTED', `service ${s.name}: ${sel}; a NetworkPolicy cannot select its pods`));
    else selectors.set(s.name, sel);
  }
  if (errors.length) return fail(errors);
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(rendered.value)) {
    const p = doc.toJS() as KubeObject | null;
    if (p?.kind !== 'NetworkPolicy') continue;
    p.metadata = {
      name: p.metadata.name,
      namespace: model.namespace,
      labels: { ...(p.metadata.labels ?? {}), ...ownedLabels('firewall', model.app.name) },
    };
    const spec = p.spec ?? {};
    const own = rewrite(spec.podSelector, selectors);
    if (own !== spec.podSelector) {
      // A quarantined pod is left to its quarantine policy: any allow here would open it again.
      spec.podSelector = {
        ...own,
        matchExpressions: [...(own.matchExpressions ?? []), { key: QUARANTINE_LABEL, operator: 'DoesNotExist' }],
      };
    }
    for (const [rules, peers] of [
      ['ingress', 'from'],
      ['egress', 'to'],
    ] as const) {
      for (const rule of Array.isArray(spec[rules]) ? (spec[rules] as unknown[]) : []) {
        if (!isRecord(rule) || !Array.isArray(rule[peers])) continue;
        for (const peer of rule[peers] as unknown[])
          if (isRecord(peer) && peer.podSelector) peer.podSelector = rewrite(peer.podSelector, selectors);
      }
    }
    out.push(p);
  }
  return ok(out);
}

/** The export's `app.kubernetes.io/name: SERVICE` selector as the workload's own, other selectors as they are. */
function rewrite(v: unknown, selectors: Map<string, K8sLabelSelector>): K8sLabelSelector {
  const sel = isRecord(v) ? v : {};
  const labels = isRecord(sel.matchLabels) ? sel.matchLabels : {};
  const keys = Object.keys(labels);
  const service = keys.length === 1 && keys[0] === EXPORT_NAME_LABEL ? String(labels[EXPORT_NAME_LABEL]) : undefined;
  const real = service !== undefined ? selectors.get(service) : undefined;
  if (real) return tidy(structuredClone(real));
  return v as K8sLabelSelector;
}

/**
 * What selects a service's pods: a workload's own selector; for pods of another controller or
 * of none, the labels all of them share.
 */
function serviceSelector(model: ClusterModel, look: ObjectLookup, service: string): K8sLabelSelector | string {
  const w = model.workloads[service];
  if (w && (WORKLOAD_KINDS as readonly string[]).includes(w.kind)) {
    const o = look.get(w.kind, `${model.namespace}/${w.name}`);
    const sel = o ? selectorOf(o) : undefined;
    if (!sel || (!Object.keys(sel.matchLabels).length && !sel.matchExpressions.length)) return `${w.kind} ${w.name} has no selector`;
    return sel;
  }
  const mine = model.app.instances.filter((i) => i.service === service).map((i) => model.pods[i.name]);
  if (!mine.length) return 'it has no pods to take labels from';
  const shared: Record<string, string> = { ...mine[0].labels };
  for (const p of mine.slice(1)) for (const k of Object.keys(shared)) if (p.labels[k] !== shared[k]) delete shared[k];
  delete shared[QUARANTINE_LABEL];
  if (!Object.keys(shared).length) return 'its pods share no label';
  return { matchLabels: shared, matchExpressions: [] };
}

/** Without the empty list of expressions: what the API server stores and sends back. */
function tidy(sel: K8sLabelSelector): K8sLabelSelector {
  if (sel.matchExpressions.length) return sel;
  const { matchExpressions: _none, ...rest } = sel;
  return rest as K8sLabelSelector;
}
