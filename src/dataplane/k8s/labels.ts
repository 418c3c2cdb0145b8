/**
 * The labels and names every Kubernetes export agrees on, so a NetworkPolicy, a
 * CiliumNetworkPolicy and an AdminNetworkPolicy written for one application select the same
 * workloads and namespaces.
 */

/** Selects a service's pods; the Deployments of `withWorkloads` carry it. */
export const K8S_NAME_LABEL = 'app.kubernetes.io/name';
export const K8S_PART_OF_LABEL = 'app.kubernetes.io/part-of';
/** Set by Kubernetes itself on every namespace (1.22+), so selecting by it needs no labelling step. */
export const K8S_NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
/** Marks a namespace as belonging to a tenant; tenant isolation selects on it. */
export const FLOWTAP_TENANT_LABEL = 'flowtap.io/tenant';

/** A DNS-label form of a flowtap name: flowtap names are already lowercase labels, this only guards hand-built models. */
export function k8sName(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63) || 'x'
  );
}

const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Whether Kubernetes accepts `s` as a label value (63 characters at most, alphanumeric at both ends). */
export function isLabelValue(s: string): boolean {
  return LABEL_VALUE.test(s);
}
