/**
 * The garbage collector and the namespace controller. When an object goes, its dependents (the
 * objects whose ownerReferences name its uid) go too, as with propagationPolicy Background;
 * with Orphan they only lose the reference. A dependent that still has another owner keeps
 * living. Foreground is treated as Background: the owner is already gone when its dependents
 * are deleted, where the real server keeps it (with a deletionTimestamp) until they are.
 * Deleting a namespace deletes everything in it at once; the real one passes through
 * Terminating first.
 */
import type { KubeObject } from '../object.js';
import { RESOURCES } from '../resources.js';
import type { Propagation } from '../store.js';
import type { Access } from './owners.js';

export class GarbageCollector {
  constructor(private readonly a: Access) {}

  deleted(owner: KubeObject, propagation: Propagation | undefined): void {
    const uid = owner.metadata.uid;
    if (!uid) return;
    const ns = owner.metadata.namespace;
    for (const r of RESOURCES) {
      // A namespaced owner has dependents only in its namespace; a cluster-scoped one anywhere.
      if (ns && !r.namespaced) continue;
      const items = this.a.store.items(r, ns);
      if (!items.ok) continue;
      for (const { object } of items.value) {
        const refs = object.metadata.ownerReferences ?? [];
        if (!refs.some((ref) => ref.uid === uid)) continue;
        const others = refs.filter((ref) => ref.uid !== uid);
        if (propagation === 'Orphan' || others.length > 0)
          this.a.update(r.kind, object, (o) => (o.metadata.ownerReferences = others.length ? others : undefined));
        else this.a.delete(r.kind, object);
      }
    }
    if (owner.kind === 'Namespace') this.namespace(owner.metadata.name!);
  }

  private namespace(ns: string): void {
    for (const r of RESOURCES) {
      if (!r.namespaced) continue;
      const items = this.a.store.items(r, ns);
      if (items.ok) for (const { object } of items.value) this.a.delete(r.kind, object);
    }
  }
}
