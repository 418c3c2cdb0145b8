import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseTraceparent } from '../services/index.js';
import { parseCli, percentile, runLoad, seededRandom, summariseLatencies, type LoadOptions, type RequestRecord } from './index.js';

test('seeded random is reproducible and in [0, 1)', () => {
  const a = seededRandom(99);
  const b = seededRandom(99);
  const c = seededRandom(100);
  const xs = Array.from({ length: 100 }, () => a());
  assert.deepEqual(
    xs,
    Array.from({ length: 100 }, () => b()),
  );
  assert.notDeepEqual(
    xs,
    Array.from({ length: 100 }, () => c()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

test('percentiles use the nearest rank', () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(sorted, 50), 50);
  assert.equal(percentile(sorted, 99), 99);
  assert.equal(percentile(sorted, 100), 100);
  assert.equal(percentile([], 50), 0);
  assert.deepEqual(summariseLatencies([3, 1, 2]), { p50: 2, p90: 3, p99: 3, max: 3, mean: 2 });
});

test('parseCli reads every flag and reports all bad ones at once', () => {
  const urls = ['--contract-update', 'http://a:1', '--user-create', 'http://b:2', '--dvd-return', 'http://c:3'];
  const ok = parseCli([...urls, '--requests', '10', '--rate', '5', '--concurrency', '3', '--seed', '9', '--max-error-rate', '0']);
  assert.ok(ok.ok);
  assert.deepEqual(
    {
      r: ok.value.requests,
      rate: ok.value.rate,
      c: ok.value.concurrency,
      s: ok.value.seed,
      m: ok.value.maxErrorRate,
      d: ok.value.durationS,
      u: ok.value.userCreateUrl,
    },
    { r: 10, rate: 5, c: 3, s: 9, m: 0, d: undefined, u: 'http://b:2' },
  );
  const bad = parseCli(['--contract-update', 'ftp://x', '--concurrency', '0', '--rate', 'fast']);
  assert.equal(bad.ok, false);
  const message = bad.ok ? '' : bad.error;
  for (const part of [
    /--contract-update must be an http:\/\/ URL/,
    /--user-create URL is required/,
    /--rate must be a number >= 0, got "fast"/,
    /--concurrency must be an integer 1-1024/,
    /give --duration S or --requests N/,
  ]) {
    assert.match(message, part);
  }
  assert.equal(parseCli(['--bogus', '1']).ok, false);
});

/** A stand-in for the three entry points that records what the generator sends. */
async function fakeApp(failEvery = 0) {
  const seen: Array<{ path: string; user?: string; traceparent?: string; body: Record<string, unknown> }> = [];
  let n = 0;
  const handle = (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): void => {
    n++;
    seen.push({
      path: req.url ?? '',
      user: req.headers['x-user-id'] as string | undefined,
      traceparent: req.headers.traceparent as string | undefined,
      body,
    });
    const send = (status: number, json: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    };
    if (failEvery > 0 && n % failEvery === 0) return send(503, { error: 'overloaded' });
    if (req.url === '/users') return send(201, { id: Number(req.headers['x-user-id']) });
    if (req.url === '/contracts') return send(201, { contract: `c-${n}-${String(body.user)}` });
    if (req.url === '/returns') return send(200, { returned: true });
    send(404, {});
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function options(base: string, extra: Partial<LoadOptions>): LoadOptions {
  return {
    contractUpdateUrl: base,
    userCreateUrl: base,
    dvdReturnUrl: base,
    rate: 0,
    concurrency: 3,
    seed: 1,
    dvdCount: 50,
    firstDvd: 1,
    returnAfterMs: 0,
    timeoutMs: 2000,
    ...extra,
  };
}

test('--first-dvd keeps a run to its own range of DVDs', async () => {
  assert.equal(
    (
      parseCli(['--contract-update', 'http://a:1', '--user-create', 'http://b:2', '--dvd-return', 'http://c:3', '--requests', '1']) as {
        value: LoadOptions;
      }
    ).value.firstDvd,
    1,
  );
  const app = await fakeApp();
  try {
    await runLoad(options(app.base, { requests: 120, firstDvd: 501, dvdCount: 20 }));
    const dvds = app.seen.filter((s) => s.path === '/contracts').map((s) => s.body.dvd as number);
    assert.ok(dvds.length > 10);
    assert.ok(
      dvds.every((d) => d >= 501 && d <= 520),
      `dvds ${dvds.join(',')}`,
    );
    assert.ok(new Set(dvds).size > 5, 'spread over the range');
  } finally {
    await app.close();
  }
});

test('runLoad mixes sign-ups, rentals and returns as the right users, each with a fresh trace', async () => {
  const app = await fakeApp();
  try {
    const records: RequestRecord[] = [];
    const summary = await runLoad(options(app.base, { requests: 200 }), (r) => records.push(r));
    assert.equal(summary.requests, 200);
    assert.equal(summary.errors, 0);
    assert.equal(app.seen.length, 200);
    for (const op of ['create-user', 'rent', 'return'])
      assert.ok((summary.byOperation[op] ?? 0) > 10, `${op}: ${JSON.stringify(summary.byOperation)}`);
    const traces = new Set(app.seen.map((s) => parseTraceparent(s.traceparent)?.traceId));
    assert.equal(traces.size, 200);
    assert.ok(!traces.has(undefined));
    const contracts = new Map<string, string>();
    const signedUp = new Set<string>();
    for (const s of app.seen) {
      if (s.path === '/users') {
        assert.ok(Number(s.user) >= 1_000_000, `sign-up as ${s.user}`);
        assert.ok(!signedUp.has(s.user!), 'a user id was signed up twice');
        signedUp.add(s.user!);
      }
      if (s.path === '/contracts') {
        assert.equal(s.user, String(s.body.user), 'a rental must be made as the renting user');
        assert.ok(signedUp.has(s.user!), 'a rental for a user who never signed up');
        const dvd = s.body.dvd as number;
        assert.ok(Number.isInteger(dvd) && dvd >= 1 && dvd <= 50);
      }
      if (s.path === '/returns') {
        const owner = /^c-\d+-(\d+)$/.exec(String(s.body.rental))?.[1];
        assert.equal(s.user, owner, 'a return must be made as the user who rented');
        assert.ok(!contracts.has(String(s.body.rental)), 'a rental was returned twice');
        contracts.set(String(s.body.rental), s.user!);
      }
    }
    assert.equal(records.length, 200);
  } finally {
    await app.close();
  }
});

test('runLoad paces requests at the given rate and counts errors by kind', async () => {
  const app = await fakeApp(5);
  try {
    const summary = await runLoad(options(app.base, { requests: 20, rate: 40 }));
    // 20 requests at 40/s: the last one starts after ~475 ms.
    assert.ok(summary.durationS >= 0.45, `finished in ${summary.durationS}s`);
    assert.equal(summary.errors, 4);
    assert.equal(summary.errorRate, 0.2);
    const kinds = Object.keys(summary.errorsByKind);
    assert.ok(kinds.length > 0 && kinds.every((k) => /^(create-user|rent|return):503$/.test(k)), kinds.join());
    const refused = await runLoad(options('http://127.0.0.1:1', { requests: 3, concurrency: 1 }));
    assert.deepEqual(refused.errorsByKind, { 'create-user:refused': 3 });
  } finally {
    await app.close();
  }
});

test('runLoad stops after the duration', async () => {
  const app = await fakeApp();
  try {
    const summary = await runLoad(options(app.base, { durationS: 0.3, rate: 50 }));
    // Slots every 20 ms up to the 300 ms deadline: 15, or 16 when a timer fires a hair early;
    // fewer on a busy machine. Far more would mean the deadline was ignored.
    assert.ok(summary.requests >= 3 && summary.requests <= 16, `${summary.requests} requests`);
  } finally {
    await app.close();
  }
  await assert.rejects(runLoad(options('http://127.0.0.1:1', {})), /durationS or requests/);
});
