/**
 * The scale subresource (`kubectl scale`, autoscalers): a Deployment's, StatefulSet's or
 * ReplicaSet's replicas as an autoscaling/v1 Scale, which shares the object's name, uid and
 * resourceVersion; writing it writes spec.replicas of the object.
 */
import { at, isMap, type KubeObject } from './object.js';
import { accept, type Outcome, refuse } from './status.js';
import { selectorText } from './table.js';

export function scaleOf(o: KubeObject): object {
  const m = o.metadata;
  const status = at(o, 'status.replicas');
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: at(o, 'spec.replicas') ?? 1 },
    status: { replicas: typeof status === 'number' ? status : 0, selector: selectorText(at(o, 'spec.selector')).replace(/^<none>$/, '') },
  };
}

/** The object with the replicas a Scale body asks for (and its resourceVersion, a precondition when set). */
export function scaled(o: KubeObject, body: unknown): Outcome<KubeObject> {
  if (!isMap(body)) return refuse('E_KAPI_BAD_REQUEST', 'a Scale must be a JSON object', undefined, 'body');
  const replicas = at(body, 'spec.replicas');
  if (!Number.isInteger(replicas) || (replicas as number) < 0)
    return refuse(
      'E_KAPI_INVALID',
      `Scale.autoscaling "${o.metadata.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
      undefined,
      'spec.replicas',
    );
  const rv = at(body, 'metadata.resourceVersion');
  return accept({
    ...o,
    metadata: { ...o.metadata, resourceVersion: typeof rv === 'string' && rv ? rv : undefined },
    spec: { ...(isMap(o.spec) ? o.spec : {}), replicas },
  });
}
