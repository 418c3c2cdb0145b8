/**
 * Kubernetes exports of an application's policy: NetworkPolicies from the inferred ruleset,
 * CiliumNetworkPolicies with L7 HTTP rules from the requirements (and a reader and evaluator
 * for them), and AdminNetworkPolicies isolating tenants from each other.
 */
export { renderK8sNetworkPolicies } from './networkpolicy.js';
export { renderCiliumPolicies } from './cilium.js';
export {
  parseCiliumPolicies,
  cnpAllowances,
  type ReadCnp,
} from './cilium-read.js';
export {
  cnpAllows,
  cnpDecide,
  normalizeRequestPath,
} from './cilium-eval.js';
export {
  tenantIsolationPolicies,
  renderTenantIsolation,
} from './admin-network-policy.js';
export { pathPatternRegex } from './path-regex.js';
export { compileRegex, regexShapeProblems } from './regex/index.js';
