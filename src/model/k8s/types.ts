/**
 * Kubernetes manifests as flowtap reads them: only the parts that decide who can
 * talk to whom (workloads, their labels and ports, namespaces and their labels,
 * NetworkPolicies), with Kubernetes' defaults already applied.
 */
import type { Diagnostic, Location } from '../../diagnostics/index.js';
import type { Addressing, App } from '../types.js';

export type K8sProtocol = 'TCP' | 'UDP' | 'SCTP';

/** The label Kubernetes puts on every namespace (and flowtap on every imported one). */
export const K8S_NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface K8sContainerPort {
  name?: string;
  port: number;
  protocol: K8sProtocol;
}

export interface K8sWorkload {
  /** `namespace/name`: also the name of the flowtap service that stands for it. */
  id: string;
  namespace: string;
  name: string;
  /** Deployment, StatefulSet, ...; `Pod` for a bare pod. Printed as `ns/name[Kind]`. */
  kind: string;
  /** Labels of its pods (the pod template's). */
  labels: Record<string, string>;
  /** Container ports of its pods, in declaration order (named ports resolve against these). */
  ports: K8sContainerPort[];
  replicas: number;
  loc?: Location;
}

export interface K8sNamespace {
  name: string;
  /** Includes `kubernetes.io/metadata.name`. */
  labels: Record<string, string>;
  /** False for a namespace only referred to by objects in it. */
  declared: boolean;
  loc?: Location;
}

export interface K8sSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values: string[];
}

/** A label selector; an empty one selects everything. */
export interface K8sLabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: K8sSelectorRequirement[];
}

export interface K8sIpBlock {
  cidr: string;
  except: string[];
}

/**
 * One entry of `from`/`to`. Pod selector alone: pods of the policy's namespace;
 * namespace selector alone: all pods of those namespaces; both: pods matching both.
 */
export type K8sPolicyPeer =
  | { podSelector?: K8sLabelSelector; namespaceSelector?: K8sLabelSelector; ipBlock?: undefined }
  | { ipBlock: K8sIpBlock; podSelector?: undefined; namespaceSelector?: undefined };

export interface K8sPolicyPort {
  protocol: K8sProtocol;
  /** Number, container port name, or absent for every port of the protocol. */
  port?: number | string;
  /** Last port of a range starting at the numeric `port`. */
  endPort?: number;
}

export interface K8sPolicyRule {
  /** Empty = every peer (the field was empty or missing). */
  peers: K8sPolicyPeer[];
  /** Empty = every port and protocol. */
  ports: K8sPolicyPort[];
  loc?: Location;
}

export interface K8sNetworkPolicy {
  namespace: string;
  name: string;
  podSelector: K8sLabelSelector;
  /** After Kubernetes' default: Ingress, plus Egress when the policy has egress rules. */
  policyTypes: Array<'Ingress' | 'Egress'>;
  ingress: K8sPolicyRule[];
  egress: K8sPolicyRule[];
  loc?: Location;
}

/** One port of a Service: traffic to `port` goes to `targetPort` of the pods it selects. */
export interface K8sServicePort {
  name?: string;
  port: number;
  /** A number, or a container port name resolved per pod; defaults to `port`. */
  targetPort: number | string;
  protocol: K8sProtocol;
}

/** A Kubernetes Service object (the load-balancing kind, not a flowtap service). */
export interface K8sServiceObject {
  namespace: string;
  name: string;
  type: string;
  selector: Record<string, string>;
  /** Absent on objects built before ports were read; treated as none. */
  ports?: K8sServicePort[];
  loc?: Location;
}

/** An Ingress backend: a Service of the Ingress's namespace and one of its ports. */
export interface K8sIngressBackend {
  service: string;
  /** The Service port's number or name. */
  port: number | string;
  loc?: Location;
}

/** A networking.k8s.io/v1 Ingress, reduced to the Services it routes to. */
export interface K8sIngress {
  namespace: string;
  name: string;
  /** The default backend and every rule path's backend, in manifest order. */
  backends: K8sIngressBackend[];
  loc?: Location;
}

/** What an AdminNetworkPolicy rule does with the traffic it matches. */
export type K8sAdminAction = 'Allow' | 'Deny' | 'Pass';

/** Pods of namespaces matching `namespaceSelector` that match `podSelector`. */
export interface K8sNamespacedPods {
  namespaceSelector: K8sLabelSelector;
  podSelector: K8sLabelSelector;
}

/** Whom an admin policy applies to (exactly one form). */
export type K8sAdminSubject = { namespaces: K8sLabelSelector; pods?: undefined } | { pods: K8sNamespacedPods; namespaces?: undefined };

/** A peer of an admin policy rule; `networks` (IPv4 blocks) only in egress rules. */
export type K8sAdminPeer =
  | { namespaces: K8sLabelSelector; pods?: undefined; networks?: undefined }
  | { pods: K8sNamespacedPods; namespaces?: undefined; networks?: undefined }
  | { networks: string[]; namespaces?: undefined; pods?: undefined };

/** `portNumber` (port), `portRange` (port..endPort) or `namedPort` (name, any protocol). */
export type K8sAdminPort = { protocol: K8sProtocol; port: number; endPort?: number; name?: undefined } | { name: string; port?: undefined };

export interface K8sAdminRule {
  name: string;
  action: K8sAdminAction;
  /** At least one; a peer that cannot match here (nodes, IPv6 networks) is left out. */
  peers: K8sAdminPeer[];
  /** null: every port and protocol (the field is absent). */
  ports: K8sAdminPort[] | null;
  loc?: Location;
}

/**
 * policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy (cluster-wide, `priority` 0..1000,
 * lower first) or BaselineAdminNetworkPolicy (the one named `default`; no priority, it
 * applies after NetworkPolicies and only Allow/Deny).
 */
export interface K8sAdminPolicy {
  kind: 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy';
  name: string;
  /** AdminNetworkPolicy only. */
  priority?: number;
  subject: K8sAdminSubject;
  ingress: K8sAdminRule[];
  egress: K8sAdminRule[];
  loc?: Location;
}

export interface K8sImport {
  /**
   * One flowtap service per workload, named `namespace/name`; instances `<service>-<n>`.
   * Exposure is `public` for workloads a LoadBalancer or NodePort Service selects.
   */
  app: App;
  /** Deterministic pod addresses in `app.network` (the local cloud's layout). */
  addressing: Addressing;
  namespaces: K8sNamespace[];
  workloads: K8sWorkload[];
  policies: K8sNetworkPolicy[];
  services: K8sServiceObject[];
  /** AdminNetworkPolicies, highest precedence first (priority, then name). */
  adminPolicies?: K8sAdminPolicy[];
  /** The BaselineAdminNetworkPolicy, if the manifests have one. */
  baselinePolicy?: K8sAdminPolicy;
  ingresses?: K8sIngress[];
  /**
   * Warnings: what was read but not modelled (other kinds, IPv6 blocks), what the API
   * server would refuse (bad names, unknown fields) and documents that are no objects.
   */
  notes: Diagnostic[];
}
