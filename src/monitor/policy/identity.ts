import type { IdentityField } from '../../model/index.js';
import { pathSegment, requestPath } from './path-pattern.js';

export type Header = readonly [name: string, value: string];

/** Bytes of a JSON body considered for a `json` identity (the parser hands at most its body prefix). */
const MAX_JSON_BYTES = 64 * 1024;

export function headerValue(headers: readonly Header[], name: string): string | undefined {
  const n = name.toLowerCase();
  for (const h of headers) if (h[0] === n) return h[1];
  return undefined;
}

/**
 * The trace id of a W3C `traceparent` value (`00-<32 hex>-<16 hex>-<2 hex>`), lower-case;
 * undefined when malformed or all zeros, as the spec tells receivers to ignore those.
 */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  if (traceparent === undefined) return undefined;
  const m = /^\s*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?\s*$/i.exec(traceparent);
  if (!m || m[1].toLowerCase() === 'ff') return undefined;
  const id = m[2].toLowerCase();
  if (/^0+$/.test(id) || /^0+$/.test(m[3])) return undefined;
  return id;
}

/** The value at a dotted path in a JSON document, as a string when it is a scalar. */
export function jsonIdentity(body: Uint8Array | undefined, dotted: string): string | undefined {
  if (!body || body.length === 0 || body.length > MAX_JSON_BYTES) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8'));
  } catch {
    return undefined;
  }
  let cur: unknown = doc;
  for (const key of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? (/^\d+$/.test(key) ? cur[Number(key)] : undefined) : (cur as Record<string, unknown>)[key];
  }
  if (typeof cur === 'string') return cur;
  if (typeof cur === 'number' || typeof cur === 'boolean') return String(cur);
  return undefined;
}

export interface HttpRequestFacts {
  uri: string;
  headers: readonly Header[];
  /** The first bytes of the body (enough for a JSON identity). */
  body?: Uint8Array;
}

/** The end-user identity an HTTP request carries where `field` says; undefined when absent. */
export function httpIdentity(field: IdentityField, req: HttpRequestFacts): string | undefined {
  switch (field.kind) {
    case 'header':
      return headerValue(req.headers, field.name)?.trim();
    case 'json':
      return jsonIdentity(req.body, field.name);
    case 'path': {
      const i = Number(field.name);
      return Number.isInteger(i) ? pathSegment(requestPath(req.uri), i) : undefined;
    }
    default:
      return undefined;
  }
}

/** The identity in SQL parameter `$n` (1-based). */
export function sqlIdentity(field: IdentityField, params: readonly (string | null)[]): string | undefined {
  if (field.kind !== 'sql-param') return undefined;
  const n = Number(field.name);
  if (!Number.isInteger(n) || n < 1 || n > params.length) return undefined;
  return params[n - 1] ?? undefined;
}

/** `header x-user-id`, `path segment 1`, ... for evidence. */
export function describeIdentity(f: IdentityField): string {
  switch (f.kind) {
    case 'header':
      return `header ${f.name}`;
    case 'json':
      return `JSON body field ${f.name}`;
    case 'path':
      return `path segment ${f.name}`;
    case 'sql-param':
      return `SQL parameter $${f.name}`;
  }
}
