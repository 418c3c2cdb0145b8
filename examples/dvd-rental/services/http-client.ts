/**
 * JSON HTTP calls to other services (and, for the load generator, to the application's
 * entry points). Failures are values: the caller learns whether the peer answered (with
 * which status) or why it could not be reached.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { formatTraceparent, childSpan, type TraceContext } from './trace.js';

export type CallResult =
  | { readonly ok: true; readonly status: number; readonly headers: IncomingHttpHeaders; readonly body: unknown }
  | { readonly ok: false; readonly kind: 'bad-url' | 'timeout' | 'refused' | 'network' | 'too-large'; readonly message: string };

export interface CallOptions {
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly agent?: Agent;
}

const MAX_RESPONSE_BYTES = 1024 * 1024;
const sharedAgent = new Agent({ keepAlive: true, maxSockets: 128 });

class CallTimeout extends Error {}
class ResponseTooLarge extends Error {}

/** Joins a base URL (from the environment) and a path without doubling or dropping slashes. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** Headers for a downstream call made while handling `trace` on behalf of `userId`. */
export function downstreamHeaders(trace: TraceContext, userId: number | undefined): Record<string, string> {
  const headers: Record<string, string> = { traceparent: formatTraceparent(childSpan(trace)) };
  if (userId !== undefined) headers['x-user-id'] = String(userId);
  return headers;
}

export function callJson(method: 'GET' | 'POST', url: string, opts: CallOptions = {}): Promise<CallResult> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve({ ok: false, kind: 'bad-url', message: `not a URL: ${url}` });
  }
  if (target.protocol !== 'http:') {
    return Promise.resolve({ ok: false, kind: 'bad-url', message: `only http:// URLs are supported, got ${url}` });
  }
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  const headers: Record<string, string | number> = { accept: 'application/json', ...opts.headers };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = payload.length;
  }
  const ms = opts.timeoutMs ?? 5000;
  return new Promise((settle) => {
    // A deadline on the whole call, connecting included: Node's request timeout only starts once
    // the socket is connected, so a peer whose SYNs are dropped (a quarantined service) would
    // hold the call for the kernel's two minutes of SYN retries.
    const deadline = setTimeout(() => req.destroy(new CallTimeout(`no answer from ${url} within ${ms} ms`)), ms);
    const resolve = (r: CallResult) => {
      clearTimeout(deadline);
      settle(r);
    };
    const req = request(target, { method, headers, agent: opts.agent ?? sharedAgent }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) req.destroy(new ResponseTooLarge(`response from ${url} exceeds ${MAX_RESPONSE_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          body = text;
        }
        resolve({ ok: true, status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on('error', (err) => resolve(failure(err, url)));
    });
    req.on('error', (err) => resolve(failure(err, url)));
    req.end(payload);
  });
}

function failure(err: Error, url: string): CallResult {
  if (err instanceof CallTimeout) return { ok: false, kind: 'timeout', message: err.message };
  if (err instanceof ResponseTooLarge) return { ok: false, kind: 'too-large', message: err.message };
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return { ok: false, kind: 'refused', message: `connection refused by ${url}` };
  return { ok: false, kind: 'network', message: `${code ?? 'error'} calling ${url}: ${err.message}` };
}

/** The `error` string of a JSON error body, or a short description of whatever came back. */
export function describeBody(body: unknown): string {
  if (typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string') {
    return (body as { error: string }).error;
  }
  const s = typeof body === 'string' ? body : (JSON.stringify(body) ?? '');
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}
