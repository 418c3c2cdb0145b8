/**
 * The queue judge on PostgreSQL and NATS (issue 13), through the engine with DVD rental's
 * descriptor: user-create may only INSERT into users, contract-update may only publish
 * rentals.created. Redirects on the clients' ports (tag side `sent`), as test/fixtures/policies
 * /dvd-inline.dl sets them up on the local cloud.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redirectTag, type FailMode } from '../../../dataplane/index.js';
import type { PcapRecord } from '../../capture/index.js';
import { chooseAnalyzer, loadMonitorModel, MonitorEngine } from '../../engine/index.js';
import type { LogValue } from '../../logs/index.js';
import { Clock, pg, TcpFlow } from '../../testing/index.js';
import { createQueueInline } from './run-queue.js';
import { checksumsHold, readTcp, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST } from './tcp-segment.js';
import { RecordingQueues } from './testing.js';

function fixture(relative: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, relative))) return join(dir, relative);
    if (dirname(dir) === dir) throw new Error(`${relative} not found`);
  }
}

const OPEN_Q = 16;
const CLOSED_Q = 17;
const mac = (m: string) => new Uint8Array(m.split(':').map((h) => Number.parseInt(h, 16)));

async function harness() {
  const loaded = loadMonitorModel(fixture('examples/dvd-rental/app.yaml'));
  assert.ok(loaded.ok);
  const inst = loaded.value.addressing.instances;
  const rows: LogValue[][] = [];
  const queues = new RecordingQueues();
  let engine: MonitorEngine | null = null;
  const run = createQueueInline(
    { install: false, packetQueues: queues, now: () => 1_700_000_000 },
    (ip, port) => chooseAnalyzer(engine!.policy.view, ip, port) !== null,
    (r) => rows.push([...r]),
  );
  engine = new MonitorEngine({ model: loaded.value, observer: run.observer, tracker: { seed: 1 } });
  engine.policy.decisions = (d) => run.decision(d);
  const e = engine;
  assert.deepEqual(await run.start({ frame: (lt, d, ts) => e.frame(lt, d, ts), tick: (t) => e.tick(t) }), []);
  /** What a redirect on `client`'s port brings: the frames it sends to `port`, tagged as sent by it. */
  const deliver = (client: string, records: PcapRecord[], mode: FailMode = 'closed') =>
    queues.deliver(
      mode === 'open' ? OPEN_Q : CLOSED_Q,
      records.map((r) => ({ packet: new Uint8Array(r.data).subarray(14), hw: mac(redirectTag(inst[client].mac, 'sent', mode)) })),
    );
  /** A client's side of one connection: handshake, then each payload as one segment. */
  const clientSide = (client: string, server: string, port: number, cport: number, ...payloads: (string | Uint8Array)[]) => {
    const all: PcapRecord[] = [];
    const flow = new TcpFlow(all, new Clock(), inst[client].ip, cport, inst[server].ip, port).handshake();
    for (const p of payloads) flow.client2server(p);
    const dport = (r: PcapRecord) => {
      const b = new Uint8Array(r.data);
      return (b[14 + 22] << 8) | b[14 + 23];
    };
    return all.filter((r) => dport(r) === port);
  };
  return { run, queues, rows, deliver, clientSide, inst };
}

const PG_START = pg.startup('dvdrental', 'dvdrental');
const ok = (v: { accept: boolean; replacement?: Uint8Array }) => v.accept && v.replacement === undefined;

test('PostgreSQL: an allowed statement passes untouched with a pass row naming the requirement and the uid', async () => {
  const h = await harness();
  const records = h.clientSide(
    'user-create-0',
    'db-0',
    5432,
    42000,
    PG_START,
    pg.extended('INSERT INTO users (id, name) VALUES ($1, $2)', ['u1', 'Ann']),
  );
  h.deliver('user-create-0', records);
  assert.ok(h.queues.verdicts.every(ok), 'every packet accepted as it was');
  assert.equal(h.queues.frames.length, 0);
  const passes = h.rows.filter((r) => r[6] === 'pass');
  assert.equal(passes.length, 1);
  assert.match(String(passes[0][7]), /^INSERT INTO users/);
  assert.match(String(passes[0][8]), /allowed by user-create -> db:pg/);
  assert.match(String(passes[0][1]), /^C/);
});

