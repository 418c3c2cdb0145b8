/**
 * Nothing a client sends produces a 500: every route of the table gets seeded random path
 * parameters, queries and bodies — well-formed ones mutated field by field, wrong types,
 * unknown keys, text that is not JSON, huge values — and must answer 2xx or a JSON error
 * (400 naming the field, 404, 409), never a server error.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng, type Rng } from '../random/index.js';
import { ROUTES } from './routes.js';
import { call, fillPath, testServer, type TestServer } from './testing.js';

let t: TestServer;
before(async () => {
  t = await testServer({ maxBodyBytes: 64 * 1024 });
});
after(async () => {
  await t.close();
});

const SEED = Number(process.env.FLOWTAP_FUZZ_SEED ?? 20251);
const ROUNDS = Number(process.env.FLOWTAP_FUZZ_ROUNDS ?? 40);

const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)];

function randomText(rng: Rng): string {
  return pick(rng, [
    '',
    ' ',
    'shop',
    'blog',
    'r-1',
    '..',
    '../..',
    '%2e%2e',
    'a'.repeat(2000),
    '\u0000',
    '💥',
    'null',
    '-1',
    '0',
    '1e309',
    '9007199254740993',
    'NaN',
    'notice,flow',
    'notice,,',
    '<script>',
    "' OR 1=1 --",
    'asc',
    'desc',
    String(Math.floor(rng() * 1e6)),
  ]);
}

function randomValue(rng: Rng, depth = 0): unknown {
  switch (Math.floor(rng() * (depth > 2 ? 6 : 9))) {
    case 0:
      return null;
    case 1:
      return rng() < 0.5;
    case 2:
      return pick(rng, [0, -1, 1, 2, 4, 5, 99, 1.5, 1e308, -1e308, 100, 3_600_000, 3_600_001, Number.MAX_SAFE_INTEGER]);
    case 3:
    case 4:
      return randomText(rng);
    case 5:
      return pick(rng, ['enforce', 'audit', 'per-node', 'per-app', 'counters', '*', 'notice', 'n1', 'web', 'web-0']);
    case 6:
      return Array.from({ length: Math.floor(rng() * 4) }, () => randomValue(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(rng() * 4); i > 0; i--) o[pick(rng, [...FIELDS, randomText(rng)])] = randomValue(rng, depth + 1);
      return o;
    }
  }
}

const FIELDS = [
  'policies',
  'name',
  'text',
  'mode',
  'strategy',
  'downMonitors',
  'node',
  'level',
  'periodMs',
  'collector',
  'kinds',
  'services',
  'instances',
  '__proto__',
  'constructor',
];
const QUERY_KEYS = ['from', 'to', 'kind', 'node', 'service', 'instance', 'provenance', 'text', 'afterId', 'limit', 'order', 'token', 'x'];
const VALID: Record<string, object> = {
  '/api/v1/apps/:app/policies': { policies: [{ name: 'p1', text: 'x.' }], mode: 'audit', strategy: 'per-app', downMonitors: ['mon1'] },
  '/api/v1/apps/:app/verbosity': {
    node: 'n1',
    level: 2,
    periodMs: 1000,
    collector: 'flows',
    kinds: ['flow'],
    services: ['web'],
    instances: ['web-0'],
  },
};

function randomBody(rng: Rng, path: string): string | undefined {
  const r = rng();
  if (r < 0.1) return undefined;
  if (r < 0.2) return pick(rng, ['{', 'nul', '[]', '""', '1', '{"a":', '\u0000', '{}', 'x'.repeat(70 * 1024)]);
  const valid = VALID[path];
  if (valid && r < 0.7) {
    // A well-formed body with one field broken, dropped or added.
    const o: Record<string, unknown> = structuredClone(valid) as Record<string, unknown>;
    const k = pick(rng, Object.keys(o));
    if (rng() < 0.7) o[k] = randomValue(rng);
    else delete o[k];
    if (rng() < 0.2) o[randomText(rng) || 'extra'] = randomValue(rng);
    return JSON.stringify(o);
  }
  return JSON.stringify(randomValue(rng));
}

function randomQuery(rng: Rng): string {
  const parts: string[] = [];
  for (let i = Math.floor(rng() * 5); i > 0; i--)
    parts.push(`${encodeURIComponent(pick(rng, QUERY_KEYS))}=${encodeURIComponent(randomText(rng))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

test(`fuzz: no request to any route answers 500 (seed ${SEED}, ${ROUNDS} rounds a route)`, async () => {
  const rng = seededRng(SEED);
  const statuses = new Map<number, number>();
  let requests = 0;
  for (const r of ROUTES)
    for (let i = 0; i < ROUNDS; i++) {
      const app = rng() < 0.8 ? 'shop' : randomText(rng);
      const id = rng() < 0.5 ? 'r-1' : randomText(rng);
      const path = fillPath(r.path, { app, id, file: randomText(rng), path: `${randomText(rng)}.js` }) + randomQuery(rng);
      const token = pick(rng, [t.tokens.acme, t.tokens.acme, t.tokens.operator, t.tokens.globex, undefined]);
      const headers: Record<string, string> = rng() < 0.2 ? { 'last-event-id': randomText(rng).replace(/[^\x20-\x7e]/g, '') } : {};
      const body = r.method === 'get' ? undefined : randomBody(rng, r.path);
      const a = await call(t.server.url, r.method, path, { token, headers, ...(body !== undefined ? { body } : {}) });
      requests++;
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      const what = `${r.method.toUpperCase()} ${path.slice(0, 200)} body ${String(body).slice(0, 200)} -> ${a.status} ${a.text.slice(0, 300)}`;
      assert.ok(a.status < 500, what);
      if (a.status >= 400) {
        const e = (a.json as { error?: { code?: unknown; message?: unknown; field?: unknown } } | null)?.error;
        assert.ok(e && typeof e.code === 'string' && typeof e.message === 'string', `not a JSON error: ${what}`);
        if (a.status === 400) assert.equal(typeof e.field, 'string', `a 400 names its field: ${what}`);
      }
    }
  // The fuzzer must have reached past validation, and been refused by it, on many requests.
  assert.ok((statuses.get(200) ?? 0) > requests / 10, JSON.stringify([...statuses]));
  assert.ok((statuses.get(400) ?? 0) > requests / 10, JSON.stringify([...statuses]));
});
