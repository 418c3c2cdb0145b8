/**
 * The route table: every route the server answers, once, with the schemas that validate its
 * parameters, query and body and describe its answer. The server registers exactly these
 * (server.ts) and the OpenAPI document is generated from exactly these (openapi.ts).
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { ApiCode } from './codes.js';
import { apiError } from './errors.js';
import type { Actor, AppRef, Fleet } from './fleet.js';
import type { Metrics } from './metrics.js';
import type { RecordHub } from './record-hub.js';
import {
  AppDetail,
  AppList,
  AppParams,
  Firewall,
  Graph,
  NoticeList,
  NoticesQuery,
  Policies,
  PoliciesChange,
  ReactionList,
  ReactionOpResult,
  ReactionParams,
  ReactionRules,
  Reconfigured,
  RecordList,
  RecordsQuery,
  StreamQuery,
  Taps,
  Verbosity,
  VerbosityChange,
  VerbosityResult,
  ProbeResult,
  Whoami,
} from './schemas.js';
import type { StaticFiles } from './static-files.js';
import { VENDOR_FILES } from './static-files.js';
import { sseResponse } from './stream-response.js';
import type { Principal } from './tokens.js';

/** What handlers work with. */
export interface Services {
  fleet: Fleet;
  hub: RecordHub;
  metrics: Metrics;
  statics: StaticFiles;
  /** The OpenAPI document (generated once, on first use). */
  document: () => unknown;
}

export interface Caller {
  /** Null only on routes without authentication. */
  principal: Principal | null;
  /** The application the route names, once tenancy allowed it. */
  app: AppRef | null;
}

/** `bearer`: Authorization header; `bearer-or-query`: also `?token=` (EventSource cannot set headers). */
export type Auth = 'bearer' | 'bearer-or-query' | 'none';

export type Answer =
  | { type: 'json'; schema: z.ZodType }
  | { type: 'text' | 'event-stream' | 'static'; description: string; contentType: string };

interface HandlerInput<P, Q, H, B> {
  params: P;
  query: Q;
  headers: H;
  body: B;
  caller: Caller;
  s: Services;
  c: Context;
}

export interface RouteSpec {
  method: 'get' | 'put' | 'post';
  /** Hono's syntax: `:name` parameters, `{regex}` constraints. */
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  body?: z.ZodType;
  answer: Answer;
  handle(input: HandlerInput<unknown, unknown, unknown, unknown>): Promise<unknown>;
}

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;

function route<
  P extends z.ZodObject | undefined = undefined,
  Q extends z.ZodObject | undefined = undefined,
  H extends z.ZodObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(
  spec: Omit<RouteSpec, 'params' | 'query' | 'headers' | 'body' | 'handle'> & {
    params?: P;
    query?: Q;
    headers?: H;
    body?: B;
    handle(input: HandlerInput<Out<P>, Out<Q>, Out<H>, Out<B>>): Promise<unknown>;
  },
): RouteSpec {
  return spec as unknown as RouteSpec;
}

const json = (schema: z.ZodType): Answer => ({ type: 'json', schema });

export function actorOf(caller: Caller): Actor {
  const p = caller.principal!;
  return { tenant: p.tenant, tokenId: p.id, tokenName: p.name };
}

const appName = (caller: Caller) => caller.app!.name;

/** Query values in a record query's terms. */
function recordFilter(q: z.output<typeof StreamQuery>) {
  return {
    ...(q.from !== undefined ? { from: q.from } : {}),
    ...(q.to !== undefined ? { to: q.to } : {}),
    ...(q.kind ? { kinds: q.kind } : {}),
    ...(q.node ? { node: q.node } : {}),
    ...(q.service ? { service: q.service } : {}),
    ...(q.instance ? { instance: q.instance } : {}),
    ...(q.provenance ? { provenance: q.provenance } : {}),
    ...(q.text ? { text: q.text } : {}),
  };
}

const reactionOp = (op: 'approve' | 'undo' | 'keep') =>
  route({
    method: 'post',
    path: `/api/v1/apps/:app/reactions/:id/${op}`,
    summary: `${op[0].toUpperCase()}${op.slice(1)} a reaction (waits, bounded, for the security controller's answer)`,
    tag: 'reactions',
    auth: 'bearer',
    params: ReactionParams,
    answer: json(ReactionOpResult),
    handle: ({ params, caller, s }) => s.fleet.reactionOp(appName(caller), op, params.id, actorOf(caller)),
  });

const LAST_EVENT_ID = z.strictObject({
  'last-event-id': z
    .string()
    .regex(/^[0-9]{1,16}$/, 'expected a record id')
    .transform(Number)
    .optional(),
});

