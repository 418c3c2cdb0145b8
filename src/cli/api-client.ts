/**
 * The CLI as a client of a running `flowtap serve --listen`: `--server URL` on a command sends
 * it to the API, with the bearer token in FLOWTAP_TOKEN, instead of reaching the deployment's
 * broker and controller from this machine. What the API refuses comes back as the API said it
 * (its code and message); 4xx is bad input or a refusal, never retried.
 */
import { DIAG_CODES, diag, FlowtapError, type DiagCode } from '../diagnostics/index.js';
import { CliCode } from './codes.js';

export interface ServerOption {
  /** The API's base URL, e.g. http://127.0.0.1:8080. */
  server?: string;
}

export async function apiCall<T>(server: string, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
  const token = process.env.FLOWTAP_TOKEN;
  if (!token)
    throw new FlowtapError(
      diag(CliCode.USAGE, '--server needs the API token in FLOWTAP_TOKEN (`flowtap token issue NAME --tenant T`)', { field: 'server' }),
    );
  let url: URL;
  try {
    url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  } catch {
    throw new FlowtapError(diag(CliCode.OPTION, `--server ${server}: not a URL`, { field: 'server' }));
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (e) {
    throw new FlowtapError(
      diag('E_API_UNREACHABLE', `cannot reach the API at ${url.origin}: ${(e as Error).message}`, { field: 'server' }),
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string; field?: string } } | null)?.error;
    throw new FlowtapError(
      diag(
        err?.code && err.code in DIAG_CODES ? (err.code as DiagCode) : 'E_API_UNREACHABLE',
        `the API answered ${res.status} to ${method} ${url.pathname}: ${err?.message ?? text.slice(0, 200)}`,
        {
          ...(err?.field ? { field: err.field } : {}),
        },
      ),
    );
  }
  return json as T;
}

/** Follows a server-sent event stream of the API until `signal`: `onData` gets each event's data. */
export async function apiStream(server: string, path: string, signal: AbortSignal, onData: (data: string) => void): Promise<void> {
  const token = process.env.FLOWTAP_TOKEN;
  if (!token) throw new FlowtapError(diag(CliCode.USAGE, '--server needs the API token in FLOWTAP_TOKEN', { field: 'server' }));
  const url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal });
  } catch (e) {
    if (signal.aborted) return;
    throw new FlowtapError(
      diag('E_API_UNREACHABLE', `cannot reach the API at ${url.origin}: ${(e as Error).message}`, { field: 'server' }),
    );
  }
  if (!res.ok || !res.body)
    throw new FlowtapError(diag('E_API_UNREACHABLE', `the API answered ${res.status} to the stream ${url.pathname}`));
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffered.indexOf('\n\n');
      while (end >= 0) {
        const data = buffered
          .slice(0, end)
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        buffered = buffered.slice(end + 2);
        if (data) onData(data);
        end = buffered.indexOf('\n\n');
      }
    }
  } catch (e) {
    if (!signal.aborted) throw e;
  }
}
