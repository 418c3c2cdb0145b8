import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { StoredRecord } from '../broker/index.js';
import { testServer, type TestServer } from './testing.js';
import { issueToken, revokeToken, tokenFile } from './tokens.js';

let t: TestServer;
before(async () => {
  t = await testServer({ hub: { pollMs: 50, queueMax: 50 } });
});
after(async () => {
  await t.close();
});

interface Stream {
  events: { event: string; id?: string; record: StoredRecord }[];
  errors: { code: string; message: string }[];
  /** The server ended the stream. */
  ended: boolean;
  until(pred: (s: Stream) => boolean, ms?: number): Promise<void>;
  close(): void;
}

async function open(path: string, headers: Record<string, string> = {}): Promise<Stream> {
  const ac = new AbortController();
  const r = await fetch(t.server.url + path, { headers, signal: ac.signal });
  assert.equal(r.status, 200, await (r.status === 200 ? Promise.resolve('') : r.text()));
  assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
  const s: Stream = {
    events: [],
    errors: [],
    ended: false,
    async until(pred, ms = 3000) {
      const deadline = Date.now() + ms;
      while (!pred(s) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      assert.ok(pred(s), `stream: not reached within ${ms} ms; got ${JSON.stringify(s.events.map((e) => e.id))}`);
    },
    close: () => ac.abort(),
  };
  void (async () => {
    let buf = '';
    const dec = new TextDecoder();
    try {
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const fields = new Map(
            block
              .split('\n')
              .filter((l) => !l.startsWith(':'))
              .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)] as [string, string]),
          );
          if (fields.get('event') === 'record')
            s.events.push({ event: 'record', id: fields.get('id'), record: JSON.parse(fields.get('data') ?? 'null') as StoredRecord });
          if (fields.get('event') === 'error') s.errors.push(JSON.parse(fields.get('data') ?? 'null') as Stream['errors'][number]);
        }
      }
      s.ended = true;
    } catch {
      /* aborted */
    }
  })();
  return s;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const notes = (s: Stream) => s.events.map((e) => String(e.record.data.note));

async function settle(pred: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(pred(), 'condition not reached');
}

test('stream: records appended after connecting arrive with their id, filtered, and only the application’s own', async () => {
  const all = await open('/api/v1/apps/shop/records/stream', bearer(t.tokens.acme));
  const notices = await open(`/api/v1/apps/shop/records/stream?kind=notice&node=n1&token=${t.tokens.acme}`);
  await t.fleet.append('shop', [
    { kind: 'notice', node: 'n1', data: { note: 'one' } },
    { kind: 'flow', node: 'n1', data: { note: 'flow' } },
    { kind: 'notice', node: 'n2', data: { note: 'other node' } },
  ]);
  await t.fleet.append('blog', [{ kind: 'notice', node: 'n1', data: { note: 'globex' } }]);
  await t.fleet.append('shop', [{ kind: 'notice', node: 'n1', data: { note: 'two' } }]);
  await all.until((s) => s.events.length >= 4);
  await notices.until((s) => s.events.length >= 2);
  assert.deepEqual(notes(all), ['one', 'flow', 'other node', 'two']);
  assert.deepEqual(notes(notices), ['one', 'two']);
  assert.ok(all.events.every((e) => e.id === String(e.record.id) && e.record.app === 'shop' && e.record.tenant === 'acme'));
  all.close();
  notices.close();
});

test('stream: resumes after Last-Event-ID (or ?afterId) with no gap and no repeat, then follows live', async () => {
  await t.fleet.append(
    'shop',
    [1, 2, 3].map((n) => ({ kind: 'log' as const, data: { note: `past ${n}` } })),
  );
  const past = await t.fleet.records('shop', { text: 'past', order: 'asc' });
  const fromId = past[0].id;
  const resumed = await open('/api/v1/apps/shop/records/stream?kind=log', { ...bearer(t.tokens.acme), 'Last-Event-ID': String(fromId) });
  const byQuery = await open(`/api/v1/apps/shop/records/stream?kind=log&afterId=${past[1].id}`, bearer(t.tokens.acme));
  await t.fleet.append('shop', [{ kind: 'log', data: { note: 'live' } }]);
  await resumed.until((s) => s.events.length >= 3);
  await byQuery.until((s) => s.events.length >= 2);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(notes(resumed), ['past 2', 'past 3', 'live']);
  assert.deepEqual(notes(byQuery), ['past 3', 'live']);
  resumed.close();
  byQuery.close();
  const bad = await fetch(`${t.server.url}/api/v1/apps/shop/records/stream`, {
    headers: { ...bearer(t.tokens.acme), 'Last-Event-ID': 'x' },
  });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { error: { field: string } }).error.field, 'last-event-id');
});

