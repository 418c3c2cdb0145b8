/**
 * The kinds the adapter follows, cluster-wide: what decides an application's workloads,
 * instances, addresses, exposure and requirements, and the policies in force.
 */
export interface ResourceKind {
  kind: string;
  apiVersion: string;
  /** The cluster-wide collection, for list and watch. */
  path: string;
  namespaced: boolean;
  /** Only these objects are followed (ConfigMaps: only flowtap's). */
  fieldSelector?: string;
}

/** Name of the ConfigMap holding an application's requirements (see annotations.ts). */
export const REQUIREMENTS_CONFIGMAP = 'flowtap-requirements';

export const RESOURCE_KINDS: readonly ResourceKind[] = [
  { kind: 'Namespace', apiVersion: 'v1', path: '/api/v1/namespaces', namespaced: false },
  { kind: 'Pod', apiVersion: 'v1', path: '/api/v1/pods', namespaced: true },
  { kind: 'Deployment', apiVersion: 'apps/v1', path: '/apis/apps/v1/deployments', namespaced: true },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', path: '/apis/apps/v1/statefulsets', namespaced: true },
  { kind: 'DaemonSet', apiVersion: 'apps/v1', path: '/apis/apps/v1/daemonsets', namespaced: true },
  { kind: 'Service', apiVersion: 'v1', path: '/api/v1/services', namespaced: true },
  { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', path: '/apis/discovery.k8s.io/v1/endpointslices', namespaced: true },
  { kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', path: '/apis/networking.k8s.io/v1/networkpolicies', namespaced: true },
  {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    path: '/api/v1/configmaps',
    namespaced: true,
    fieldSelector: `metadata.name=${REQUIREMENTS_CONFIGMAP}`,
  },
];
