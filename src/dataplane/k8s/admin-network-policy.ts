/**
 * Tenant isolation as AdminNetworkPolicies (policy.networking.k8s.io/v1alpha1): each
 * application runs in its own namespace labelled `flowtap.io/tenant=<tenant>`, and one ANP
 * per tenant, whose subject is that tenant's namespaces,
 * - denies ingress from, and egress to, namespaces of any other tenant (the label exists and
 *   is NotIn [tenant]: namespaces without the label, such as kube-system or an ingress
 *   controller's, are not another tenant and are left to the NetworkPolicies);
 * - passes traffic within the tenant, so the application's own NetworkPolicies (or
 *   CiliumNetworkPolicies) decide it and no lower-precedence ANP can interfere.
 *
 * Priorities: an ANP's priority runs 0..1000 and a lower number is checked first; ANPs come
 * before NetworkPolicies. Every tenant ANP uses the same priority (100 by default): their
 * subjects are disjoint (a namespace has one tenant label), so no two of them ever apply to
 * the same pod in the same direction and sharing a priority is never ambiguous. It also
 * makes each tenant's ANP independent of which other applications are exported with it.
 * 0..99 stays free for a cluster administrator's own rules that must win over isolation
 * (say, allowing a monitoring namespace), 101..1000 for rules isolation should override.
 */
import { stringify } from 'yaml';
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import type { App } from '../../model/index.js';
import { K8sExportCode } from './codes.js';
import { FLOWTAP_TENANT_LABEL, isLabelValue, K8S_NAMESPACE_NAME_LABEL, K8S_PART_OF_LABEL, k8sName } from './labels.js';

export const ANP_API_VERSION = 'policy.networking.k8s.io/v1alpha1';
const DEFAULT_TENANT_PRIORITY = 100;

export interface AnpNamespaceSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}
export type AnpAction = 'Allow' | 'Deny' | 'Pass';
export interface AnpIngressRule {
  name: string;
  action: AnpAction;
  from: Array<{ namespaces: AnpNamespaceSelector }>;
}
export interface AnpEgressRule {
  name: string;
  action: AnpAction;
  to: Array<{ namespaces: AnpNamespaceSelector }>;
}
export interface AdminNetworkPolicy {
  apiVersion: typeof ANP_API_VERSION;
  kind: 'AdminNetworkPolicy';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    priority: number;
    subject: { namespaces: AnpNamespaceSelector };
    ingress: AnpIngressRule[];
    egress: AnpEgressRule[];
  };
}

export interface TenantIsolationOptions {
  /** 0..1000; see the file comment. */
  priority?: number;
}

/** The namespace an application is exported into, as the other exports name it. */
const appNamespace = (app: App): string => k8sName(app.name);

/**
 * One ANP per tenant of `apps`, sorted by tenant. Pure: the objects can be rendered, or fed
 * to an ANP analysis.
 */
export function tenantIsolationPolicies(apps: readonly App[], opts: TenantIsolationOptions = {}): Result<AdminNetworkPolicy[]> {
  const priority = opts.priority ?? DEFAULT_TENANT_PRIORITY;
  const errors: Diagnostic[] = [];
  if (!Number.isInteger(priority) || priority < 0 || priority > 1000)
    errors.push(
      diag(K8sExportCode.UNSUPPORTED, `AdminNetworkPolicy priority must be a whole number in 0..1000, got ${priority}`, {
        field: 'priority',
      }),
    );
  errors.push(...tenantProblems(apps));
  if (errors.length) return fail(errors);
  const tenants = [...new Set(apps.map((a) => a.tenant))].sort();
  return ok(tenants.map((t) => tenantPolicy(t, priority)));
}

/** The labelled namespaces the policies select, then the policies, as multi-document YAML. */
export function renderTenantIsolation(apps: readonly App[], opts: TenantIsolationOptions = {}): Result<string> {
  const policies = tenantIsolationPolicies(apps, opts);
  if (!policies.ok) return policies;
  const namespaces = [...new Map(apps.map((a) => [appNamespace(a), a.tenant]))].map(([name, tenant]) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { [K8S_NAMESPACE_NAME_LABEL]: name, [FLOWTAP_TENANT_LABEL]: tenant } },
  }));
  return ok([...namespaces, ...policies.value].map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n'));
}

function tenantProblems(apps: readonly App[]): Diagnostic[] {
  const errors: Diagnostic[] = [];
  const tenantOf = new Map<string, App>();
  const byPolicyName = new Map<string, string>();
  for (const app of apps) {
    const where = { file: app.source, field: 'tenant' };
    if (!app.tenant || !isLabelValue(app.tenant)) {
      errors.push(diag(K8sExportCode.NAME, `tenant "${app.tenant}" of ${app.name} is not a valid Kubernetes label value`, where));
      continue;
    }
    const other = byPolicyName.get(policyName(app.tenant));
    if (other !== undefined && other !== app.tenant)
      errors.push(
        diag(
          K8sExportCode.NAME,
          `tenants "${other}" and "${app.tenant}" would share the AdminNetworkPolicy ${policyName(app.tenant)}`,
          where,
        ),
      );
    byPolicyName.set(policyName(app.tenant), app.tenant);
    const ns = appNamespace(app);
    const first = tenantOf.get(ns);
    if (first && first.tenant !== app.tenant)
      errors.push(
        diag(
          K8sExportCode.DUP_NAMESPACE,
          `applications ${first.name} (tenant ${first.tenant}) and ${app.name} (tenant ${app.tenant}) would share namespace ${ns}; a namespace has one tenant`,
          { file: app.source, field: 'app' },
        ),
      );
    if (!first) tenantOf.set(ns, app);
  }
  return errors;
}

const policyName = (tenant: string) => `flowtap-tenant-${k8sName(tenant)}`.slice(0, 253);

function tenantPolicy(tenant: string, priority: number): AdminNetworkPolicy {
  // Fresh objects each time, so the policy can be changed by its user without touching another part of it.
  const own = (): AnpNamespaceSelector => ({ matchLabels: { [FLOWTAP_TENANT_LABEL]: tenant } });
  const others = (): AnpNamespaceSelector => ({
    matchExpressions: [
      { key: FLOWTAP_TENANT_LABEL, operator: 'Exists' },
      { key: FLOWTAP_TENANT_LABEL, operator: 'NotIn', values: [tenant] },
    ],
  });
  return {
    apiVersion: ANP_API_VERSION,
    kind: 'AdminNetworkPolicy',
    metadata: { name: policyName(tenant), labels: { [K8S_PART_OF_LABEL]: 'flowtap', [FLOWTAP_TENANT_LABEL]: tenant } },
    spec: {
      priority,
      subject: { namespaces: own() },
      // Rules of one ANP apply in order; Deny and Pass select disjoint namespaces, so the order only reads well.
      ingress: [
        { name: 'deny-from-other-tenants', action: 'Deny', from: [{ namespaces: others() }] },
        { name: 'pass-within-tenant', action: 'Pass', from: [{ namespaces: own() }] },
      ],
      egress: [
        { name: 'deny-to-other-tenants', action: 'Deny', to: [{ namespaces: others() }] },
        { name: 'pass-within-tenant', action: 'Pass', to: [{ namespaces: own() }] },
      ],
    },
  };
}
