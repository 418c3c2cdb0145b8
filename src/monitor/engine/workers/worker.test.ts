import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redirectTag } from '../../../dataplane/index.js';
import { RecordingQueues } from '../../inline/queue/testing.js';
import { Clock, TcpFlow } from '../../testing/index.js';
import { serveQueueWorker, type WorkerPort } from './worker.js';
import type { FromWorker, ToWorker, WorkerBatch } from './messages.js';

const WEB = '10.77.0.2';
const CLIENT = '10.250.0.254';
const mac = (m: string) => new Uint8Array(m.split(':').map((h) => Number.parseInt(h, 16)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fixture(relative: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, relative))) return join(dir, relative);
    if (dirname(dir) === dir) throw new Error(`${relative} not found`);
  }
}

/** A worker on a channel the test holds: what it sent, and whether it asked to exit. */
function worker(queues: RecordingQueues) {
  const sent: FromWorker[] = [];
  let handler: (m: ToWorker) => void = () => {};
  let gone: () => void = () => {};
  const exits: number[] = [];
  const port: WorkerPort = {
    send: (m) => sent.push(structuredClone(m)),
    onMessage: (h) => {
      handler = h;
    },
    onGone: (h) => {
      gone = h;
    },
    exit: (code) => exits.push(code),
  };
  serveQueueWorker(port, { packetQueues: queues, now: () => 1_700_000_000, statsEveryMs: 20 });
  return { sent, exits, tell: (m: ToWorker) => handler(m), gone: () => gone() };
}

/** The client's frames of one connection with `requests`, as the kernel queues them (IP packet, tag as hardware address). */
function clientPackets(port: number, ...requests: string[]) {
  const all: { data: ArrayBuffer | Uint8Array }[] = [];
  const flow = new TcpFlow(all as never, new Clock(), CLIENT, port, WEB, 80).handshake();
  for (const r of requests) flow.client2server(r);
  return all
    .map((r) => new Uint8Array(r.data as ArrayBuffer))
    .filter((b) => ((b[14 + 22] << 8) | b[14 + 23]) === 80)
    .map((b) => ({ packet: b.subarray(14), hw: mac(redirectTag('02:66:74:00:00:00', 'delivered', 'closed')) }));
}

const until = async (done: () => boolean) => {
  for (let i = 0; i < 100 && !done(); i++) await sleep(5);
};

test('a worker binds the queues it is given (no install: the monitor did it), judges, and ships its rows and counters', async () => {
  const queues = new RecordingQueues();
  const w = worker(queues);
  w.tell({
    t: 'start',
    index: 1,
    app: fixture('test/fixtures/web-inline/app.yaml'),
    queues: { open: 17, closed: 19 },
    tunnels: [],
  });
  await until(() => w.sent.length > 0);
  assert.deepEqual(w.sent[0], { t: 'ready' });
  assert.deepEqual(
    queues.opened.map((o) => [o.queue, o.failOpen]),
    [
      [17, true],
      [19, false],
    ],
  );
  const ids = queues.deliver(19, clientPackets(41000, 'GET / HTTP/1.1\r\nHost: web\r\n\r\n', 'GET /admin HTTP/1.1\r\nHost: web\r\n\r\n'));
  assert.ok(ids.length >= 3);
  assert.ok(queues.verdicts.every((v) => v.queue === 19));
  // A blocked request: its packet is replaced by a reset, and the client gets its 403 from the worker.
  assert.equal(queues.frames.length > 0, true, 'the refusal leaves by the tap interface');
  await until(() => w.sent.some((m) => m.t === 'stats'));
  const stats = w.sent.find((m) => m.t === 'stats');
  assert.ok(stats && stats.t === 'stats' && stats.summary.packets === ids.length);

  w.tell({ t: 'stop' });
  assert.deepEqual(queues.closed, [17, 19], 'queues unbound first: the kernel takes over');
  assert.deepEqual(w.exits, [0]);
  const done = w.sent.at(-1);
  assert.ok(done?.t === 'done');
  assert.equal(done.summary.blocked, 1);
  const batches = w.sent.filter((m): m is WorkerBatch => m.t === 'batch');
  const rows = batches.flatMap((b) => b.rows);
  assert.ok(batches.length < rows.length / 2, `rows cross in batches, not one message each: ${batches.length} for ${rows.length}`);
  const schemas = batches.flatMap((b) => b.schemas.map((s) => s.path));
  assert.equal(new Set(schemas).size, schemas.length, 'each schema crosses once');
  const inline = rows.filter(([p]) => p === 'inline').map(([, v]) => [v[6], v[7]]);
  assert.deepEqual(inline, [
    ['pass', 'GET /'],
    ['block', 'GET /admin'],
  ]);
  const blockUid = rows.find(([p, v]) => p === 'inline' && v[6] === 'block')?.[1][1];
  const connUids = rows.filter(([p]) => p === 'conn').map(([, v]) => v[1]);
  assert.ok(connUids.includes(blockUid as string), 'conn.log and inline.log name the connection alike');
});

test('a worker that cannot load the model says why and binds nothing; one whose monitor is gone exits', async () => {
  const queues = new RecordingQueues();
  const w = worker(queues);
  w.tell({ t: 'start', index: 0, app: '/nonexistent/app.yaml', queues: { open: 16, closed: 18 }, tunnels: [] });
  await until(() => w.sent.length > 0);
  assert.equal(w.sent[0].t, 'failed');
  assert.equal(queues.opened.length, 0);

  const busy = new RecordingQueues([18]);
  const b = worker(busy);
  b.tell({ t: 'start', index: 2, queues: { open: 16, closed: 18 }, tunnels: [] });
  await until(() => b.sent.length > 0);
  const failed = b.sent[0];
  assert.ok(failed.t === 'failed');
  assert.match(failed.diagnostics[0].message, /^worker 2: queue 18: cannot bind/);
  assert.equal(failed.diagnostics[0].code, 'E_INLINE_QUEUE_WORKER');

  const ok = worker(new RecordingQueues());
  ok.tell({ t: 'start', index: 0, queues: { open: 16, closed: 18 }, tunnels: [] });
  await until(() => ok.sent.length > 0);
  ok.gone();
  assert.deepEqual(ok.exits.slice(0, 1), [0]);
});
