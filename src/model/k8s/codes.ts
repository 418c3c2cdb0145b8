/**
 * Diagnostic codes of the Kubernetes manifest import. Errors start with `E_`;
 * notes (things read but deliberately not modelled) with `W_`. Generic problems
 * (unreadable file, YAML syntax, wrong type, missing key, bad CIDR) reuse ModelCode.
 */
export const K8sCode = {
  /** A document that is not a Kubernetes object (no `kind`, not a mapping). */
  NOT_OBJECT: 'E_K8S_NOT_OBJECT',
  /** Two workloads with the same namespace and name. */
  DUP_WORKLOAD: 'E_K8S_DUP_WORKLOAD',
  /** Two namespaces, NetworkPolicies or Services with the same namespace and name. */
  DUP_OBJECT: 'E_K8S_DUP_OBJECT',
  /** A name or label that Kubernetes would reject. */
  NAME: 'E_K8S_NAME',
  /** Bad label selector (unknown operator, values where none belong, ...). */
  SELECTOR: 'E_K8S_SELECTOR',
  /** A NetworkPolicy peer that is empty or mixes ipBlock with selectors. */
  PEER: 'E_K8S_PEER',
  /** Port number out of range, endPort below port or with a named port, bad port name. */
  PORT: 'E_K8S_PORT',
  /** An ipBlock `except` outside its `cidr`. */
  EXCEPT: 'E_K8S_EXCEPT',
  /** No manifest files found. */
  NO_MANIFESTS: 'E_K8S_NO_MANIFESTS',
  /** A kind flowtap does not model; the object is ignored. */
  IGNORED_KIND: 'W_K8S_IGNORED_KIND',
  /** SCTP is not modelled; the port is ignored (which never allows more). */
  SCTP: 'W_K8S_SCTP',
  /** IPv6 blocks are not modelled; the peer is ignored (which never allows more). */
  IPV6: 'W_K8S_IPV6',
  /** A pod owned by a workload that the manifests also declare: the workload stands for it. */
  OWNED_POD: 'W_K8S_OWNED_POD',
  /** A second container port with a name already used in the pod: named ports resolve to the first. */
  DUP_PORT_NAME: 'W_K8S_DUP_PORT_NAME',
} as const;

export type K8sCode = (typeof K8sCode)[keyof typeof K8sCode];
