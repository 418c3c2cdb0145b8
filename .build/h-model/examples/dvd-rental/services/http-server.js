/**
 * A minimal JSON-over-HTTP server: exact-segment routing with `:param` placeholders, a body
 * size limit, W3C trace context on every request and response, one log line per request,
 * and a drain mode for graceful shutdown. Nothing a client sends can crash it: bad JSON,
 * unknown routes and handler failures all become JSON error replies.
 */
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { errorMessage } from './log.js';
import { continueTrace, formatTraceparent } from './trace.js';
const MAX_BODY_BYTES = 64 * 1024;
export function reply(status, body) {
    return { status, body };
}
export function errorReply(status, error) {
    return { status, body: { error } };
}
function compile(route) {
    return { method: route.method, segments: route.pattern.split('/').filter((s) => s !== ''), handler: route.handler };
}
function matchPath(segments, parts) {
    if (segments.length !== parts.length)
        return undefined;
    const params = {};
    for (let i = 0; i < segments.length; i++) {
        const seg = segments[i];
        const part = parts[i];
        if (seg.startsWith(':'))
            params[seg.slice(1)] = part;
        else if (seg !== part)
            return undefined;
    }
    return params;
}
function readBody(req) {
    return new Promise((resolve) => {
        const chunks = [];
        let size = 0;
        let done = false;
        const finish = (body) => {
            if (done)
                return;
            done = true;
            resolve(body);
        };
        req.on('data', (chunk) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
                finish({ ok: false, status: 413, error: `request body exceeds ${MAX_BODY_BYTES} bytes` });
                req.resume();
                return;
            }
            if (!done)
                chunks.push(chunk);
        });
        req.on('end', () => {
            if (size === 0)
                return finish({ ok: true, value: undefined });
            try {
                finish({ ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
            }
            catch (err) {
                finish({ ok: false, status: 400, error: `request body is not valid JSON: ${errorMessage(err)}` });
            }
        });
        req.on('error', (err) => finish({ ok: false, status: 400, error: `request body could not be read: ${errorMessage(err)}` }));
    });
}
function headerValue(headers, name) {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
}
export function createJsonServer(routes, log) {
    const compiled = [
        compile({ method: 'GET', pattern: '/healthz', handler: async () => reply(200, { status: 'ok', service: log.service }) }),
        ...routes.map(compile),
    ];
    let draining = false;
    let inFlight = 0;
    let idle;
    async function handle(req, res) {
        const started = performance.now();
        const trace = continueTrace(headerValue(req.headers, 'traceparent'));
        const url = req.url ?? '/';
        const q = url.indexOf('?');
        const path = q === -1 ? url : url.slice(0, q);
        const method = req.method ?? 'GET';
        let outcome;
        let failure;
        try {
            outcome = await route(method, path, req, trace);
        }
        catch (err) {
            failure = errorMessage(err);
            outcome = errorReply(500, 'internal error');
        }
        const payload = outcome.body === undefined ? '' : JSON.stringify(outcome.body);
        res.statusCode = outcome.status;
        res.setHeader('traceparent', formatTraceparent(trace));
        if (payload !== '')
            res.setHeader('content-type', 'application/json');
        res.setHeader('content-length', Buffer.byteLength(payload));
        if (draining)
            res.setHeader('connection', 'close');
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
    async function route(method, path, req, trace) {
        let parts;
        try {
            parts = path.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
        }
        catch {
            return errorReply(400, 'request path is not valid percent-encoding');
        }
        let pathMatched = false;
        for (const r of compiled) {
            const params = matchPath(r.segments, parts);
            if (!params)
                continue;
            pathMatched = true;
            if (r.method !== method)
                continue;
            const body = await readBody(req);
            if (!body.ok)
                return errorReply(body.status, body.error);
            return r.handler({ method, path, params, headers: req.headers, body: body.value, trace });
        }
        req.resume();
        return pathMatched ? errorReply(405, `method ${method} not allowed on ${path}`) : errorReply(404, `no route for ${method} ${path}`);
    }
    const server = createServer((req, res) => {
        inFlight++;
        handle(req, res)
            .catch((err) => {
            log.error(`response failed: ${errorMessage(err)}`);
            res.destroy();
        })
            .finally(() => {
            inFlight--;
            if (inFlight === 0 && idle)
                idle();
        });
    });
    // Longer than typical client idle timeouts, so a client never reuses a socket we just closed.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.on('clientError', (_err, socket) => {
        if (socket.writable)
            socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        else
            socket.destroy();
    });
    async function drain(timeoutMs) {
        draining = true;
        const closed = new Promise((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const quiet = inFlight === 0 ? Promise.resolve() : new Promise((resolve) => (idle = resolve));
        let timer;
        const timeout = new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)));
        await Promise.race([quiet, timeout]);
        server.closeAllConnections();
        await Promise.race([closed, timeout]);
        clearTimeout(timer);
    }
    return { server, drain };
}
function isErrorBody(body) {
    return typeof body === 'object' && body !== null && typeof body.error === 'string';
}
//# sourceMappingURL=http-server.js.map