/**
 * The OpenAPI 3.1 document, generated from the route table and its zod schemas (zod's JSON
 * Schema output, draft 2020-12, which is OpenAPI 3.1's dialect). Named schemas become
 * `components/schemas` and are referenced, never copied; request parts are described as they
 * arrive (query values are text), answers as they leave.
 */
import { z } from 'zod';
import { apiSchemas } from './schemas.js';
import type { RouteSpec } from './routes.js';

type Json = Record<string, unknown>;

const COMPONENT = '#/components/schemas/';

/** `:app` -> `{app}`, and a `{regex}` constraint dropped. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');
}

/** A schema in the document's terms: named schemas as references, `$defs` folded into the components. */
function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  const id = apiSchemas.get(schema)?.id;
  if (id) return { $ref: `${COMPONENT}${id}` };
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io, metadata: apiSchemas, unrepresentable: 'any' }) as Json;
  delete out.$schema;
  delete out.$defs;
  return JSON.parse(JSON.stringify(out).replaceAll('"#/$defs/', `"${COMPONENT}`)) as Json;
}

function components(): Json {
  const all = z.toJSONSchema(apiSchemas, {
    target: 'draft-2020-12',
    io: 'output',
    unrepresentable: 'any',
    uri: (id) => `${COMPONENT}${id}`,
  }) as { schemas: Record<string, Json> };
  for (const s of Object.values(all.schemas)) {
    delete s.$schema;
    delete s.$id;
  }
  return all.schemas;
}

function isOptional(s: z.ZodType): boolean {
  return s.safeParse(undefined).success;
}

function parameters(r: RouteSpec): Json[] {
  const out: Json[] = [];
  const add = (where: 'path' | 'query' | 'header', shape: Record<string, z.ZodType>) => {
    for (const [name, s] of Object.entries(shape)) {
      const schema = schemaOf(s, 'input');
      out.push({
        // Header names are matched without regard to case, here as in HTTP.
        name,
        in: where,
        required: where === 'path' || !isOptional(s),
        schema,
        ...(schema.type === 'array' ? { style: 'form', explode: true } : {}),
      });
    }
  };
  if (r.params) add('path', r.params.shape as Record<string, z.ZodType>);
  if (r.query) add('query', r.query.shape as Record<string, z.ZodType>);
  if (r.headers) add('header', r.headers.shape as Record<string, z.ZodType>);
  return out;
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `${COMPONENT}Error` } } },
});

function operation(r: RouteSpec): Json {
  const ok =
    r.answer.type === 'json'
      ? { description: 'OK', content: { 'application/json': { schema: schemaOf(r.answer.schema, 'output') } } }
      : { description: r.answer.description, content: { [r.answer.contentType]: { schema: { type: 'string' } } } };
  const responses: Json = { '200': ok };
  if (r.params || r.query || r.headers || r.body) responses['400'] = errorResponse('Malformed request: the error names the field');
  if (r.auth !== 'none') responses['401'] = errorResponse('No valid token');
  responses['404'] = errorResponse(r.params?.shape.app ? 'No such application (or another tenant’s)' : 'Not found');
  if (r.params?.shape.app) {
    responses['409'] = errorResponse('The deployment cannot do it now (no controller, no broker, no answer in time)');
    responses['503'] = errorResponse("The deployment's broker is unreachable");
  }
  return {
    operationId: `${r.method}${openApiPath(r.path)
      .split(/[^A-Za-z0-9]+/)
      .filter(Boolean)
      .map((w) => w[0].toUpperCase() + w.slice(1))
      .join('')}`,
    summary: r.summary,
    tags: [r.tag],
    security: r.auth === 'none' ? [] : r.auth === 'bearer' ? [{ bearer: [] }] : [{ bearer: [] }, { queryToken: [] }],
    ...(parameters(r).length ? { parameters: parameters(r) } : {}),
    ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(r.body, 'input') } } } } : {}),
    responses,
  };
}

export function openApiDocument(routes: readonly RouteSpec[], version: string): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const p = openApiPath(r.path);
    paths[p] = { ...(paths[p] ?? {}), [r.method]: operation(r) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'flowtap API',
      version,
      description:
        'Security-as-a-service for microservice applications: deployments, policies, firewall, taps, records, notices, reactions, verbosity. A tenant token sees only its own applications (another tenant’s answer 404); an operator token sees all.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: components(),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'ftk_<id>_<secret>' },
        queryToken: { type: 'apiKey', in: 'query', name: 'token', description: 'For EventSource, which cannot set headers' },
      },
    },
  };
}
