import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Diagnostic } from '../../diagnostics/index.js';
import { type CacheEvent, ResourceWatch } from './resource-watch.js';
import { FakeSource, pod } from './testing.js';

const FAST = { backoff: { initialMs: 1, maxMs: 4 } };
const tick = () => new Promise((r) => setTimeout(r, 5));

function started(source: FakeSource, opts = {}) {
  const events: CacheEvent[] = [];
  const problems: Diagnostic[] = [];
  const w = new ResourceWatch('Pod', source, { ...FAST, onProblem: (d) => problems.push(d), ...opts });
  w.onEvent((e) => events.push(e));
  const seen = () => events.map((e) => `${e.type} ${e.object.metadata.name}${e.relist ? ' (relist)' : ''}`);
  return { w, events, problems, seen };
}

test('lists, then watches from the list version; events and their versions reach the cache', async () => {
  const s = new FakeSource();
  s.items = [pod('a', '10')];
  s.version = '11';
  const { w, seen } = started(s);
  await w.start();
  await s.watches(1);
  assert.deepEqual(s.watchedFrom, ['11']);
  s.send('ADDED', pod('b', '12'));
  s.send('MODIFIED', pod('a', '13'));
  s.send('DELETED', pod('b', '14'));
  assert.deepEqual(seen(), ['ADDED a (relist)', 'ADDED b', 'MODIFIED a', 'DELETED b']);
  assert.deepEqual([...w.cache.keys()], ['shop/a']);
  assert.equal(w.cache.get('shop/a')?.metadata.resourceVersion, '13');
  assert.equal(w.resourceVersion, '14');
  assert.equal(w.counters.events, 4);
  await w.stop();
});

test('bookmarks advance the version a dropped watch resumes from', async () => {
  const s = new FakeSource();
  const { w, events } = started(s);
  await w.start();
  await s.watches(1);
  s.send('BOOKMARK', { kind: 'Pod', metadata: { resourceVersion: '500' } });
  s.send('BOOKMARK', { kind: 'Pod', metadata: { resourceVersion: '640' } });
  assert.equal(w.resourceVersion, '640');
  assert.equal(events.length, 0, 'a bookmark is not an event');
  s.drop();
  await s.watches(2);
  assert.deepEqual(s.watchedFrom, ['1', '640']);
  assert.equal(w.counters.bookmarks, 2);
  assert.equal(w.counters.reconnects, 1);
  assert.equal(w.counters.relists, 0);
  await w.stop();
});