export const ROUTES: RouteSpec[] = [
  route({
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    tag: 'meta',
    auth: 'none',
    answer: { type: 'text', description: 'The OpenAPI 3.1 document', contentType: 'application/json' },
    handle: async ({ s, c }) => c.json(s.document() as object),
  }),
  route({
    method: 'get',
    path: '/metrics',
    summary: "Prometheus metrics (a tenant token gets only its applications' series)",
    tag: 'meta',
    auth: 'bearer',
    answer: { type: 'text', description: 'Prometheus text exposition format 0.0.4', contentType: 'text/plain; version=0.0.4' },
    handle: async ({ caller, s, c }) =>
      c.text(await s.metrics.render(caller.principal!.tenant), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }),
  }),
  route({
    method: 'get',
    path: '/api/v1/whoami',
    summary: 'Who the token speaks for',
    tag: 'meta',
    auth: 'bearer',
    answer: json(Whoami),
    handle: async ({ caller }) => {
      const p = caller.principal!;
      return { tenant: p.tenant, operator: p.tenant === null, token: { id: p.id, name: p.name } };
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/apps',
    summary: 'The applications the token may see',
    tag: 'apps',
    auth: 'bearer',
    answer: json(AppList),
    handle: async ({ caller, s }) => {
      const tenant = caller.principal!.tenant;
      const refs = (await s.fleet.apps()).filter((a) => tenant === null || a.tenant === tenant);
      // One damaged deployment does not hide the others.
      const apps = await Promise.all(refs.map((a) => s.fleet.summary(a.name).catch(() => null)));
      return { apps: apps.filter((a) => a !== null) };
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/apps/:app',
    summary: 'One application: its spec, instances, monitors and source restrictions',
    tag: 'apps',
    auth: 'bearer',
    params: AppParams,
    answer: json(AppDetail),
    handle: ({ caller, s }) => s.fleet.detail(appName(caller)),
  }),
  route({
    method: 'get',
    path: '/api/v1/apps/:app/graph',
    summary: 'The service graph: nodes, services, instances, monitors, required and observed edges, taps',
    tag: 'apps',
    auth: 'bearer',
    params: AppParams,
    answer: json(Graph),
    handle: ({ caller, s }) => s.fleet.graph(appName(caller)),
  }),
  route({
    method: 'get',
    path: '/api/v1/apps/:app/policies',
    summary: 'The monitoring policies in force, the mode, the placement strategy and the monitors marked down',
    tag: 'policies',
    auth: 'bearer',
    params: AppParams,
    answer: json(Policies),
    handle: ({ caller, s }) => s.fleet.policies(appName(caller)),
  }),
  route({
    method: 'put',
    path: '/api/v1/apps/:app/policies',
    summary: 'Change the policies (the list given replaces the set in force), mode, strategy or monitors down, and re-render',
    tag: 'policies',
    auth: 'bearer',
    params: AppParams,
    body: PoliciesChange,
    answer: json(Reconfigured),
    handle: ({ body, caller, s }) => s.fleet.reconfigure(appName(caller), body, actorOf(caller)),
  }),
  route({
    method: 'get',
    path: '/api/v1/apps/:app/reaction-rules',
    summary: "The security controller's reaction rules (404 when the application has no controller)",
    tag: 'reactions',
    auth: 'bearer',
    params: AppParams,
    answer: json(ReactionRules),
    handle: async ({ caller, s }) => {
      const rules = await s.fleet.reactionRules(appName(caller));
      if (!rules) throw apiError(ApiCode.NOT_FOUND, `${appName(caller)} has no security controller`);
      return rules;
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/apps/:app/firewall',
    summary: 'The firewall rules in force (quarantines included) and, when readable, their counters per node',
    tag: 'apps',
    auth: 'bearer',
    params: AppParams,
    answer: json(Firewall),
    handle: ({ caller, s }) => s.fleet.firewall(appName(caller)),
  }),
  route({
    method: 'get',
    path: '/api/v1/apps/:app/taps',
    summary: 'The FlowTap contracts in force and where they are placed',
    tag: 'apps',
    auth: 'bearer',
    params: AppParams,
    answer: json(Taps),
    handle: ({ caller, s }) => s.fleet.taps(appName(caller)),
  }),
  route({
    method: 'get',
    path: '/api/v1/apps/:app/records',
    summary: 'Records from the context broker (kind repeatable or a comma list)',
    tag: 'records',
    auth: 'bearer',
    params: AppParams,
    query: RecordsQuery,
    answer: json(RecordList),
    handle: async ({ query, caller, s }) => ({
      records: await s.fleet.records(appName(caller), {
        ...recordFilter(query),
        ...(query.afterId !== undefined ? { afterId: query.afterId } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
        ...(query.order ? { order: query.order } : {}),
      }),
    }),
  }),
  route({
    method: 'get',
    path: '/api/v1/apps/:app/records/stream',
    summary: 'Live records (server-sent events `record`, id = record id); resumes after Last-Event-ID or ?afterId',
    tag: 'records',
    auth: 'bearer-or-query',
    params: AppParams,
    query: StreamQuery,
    headers: LAST_EVENT_ID,
    answer: {
      type: 'event-stream',
      description:
        'event: record, id: <record id>, data: <StoredRecord JSON>; a comment every 15 s; event: dropped when the client fell behind; event: error, data: {code, message}, then the end of the stream, when its token is revoked',
      contentType: 'text/event-stream',
    },
    handle: async ({ query, headers, caller, s, c }) => {
      const afterId = headers['last-event-id'] ?? query.afterId ?? null;
      const sub = await s.hub.subscribe(appName(caller), recordFilter(query), afterId, caller.principal?.id ?? null);
      return sseResponse(c, sub, s.hub);
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/apps/:app/notices',
    summary: 'Notices, newest first, with the reaction taken about each',
    tag: 'records',
    auth: 'bearer',
    params: AppParams,
    query: NoticesQuery,
    answer: json(NoticeList),
    handle: async ({ query, caller, s }) => ({ notices: await s.fleet.notices(appName(caller), query) }),
  }),
  route({
    method: 'get',
    path: '/api/v1/apps/:app/reactions',
    summary: "The security controller's ledger for the deployment in force",
    tag: 'reactions',
    auth: 'bearer',
    params: AppParams,
    answer: json(ReactionList),
    handle: async ({ caller, s }) => ({ reactions: await s.fleet.reactions(appName(caller)) }),
  }),
  reactionOp('approve'),
  reactionOp('undo'),
  reactionOp('keep'),
  route({
    method: 'get',
    path: '/api/v1/apps/:app/verbosity',
    summary: "Each node's collectors, as its agent last reported them",
    tag: 'verbosity',
    auth: 'bearer',
    params: AppParams,
    answer: json(Verbosity),
    handle: ({ caller, s }) => s.fleet.verbosity(appName(caller)),
  }),
  route({
    method: 'put',
    path: '/api/v1/apps/:app/verbosity',
    summary: 'Change what the agents collect (all nodes unless one is named); waits, bounded, for their acknowledgements',
    tag: 'verbosity',
    auth: 'bearer',
    params: AppParams,
    body: VerbosityChange,
    answer: json(VerbosityResult),
    handle: ({ body, caller, s }) => s.fleet.setVerbosity(appName(caller), body, actorOf(caller)),
  }),
  route({
    method: 'post',
    path: '/api/v1/apps/:app/probe',
    summary: 'Run the live probe matrix: a TCP connection attempt between every pair, against the required connectivity',
    tag: 'apps',
    auth: 'bearer',
    params: AppParams,
    answer: json(ProbeResult),
    handle: ({ caller, s }) => s.fleet.probe(appName(caller), actorOf(caller)),
  }),
  route({
    method: 'get',
    path: '/vendor/:file',
    summary: 'Browser libraries the dashboard uses, from node_modules (a fixed list)',
    tag: 'dashboard',
    auth: 'none',
    params: z.strictObject({
      file: z
        .string()
        .max(256)
        .describe(`One of ${Object.keys(VENDOR_FILES).join(', ')}; anything else is 404`),
    }),
    answer: { type: 'static', description: 'The file', contentType: 'text/javascript' },
    handle: async ({ params, s, c }) => staticAnswer(c, s.statics.vendor(params.file)),
  }),
  route({
    method: 'get',
    path: '/',
    summary: 'The dashboard',
    tag: 'dashboard',
    auth: 'none',
    answer: { type: 'static', description: 'web/index.html', contentType: 'text/html' },
    handle: async ({ s, c }) => staticAnswer(c, s.statics.web('/')),
  }),
  route({
    method: 'get',
    path: '/:path{.+\\.[a-z0-9]+}',
    summary: "The dashboard's files (what web/ holds)",
    tag: 'dashboard',
    auth: 'none',
    params: z.strictObject({ path: z.string().max(512) }),
    answer: { type: 'static', description: 'A file of web/', contentType: 'application/octet-stream' },
    handle: async ({ params, s, c }) => staticAnswer(c, s.statics.web(`/${params.path}`)),
  }),
];

function staticAnswer(c: Context, file: ReturnType<StaticFiles['web']>): Response {
  if (!file) return c.json({ error: { code: ApiCode.NOT_FOUND, message: 'no such file' } }, 404);
  return c.body(file.body as Uint8Array<ArrayBuffer>, 200, { 'Content-Type': file.type, 'Cache-Control': 'no-cache' });
}
