/**
 * What an API path names, following the real server's request-info rules: `/api/v1/...` and
 * `/apis/<group>/<version>/...`, an optional legacy `watch/` segment, `namespaces/<ns>/` before a
 * namespaced resource (except a namespace's own `status` and `finalize`), then resource, name
 * and subresource. And the request body, bounded, parsed, with its nesting bounded too.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { resourceByPath, type ResourceType } from './resources.js';
import { accept, type Outcome, refuse } from './status.js';

export type PathTarget =
  | { kind: 'version' }
  | { kind: 'health' }
  | { kind: 'openapi' }
  | { kind: 'core' }
  | { kind: 'groups' }
  | { kind: 'group'; group: string }
  | { kind: 'resources'; group: string; version: string }
  | { kind: 'object'; resource: ResourceType; namespace?: string; name?: string; subresource?: string; watchPath: boolean }
  | { kind: 'unknown' };

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

function segments(pathname: string): string[] | undefined {
  try {
    return pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

export function parsePath(pathname: string): PathTarget {
  const parts = segments(pathname);
  if (!parts) return { kind: 'unknown' };
  const [head, ...rest] = parts;
  if (parts.length === 1 && head === 'version') return { kind: 'version' };
  if (parts.length === 1 && ['healthz', 'livez', 'readyz'].includes(head)) return { kind: 'health' };
  if (head === 'openapi') return parts.length === 2 && rest[0] === 'v2' ? { kind: 'openapi' } : { kind: 'unknown' };
  let group: string;
  let version: string;
  let tail: string[];
  if (head === 'api') {
    if (rest.length === 0) return { kind: 'core' };
    [version, ...tail] = rest;
    group = '';
  } else if (head === 'apis') {
    if (rest.length === 0) return { kind: 'groups' };
    if (rest.length === 1) return { kind: 'group', group: rest[0] };
    [group, version, ...tail] = rest;
  } else return { kind: 'unknown' };
  if (tail.length === 0) return { kind: 'resources', group, version };
  const watchPath = tail[0] === 'watch';
  if (watchPath) tail = tail.slice(1);
  let namespace: string | undefined;
  if (tail[0] === 'namespaces' && tail.length > 2 && !NAMESPACE_SUBRESOURCES.has(tail[2])) {
    namespace = tail[1];
    tail = tail.slice(2);
  }
  if (tail.length === 0 || tail.length > 3) return { kind: 'unknown' };
  const resource = resourceByPath(group, version, tail[0]);
  if (!resource) return { kind: 'unknown' };
  if (namespace !== undefined && !resource.namespaced) return { kind: 'unknown' };
  return { kind: 'object', resource, namespace, name: tail[1], subresource: tail[2], watchPath };
}

/** JSON values deeper than this are refused: no real object comes close, and merging recurses. */
const MAX_DEPTH = 100;

function depthOf(v: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    if (d > max) max = d;
    if (max > MAX_DEPTH) return max;
    for (const y of Object.values(x)) stack.push([y, d + 1]);
  }
  return max;
}

/** The body, whole, or a failure once it passes `limit` bytes (the rest is not read). */
export function readBody(req: IncomingMessage, limit: number): Promise<Outcome<Buffer>> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    const tooLarge = () =>
      refuse<Buffer>('E_KAPI_TOO_LARGE', `the request body is larger than the limit of ${limit} bytes`, undefined, 'body');
    if (Number.isFinite(declared) && declared > limit) {
      resolve(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        resolve(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(accept(Buffer.concat(chunks)));
    });
    req.on('error', () => {
      if (!done) resolve(refuse('E_KAPI_BAD_REQUEST', 'the request body could not be read', undefined, 'body'));
      done = true;
    });
  });
}

/** A JSON (or, for apply patches and YAML creates, YAML) body as a value. */
export function parseBody(raw: Buffer, contentType: string | undefined, what: string): Outcome<unknown> {
  const type = (contentType ?? 'application/json').split(';')[0].trim().toLowerCase();
  if (type.includes('protobuf'))
    return refuse('E_KAPI_MEDIA_TYPE', `the body of type ${type} is not supported; send JSON`, undefined, 'body');
  const text = raw.toString('utf8');
  let value: unknown;
  try {
    value = type.endsWith('yaml') ? parseYaml(text, { maxAliasCount: 0 }) : JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return refuse(
      'E_KAPI_BAD_REQUEST',
      `the object provided is unrecognized (must be of type ${what}): couldn't parse the body: ${why}`,
      undefined,
      'body',
    );
  }
  if (depthOf(value) > MAX_DEPTH) return refuse('E_KAPI_BAD_REQUEST', `the body nests deeper than ${MAX_DEPTH} levels`, undefined, 'body');
  return accept(value);
}
