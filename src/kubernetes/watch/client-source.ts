/**
 * The real sources: each kind's list through @kubernetes/client-node's typed calls (paged),
 * its watch through the client's Watch, both authenticated as the kubeconfig says.
 */
import { AppsV1Api, CoreV1Api, DiscoveryV1Api, type KubeConfig, NetworkingV1Api, Watch } from '@kubernetes/client-node';
// Not re-exported by the package's index; the version is pinned (~1.4.0).
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import type { ResourceKind } from './kinds.js';
import type { ListPage, WatchSource } from './source.js';

/**
 * The client's model type of each kind. Typed list answers are the client's classes, whose
 * fields are not always the wire's (a NetworkPolicy rule's `from` is `_from`): they go back to
 * the wire form, the one watch events have, so the cache holds one form only.
 */
const MODEL: Record<string, string> = {
  Namespace: 'V1Namespace',
  Pod: 'V1Pod',
  Service: 'V1Service',
  ConfigMap: 'V1ConfigMap',
  Deployment: 'V1Deployment',
  StatefulSet: 'V1StatefulSet',
  DaemonSet: 'V1DaemonSet',
  EndpointSlice: 'V1EndpointSlice',
  NetworkPolicy: 'V1NetworkPolicy',
};

/** Big enough that a few hundred pods take one request, small enough to bound one answer. */
const PAGE = 500;

interface ListParams {
  limit: number;
  _continue?: string;
  fieldSelector?: string;
}
type TypedList = { items: unknown[]; metadata?: { resourceVersion?: string; _continue?: string } };
type Lister = (p: ListParams) => Promise<TypedList>;

function lister(kc: KubeConfig, kind: string): Lister {
  switch (kind) {
    case 'Namespace': {
      const api = kc.makeApiClient(CoreV1Api);
      return (p) => api.listNamespace(p);
    }
    case 'Pod': {
      const api = kc.makeApiClient(CoreV1Api);
      return (p) => api.listPodForAllNamespaces(p);
    }
    case 'Service': {
      const api = kc.makeApiClient(CoreV1Api);
      return (p) => api.listServiceForAllNamespaces(p);
    }
    case 'ConfigMap': {
      const api = kc.makeApiClient(CoreV1Api);
      return (p) => api.listConfigMapForAllNamespaces(p);
    }
    case 'Deployment': {
      const api = kc.makeApiClient(AppsV1Api);
      return (p) => api.listDeploymentForAllNamespaces(p);
    }
    case 'StatefulSet': {
      const api = kc.makeApiClient(AppsV1Api);
      return (p) => api.listStatefulSetForAllNamespaces(p);
    }
    case 'DaemonSet': {
      const api = kc.makeApiClient(AppsV1Api);
      return (p) => api.listDaemonSetForAllNamespaces(p);
    }
    case 'EndpointSlice': {
      const api = kc.makeApiClient(DiscoveryV1Api);
      return (p) => api.listEndpointSliceForAllNamespaces(p);
    }
    case 'NetworkPolicy': {
      const api = kc.makeApiClient(NetworkingV1Api);
      return (p) => api.listNetworkPolicyForAllNamespaces(p);
    }
    default:
      throw new Error(`no list call for kind ${kind}`);
  }
}

export function clientSource(kc: KubeConfig, k: ResourceKind): WatchSource {
  const list = lister(kc, k.kind);
  const model = MODEL[k.kind];
  const watch = new Watch(kc);
  return {
    async list(): Promise<ListPage> {
      const items: unknown[] = [];
      let token: string | undefined;
      let resourceVersion = '';
      do {
        const page = await list({
          limit: PAGE,
          ...(token ? { _continue: token } : {}),
          ...(k.fieldSelector ? { fieldSelector: k.fieldSelector } : {}),
        });
        // Through JSON too: the serializer leaves absent fields as keys holding undefined.
        for (const item of page.items ?? []) items.push(JSON.parse(JSON.stringify(ObjectSerializer.serialize(item, model))));
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        token = page.metadata?._continue || undefined;
      } while (token);
      return { items, resourceVersion };
    },
    async watch(resourceVersion, callbacks) {
      let ended = false;
      const params: Record<string, string | boolean> = { allowWatchBookmarks: true };
      if (resourceVersion) params.resourceVersion = resourceVersion;
      if (k.fieldSelector) params.fieldSelector = k.fieldSelector;
      const controller = await watch.watch(
        k.path,
        params,
        (type: string, object: unknown) => {
          if (!ended) callbacks.event(type, object);
        },
        (err: unknown) => {
          if (ended) return;
          ended = true;
          callbacks.done(err ?? null);
        },
      );
      return {
        stop() {
          ended = true;
          controller.abort();
        },
      };
    },
  };
}
