/**
 * The changes the adapter makes on a cluster, behind one small interface: the real one goes
 * through @kubernetes/client-node (client-api.ts), the recording fake (testing.ts) keeps what
 * was asked, in order, for tests without a server.
 */
import type { KubeObject } from './watch/index.js';

export type RestartableKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

export interface ClusterApi {
  /** Merges labels into a pod's; a null value removes the label. */
  patchPodLabels(namespace: string, pod: string, labels: Record<string, string | null>): Promise<void>;
  deletePod(namespace: string, pod: string): Promise<void>;
  /** What `kubectl rollout restart` does: stamps the pod template, so the controller replaces every pod. */
  restartWorkload(namespace: string, kind: RestartableKind, name: string, at: string): Promise<void>;
  /** Creates the policy, or replaces the one of that name. */
  putNetworkPolicy(policy: KubeObject): Promise<'created' | 'replaced'>;
  /** False when there was none to delete. */
  deleteNetworkPolicy(namespace: string, name: string): Promise<boolean>;
}
