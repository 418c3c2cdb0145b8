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

/** A Kubernetes Service object (the load-balancing kind, not a flowtap service). */
export interface K8sServiceObject {
  namespace: string;
  name: string;
  type: string;
  selector: Record<string, string>;
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
  /** What was read but not modelled (other kinds, SCTP ports, IPv6 blocks), positioned. */
  notes: Diagnostic[];
}
