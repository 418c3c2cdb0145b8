import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redirectTag, type FailMode } from '../../../dataplane/index.js';
import type { PcapRecord } from '../../capture/index.js';
import { chooseAnalyzer, loadMonitorModel, MonitorEngine } from '../../engine/index.js';
import { HTTP_LOG, MemoryLogTarget, ZeekLogWriter, type LogValue } from '../../logs/index.js';
import { Clock, httpRequest, httpResponse, TcpFlow } from '../../testing/index.js';
import { createQueueInline } from './run-queue.js';
import { checksumsHold, readTcp, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST } from './tcp-segment.js';
import { RecordingQueues } from './testing.js';

function fixture(relative: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, relative))) return join(dir, relative);
    if (dirname(dir) === dir) throw new Error(`${relative} not found`);
  }
}

const WEB = '10.77.0.2';
const CLIENT = '10.250.0.254';
const WEB_MAC = '02:66:74:00:00:00';
const OPEN_Q = 16;
const CLOSED_Q = 17;
const mac = (m: string) => new Uint8Array(m.split(':').map((h) => Number.parseInt(h, 16)));

async function harness(opts: { engineThrows?: boolean; logs?: ZeekLogWriter } = {}) {
  const loaded = loadMonitorModel(fixture('test/fixtures/web-inline/app.yaml'));
  assert.ok(loaded.ok);
  const rows: LogValue[][] = [];
  const queues = new RecordingQueues();
  let engine: MonitorEngine | null = null;
  const run = createQueueInline(
    { install: false, packetQueues: queues, now: () => 1_700_000_000 },
    (ip, port) => chooseAnalyzer(engine!.policy.view, ip, port) !== null,
    (r) => rows.push([...r]),
  );
  engine = new MonitorEngine({ model: loaded.value, observer: run.observer, tracker: { seed: 1 }, logs: opts.logs ?? null });
  engine.policy.decisions = (d) => run.decision(d);
  const e = engine;
  const driven = opts.engineThrows
    ? {
        frame: () => {
          throw new Error('boom');
        },
        tick: () => {},
      }
    : { frame: (lt: number, d: Uint8Array, ts: number) => e.frame(lt, d, ts), tick: (t: number) => e.tick(t) };
  assert.deepEqual(await run.start(driven), []);
  /** Client frames (Ethernet, as TcpFlow builds them) queued as the kernel would: IP packet, tag as link-layer source. */
  const deliver = (records: PcapRecord[], mode: FailMode = 'closed') =>
    queues.deliver(
      mode === 'open' ? OPEN_Q : CLOSED_Q,
      records.map((r) => ({ packet: new Uint8Array(r.data).subarray(14), hw: mac(redirectTag(WEB_MAC, 'delivered', mode)) })),
    );
  return { run, queues, rows, deliver, engine: e };
}

/** The client's side of a connection (what a `tcp,tp_dst=80` redirect on the web port brings). */
function clientSide(port: number, ...requests: string[]): PcapRecord[] {
  const all: PcapRecord[] = [];
  const flow = new TcpFlow(all, new Clock(), CLIENT, port, WEB, 80).handshake();
  for (const r of requests) flow.client2server(r);
  const dport = (r: PcapRecord) => {
    const b = new Uint8Array(r.data);
    return (b[14 + 22] << 8) | b[14 + 23];
  };
  return all.filter((r) => dport(r) === 80);
}

test('both queues open with their failMode: fail-open accepts when full, fail-closed drops', async () => {
  const h = await harness();
  assert.deepEqual(
    h.queues.opened.map((o) => [o.queue, o.failOpen]),
    [
      [OPEN_Q, true],
      [CLOSED_Q, false],
    ],
  );
  h.run.stop();
  assert.deepEqual(h.queues.closed, [OPEN_Q, CLOSED_Q]);
});

test('an allowed request: every packet accepted unchanged, in the same batch, and one pass row with the uid', async () => {
  const h = await harness();
  const ids = h.deliver(clientSide(41000, httpRequest('GET', '/')));
  assert.deepEqual(
    h.queues.verdicts.map((v) => [v.id, v.accept, v.replacement === undefined]),
    ids.map((id) => [id, true, true]),
  );
  assert.equal(h.queues.frames.length, 0);
  assert.equal(h.rows.length, 1);
  assert.deepEqual(h.rows[0].slice(2, 10), [CLIENT, 41000, WEB, 80, 'pass', 'GET /', 'allowed by external -> web:http (req 0)', 'closed']);
  assert.match(String(h.rows[0][1]), /^C/);
});

