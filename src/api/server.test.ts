import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { ROUTES, type RouteSpec } from './routes.js';
import { call, fillPath, testServer, type TestServer } from './testing.js';

let t: TestServer;
before(async () => {
  t = await testServer();
});
after(async () => {
  await t.close();
});

const appRoutes = ROUTES.filter((r) => r.params?.shape.app);
const key = (r: RouteSpec) => `${r.method} ${r.path}`;

/** A request each route accepts from its own tenant. */
const VALID_BODY: Record<string, object> = {
  'put /api/v1/apps/:app/policies': { mode: 'audit' },
  'put /api/v1/apps/:app/verbosity': { level: 2 },
};

const send = (r: RouteSpec, app: string, token?: string) =>
  call(t.server.url, r.method, fillPath(r.path, { app, id: 'r-1' }), {
    token,
    ...(VALID_BODY[key(r)] ? { body: VALID_BODY[key(r)] } : {}),
  });

test('auth: every authenticated route refuses a missing, malformed, unknown, wrong or revoked token with 401', async () => {
  const authed = ROUTES.filter((r) => r.auth !== 'none');
  assert.ok(authed.length >= 20);
  const acme = t.tokens.acme;
  const wrongSecret = `${acme.slice(0, -1)}${acme.endsWith('A') ? 'B' : 'A'}`;
  for (const r of authed) {
    const path = fillPath(r.path, { app: 'shop', id: 'r-1' });
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Basic abc' },
      { authorization: 'Bearer' },
      { authorization: `Bearer ${wrongSecret}` },
    ]) {
      const a = await call(t.server.url, r.method, path, { headers });
      assert.equal(a.status, 401, `${key(r)} ${JSON.stringify(headers)}`);
      assert.equal((a.json as { error: { code: string } }).error.code, 'E_API_AUTH');
    }
    assert.equal((await call(t.server.url, r.method, path, { token: t.tokens.revoked })).status, 401, `${key(r)} revoked`);
    assert.equal((await call(t.server.url, r.method, path, { token: 'ftk_000000000000_' + 'A'.repeat(43) })).status, 401);
  }
  // ?token= only where a browser's EventSource needs it.
  assert.equal((await call(t.server.url, 'get', `/api/v1/apps/shop/records?token=${acme}`)).status, 401);
  assert.equal((await call(t.server.url, 'get', `/api/v1/apps/shop/records/stream?token=${acme}`)).status, 200);
  assert.equal((await call(t.server.url, 'get', `/api/v1/apps/shop/records/stream?token=${wrongSecret}`)).status, 401);
  // No token needed for the document and the dashboard.
  assert.equal((await call(t.server.url, 'get', '/openapi.json')).status, 200);
});

test('whoami and the application list: a tenant sees its own, the operator all', async () => {
  const me = await call(t.server.url, 'get', '/api/v1/whoami', { token: t.tokens.globex });
  assert.deepEqual(me.json, {
    tenant: 'globex',
    operator: false,
    token: { id: (me.json as { token: { id: string } }).token.id, name: 'globex-ci' },
  });
  const op = await call(t.server.url, 'get', '/api/v1/whoami', { token: t.tokens.operator });
  assert.equal((op.json as { operator: boolean }).operator, true);
  const names = async (token: string) =>
    ((await call(t.server.url, 'get', '/api/v1/apps', { token })).json as { apps: { name: string }[] }).apps.map((a) => a.name);
  assert.deepEqual(await names(t.tokens.acme), ['shop']);
  assert.deepEqual(await names(t.tokens.globex), ['blog']);
  assert.deepEqual(await names(t.tokens.operator), ['shop', 'blog']);
});

test('tenancy both ways on every application route: another tenant’s application answers exactly as one that does not exist', async () => {
  assert.ok(appRoutes.length >= 17, `${appRoutes.length} application routes`);
  for (const r of appRoutes) {
    for (const [token, mine, theirs] of [
      [t.tokens.acme, 'shop', 'blog'],
      [t.tokens.globex, 'blog', 'shop'],
    ] as const) {
      const callsBefore = t.fleet.calls.length;
      const other = await send(r, theirs, token);
      const none = await send(r, 'no-such-app', token);
      assert.equal(other.status, 404, `${key(r)}: ${theirs} with ${mine}'s token`);
      assert.equal(other.text, none.text.replace('no-such-app', theirs), `${key(r)}: the same answer as for no application`);
      assert.equal(t.fleet.calls.length, callsBefore, `${key(r)}: nothing changed in ${theirs}`);
      const own = await send(r, mine, token);
      const byOperator = await send(r, mine, t.tokens.operator);
      assert.equal(own.status, byOperator.status, `${key(r)}: ${mine}'s own token answers as the operator's`);
      assert.notEqual(own.status, 401);
    }
  }
  // Nothing another tenant tried was recorded in the victim's broker.
  const audits = await t.fleet.records('blog', { kinds: ['audit'] });
  assert.ok(audits.every((a) => (a.data.token as { tenant: string | null }).tenant !== 'acme'));
});

test('every JSON answer has the shape the route table (and so the OpenAPI document) gives it', async () => {
  await t.fleet.append('shop', [
    { kind: 'notice', data: { note: 'FlowTap::SQL_Injection', msg: 'x' } },
    { kind: 'counter', data: { packets: 1 } },
  ]);
  for (const r of appRoutes.concat(ROUTES.filter((x) => x.path === '/api/v1/apps' || x.path === '/api/v1/whoami'))) {
    if (r.answer.type !== 'json') continue;
    const a = await send(r, 'shop', t.tokens.acme);
    assert.equal(a.status, 200, `${key(r)}: ${a.text}`);
    const parsed = r.answer.schema.safeParse(a.json);
    assert.ok(parsed.success, `${key(r)}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues)}`);
  }
});

