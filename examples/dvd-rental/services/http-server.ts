/**
 * A minimal JSON-over-HTTP server: exact-segment routing with `:param` placeholders, a body
 * size limit, W3C trace context on every request and response, one log line per request,
 * and a drain mode for graceful shutdown. Nothing a client sends can crash it: bad JSON,
 * unknown routes and handler failures all become JSON error replies.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { errorMessage, type Logger } from './log.js';
import { continueTrace, formatTraceparent, type TraceContext } from './trace.js';

export interface Request {
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body, or undefined when the request had none. */
  readonly body: unknown;
  /** This service's span for the request (child of the caller's `traceparent`). */
  readonly trace: TraceContext;
}

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
}

type Handler = (req: Request) => Promise<Reply>;

export interface Route {
  readonly method: 'GET' | 'POST';
  /** e.g. `/users/:id/bill`; segments match exactly except `:name` placeholders. */
  readonly pattern: string;
  readonly handler: Handler;
}

export interface JsonServer {
  readonly server: Server;
  /** Stops accepting, lets in-flight requests finish, then closes all sockets. */
  drain(timeoutMs: number): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

export function reply(status: number, body?: unknown): Reply {
  return { status, body };
}

export function errorReply(status: number, error: string): Reply {
  return { status, body: { error } };
}

interface CompiledRoute {
  readonly method: string;
  readonly segments: readonly string[];
  readonly handler: Handler;
}

function compile(route: Route): CompiledRoute {
  return { method: route.method, segments: route.pattern.split('/').filter((s) => s !== ''), handler: route.handler };
}

function matchPath(segments: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const part = parts[i];
    if (seg.startsWith(':')) params[seg.slice(1)] = part;
    else if (seg !== part) return undefined;
  }
  return params;
}

type Body = { ok: true; value: unknown } | { ok: false; status: number; error: string };

function readBody(req: IncomingMessage): Promise<Body> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (body: Body): void => {
      if (done) return;
      done = true;
      resolve(body);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        finish({ ok: false, status: 413, error: `request body exceeds ${MAX_BODY_BYTES} bytes` });
        req.resume();
        return;
      }
      if (!done) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size === 0) return finish({ ok: true, value: undefined });
      try {
        finish({ ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      } catch (err) {
        finish({ ok: false, status: 400, error: `request body is not valid JSON: ${errorMessage(err)}` });
      }
    });
    req.on('error', (err) => finish({ ok: false, status: 400, error: `request body could not be read: ${errorMessage(err)}` }));
  });
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function createJsonServer(routes: readonly Route[], log: Logger): JsonServer {
  const compiled = [
    compile({ method: 'GET', pattern: '/healthz', handler: async () => reply(200, { status: 'ok', service: log.service }) }),
    ...routes.map(compile),
  ];
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const trace = continueTrace(headerValue(req.headers, 'traceparent'));
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    let outcome: Reply;
    let failure: string | undefined;
    try {
      outcome = await route(method, path, req, trace);
    } catch (err) {
      failure = errorMessage(err);
      outcome = errorReply(500, 'internal error');
    }
    const payload = outcome.body === undefined ? '' : JSON.stringify(outcome.body);
    res.statusCode = outcome.status;
    res.setHeader('traceparent', formatTraceparent(trace));
    if (payload !== '') res.setHeader('content-type', 'application/json');
    res.setHeader('content-length', Buffer.byteLength(payload));
    if (draining) res.setHeader('connection', 'close');
    res.end(payload);
    const user = headerValue(req.headers, 'x-user-id');
    log.info({
      method,
      path: path.length > 200 ? `${path.slice(0, 200)}...` : path,
      status: outcome.status,
      ms: Math.round((performance.now() - started) * 100) / 100,
      traceparent: formatTraceparent(trace),
      ...(user !== undefined ? { user: user.slice(0, 32) } : {}),
      ...(failure !== undefined ? { level: 'error', error: failure } : {}),
      ...(outcome.status >= 400 && failure === undefined && isErrorBody(outcome.body) ? { error: outcome.body.error } : {}),
    });
  }

  async function route(method: string, path: string, req: IncomingMessage, trace: TraceContext): Promise<Reply> {
    let parts: string[];
    try {
      parts = path
        .split('/')
        .filter((s) => s !== '')
        .map((s) => decodeURIComponent(s));
    } catch {
      return errorReply(400, 'request path is not valid percent-encoding');
    }
    let pathMatched = false;
    for (const r of compiled) {
      const params = matchPath(r.segments, parts);
      if (!params) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      const body = await readBody(req);
      if (!body.ok) return errorReply(body.status, body.error);
      return r.handler({ method, path, params, headers: req.headers, body: body.value, trace });
    }
    req.resume();
    return pathMatched ? errorReply(405, `method ${method} not allowed on ${path}`) : errorReply(404, `no route for ${method} ${path}`);
  }

  const server = createServer((req, res) => {
    inFlight++;
    handle(req, res)
      .catch((err: unknown) => {
        log.error(`response failed: ${errorMessage(err)}`);
        res.destroy();
      })
      .finally(() => {
        inFlight--;
        if (inFlight === 0 && idle) idle();
      });
  });
  // Longer than typical client idle timeouts, so a client never reuses a socket we just closed.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  async function drain(timeoutMs: number): Promise<void> {
    draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const quiet = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (idle = resolve));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([quiet, timeout]);
    server.closeAllConnections();
    await Promise.race([closed, timeout]);
    clearTimeout(timer);
  }

  return { server, drain };
}

function isErrorBody(body: unknown): body is { error: string } {
  return typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string';
}
