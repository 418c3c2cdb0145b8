/**
 * What the stand-in's controllers share: reading the store, writing without ever throwing (a
 * controller that cannot write leaves the object as it is, like a real one that keeps
 * retrying), owner references, and pod readiness.
 */
import { controllerOf, copy, isMap, type KubeObject, type OwnerReference } from '../object.js';
import type { ResourceType } from '../resources.js';
import type { ObjectStore } from '../store.js';

export class Access {
  constructor(readonly store: ObjectStore) {}

  /** The type of a kind the stand-in serves; the controllers only ask for those. */
  type(kind: string): ResourceType {
    const r = this.store.resource(kind);
    if (!r) throw new Error(`no resource of kind ${kind}`);
    return r;
  }

  all(kind: string, namespace?: string): KubeObject[] {
    const items = this.store.items(this.type(kind), namespace);
    return items.ok ? items.value.map((e) => e.object) : [];
  }

  /** An object by kind and name; undefined too for a kind the stand-in does not serve (an owner such as a Job). */
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const r = this.store.resource(kind);
    return r && this.store.get(r, namespace, name);
  }

  /** The current object behind a (possibly stale) one: same name and uid, or undefined. */
  fresh(kind: string, obj: KubeObject): KubeObject | undefined {
    const cur = this.get(kind, obj.metadata.namespace, obj.metadata.name!);
    return cur && cur.metadata.uid === obj.metadata.uid ? cur : undefined;
  }

  /** Objects of `kind` in `namespace` whose controller is `owner`. */
  ownedBy(kind: string, owner: KubeObject): KubeObject[] {
    return this.all(kind, owner.metadata.namespace).filter((o) => controllerOf(o)?.uid === owner.metadata.uid);
  }

  create(kind: string, namespace: string | undefined, obj: KubeObject): KubeObject | undefined {
    const r = this.store.create(this.type(kind), namespace, obj);
    return r.ok ? r.value : undefined;
  }

  /** Writes `change(copy)` of the object's current state when that differs; the store skips no-op writes. */
  update(kind: string, obj: KubeObject, change: (o: KubeObject) => void, status = false): KubeObject | undefined {
    const cur = this.fresh(kind, obj);
    if (!cur) return undefined;
    const next = copy(cur) as KubeObject;
    change(next);
    const r = this.store.update(this.type(kind), cur.metadata.namespace, cur.metadata.name!, next, {
      subresource: status ? 'status' : undefined,
      adopt: true,
    });
    return r.ok ? r.value : undefined;
  }

  delete(kind: string, obj: KubeObject): void {
    if (this.fresh(kind, obj))
      this.store.delete(this.type(kind), obj.metadata.namespace, obj.metadata.name!, { preconditions: { uid: obj.metadata.uid } });
  }
}

export function ownerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion!,
    kind: owner.kind!,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function podReady(pod: KubeObject): boolean {
  const conditions = isMap(pod.status) && Array.isArray(pod.status.conditions) ? pod.status.conditions : [];
  return conditions.some((c) => isMap(c) && c.type === 'Ready' && c.status === 'True');
}

export function replicasOf(obj: KubeObject): number {
  const r = isMap(obj.spec) ? obj.spec.replicas : undefined;
  return typeof r === 'number' && Number.isInteger(r) && r >= 0 ? r : 1;
}