test('a disallowed request: the server gets a reset in its place, the client a 403 with the reason, the row the uid', async () => {
  const h = await harness();
  const records = clientSide(41001, httpRequest('GET', '/admin'));
  const ids = h.deliver(records);
  const last = h.queues.verdicts.at(-1)!;
  assert.equal(last.id, ids.at(-1));
  assert.ok(last.accept && last.replacement, 'replaced, not dropped: the server must learn the connection is gone');
  assert.ok(checksumsHold(last.replacement));
  const request = readTcp(new Uint8Array(records.at(-1)!.data).subarray(14))!;
  const rst = readTcp(last.replacement)!;
  assert.equal(rst.flags, TCP_RST | TCP_ACK);
  assert.equal(rst.seq, request.seq);
  assert.ok(
    h.queues.verdicts.slice(0, -1).every((v) => v.accept && !v.replacement),
    'the handshake passed untouched',
  );

  assert.equal(h.queues.frames.length, 1);
  const { ifname, frame } = h.queues.frames[0];
  assert.equal(ifname, 'eth0');
  assert.deepEqual(
    [...frame.subarray(0, 6)],
    [...mac(redirectTag(WEB_MAC, 'delivered', 'closed'))],
    'back by the tag the node routes resets by',
  );
  const answer = readTcp(frame.subarray(14))!;
  assert.equal(answer.flags, TCP_FIN | TCP_PSH | TCP_ACK);
  assert.equal(answer.ack, (request.seq + request.payloadLength) >>> 0);
  assert.equal(answer.seq, request.ack);
  const text = new TextDecoder().decode(frame.subarray(14 + answer.payloadOffset));
  assert.match(text, /^HTTP\/1\.1 403 Forbidden/);
  assert.match(text, /GET \/admin: .*allowed: GET \//);
  const uid = String(h.rows[0][1]);
  assert.ok(text.includes(`connection ${uid}`), text);
  assert.deepEqual(
    h.rows.map((r) => [r[6], r[7], r[9]]),
    [['block', 'GET /admin', 'closed']],
  );

  // More data on the blocked connection is reset too; the client is answered only once.
  const more = readTcp(new Uint8Array(records.at(-1)!.data).subarray(14))!;
  h.deliver(records.slice(-1));
  assert.equal(readTcp(h.queues.verdicts.at(-1)!.replacement!)!.seq, more.seq);
  assert.equal(h.queues.frames.length, 1);
});

test('a connection picked up mid-stream follows its failMode: open passes, closed is reset', async () => {
  const h = await harness();
  const open = clientSide(41002, httpRequest('GET', '/')).slice(2);
  h.deliver(open, 'open');
  assert.ok(h.queues.verdicts.every((v) => v.accept && !v.replacement));
  assert.match(String(h.rows[0][8]), /mid-stream.*fail-open/);
  const closed = clientSide(41003, httpRequest('GET', '/')).slice(2);
  h.deliver(closed, 'closed');
  assert.ok(h.queues.verdicts.at(-1)!.replacement, 'fail-closed: reset in place of the data');
  assert.match(String(h.rows.at(-1)![8]), /mid-stream.*fail-closed/);
});

test('a bug while judging neither crashes nor holds the packet: its queue failMode decides, and it is reported', async () => {
  const h = await harness({ engineThrows: true });
  h.deliver(clientSide(41004).slice(0, 1), 'open');
  h.deliver(clientSide(41005).slice(0, 1), 'closed');
  assert.deepEqual(
    h.queues.verdicts.map((v) => [v.queue, v.accept]),
    [
      [OPEN_Q, true],
      [CLOSED_Q, false],
    ],
  );
  assert.equal(h.run.summary().errors, 2);
  assert.match(h.run.diagnostics()[0].message, /judging packet \d+: boom/);
});

test('a queue another process holds is a diagnostic, and the other queue is let go', async () => {
  const queues = new RecordingQueues([CLOSED_Q]);
  const run = createQueueInline(
    { install: false, packetQueues: queues },
    () => true,
    () => {},
  );
  const problems = await run.start({ frame: () => {}, tick: () => {} });
  assert.equal(problems[0].code, 'E_INLINE_QUEUE');
  assert.match(problems[0].message, /queue 17/);
  assert.deepEqual(queues.closed, [OPEN_Q]);
});

/** Both sides of one connection, each record marked with whether the client sent it. */
function bothSides(port: number, exchange: [request: string, response: string][]): { record: PcapRecord; fromClient: boolean }[] {
  const all: PcapRecord[] = [];
  const flow = new TcpFlow(all, new Clock(), CLIENT, port, WEB, 80).handshake();
  for (const [q, r] of exchange) flow.client2server(q).server2client(r);
  return all.map((record) => ({ record, fromClient: new Uint8Array(record.data)[14 + 23] === 80 }));
}

test("servers' replies come from the NFLOG group, already passed: no verdict, yet the engine logs the exchange", async () => {
  const target = new MemoryLogTarget();
  const h = await harness({ logs: new ZeekLogWriter(target, { format: 'json' }) });
  const tag = mac(redirectTag(WEB_MAC, 'delivered', 'closed'));
  const packets = bothSides(41010, [[httpRequest('GET', '/'), httpResponse(200, {}, 'hello')]]).map((p) => ({
    packet: new Uint8Array(p.record.data).subarray(14),
    hw: tag,
    logged: !p.fromClient,
  }));
  // As the addon hands them: one at a time, in the order they crossed the bridge.
  const ids = packets.flatMap((p) => h.queues.deliver(CLOSED_Q, [p]));
  const queued = ids.filter((_, i) => !packets[i].logged);
  assert.ok(queued.length >= 3 && queued.length < packets.length, 'both kinds were delivered');
  assert.deepEqual(
    h.queues.verdicts.map((v) => [v.id, v.accept, v.replacement === undefined]),
    queued.map((id) => [id, true, true]),
    "a verdict for each of the client's packets, none for the server's",
  );
  h.engine.finish();
  const http = target.lines(HTTP_LOG.path).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(http.length, 1);
  assert.equal(http[0].uri, '/');
  assert.equal(http[0].status_code, 200, 'the reply, though never queued, reached the engine');
  const s = h.run.summary();
  assert.equal(s.unqueued, packets.length - queued.length);
  assert.equal(s.packets, queued.length);
  assert.equal(s.missed, 0);
  assert.equal(s.errors, 0);
});

test('a blocked request still gets its 403 when replies pass in the kernel; client data arriving as a "reply" is reported', async () => {
  const h = await harness();
  const tag = mac(redirectTag(WEB_MAC, 'delivered', 'closed'));
  const both = bothSides(41011, [[httpRequest('GET', '/admin'), httpResponse(404)]]);
  // The handshake and the request, as the kernel brings them: the SYN-ACK logged, the rest queued.
  const upTo = both.findIndex((p) => p.fromClient && new Uint8Array(p.record.data).length > 66) + 1;
  for (const p of both.slice(0, upTo))
    h.queues.deliver(CLOSED_Q, [{ packet: new Uint8Array(p.record.data).subarray(14), hw: tag, logged: !p.fromClient }]);
  const last = h.queues.verdicts.at(-1)!;
  assert.ok(last.accept && last.replacement, 'the request is replaced by a reset');
  assert.equal(h.queues.frames.length, 1);
  assert.match(new TextDecoder().decode(h.queues.frames[0].frame), /HTTP\/1\.1 403 Forbidden/);
  assert.deepEqual(
    h.rows.map((r) => [r[6], r[7]]),
    [['block', 'GET /admin']],
  );
  // Were the kernel to pass more of the client's data as a reply, nothing could stop it: it says so.
  const again = both[upTo - 1];
  h.queues.deliver(CLOSED_Q, [{ packet: new Uint8Array(again.record.data).subarray(14), hw: tag, logged: true }]);
  assert.equal(h.queues.frames.length, 1, 'no second answer');
  assert.equal(h.run.summary().missed, 1);
  assert.match(h.run.diagnostics()[0].message, /conntrack and the monitor disagree/);
});
