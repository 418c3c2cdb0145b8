/**
 * The HTTP server: Hono, with every route of the route table and nothing else. Each request
 * goes the same way: the token (401), the path parameters (400), the application and its
 * tenancy (404, the same answer for another tenant's application as for none), the query,
 * headers and body (400 naming the field), the handler. Whatever a handler throws becomes a
 * JSON error; a write (PUT, POST) on an application is recorded as an 'audit' record in that
 * application's broker, with the token and the outcome, whether it succeeded or not.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { ApiCode } from './codes.js';
import { apiError, errorAnswer, type ErrorAnswer } from './errors.js';
import type { AuditEntry, Fleet } from './fleet.js';
import { Metrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { RecordHub, type HubOptions } from './record-hub.js';
import { actorOf, ROUTES, type Caller, type RouteSpec, type Services } from './routes.js';
import { StaticFiles } from './static-files.js';
import type { Principal, TokenStore } from './tokens.js';

export interface ApiOptions {
  fleet: Fleet;
  /** `lapsed`, when given, ends a record stream whose token is revoked while it runs. */
  tokens: Pick<TokenStore, 'verify'> & Partial<Pick<TokenStore, 'lapsed'>>;
  /** The dashboard's folder (index.html, ...); none = no dashboard. */
  webDir?: string;
  /** Where the vendored browser libraries are (default: the package's node_modules). */
  nodeModules?: string;
  hub?: HubOptions;
  /** Bodies larger than this are refused (default 2 MiB). */
  maxBodyBytes?: number;
  log?: (line: string) => void;
  /** The API's version in the document. */
  version?: string;
}

export interface Api {
  app: Hono;
  hub: RecordHub;
  /** Writes whose audit record could not be stored. */
  auditFailures(): number;
}

const MAX_BODY = 2 * 1024 * 1024;

/** The field a zod issue is about: its path, and for an unknown key the key itself. */
function fieldOf(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys' && issue.keys.length) path.push(issue.keys[0]);
  return path.join('.') || '(body)';
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = fieldOf(issue);
  throw apiError(ApiCode.REQUEST, `${where} ${field === '(body)' ? '' : `${field}: `}${issue.message}`, field);
}

/** The query as a schema expects it: list fields always lists (repeated or comma-separated), others given once. */
function queryObject(c: Context, schema: z.ZodObject | undefined): Record<string, unknown> {
  const url = new URL(c.req.url);
  const out: Record<string, unknown> = {};
  const shape = (schema?.shape ?? {}) as Record<string, z.ZodType>;
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    const s = shape[key];
    const isList = s instanceof z.ZodArray || (s instanceof z.ZodOptional && s.unwrap() instanceof z.ZodArray);
    if (isList) out[key] = values.flatMap((v) => v.split(',')).filter((v) => v !== '');
    else if (values.length > 1) throw apiError(ApiCode.REQUEST, `query ${key}: given ${values.length} times`, key);
    else out[key] = values[0];
  }
  return out;
}

async function readBody(c: Context, max: number): Promise<unknown> {
  const declared = Number(c.req.header('content-length') ?? '0');
  if (declared > max) throw apiError(ApiCode.REQUEST, `the body is over ${max} bytes`, '(body)');
  const reader = c.req.raw.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (reader)
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        await reader.cancel().catch(() => undefined);
        throw apiError(ApiCode.REQUEST, `the body is over ${max} bytes`, '(body)');
      }
      chunks.push(value);
    }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw apiError(ApiCode.REQUEST, 'a JSON body is required', '(body)');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw apiError(ApiCode.REQUEST, `the body is not JSON: ${(e as Error).message}`, '(body)');
  }
}

function tokenOf(c: Context, route: RouteSpec): string | null {
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1] : null;
  }
  return route.auth === 'bearer-or-query' ? (new URL(c.req.url).searchParams.get('token') ?? null) : null;
}

