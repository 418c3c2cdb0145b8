/**
 * Kubernetes exports of an application's policy: NetworkPolicies from the inferred ruleset,
 * CiliumNetworkPolicies with L7 HTTP rules from the requirements (and a reader and evaluator
 * for them), and AdminNetworkPolicies isolating tenants from each other.
 */
export { renderK8sNetworkPolicies, type K8sRenderOptions } from './networkpolicy.js';
export {
  ciliumPolicies,
  renderCiliumPolicies,
  CILIUM_API_VERSION,
  KUBE_DNS_SELECTOR,
  type CiliumExport,
  type CiliumNetworkPolicy,
  type CiliumRenderOptions,
  type CnpEgressRule,
  type CnpHttpRule,
  type CnpIngressRule,
  type CnpPortProtocol,
  type CnpPortRule,
  type CnpSelector,
} from './cilium.js';
export {
  parseCiliumPolicies,
  readCiliumPolicies,
  cnpAllowances,
  selectorName,
  type CnpAllowance,
  type CnpPeer,
  type ReadCnp,
  type ReadHttpRule,
  type ReadPort,
  type ReadPortRule,
  type ReadRule,
} from './cilium-read.js';
export {
  cnpAllows,
  cnpDecide,
  normalizeRequestPath,
  type CnpDecision,
  type CnpEvalOptions,
  type CnpParty,
  type CnpRequest,
} from './cilium-eval.js';
export {
  tenantIsolationPolicies,
  renderTenantIsolation,
  appNamespace,
  ANP_API_VERSION,
  DEFAULT_TENANT_PRIORITY,
  type AdminNetworkPolicy,
  type AnpAction,
  type AnpEgressRule,
  type AnpIngressRule,
  type AnpNamespaceSelector,
  type TenantIsolationOptions,
} from './admin-network-policy.js';
export { pathPatternRegex, methodRegex } from './path-regex.js';
export { compileRegex, regexShapeProblems, MAX_REGEX_LENGTH, type CompiledRegex } from './regex/index.js';
export { FLOWTAP_TENANT_LABEL, K8S_NAME_LABEL } from './labels.js';
export type { Endpoint, LabelSelector } from './selector.js';
