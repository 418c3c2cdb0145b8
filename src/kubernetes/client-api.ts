/** The cluster changes through @kubernetes/client-node, authenticated as the kubeconfig says. */
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1NetworkPolicy,
} from '@kubernetes/client-node';
// Not re-exported by the package's index; the version is pinned (~1.4.0).
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { RESTARTED_AT_ANNOTATION } from './annotations.js';
import type { ClusterApi } from './api.js';
import { KubernetesCode } from './codes.js';
import { describeError, httpStatus } from './watch/index.js';

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function clientApi(kc: KubeConfig): ClusterApi {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const net = kc.makeApiClient(NetworkingV1Api);
  return {
    async patchPodLabels(namespace, pod, labels) {
      await call(`label pod ${namespace}/${pod}`, () =>
        core.patchNamespacedPod({ name: pod, namespace, body: { metadata: { labels } } }, MERGE),
      );
    },
    async deletePod(namespace, pod) {
      await call(`delete pod ${namespace}/${pod}`, () => core.deleteNamespacedPod({ name: pod, namespace }));
    },
    async restartWorkload(namespace, kind, name, at) {
      const body = { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at } } } } };
      const what = `restart ${kind} ${namespace}/${name}`;
      if (kind === 'Deployment') await call(what, () => apps.patchNamespacedDeployment({ name, namespace, body }, MERGE));
      else if (kind === 'StatefulSet') await call(what, () => apps.patchNamespacedStatefulSet({ name, namespace, body }, MERGE));
      else await call(what, () => apps.patchNamespacedDaemonSet({ name, namespace, body }, MERGE));
    },
    async putNetworkPolicy(policy) {
      const namespace = policy.metadata.namespace ?? 'default';
      const name = policy.metadata.name;
      // The client writes its model class, not the wire form: a rule's `from` must be `_from` there, or it is silently dropped.
      const body = ObjectSerializer.deserialize(policy, 'V1NetworkPolicy') as V1NetworkPolicy;
      try {
        await net.createNamespacedNetworkPolicy({ namespace, body });
        return 'created';
      } catch (e) {
        if (httpStatus(e) !== 409) throw apiError(`create NetworkPolicy ${namespace}/${name}`, e);
      }
      await call(`replace NetworkPolicy ${namespace}/${name}`, () => net.replaceNamespacedNetworkPolicy({ name, namespace, body }));
      return 'replaced';
    },
    async deleteNetworkPolicy(namespace, name) {
      try {
        await net.deleteNamespacedNetworkPolicy({ name, namespace });
        return true;
      } catch (e) {
        if (httpStatus(e) === 404) return false;
        throw apiError(`delete NetworkPolicy ${namespace}/${name}`, e);
      }
    },
  };
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw apiError(what, e);
  }
}

function apiError(what: string, e: unknown): FlowtapError {
  return new FlowtapError(diag(KubernetesCode.API, `kubernetes: ${what} failed: ${describeError(e)}`));
}
