import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { callJson } from './http-client.js';
import { createJsonServer, errorReply, reply, type Route } from './http-server.js';
import { createLogger } from './log.js';
import { parseTraceparent } from './trace.js';

const CALLER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

async function serve(routes: Route[]) {
  const lines: string[] = [];
  const json = createJsonServer(
    routes,
    createLogger('t', (l) => lines.push(l)),
  );
  await new Promise<void>((r) => json.server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(json.server.address() as AddressInfo).port}`;
  return { json, base, lines, logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('routes by method and path, with :params, and logs one line per request', async () => {
  const s = await serve([
    { method: 'POST', pattern: '/users/:id/bill', handler: async (req) => reply(200, { id: req.params.id, body: req.body }) },
  ]);
  try {
    const res = await callJson('POST', `${s.base}/users/42/bill`, {
      body: { amount: 1 },
      headers: { traceparent: CALLER, 'x-user-id': '42' },
    });
    assert.ok(res.ok);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { id: '42', body: { amount: 1 } });
    const answered = parseTraceparent(res.headers.traceparent as string);
    assert.equal(answered?.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.notEqual(answered?.spanId, 'b7ad6b7169203331');
    const [line] = s.logs();
    assert.equal(s.lines.length, 1);
    assert.deepEqual(
      { method: line.method, path: line.path, status: line.status, user: line.user, svc: line.svc, tp: line.traceparent },
      { method: 'POST', path: '/users/42/bill', status: 200, user: '42', svc: 't', tp: res.headers.traceparent },
    );
  } finally {
    await s.json.drain(1000);
  }
});

test('answers 404, 405, 400 and 413 as JSON errors', async () => {
  const s = await serve([{ method: 'POST', pattern: '/things', handler: async () => reply(201, {}) }]);
  try {
    const notFound = await callJson('GET', `${s.base}/nope`);
    assert.ok(notFound.ok && notFound.status === 404);
    const wrongMethod = await callJson('GET', `${s.base}/things`);
    assert.ok(wrongMethod.ok && wrongMethod.status === 405);
    const badJson = await fetch(`${s.base}/things`, { method: 'POST', body: '{oops' });
    assert.equal(badJson.status, 400);
    assert.match(((await badJson.json()) as { error: string }).error, /not valid JSON/);
    const badEscape = await fetch(`${s.base}/%E0%A4%A`);
    assert.equal(badEscape.status, 400);
    const tooBig = await fetch(`${s.base}/things`, { method: 'POST', body: 'x'.repeat(70_000) });
    assert.equal(tooBig.status, 413);
    const health = await callJson('GET', `${s.base}/healthz`);
    assert.ok(health.ok);
    assert.deepEqual(health.body, { status: 'ok', service: 't' });
  } finally {
    await s.json.drain(1000);
  }
});

test('a failing handler gives 500, is logged with its cause, and the server keeps serving', async () => {
  const s = await serve([
    {
      method: 'GET',
      pattern: '/boom',
      handler: async () => {
        throw new Error('db exploded');
      },
    },
    { method: 'GET', pattern: '/fine', handler: async () => errorReply(418, 'teapot') },
  ]);
  try {
    const boom = await callJson('GET', `${s.base}/boom`);
    assert.ok(boom.ok);
    assert.equal(boom.status, 500);
    assert.deepEqual(boom.body, { error: 'internal error' }); // no internals leak to the client
    assert.equal(s.logs()[0].error, 'db exploded');
    const fine = await callJson('GET', `${s.base}/fine`);
    assert.ok(fine.ok && fine.status === 418);
    assert.equal(s.logs()[1].error, 'teapot');
  } finally {
    await s.json.drain(1000);
  }
});

test('drain lets an in-flight request finish, then refuses new connections', async () => {
  let release!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const inHandler = new Promise<void>((r) => (entered = r));
  const s = await serve([
    {
      method: 'GET',
      pattern: '/slow',
      handler: async () => {
        entered();
        await gate;
        return reply(200, { done: true });
      },
    },
  ]);
  const pending = callJson('GET', `${s.base}/slow`);
  await inHandler;
  const drained = s.json.drain(5000);
  setTimeout(release, 50);
  const res = await pending;
  assert.ok(res.ok);
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { done: true });
  await drained;
  const after = await callJson('GET', `${s.base}/healthz`, { timeoutMs: 1000 });
  assert.equal(after.ok, false);
});
