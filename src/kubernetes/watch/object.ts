/**
 * Kubernetes objects as the cache holds them. They come off the network (list answers and
 * watch events), so each is checked once on the way in: what the adapter reads without
 * further checks (name, namespace, resource version, labels, annotations, owners) has its
 * type; everything else (spec, status, data) is read defensively where it is used.
 */
export interface OwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  controller?: boolean;
}

export interface KubeMeta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  /** ISO time (a Date when a typed client decoded it). */
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, unknown>;
  [field: string]: unknown;
}

/** `namespace/name`, or `name` for cluster-scoped objects: the cache's key. */
export function keyOf(o: { metadata: { name: string; namespace?: string } }): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

/** The object, or why it cannot be one (said of the field at fault). */
export function checkObject(v: unknown): KubeObject | string {
  if (!isRecord(v)) return `expected an object, got ${what(v)}`;
  const meta = v.metadata;
  if (!isRecord(meta)) return `metadata: expected a mapping, got ${what(meta)}`;
  if (typeof meta.name !== 'string' || meta.name === '') return `metadata.name: expected a non-empty string, got ${what(meta.name)}`;
  for (const f of ['namespace', 'resourceVersion', 'uid'] as const)
    if (meta[f] !== undefined && meta[f] !== null && typeof meta[f] !== 'string')
      return `metadata.${f}: expected a string, got ${what(meta[f])}`;
  for (const f of ['labels', 'annotations'] as const) {
    const m = meta[f];
    if (m === undefined || m === null) continue;
    if (!isRecord(m)) return `metadata.${f}: expected a mapping, got ${what(m)}`;
    for (const [k, x] of Object.entries(m)) if (typeof x !== 'string') return `metadata.${f}.${k}: expected a string, got ${what(x)}`;
  }
  const owners = meta.ownerReferences;
  if (owners !== undefined && owners !== null) {
    if (!Array.isArray(owners)) return `metadata.ownerReferences: expected a list, got ${what(owners)}`;
    for (const [i, o] of owners.entries())
      if (!isRecord(o) || typeof o.kind !== 'string' || typeof o.name !== 'string')
        return `metadata.ownerReferences[${i}]: expected kind and name strings`;
  }
  for (const f of ['spec', 'status', 'data'] as const)
    if (v[f] !== undefined && v[f] !== null && !isRecord(v[f])) return `${f}: expected a mapping, got ${what(v[f])}`;
  return v as KubeObject;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function what(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  return typeof v === 'object' ? 'a mapping' : `${typeof v} ${String(v)}`;
}
