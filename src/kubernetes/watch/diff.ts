/**
 * What changed between the cache and a fresh list: after a watch can no longer resume (410
 * Gone) the adapter lists again and hands on the difference as ordinary events, so that an
 * object deleted while nobody watched still ends as a deletion downstream.
 */
import { keyOf, type KubeObject } from './object.js';

export interface ListDiff {
  added: KubeObject[];
  /** Objects whose resource version changed: the new one and the one the cache held. */
  modified: { object: KubeObject; previous: KubeObject }[];
  /** Objects the cache held that the list no longer has. */
  deleted: KubeObject[];
}

export function diffList(cache: ReadonlyMap<string, KubeObject>, items: readonly KubeObject[]): ListDiff {
  const out: ListDiff = { added: [], modified: [], deleted: [] };
  const listed = new Set<string>();
  for (const o of items) {
    const key = keyOf(o);
    listed.add(key);
    const old = cache.get(key);
    if (!old) out.added.push(o);
    // Resource versions are opaque: equal means unchanged, anything else means changed.
    else if (old.metadata.resourceVersion !== o.metadata.resourceVersion || old.metadata.uid !== o.metadata.uid)
      out.modified.push({ object: o, previous: old });
  }
  for (const [key, old] of cache) if (!listed.has(key)) out.deleted.push(old);
  return out;
}