test('PostgreSQL: SELECT on users is refused: a reset in its place for the server, an ErrorResponse 42501 then FIN for the client', async () => {
  const h = await harness();
  const records = h.clientSide('user-create-0', 'db-0', 5432, 42001, PG_START, pg.query('SELECT * FROM users'));
  const ids = h.deliver('user-create-0', records);
  const last = h.queues.verdicts.at(-1)!;
  assert.equal(last.id, ids.at(-1));
  assert.ok(last.accept && last.replacement, 'replaced by a reset, so the server drops the connection');
  assert.ok(checksumsHold(last.replacement));
  const query = readTcp(new Uint8Array(records.at(-1)!.data).subarray(14))!;
  const rst = readTcp(last.replacement)!;
  assert.equal(rst.flags, TCP_RST | TCP_ACK);
  assert.equal(rst.seq, query.seq);
  assert.ok(h.queues.verdicts.slice(0, -1).every(ok), 'the handshake and the startup passed');

  assert.equal(h.queues.frames.length, 1);
  const frame = h.queues.frames[0].frame;
  assert.deepEqual(
    [...frame.subarray(0, 6)],
    [...mac(redirectTag(h.inst['user-create-0'].mac, 'sent', 'closed'))],
    'back to the instance that sent',
  );
  const answer = readTcp(frame.subarray(14))!;
  assert.ok(checksumsHold(frame.subarray(14)));
  assert.equal(answer.flags, TCP_FIN | TCP_PSH | TCP_ACK);
  assert.equal(answer.seq, query.ack);
  assert.equal(answer.ack, (query.seq + query.payloadLength) >>> 0);
  const payload = frame.subarray(14 + answer.payloadOffset);
  assert.equal(payload[0], 0x45, 'an ErrorResponse');
  const text = new TextDecoder().decode(payload);
  assert.ok(text.includes('C42501\0'), text);
  assert.match(
    text,
    /Mpermission denied by flowtap's inline monitor: user-create-0 ran SELECT on users on db-0; allowed: INSERT on users\0/,
  );
  const blocks = h.rows.filter((r) => r[6] === 'block');
  assert.deepEqual(
    blocks.map((r) => [r[7], r[9]]),
    [['SELECT * FROM users', 'closed']],
  );
  assert.ok(text.includes(`connection ${blocks[0][1]} `), 'the error names the connection the row logs');
});

test('PostgreSQL: a refused Execute in a pipelined batch ends it; the client is answered once, later data is reset', async () => {
  const h = await harness();
  const batch = Buffer.concat([pg.extended('SELECT * FROM users WHERE id = $1', ['u1']), pg.query('SELECT 1')]);
  const records = h.clientSide('user-create-0', 'db-0', 5432, 42002, PG_START, batch, pg.query('INSERT INTO users (id) VALUES (1)'));
  h.deliver('user-create-0', records);
  const [refused, after] = h.queues.verdicts.slice(-2);
  assert.ok(refused.replacement && after.replacement, 'both reset in place');
  assert.equal(h.queues.frames.length, 1);
  assert.equal(h.rows.filter((r) => r[6] === 'block').length, 1);
});

test('NATS: an allowed PUB passes; a forbidden PUB gets the Permissions Violation -ERR and the server a reset', async () => {
  const h = await harness();
  const good = h.clientSide(
    'contract-update-0',
    'mq-0',
    4222,
    43000,
    'CONNECT {"verbose":false}\r\nPING\r\n',
    'PUB rentals.created 2\r\nhi\r\n',
  );
  h.deliver('contract-update-0', good);
  assert.ok(h.queues.verdicts.every(ok));
  assert.deepEqual(
    h.rows.map((r) => [r[6], r[7]]),
    [['pass', 'PUB rentals.created']],
  );

  const bad = h.clientSide('contract-update-0', 'mq-0', 4222, 43001, 'CONNECT {"verbose":false}\r\n', 'PUB users.deleted 2\r\nhi\r\n');
  h.deliver('contract-update-0', bad);
  assert.ok(h.queues.verdicts.at(-1)!.replacement, 'the PUB never reaches the server');
  assert.equal(h.queues.frames.length, 1);
  const frame = h.queues.frames[0].frame.subarray(14);
  const answer = readTcp(frame)!;
  assert.equal(answer.flags, TCP_FIN | TCP_PSH | TCP_ACK);
  const text = new TextDecoder().decode(frame.subarray(answer.payloadOffset));
  const uid = String(h.rows.at(-1)![1]);
  assert.equal(text, `-ERR 'Permissions Violation for Publish to "users.deleted" (flowtap inline monitor, connection ${uid})'\r\n`);
  assert.deepEqual(h.rows.at(-1)!.slice(6, 8), ['block', 'PUB users.deleted']);
});

test('NATS: a SUB beyond the allowed patterns is refused as a Subscription violation', async () => {
  const h = await harness();
  h.deliver('dvd-update-0', h.clientSide('dvd-update-0', 'mq-0', 4222, 43002, 'CONNECT {}\r\nSUB rentals.> 1\r\n'));
  assert.ok(h.queues.verdicts.every(ok));
  h.deliver('dvd-update-0', h.clientSide('dvd-update-0', 'mq-0', 4222, 43003, 'CONNECT {}\r\nSUB > 1\r\n'));
  const text = new TextDecoder().decode(h.queues.frames[0].frame.subarray(14 + 40));
  assert.match(text, /^-ERR 'Permissions Violation for Subscription to ">" /);
  assert.deepEqual(
    h.rows.map((r) => [r[6], r[7]]),
    [
      ['pass', 'SUB rentals.>'],
      ['block', 'SUB >'],
    ],
  );
});

test('a PostgreSQL connection picked up mid-stream, fail-closed: a plain reset, not an ErrorResponse', async () => {
  const h = await harness();
  const records = h.clientSide('user-create-0', 'db-0', 5432, 42003, PG_START, pg.query('SELECT * FROM users')).slice(2);
  h.deliver('user-create-0', records);
  assert.equal(h.queues.frames.length, 1);
  const answer = readTcp(h.queues.frames[0].frame.subarray(14))!;
  assert.equal(answer.flags, TCP_RST | TCP_ACK);
  assert.equal(answer.payloadLength, 0);
  assert.match(String(h.rows[0][8]), /mid-stream.*fail-closed/);
});
