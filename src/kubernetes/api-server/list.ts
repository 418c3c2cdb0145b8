/**
 * LIST: selectors, chunking with `limit` and `continue`, and the resourceVersion a list is read
 * at. Every page of a chunked list is read at the first page's resourceVersion, as etcd serves
 * it; the continue token carries that resourceVersion and the last key served, and a token
 * older than the history is Expired (410), telling the client to start the list again.
 */
import type { KubeObject } from './object.js';
import type { ResourceType } from './resources.js';
import { type FieldQuery, fieldsMatch, labelsMatch, type LabelQuery, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { accept, type Outcome, refuse } from './status.js';
import type { ObjectStore } from './store.js';

export interface ListQuery {
  labels: LabelQuery;
  fields: FieldQuery;
}

export interface ListPage {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export function parseSelectors(params: URLSearchParams, r: ResourceType): Outcome<ListQuery> {
  const labels = parseLabelSelector(params.get('labelSelector') ?? '');
  if (!labels.ok) return labels;
  const fields = parseFieldSelector(params.get('fieldSelector') ?? '', r);
  if (!fields.ok) return fields;
  return accept({ labels: labels.value, fields: fields.value });
}

export function matches(q: ListQuery, obj: KubeObject): boolean {
  return labelsMatch(q.labels, obj.metadata.labels) && fieldsMatch(q.fields, obj);
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.rv, start: `${t.start}\u0000` })).toString('base64url');
}

function decodeContinue(text: string): ContinueToken | undefined {
  try {
    const v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (v.v !== 'meta.k8s.io/v1' || !Number.isInteger(v.rv) || (v.rv as number) < 1 || typeof v.start !== 'string') return undefined;
    return { rv: v.rv as number, start: v.start.endsWith('\u0000') ? v.start.slice(0, -1) : v.start };
  } catch {
    return undefined;
  }
}

const DIGITS = /^(0|[1-9]\d{0,15})$/;

const EXPIRED_CONTINUE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.';

export function listPage(store: ObjectStore, r: ResourceType, namespace: string | undefined, params: URLSearchParams): Outcome<ListPage> {
  const query = parseSelectors(params, r);
  if (!query.ok) return query;
  const limitText = params.get('limit') ?? '';
  if (limitText !== '' && !DIGITS.test(limitText))
    return refuse('E_KAPI_BAD_REQUEST', `limit must be a non-negative integer, not ${JSON.stringify(limitText)}`, undefined, 'limit');
  const limit = limitText === '' ? 0 : Number(limitText);
  const rvText = params.get('resourceVersion') ?? '';
  const match = params.get('resourceVersionMatch') ?? '';
  if (rvText !== '' && !DIGITS.test(rvText))
    return refuse('E_KAPI_BAD_REQUEST', `resourceVersion must be a number, not ${JSON.stringify(rvText)}`, undefined, 'resourceVersion');
  if (match !== '' && !['Exact', 'NotOlderThan'].includes(match))
    return refuse(
      'E_KAPI_BAD_REQUEST',
      `resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`,
      undefined,
      'resourceVersionMatch',
    );
  if (match !== '' && rvText === '')
    return refuse(
      'E_KAPI_BAD_REQUEST',
      'resourceVersionMatch is forbidden unless resourceVersion is provided',
      undefined,
      'resourceVersionMatch',
    );

  let at: number | undefined;
  let start = '';
  const token = params.get('continue') ?? '';
  if (token !== '') {
    if (rvText !== '' && rvText !== '0')
      return refuse('E_KAPI_BAD_REQUEST', 'specifying resource version is not allowed when using continue', undefined, 'resourceVersion');
    const t = decodeContinue(token);
    if (!t) return refuse('E_KAPI_BAD_REQUEST', 'continue key is not valid: not a token this server issued', undefined, 'continue');
    at = t.rv;
    start = t.start;
  } else if (match === 'Exact') at = Number(rvText);
  const snapshot = store.items(r, namespace, at);
  if (!snapshot.ok) return token ? refuse('E_KAPI_EXPIRED', EXPIRED_CONTINUE, undefined, 'continue') : snapshot;
  const rv = at ?? store.revision;

  const items: KubeObject[] = [];
  let last = '';
  let more = false;
  let remaining = 0;
  for (const { key, object } of snapshot.value) {
    if (token && key <= start) continue;
    if (!matches(query.value, object)) continue;
    if (limit > 0 && items.length === limit) {
      more = true;
      remaining++;
      continue;
    }
    items.push(object);
    last = key;
  }
  const page: ListPage = { items, resourceVersion: String(rv) };
  if (more) {
    page.continue = encodeContinue({ rv, start: last });
    // The real server counts what remains only when no selector filters it.
    if (!query.value.labels.length && !query.value.fields.length) page.remainingItemCount = remaining;
  }
  return accept(page);
}
