/**
 * PATCH bodies by content type. JSON merge patch (RFC 7386) and strategic merge patch, which is
 * what kubectl apply, rollout restart and edit send: maps merge, `null` deletes, and the lists
 * Kubernetes marks with a merge key (containers and volumes by name, container ports by
 * containerPort, Service ports by port, env by name ...) merge item by item; other lists are
 * replaced. The directives kubectl's three-way merge emits ($patch, $retainKeys,
 * $setElementOrder/, $deleteFromPrimitiveList/) are honoured. JSON patch lives in json-patch.ts.
 */
import { applyJsonPatch } from './json-patch.js';
import { copy, isMap, type JsonMap } from './object.js';
import { accept, type Outcome, refuse } from './status.js';

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

const TYPES: Readonly<Record<string, PatchType>> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
  'application/apply-patch+yaml': 'apply',
};

export function patchType(contentType: string | undefined): PatchType | undefined {
  return TYPES[(contentType ?? '').split(';')[0].trim().toLowerCase()];
}

export const PATCH_TYPES = Object.keys(TYPES);

/** RFC 7386: maps merge recursively, null removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return copy(patch);
  const out: JsonMap = isMap(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

type ListStrategy = { key: string } | 'union' | undefined;

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** How the list at `path` (field names from the object's root, list positions left out) merges. */
function listStrategy(kind: string, path: readonly string[]): ListStrategy {
  const field = path[path.length - 1];
  const parent = path[path.length - 2];
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'imagePullSecrets':
      return { key: 'name' };
    case 'env':
      return CONTAINER_LISTS.has(parent) ? { key: 'name' } : undefined;
    case 'volumeMounts':
      return { key: 'mountPath' };
    case 'volumeDevices':
      return { key: 'devicePath' };
    case 'hostAliases':
      return { key: 'ip' };
    case 'topologySpreadConstraints':
      return { key: 'topologyKey' };
    case 'ports':
      if (CONTAINER_LISTS.has(parent)) return { key: 'containerPort' };
      return kind === 'Service' && path.length === 2 && parent === 'spec' ? { key: 'port' } : undefined;
    case 'ownerReferences':
      return parent === 'metadata' ? { key: 'uid' } : undefined;
    case 'finalizers':
      return parent === 'metadata' ? 'union' : undefined;
    case 'conditions':
      return { key: 'type' };
    default:
      return undefined;
  }
}

const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

/** A strategic merge patch applied to `original` (an object of `kind`). */
export function strategicMerge(kind: string, original: unknown, patch: unknown): Outcome<unknown> {
  try {
    const merged = mergeMap(kind, original, patch, []);
    if (merged === DELETE) return refuse('E_KAPI_BAD_REQUEST', 'a strategic merge patch cannot delete the whole object');
    return accept(merged);
  } catch (e) {
    if (e instanceof PatchError) return refuse('E_KAPI_BAD_REQUEST', e.message, undefined, e.field);
    throw e;
  }
}

class PatchError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

const DELETE = Symbol('delete');

function mergeMap(kind: string, original: unknown, patch: unknown, path: string[]): unknown {
  if (!isMap(patch)) return copy(patch);
  const directive = patch.$patch;
  if (directive === 'replace') {
    const { $patch: _, ...rest } = patch;
    return copy(rest);
  }
  if (directive === 'delete') return DELETE;
  if (directive !== undefined) throw new PatchError(`unknown patch type: ${String(directive)}`, path.join('.'));
  const out: JsonMap = isMap(original) ? { ...original } : {};
  const orders = new Map<string, unknown[]>();
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$retainKeys') continue;
    if (k.startsWith(SET_ORDER)) {
      if (Array.isArray(v)) orders.set(k.slice(SET_ORDER.length), v);
      continue;
    }
    if (k.startsWith(DELETE_FROM)) {
      const field = k.slice(DELETE_FROM.length);
      if (Array.isArray(v) && Array.isArray(out[field])) out[field] = (out[field] as unknown[]).filter((x) => !v.includes(x));
      continue;
    }
    const here = [...path, k];
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = mergeList(kind, out[k], v, here);
    else if (isMap(v)) {
      const merged = mergeMap(kind, out[k], v, here);
      if (merged === DELETE) delete out[k];
      else out[k] = merged;
    } else out[k] = v;
  }
  for (const [field, order] of orders) {
    const strategy = listStrategy(kind, [...path, field]);
    if (Array.isArray(out[field])) out[field] = reorder(out[field] as unknown[], order, strategy);
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys);
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
  }
  return out;
}

function mergeList(kind: string, original: unknown, patch: unknown[], path: string[]): unknown[] {
  const replace = patch.some((x) => isMap(x) && x.$patch === 'replace');
  const items = patch.filter((x) => !(isMap(x) && x.$patch === 'replace'));
  const strategy = listStrategy(kind, path);
  const base = Array.isArray(original) ? original : [];
  if (replace || strategy === undefined) return copy(items.filter((x) => !(isMap(x) && x.$patch === 'delete')));
  if (strategy === 'union') return [...base, ...items.filter((x) => !base.includes(x))];
  const key = strategy.key;
  const out = [...base];
  for (const item of items) {
    if (!isMap(item)) throw new PatchError(`a list merged by ${key} holds a value that is not an object`, path.join('.'));
    const i = out.findIndex((o) => isMap(o) && o[key] === item[key]);
    if (item.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = mergeMap(kind, out[i], item, path);
    else out.push(mergeMap(kind, undefined, item, path));
  }
  return out;
}

/** Items in the order `$setElementOrder` gives; any it does not name keep their place after those. */
function reorder(list: unknown[], order: unknown[], strategy: ListStrategy): unknown[] {
  const id = (x: unknown) => (strategy && strategy !== 'union' && isMap(x) ? x[strategy.key] : x);
  const wanted = order.map(id);
  const rank = (x: unknown) => {
    const i = wanted.indexOf(id(x));
    return i < 0 ? wanted.length : i;
  };
  return list
    .map((x, i) => ({ x, i }))
    .sort((a, b) => rank(a.x) - rank(b.x) || a.i - b.i)
    .map((e) => e.x);
}

/** A patch of any supported type applied to `original`; apply patches are handled by the caller. */
export function applyPatch(type: Exclude<PatchType, 'apply'>, kind: string, original: unknown, patch: unknown): Outcome<unknown> {
  switch (type) {
    case 'merge':
      if (!isMap(patch)) return refuse('E_KAPI_BAD_REQUEST', 'a merge patch must be a JSON object');
      return accept(mergePatch(original, patch));
    case 'strategic':
      if (!isMap(patch)) return refuse('E_KAPI_BAD_REQUEST', 'a strategic merge patch must be a JSON object');
      return strategicMerge(kind, original, patch);
    case 'json':
      return applyJsonPatch(original, patch);
  }
}