export function createApi(o: ApiOptions): Api {
  const log = o.log ?? ((line) => process.stderr.write(`flowtap api: ${line}\n`));
  const tokens = o.tokens;
  const hub = new RecordHub(o.fleet, { log, ...(tokens.lapsed ? { lapsed: (id) => tokens.lapsed!(id) } : {}), ...o.hub });
  let document: unknown = null;
  const services: Services = {
    fleet: o.fleet,
    hub,
    metrics: new Metrics(o.fleet),
    statics: new StaticFiles(o.webDir, o.nodeModules),
    document: () => (document ??= openApiDocument(ROUTES, o.version ?? '1.0.0')),
  };
  const maxBody = o.maxBodyBytes ?? MAX_BODY;
  let auditFailures = 0;
  const app = new Hono();

  const send = (c: Context, a: ErrorAnswer) => c.json(a.body, a.status);
  app.notFound((c) => c.json({ error: { code: ApiCode.NOT_FOUND, message: `no route ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((e, c) => send(c, errorAnswer(e, log)));

  const audit = async (caller: Caller, route: RouteSpec, c: Context, status: number, outcome: AuditEntry['outcome'], code?: string) => {
    try {
      await o.fleet.audit(caller.app!.name, {
        by: actorOf(caller),
        method: route.method.toUpperCase(),
        route: c.req.path,
        status,
        outcome,
        ...(code ? { code } : {}),
      });
    } catch (e) {
      auditFailures++;
      log(`audit record of ${route.method.toUpperCase()} ${c.req.path} not stored: ${(e as Error).message}`);
    }
  };

  const handler = (route: RouteSpec) => async (c: Context) => {
    const caller: Caller = { principal: null, app: null };
    if (route.auth !== 'none') {
      const text = tokenOf(c, route);
      const principal: Principal | null = text ? o.tokens.verify(text) : null;
      if (!principal) throw apiError(ApiCode.AUTH, text ? 'the token is unknown, wrong or revoked' : 'a bearer token is required');
      caller.principal = principal;
    }
    const params = parse(route.params, c.req.param(), 'path') as Record<string, unknown> | undefined;
    if (typeof params?.app === 'string') {
      const ref = await o.fleet.find(params.app);
      const tenant = caller.principal?.tenant ?? null;
      if (!ref || (tenant !== null && ref.tenant !== tenant)) throw apiError(ApiCode.NOT_FOUND, `no application "${params.app}"`);
      caller.app = ref;
    }
    const writes = route.method !== 'get' && caller.app !== null && caller.principal !== null;
    try {
      // A route without a query schema ignores its query (a cache-busting `?v=2` on a file, say).
      let query: unknown;
      if (route.query) {
        const raw = queryObject(c, route.query);
        if (route.auth === 'bearer-or-query') delete raw.token;
        query = parse(route.query, raw, 'query');
      }
      const headers = route.headers
        ? parse(
            route.headers,
            Object.fromEntries(
              Object.keys(route.headers.shape).flatMap((h) => (c.req.header(h) !== undefined ? [[h, c.req.header(h)]] : [])),
            ),
            'header',
          )
        : undefined;
      const body = route.body ? parse(route.body, await readBody(c, maxBody), 'body') : undefined;
      const result = await route.handle({ params, query, headers, body, caller, s: services, c });
      const failed = typeof result === 'object' && result !== null && (result as { outcome?: unknown }).outcome === 'failed';
      if (writes) await audit(caller, route, c, 200, failed ? 'failed' : 'ok');
      return result instanceof Response ? result : c.json(result as object);
    } catch (e) {
      const a = errorAnswer(e, log);
      if (writes) await audit(caller, route, c, a.status, a.status >= 500 ? 'failed' : 'refused', a.body.error.code);
      return send(c, a);
    }
  };

  for (const r of ROUTES) app.on(r.method.toUpperCase(), r.path, handler(r));
  return { app, hub, auditFailures: () => auditFailures };
}