test('a dropped watch resumes from the last event, loses nothing and repeats nothing', async () => {
  const s = new FakeSource();
  const { w, seen, problems } = started(s);
  await w.start();
  await s.watches(1);
  s.send('ADDED', pod('a', '2'));
  s.send('ADDED', pod('b', '3'));
  s.drop(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  await s.watches(2);
  assert.equal(s.watchedFrom[1], '3');
  // A server may repeat the last event it sent before the drop: the cache already has it.
  s.send('ADDED', pod('b', '3'));
  s.send('ADDED', pod('c', '4'));
  assert.deepEqual(seen(), ['ADDED a', 'ADDED b', 'ADDED c']);
  assert.equal(w.counters.failures, 1);
  assert.match(problems[0].message, /Pod watch from version 3 ended: socket hang up; resuming/);
  await w.stop();
});

test('an ERROR 410 event means a relist whose difference goes out as events', async () => {
  const s = new FakeSource();
  s.items = [pod('a', '1'), pod('b', '1'), pod('c', '1')];
  s.version = '5';
  const { w, seen } = started(s);
  await w.start();
  await s.watches(1);
  // Meanwhile: b changed, c was deleted, d created; the history is compacted.
  s.items = [pod('a', '1'), pod('b', '7'), pod('d', '8')];
  s.version = '9';
  s.send('ERROR', {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    reason: 'Expired',
    code: 410,
    message: 'too old resource version',
  });
  await s.watches(2);
  assert.deepEqual(s.watchedFrom, ['5', '9']);
  assert.deepEqual(seen().slice(3), ['ADDED d (relist)', 'MODIFIED b (relist)', 'DELETED c (relist)']);
  assert.deepEqual([...w.cache.keys()].sort(), ['shop/a', 'shop/b', 'shop/d']);
  assert.equal(w.counters.relists, 1);
  assert.equal(s.lists, 2);
  await w.stop();
});

test('a watch refused with HTTP 410 relists too; other refusals retry the watch with backoff', async () => {
  const s = new FakeSource();
  s.watchErrors = [{ statusCode: 500 }, { statusCode: 410 }];
  const { w, problems } = started(s);
  await w.start();
  await s.watches(3);
  assert.deepEqual(s.watchedFrom, ['1', '1', '1']);
  assert.equal(s.lists, 2);
  assert.equal(w.counters.relists, 1);
  assert.equal(w.counters.reconnects, 1);
  assert.equal(w.counters.failures, 1);
  assert.match(problems[0].message, /HTTP 500/);
  await w.stop();
});

test('a failing list is retried until it answers; start waits for it', async () => {
  const s = new FakeSource();
  s.items = [pod('a', '3')];
  s.listErrors = [
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    { code: 503, body: '{"message":"etcd is down"}' },
  ];
  const { w, problems } = started(s);
  await w.start();
  assert.equal(s.lists, 3);
  assert.equal(w.cache.size, 1);
  assert.equal(w.counters.failures, 2);
  assert.deepEqual(
    problems.map((p) => [p.code, p.message]),
    [
      ['W_K8S_WATCH', 'listing Pod failed: connect ECONNREFUSED 127.0.0.1:1; retrying'],
      ['W_K8S_WATCH', 'listing Pod failed: HTTP 503: etcd is down; retrying'],
    ],
  );
  await w.stop();
});

test('malformed events are counted, named and skipped; the watch goes on', async () => {
  const s = new FakeSource();
  const { w, seen, problems } = started(s);
  await w.start();
  await s.watches(1);
  s.send('ADDED', { metadata: { namespace: 'shop' } });
  s.send('ADDED', 'not an object');
  s.send('EXPLODED', pod('x', '2'));
  s.send('BOOKMARK', {});
  s.send('ADDED', pod('ok', '3'));
  assert.deepEqual(seen(), ['ADDED ok']);
  assert.equal(w.counters.malformed, 4);
  assert.match(problems[0].message, /a Pod ADDED event is malformed \(metadata\.name: expected a non-empty string, got nothing\); skipped/);
  assert.match(problems[2].message, /unknown type "EXPLODED"/);
  assert.equal(s.watchedFrom.length, 1, 'no reconnect for a bad event');
  await w.stop();
});

test('a silent watch is taken for a dead connection and started again', async () => {
  const s = new FakeSource();
  const { w } = started(s, { idleMs: 20 });
  await w.start();
  await s.watches(2);
  assert.equal(w.counters.reconnects >= 1, true);
  await w.stop();
});

test('stop ends the watch and any wait at once; nothing runs after it', async () => {
  const s = new FakeSource();
  const w = new ResourceWatch('Pod', s, { backoff: { initialMs: 60_000 } });
  await w.start();
  await s.watches(1);
  s.drop();
  await tick();
  const t0 = Date.now();
  await w.stop();
  assert.ok(Date.now() - t0 < 1000, 'stop does not wait out the backoff');
  assert.equal(s.watchedFrom.length, 1);
  assert.equal(s.watching, false);
});

test('backoff grows while reconnects fail and is reset by a watch that delivers', async () => {
  const s = new FakeSource();
  const delays: number[] = [];
  const w = new ResourceWatch('Pod', s, { backoff: { initialMs: 2, maxMs: 1000, jitter: 0 } });
  const backoff = (w as unknown as { backoff: { next(): number } }).backoff;
  const next = backoff.next.bind(backoff);
  backoff.next = () => {
    const d = next();
    delays.push(d);
    return d;
  };
  await w.start();
  await s.watches(1);
  s.watchErrors = [{ statusCode: 500 }, { statusCode: 500 }, { statusCode: 500 }];
  s.drop({ statusCode: 500 });
  await s.watches(5);
  s.send('ADDED', pod('a', '2'));
  s.drop();
  await s.watches(6);
  assert.deepEqual(delays, [2, 4, 8, 16, 2]);
  await w.stop();
});

test('a first list refused for good (no rights, no such resource) rejects start instead of retrying', async () => {
  const s = new FakeSource();
  s.listErrors = [{ code: 403, body: '{"message":"endpointslices is forbidden"}' }];
  const w = new ResourceWatch('EndpointSlice', s, FAST);
  await assert.rejects(w.start(), /^Error: listing EndpointSlice failed: HTTP 403: endpointslices is forbidden$/);
  await w.stop();
  assert.equal(s.lists, 1);
  assert.equal(s.watchedFrom.length, 0);
});

test("the first list's events are marked initial; a relist's are not", async () => {
  const s = new FakeSource();
  s.items = [pod('a', '1')];
  const { w, events } = started(s);
  await w.start();
  await s.watches(1);
  s.items = [pod('a', '1'), pod('b', '2')];
  s.send('ERROR', { code: 410 });
  await s.watches(2);
  s.send('ADDED', pod('c', '3'));
  assert.deepEqual(
    events.map((e) => [e.object.metadata.name, e.initial === true, e.relist === true]),
    [
      ['a', true, true],
      ['b', false, true],
      ['c', false, false],
    ],
  );
  await w.stop();
});
