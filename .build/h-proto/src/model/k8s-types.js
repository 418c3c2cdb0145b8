export const K8S_WORKLOAD_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'];
/** The label Kubernetes puts on every namespace (and flowtap on every imported one). */
export const K8S_NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
//# sourceMappingURL=k8s-types.js.map