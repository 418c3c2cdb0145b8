import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApiDocument, openApiPath } from './openapi.js';
import { ROUTES } from './routes.js';
import { createApi } from './server.js';
import { FakeFleet } from './testing.js';

type Json = Record<string, unknown>;
const doc = openApiDocument(ROUTES, 'test') as Json & { paths: Record<string, Record<string, Json>>; components: Json };
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);

function walk(v: unknown, visit: (o: Json, at: string) => void, at = '#'): void {
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) walk(x, visit, `${at}/${i}`);
  } else if (v && typeof v === 'object') {
    visit(v as Json, at);
    for (const [k, x] of Object.entries(v)) walk(x, visit, `${at}/${k}`);
  }
}

function resolve(pointer: string): unknown {
  assert.ok(pointer.startsWith('#/'), `only local references: ${pointer}`);
  let at: unknown = doc;
  for (const part of pointer.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    at = at && typeof at === 'object' ? (at as Json)[key] : undefined;
  }
  return at;
}

test('openapi: a 3.1 document whose every operation has an id, responses, known security and its path parameters', () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(typeof (doc.info as Json).title, 'string');
  assert.equal(typeof (doc.info as Json).version, 'string');
  const schemes = (doc.components as { securitySchemes: Json }).securitySchemes;
  assert.deepEqual((schemes.bearer as Json).scheme, 'bearer');
  const ids = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    assert.match(path, /^\//);
    for (const [method, op] of Object.entries(item)) {
      assert.ok(METHODS.has(method), `${path}: ${method}`);
      assert.ok(typeof op.operationId === 'string' && !ids.has(op.operationId), `${method} ${path}: operationId`);
      ids.add(op.operationId as string);
      assert.ok((op.responses as Json)['200'], `${method} ${path}: a 200 answer`);
      for (const req of op.security as Json[])
        for (const name of Object.keys(req)) assert.ok(schemes[name], `${method} ${path}: scheme ${name}`);
      const declared = ((op.parameters as Json[] | undefined) ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      assert.deepEqual(declared.sort(), templated.sort(), `${method} ${path}: path parameters`);
      for (const p of (op.parameters as Json[] | undefined) ?? [])
        assert.ok(['path', 'query', 'header'].includes(p.in as string) && p.schema);
    }
  }
});

test('openapi: every $ref resolves, and every named schema is used', () => {
  const refs = new Set<string>();
  walk(doc, (o, at) => {
    if (typeof o.$ref === 'string') {
      assert.ok(resolve(o.$ref) !== undefined, `${at}: ${o.$ref} does not resolve`);
      refs.add(o.$ref);
    }
  });
  assert.ok(refs.size > 10);
  const schemas = Object.keys((doc.components as { schemas: Json }).schemas);
  assert.ok(schemas.includes('Graph') && schemas.includes('Error') && schemas.includes('StoredRecord'));
  assert.deepEqual(
    schemas.filter((s) => !refs.has(`#/components/schemas/${s}`)),
    [],
  );
});

test('openapi: the document covers exactly the routes the server registers, with their methods', async () => {
  const fleet = await FakeFleet.create();
  try {
    const api = createApi({ fleet, tokens: { verify: () => null }, log: () => {} });
    const served = new Set(api.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`));
    const documented = new Set(Object.entries(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m} ${p}`)));
    assert.deepEqual([...served].sort(), [...documented].sort());
    assert.equal(served.size, ROUTES.length);
    // The contract's routes, spelled out once more: a route lost from the table fails here.
    for (const r of [
      'get /openapi.json',
      'get /metrics',
      'get /api/v1/whoami',
      'get /api/v1/apps',
      'get /api/v1/apps/{app}',
      'get /api/v1/apps/{app}/graph',
      'get /api/v1/apps/{app}/policies',
      'put /api/v1/apps/{app}/policies',
      'get /api/v1/apps/{app}/reaction-rules',
      'get /api/v1/apps/{app}/firewall',
      'get /api/v1/apps/{app}/taps',
      'get /api/v1/apps/{app}/records',
      'get /api/v1/apps/{app}/records/stream',
      'get /api/v1/apps/{app}/notices',
      'get /api/v1/apps/{app}/reactions',
      'post /api/v1/apps/{app}/reactions/{id}/approve',
      'post /api/v1/apps/{app}/reactions/{id}/undo',
      'post /api/v1/apps/{app}/reactions/{id}/keep',
      'get /api/v1/apps/{app}/verbosity',
      'put /api/v1/apps/{app}/verbosity',
      'post /api/v1/apps/{app}/probe',
    ])
      assert.ok(documented.has(r), r);
  } finally {
    await fleet.close();
  }
});

test('openapi: request schemas say what the server checks (query values as text, bodies strict)', () => {
  const records = doc.paths['/api/v1/apps/{app}/records'].get;
  const limit = (records.parameters as Json[]).find((p) => p.name === 'limit')!;
  assert.equal((limit.schema as Json).type, 'string');
  const kind = (records.parameters as Json[]).find((p) => p.name === 'kind')!;
  assert.equal((kind.schema as Json).type, 'array');
  const put = doc.paths['/api/v1/apps/{app}/verbosity'].put;
  const body = ((put.requestBody as Json).content as Record<string, { schema: Json }>)['application/json'].schema;
  assert.equal(body.additionalProperties, false);
  assert.ok((body.properties as Json).level);
});
