/**
 * The resource types the stand-in serves, as discovery announces them. Every type is stored the
 * same way; what differs is scope, names, whether a status subresource owns `.status`, and which
 * fields a field selector may name (the real server refuses any other field, and so does this).
 */

export interface ResourceType {
  group: string;
  version: string;
  /** The path segment and discovery name: `pods`. */
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: readonly string[];
  categories: readonly string[];
  /** Writes to the object keep its stored status; only `/status` changes it. */
  statusSubresource: boolean;
  /** `/scale` reads and sets spec.replicas as an autoscaling/v1 Scale. */
  scaleSubresource: boolean;
  /** Field-selector fields besides metadata.name and metadata.namespace. */
  fields: readonly string[];
  /** DNS-1123 label (63 characters, no dots) rather than subdomain names. */
  labelNames: boolean;
}

const ALL = ['all'] as const;

function resource(
  group: string,
  version: string,
  plural: string,
  kind: string,
  more: Partial<Omit<ResourceType, 'group' | 'version' | 'plural' | 'kind'>> = {},
): ResourceType {
  return Object.freeze({
    group,
    version,
    plural,
    kind,
    singular: kind.toLowerCase(),
    namespaced: true,
    shortNames: [],
    categories: [],
    statusSubresource: false,
    scaleSubresource: false,
    fields: [],
    labelNames: false,
    ...more,
  });
}

export const RESOURCES: readonly ResourceType[] = Object.freeze([
  resource('', 'v1', 'namespaces', 'Namespace', {
    namespaced: false,
    shortNames: ['ns'],
    statusSubresource: true,
    fields: ['status.phase'],
    labelNames: true,
  }),
  resource('', 'v1', 'nodes', 'Node', { namespaced: false, shortNames: ['no'], statusSubresource: true, fields: ['spec.unschedulable'] }),
  resource('', 'v1', 'pods', 'Pod', {
    shortNames: ['po'],
    categories: ALL,
    statusSubresource: true,
    fields: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  }),
  resource('', 'v1', 'services', 'Service', { shortNames: ['svc'], categories: ALL, statusSubresource: true, labelNames: true }),
  resource('', 'v1', 'endpoints', 'Endpoints', { shortNames: ['ep'], singular: 'endpoints' }),
  resource('', 'v1', 'configmaps', 'ConfigMap', { shortNames: ['cm'] }),
  resource('', 'v1', 'secrets', 'Secret', { fields: ['type'] }),
  resource('', 'v1', 'serviceaccounts', 'ServiceAccount', { shortNames: ['sa'] }),
  resource('', 'v1', 'events', 'Event', {
    shortNames: ['ev'],
    fields: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'reason', 'type'],
  }),
  resource('apps', 'v1', 'deployments', 'Deployment', {
    scaleSubresource: true,
    shortNames: ['deploy'],
    categories: ALL,
    statusSubresource: true,
  }),
  resource('apps', 'v1', 'statefulsets', 'StatefulSet', {
    scaleSubresource: true,
    shortNames: ['sts'],
    categories: ALL,
    statusSubresource: true,
  }),
  resource('apps', 'v1', 'daemonsets', 'DaemonSet', { shortNames: ['ds'], categories: ALL, statusSubresource: true }),
  resource('apps', 'v1', 'replicasets', 'ReplicaSet', {
    scaleSubresource: true,
    shortNames: ['rs'],
    categories: ALL,
    statusSubresource: true,
  }),
  resource('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice'),
  resource('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy', { shortNames: ['netpol'] }),
  resource('networking.k8s.io', 'v1', 'ingresses', 'Ingress', { shortNames: ['ing'], statusSubresource: true }),
  resource('policy.networking.k8s.io', 'v1alpha1', 'adminnetworkpolicies', 'AdminNetworkPolicy', {
    namespaced: false,
    shortNames: ['anp'],
    statusSubresource: true,
  }),
  resource('policy.networking.k8s.io', 'v1alpha1', 'baselineadminnetworkpolicies', 'BaselineAdminNetworkPolicy', {
    namespaced: false,
    shortNames: ['banp'],
    statusSubresource: true,
  }),
]);

export function apiVersionOf(r: ResourceType): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

export function resourceByPath(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function resourceByKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

/** The group/versions served, each group once, in the order discovery lists them. */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Set<string>();
  const out: { group: string; version: string }[] = [];
  for (const r of RESOURCES) {
    const gv = apiVersionOf(r);
    if (!seen.has(gv)) {
      seen.add(gv);
      out.push({ group: r.group, version: r.version });
    }
  }
  return out;
}
