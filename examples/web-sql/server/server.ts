/**
 * The "web + SQL" reference application: a small blog served over HTTP (PORT, default 80)
 * from a SQL database (DATABASE_URL, postgres://...). Configured only by environment:
 * PORT, BIND (default 0.0.0.0), DATABASE_URL. One log line per request on stdout.
 *
 *   GET  /                 HTML list of articles
 *   GET  /articles         JSON list
 *   GET  /articles/:id     one article (counts a view)
 *   POST /articles         {title, body} -> 201 {id}
 *   GET  /healthz
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

const MAX_BODY = 64 * 1024;
const SCHEMA = `CREATE TABLE IF NOT EXISTS articles (
  id serial PRIMARY KEY,
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  body text NOT NULL CHECK (length(body) <= 20000),
  views integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
)`;

interface Answer {
  status: number;
  json?: unknown;
  html?: string;
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

function readJson(req: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return resolve({ ok: false, error: `body exceeds ${MAX_BODY} bytes` });
      try {
        resolve({ ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      } catch {
        resolve({ ok: false, error: 'body is not valid JSON' });
      }
    });
    req.on('error', () => resolve({ ok: false, error: 'body could not be read' }));
  });
}

async function route(pool: pg.Pool, req: IncomingMessage): Promise<Answer> {
  const path = (req.url ?? '/').split('?')[0];
  const method = req.method ?? 'GET';
  if (method === 'GET' && path === '/healthz') return { status: 200, json: { status: 'ok', service: 'web-sql' } };
  if (method === 'GET' && (path === '/' || path === '/articles')) {
    const { rows } = await pool.query<{ id: number; title: string; views: number }>(
      'SELECT id, title, views FROM articles ORDER BY id DESC LIMIT 50',
    );
    if (path === '/articles') return { status: 200, json: rows };
    const items = rows.map((r) => `<li><a href="/articles/${r.id}">${escapeHtml(r.title)}</a> (${r.views} views)</li>`).join('\n');
    return { status: 200, html: `<!doctype html><title>web-sql</title><h1>Articles</h1><ul>\n${items}\n</ul>` };
  }
  const one = /^\/articles\/([1-9][0-9]{0,8})$/.exec(path);
  if (method === 'GET' && one) {
    const { rows } = await pool.query('UPDATE articles SET views = views + 1 WHERE id = $1 RETURNING id, title, body, views', [
      Number(one[1]),
    ]);
    return rows.length ? { status: 200, json: rows[0] } : { status: 404, json: { error: `no article ${one[1]}` } };
  }
  if (method === 'POST' && path === '/articles') {
    const body = await readJson(req);
    if (!body.ok) return { status: 400, json: { error: body.error } };
    const { title, body: text } = (body.value ?? {}) as { title?: unknown; body?: unknown };
    if (typeof title !== 'string' || title.trim() === '' || title.length > 200)
      return { status: 400, json: { error: 'title must be a string of 1-200 characters' } };
    if (typeof text !== 'string' || text.length > 20000)
      return { status: 400, json: { error: 'body must be a string of at most 20000 characters' } };
    const { rows } = await pool.query<{ id: number }>('INSERT INTO articles (title, body) VALUES ($1, $2) RETURNING id', [
      title.trim(),
      text,
    ]);
    return { status: 201, json: { id: rows[0].id } };
  }
  req.resume();
  return { status: 404, json: { error: `no route for ${method} ${path}` } };
}

function send(res: ServerResponse, answer: Answer): void {
  const payload = answer.html ?? (answer.json === undefined ? '' : JSON.stringify(answer.json));
  res.statusCode = answer.status;
  res.setHeader('content-type', answer.html !== undefined ? 'text/html; charset=utf-8' : 'application/json');
  res.setHeader('content-length', Buffer.byteLength(payload));
  res.end(payload);
}

const log = (fields: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), svc: 'web-sql', ...fields })}\n`);
};

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const port = Number(env.PORT ?? '80');
  const bind = env.BIND ?? '0.0.0.0';
  if (!Number.isInteger(port) || port < 1 || port > 65535) return fatal(`PORT must be 1-65535, got "${env.PORT}"`);
  if (isIP(bind) === 0) return fatal(`BIND must be an IP address, got "${bind}"`);
  if (!env.DATABASE_URL?.match(/^postgres(ql)?:\/\//)) return fatal('DATABASE_URL (postgres://...) is required');
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 10 });
  pool.on('error', (err) => log({ level: 'error', error: `database connection lost: ${err.message}` }));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await pool.query(SCHEMA);
      break;
    } catch (err) {
      if (Date.now() > deadline) return fatal(`database not usable: ${err instanceof Error ? err.message : String(err)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const server = createServer((req, res) => {
    const started = Date.now();
    route(pool, req)
      .catch((err: unknown) => {
        log({ level: 'error', error: err instanceof Error ? err.message : String(err) });
        return { status: 500, json: { error: 'internal error' } };
      })
      .then((answer) => {
        send(res, answer);
        log({ method: req.method, path: (req.url ?? '').slice(0, 200), status: answer.status, ms: Date.now() - started });
      });
  });
  const listenError = await new Promise<Error | undefined>((resolve) => {
    server.once('error', resolve);
    server.listen(port, bind, () => resolve(undefined));
  });
  if (listenError) {
    await pool.end();
    return fatal(`cannot listen on ${bind}:${port}: ${listenError.message}`);
  }
  server.on('error', (err) => log({ level: 'error', error: err.message }));
  log({ event: 'listening', bind, port });
  const stop = (): void => {
    server.close(() => void pool.end().then(() => process.exit(0)));
    server.closeIdleConnections();
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return 0;
}

function fatal(message: string): number {
  process.stderr.write(`web-sql: ${message}\n`);
  return 2;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((code) => {
    if (code !== 0) process.exitCode = code;
  });
}