test('stream: one store poller per application whatever the number of clients; disconnects are cleaned up', async () => {
  await settle(() => t.server.stats().streams.clients === 0);
  const clients = await Promise.all(Array.from({ length: 25 }, () => open('/api/v1/apps/shop/records/stream', bearer(t.tokens.acme))));
  const other = await open('/api/v1/apps/blog/records/stream', bearer(t.tokens.globex));
  assert.equal(t.server.stats().streams.clients, 26);
  assert.equal(t.server.stats().streams.pollers, 2);
  const polls = t.server.stats().streams.polls;
  await t.fleet.append('shop', [{ kind: 'notice', data: { note: 'fan-out' } }]);
  for (const c of clients) await c.until((s) => notes(s).includes('fan-out'));
  await new Promise((r) => setTimeout(r, 300));
  // Two pollers at one query a tick (50 ms) each, not one a client.
  const perTick = (t.server.stats().streams.polls - polls) / (300 / 50);
  assert.ok(perTick < 6, `${perTick} queries a tick for 26 clients`);
  for (const c of clients) c.close();
  other.close();
  await settle(() => t.server.stats().streams.clients === 0 && t.server.stats().streams.pollers === 0);
});

test('stream: a client that stops reading is dropped and counted, not buffered without bound', async () => {
  await settle(() => t.server.stats().streams.clients === 0);
  const droppedBefore = t.server.stats().streams.dropped;
  const url = new URL(`${t.server.url}/api/v1/apps/shop/records/stream`);
  let closed = false;
  const req = request(url, { headers: bearer(t.tokens.acme) }, (res) => {
    res.pause(); // reads nothing from here on
    res.on('close', () => (closed = true));
  });
  req.on('error', () => (closed = true));
  req.end();
  await settle(() => t.server.stats().streams.clients === 1);
  const big = 'x'.repeat(16 * 1024);
  for (let i = 0; i < 40; i++)
    await t.fleet.append(
      'shop',
      Array.from({ length: 10 }, () => ({ kind: 'log' as const, data: { big } })),
    );
  await settle(() => t.server.stats().streams.dropped > droppedBefore, 10_000);
  await settle(() => t.server.stats().streams.clients === 0 && closed, 5000);
});

test('stream: a token revoked while its stream runs ends the stream with an error event saying why; the others go on', async () => {
  await settle(() => t.server.stats().streams.clients === 0);
  const file = tokenFile(t.stateDir);
  const issued = issueToken(file, { name: 'acme-wall', tenant: 'acme' });
  assert.ok(issued.ok);
  const doomed = await open('/api/v1/apps/shop/records/stream', bearer(issued.value.token));
  const byQuery = await open(`/api/v1/apps/shop/records/stream?token=${issued.value.token}`);
  const other = await open('/api/v1/apps/shop/records/stream', bearer(t.tokens.acme));
  await t.fleet.append('shop', [{ kind: 'log', data: { note: 'before' } }]);
  for (const s of [doomed, byQuery, other]) await s.until((x) => notes(x).includes('before'));
  const endedBefore = t.server.stats().streams.ended;
  // `flowtap token revoke`, from another process as far as the server knows: only the file changes.
  assert.ok(revokeToken(file, 'acme-wall').ok);
  await settle(() => doomed.ended && byQuery.ended);
  for (const s of [doomed, byQuery]) {
    assert.equal(s.errors.length, 1);
    assert.equal(s.errors[0].code, 'E_API_AUTH');
    assert.match(s.errors[0].message, /the token was revoked at /);
  }
  assert.equal(t.server.stats().streams.ended, endedBefore + 2);
  await t.fleet.append('shop', [{ kind: 'log', data: { note: 'after' } }]);
  await other.until((x) => notes(x).includes('after'));
  assert.equal(other.ended, false);
  assert.deepEqual(other.errors, []);
  assert.ok(!notes(doomed).includes('after'));
  // Reconnecting with it is refused.
  const again = await fetch(`${t.server.url}/api/v1/apps/shop/records/stream`, { headers: bearer(issued.value.token) });
  assert.equal(again.status, 401);
  other.close();
});