test('writes are recorded as audit records with the token’s tenant, route and outcome, refused ones too', async () => {
  const before = (await t.fleet.records('shop', { kinds: ['audit'] })).length;
  const ok = await call(t.server.url, 'put', '/api/v1/apps/shop/verbosity', { token: t.tokens.acme, body: { level: 3, node: 'n2' } });
  assert.equal(ok.status, 200);
  const bad = await call(t.server.url, 'put', '/api/v1/apps/shop/verbosity', { token: t.tokens.acme, body: { node: 'n9', level: 2 } });
  assert.equal(bad.status, 400);
  assert.equal((bad.json as { error: { field: string } }).error.field, 'node');
  const op = await call(t.server.url, 'post', '/api/v1/apps/shop/reactions/r-9/undo', { token: t.tokens.operator });
  assert.equal(op.status, 404);
  const audits = (await t.fleet.records('shop', { kinds: ['audit'] })).slice(before);
  assert.deepEqual(
    audits.map((a) => [
      a.tenant,
      a.data.method,
      a.data.route,
      a.data.status,
      a.data.outcome,
      (a.data.token as { tenant: string | null }).tenant,
    ]),
    [
      ['acme', 'PUT', '/api/v1/apps/shop/verbosity', 200, 'ok', 'acme'],
      ['acme', 'PUT', '/api/v1/apps/shop/verbosity', 400, 'refused', 'acme'],
      ['acme', 'POST', '/api/v1/apps/shop/reactions/r-9/undo', 404, 'refused', null],
    ],
  );
  assert.equal(t.server.stats().auditFailures, 0);
});

test('errors: a controller refusal keeps its code and status; unknown routes are 404 JSON', async () => {
  const state = await call(t.server.url, 'post', '/api/v1/apps/shop/reactions/r-2/approve', { token: t.tokens.acme });
  assert.equal(state.status, 409);
  assert.equal((state.json as { error: { code: string } }).error.code, 'E_REACTION_STATE');
  for (const [m, p] of [
    ['get', '/api/v2/apps'],
    ['delete', '/api/v1/apps/shop'],
    ['get', '/api/v1/apps/shop/nothing'],
    ['post', '/api/v1/apps/shop/graph'],
  ]) {
    const a = await call(t.server.url, m, p, { token: t.tokens.acme });
    assert.equal(a.status, 404, `${m} ${p}`);
    assert.equal((a.json as { error: { code: string } }).error.code, 'E_API_NOT_FOUND');
  }
});

test('the dashboard and the vendored libraries: only web/ files and the allow-list, never a path from the request', async () => {
  const { mkdtempSync, writeFileSync, rmSync, mkdirSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const web = mkdtempSync(join(tmpdir(), 'flowtap-web-'));
  const modules = mkdtempSync(join(tmpdir(), 'flowtap-nm-'));
  writeFileSync(join(web, 'index.html'), '<h1>flowtap</h1>');
  writeFileSync(join(web, 'app.js'), 'export {}');
  writeFileSync(join(web, '.secret.js'), 'no');
  mkdirSync(join(modules, 'uplot', 'dist'), { recursive: true });
  writeFileSync(join(modules, 'uplot', 'dist', 'uPlot.min.css'), '.u{}');
  writeFileSync(join(modules, 'uplot', 'package.json'), '{}');
  const s = await testServer({ webDir: web, nodeModules: modules });
  try {
    const index = await call(s.server.url, 'get', '/');
    assert.equal(index.status, 200);
    assert.equal(index.text, '<h1>flowtap</h1>');
    assert.match(index.type, /^text\/html/);
    assert.match((await call(s.server.url, 'get', '/app.js?v=2')).type, /^text\/javascript/);
    assert.equal((await call(s.server.url, 'get', '/vendor/uPlot.min.css')).text, '.u{}');
    for (const p of [
      '/.secret.js',
      '/vendor/package.json',
      '/vendor/..%2Fpackage.json',
      '/%2E%2E/%2E%2E/etc/passwd.js',
      '/vendor/uPlot.esm.js',
      '/web/app.js',
    ])
      assert.equal((await call(s.server.url, 'get', p)).status, 404, p);
  } finally {
    await s.close();
    rmSync(web, { recursive: true, force: true });
    rmSync(modules, { recursive: true, force: true });
  }
});

test('errors: a fault on the server’s side is a clean JSON 500 without its stack; an unreachable broker is 503', async () => {
  const logged: string[] = [];
  const s = await testServer({ log: (l) => logged.push(l) });
  try {
    s.fleet.graph = async () => {
      throw new TypeError('boom at /secret/path.ts:12');
    };
    s.fleet.notices = async () => {
      throw new FlowtapError(diag('E_BROKER_UNREACHABLE', 'the store at postgres://db is unreachable'));
    };
    const bug = await call(s.server.url, 'get', '/api/v1/apps/shop/graph', { token: s.tokens.acme });
    assert.equal(bug.status, 500);
    assert.deepEqual(bug.json, { error: { code: 'E_API_INTERNAL', message: 'internal error (logged on the server)' } });
    assert.ok(
      logged.some((l) => l.includes('boom')),
      'the stack goes to the log',
    );
    const down = await call(s.server.url, 'get', '/api/v1/apps/shop/notices', { token: s.tokens.acme });
    assert.equal(down.status, 503);
    assert.equal((down.json as { error: { code: string } }).error.code, 'E_BROKER_UNREACHABLE');
  } finally {
    await s.close();
  }
});
