/**
 * How a cluster says which workloads form a flowtap application, and what they require.
 * Everything is opt-in and lives beside the workloads, in the forms a descriptor uses:
 *
 * - Namespace label `flowtap.io/app: NAME`: the namespace holds application NAME (one
 *   namespace per application). The label `flowtap.io/tenant: TENANT` names its tenant
 *   (default `default`); it is the label the NetworkPolicy export's tenant isolation already
 *   selects namespaces by. Either may be given as an annotation instead; a label and an
 *   annotation that disagree are an error.
 * - Namespace annotation `flowtap.io/network: CIDR` (optional): the application network,
 *   i.e. what `external` is not; by default the block (a /16 or wider) that covers every pod
 *   address of the application.
 * - ConfigMap `flowtap-requirements` in the namespace, key `requirements.yaml`: the
 *   descriptor's `requirements:` section copied as it is from an app.yaml (L7 constraints
 *   included). Services are named after their workloads: a Deployment, StatefulSet or
 *   DaemonSet by its name, a pod of no controller by its own name.
 * - Workload annotation `flowtap.io/exposure: public | internal` (optional): by default a
 *   workload is public when a LoadBalancer or NodePort Service selects its pods.
 *
 * What flowtap writes: the pod label `flowtap.io/quarantine: "true"` while an instance is
 * isolated, and NetworkPolicies labelled `app.kubernetes.io/managed-by: flowtap` with
 * `flowtap.io/role: firewall` (the inferred firewall) or `quarantine` (one per isolated pod).
 */
export const APP_KEY = 'flowtap.io/app';
export const TENANT_KEY = 'flowtap.io/tenant';
export const NETWORK_ANNOTATION = 'flowtap.io/network';
export const EXPOSURE_ANNOTATION = 'flowtap.io/exposure';
export const REQUIREMENTS_KEY = 'requirements.yaml';
export const QUARANTINE_LABEL = 'flowtap.io/quarantine';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'flowtap';
export const ROLE_LABEL = 'flowtap.io/role';
/** What `kubectl rollout restart` sets: a changed pod template makes the controller replace every pod. */
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';
