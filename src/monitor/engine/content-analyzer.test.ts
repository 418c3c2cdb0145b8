import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { PcapRecord } from '../capture/index.js';
import { MemoryLogTarget, parseZeekTsv, ZeekLogWriter } from '../logs/index.js';
import { loadApp, type Addressing, type App } from '../../model/index.js';
import { NoticeType, type Notice } from '../policy/index.js';
import { parseAddressing } from './load-model.js';
import { MonitorEngine } from './monitor-engine.js';
import { Clock, TcpFlow, httpRequest, httpResponse, pg } from '../testing/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
function model(): { app: App; addressing: Addressing } {
  for (const base of [root, join(root, '..')]) {
    const r = loadApp(join(base, 'examples/dvd-rental/app.yaml'));
    if (!r.ok) continue;
    const doc = { instances: { 'user-update-0': { ip: '10.1.0.5' }, 'db-0': { ip: '10.1.0.8' }, 'mq-0': { ip: '10.1.0.9' } } };
    const a = parseAddressing(JSON.stringify(doc), r.value, 'test.json');
    assert.ok(a.ok, JSON.stringify(!a.ok && a.errors));
    return { app: r.value, addressing: a.value };
  }
  throw new Error('examples/dvd-rental/app.yaml not found');
}
const USER_UPDATE = '10.1.0.5';
const DB = '10.1.0.8';
const CLIENT = '192.0.2.10';
const SERVER = '192.0.2.20';

type Rows = Record<string, string>[];
function rows(target: MemoryLogTarget, path: string): Rows {
  const text = target.text(path);
  if (text === '') return [];
  const log = parseZeekTsv(text);
  assert.ok(log.ok, path);
  return log.value.rows.map((r) => Object.fromEntries(log.value.fields.map((f, i) => [f, r[i]])));
}

function run(build: (flow: (from: string, to: string, port: number) => TcpFlow) => void, withModel = false, contentDetection = true) {
  const out: PcapRecord[] = [];
  const clock = new Clock();
  let sport = 42000;
  build((from, to, port) => new TcpFlow(out, clock, from, sport++, to, port));
  const target = new MemoryLogTarget();
  const notices: Notice[] = [];
  const engine = new MonitorEngine({
    model: withModel ? model() : null,
    logs: new ZeekLogWriter(target, { now: () => 1_700_000_000 }),
    onNotice: (n) => notices.push(n),
    tracker: { seed: 3 },
    contentDetection,
  });
  for (const r of out) engine.frame(1, r.data, r.ts);
  const summary = engine.finish();
  assert.equal(summary.internalErrors, 0);
  return {
    conn: rows(target, 'conn'),
    http: rows(target, 'http'),
    sql: rows(target, 'sql'),
    nats: rows(target, 'nats'),
    weird: rows(target, 'weird'),
    notices,
  };
}

/** A TLS 1.3 ClientHello's first bytes as OpenSSL sends them (record, handshake header, version, random). */
const CLIENT_HELLO = Buffer.from(`1603010139010001350303${'ab'.repeat(32)}00`, 'hex');
const SERVER_HELLO = Buffer.from(`160303007a020000760303${'cd'.repeat(32)}00`, 'hex');

test('without a model, any port: HTTP on 5555, PostgreSQL on 6000, NATS on 7422, TLS on 8443 are each analysed', () => {
  const r = run((flow) => {
    flow(CLIENT, SERVER, 5555)
      .handshake()
      .client2server(httpRequest('GET', '/odd-port'))
      .server2client(httpResponse(200, {}, 'ok'))
      .close();
    const db = flow(CLIENT, SERVER, 6000).handshake();
    db.client2server(pg.startup('app', 'appdb')).server2client(Buffer.concat([pg.authOk(), pg.ready()]));
    db.client2server(pg.query('SELECT name FROM films'))
      .server2client(pg.answer('SELECT 2', 2, false))
      .close();
    const mq = flow(CLIENT, SERVER, 7422).handshake();
    mq.server2client('INFO {"server_id":"x"}\r\n').client2server('CONNECT {}\r\nPUB orders.created 2\r\nhi\r\n').close();
    flow(CLIENT, SERVER, 8443).handshake().client2server(CLIENT_HELLO).server2client(SERVER_HELLO).close();
    flow(CLIENT, SERVER, 9999).handshake().client2server('SSH-2.0-OpenSSH_9.2\r\n').server2client('SSH-2.0-OpenSSH_9.2\r\n').close();
  });
  const service = Object.fromEntries(r.conn.map((c) => [c['id.resp_p'], c.service]));
  assert.deepEqual(service, { '5555': 'http', '6000': 'postgresql', '7422': 'nats', '8443': 'ssl', '9999': '-' });
  assert.deepEqual(
    r.http.map((h) => [h['id.resp_p'], h.uri, h.status_code]),
    [['5555', '/odd-port', '200']],
  );
  assert.deepEqual(
    r.sql.map((q) => [q['id.resp_p'], q.user, q.query, q.success]),
    [['6000', 'app', 'SELECT name FROM films', 'T']],
  );
  assert.deepEqual(
    r.nats.map((m) => [m['id.resp_p'], m.command, m.subject]),
    [['7422', 'PUB', 'orders.created']],
  );
  assert.deepEqual(r.weird, []);
  assert.deepEqual(r.notices, []);
});

test('the well-known port is a hint the content overrides: TLS on 8080 is ssl (no HTTP weirds), PostgreSQL on 80 is SQL', () => {
  const r = run((flow) => {
    flow(CLIENT, SERVER, 8080).handshake().client2server(CLIENT_HELLO).server2client(SERVER_HELLO).close();
    const db = flow(CLIENT, SERVER, 80).handshake();
    db.client2server(pg.startup('app', 'appdb')).server2client(Buffer.concat([pg.authOk(), pg.ready()]));
    db.client2server(pg.query('DELETE FROM films'))
      .server2client(pg.answer('DELETE 3', 0, false))
      .close();
    // Matching nothing known, the port's parser keeps it and says what it could not read.
    flow(CLIENT, SERVER, 8080).handshake().client2server('\x00\x01garbage that is no request\r\n\r\n').close();
  });
  assert.deepEqual(
    r.conn.map((c) => [c['id.resp_p'], c.service]),
    [
      ['8080', 'ssl'],
      ['80', 'postgresql'],
      ['8080', '-'],
    ],
  );
  assert.deepEqual(
    r.sql.map((q) => [q['id.resp_p'], q.query]),
    [['80', 'DELETE FROM films']],
  );
  assert.deepEqual(r.http, []);
  assert.ok(r.weird.length > 0);
  for (const w of r.weird) assert.deepEqual([w.uid, w.source], [r.conn[2].uid, 'HTTP'], JSON.stringify(w));
});

test('a first segment split into single bytes is held until decided and analysed whole', () => {
  const req = httpRequest('GET', '/split', { host: 'x' });
  const r = run((flow) => {
    const f = flow(CLIENT, SERVER, 5555).handshake();
    for (const ch of req) f.client2server(ch);
    f.server2client(httpResponse(204)).close();
  });
  assert.deepEqual(
    r.http.map((h) => [h.method, h.uri, h.host, h.status_code]),
    [['GET', '/split', 'x', '204']],
  );
  assert.equal(r.conn[0].service, 'http');
});

test("HTTP on the model's PostgreSQL port: one Protocol_Mismatch notice, analysed as HTTP", () => {
  const r = run((flow) => {
    const f = flow(USER_UPDATE, DB, 5432).handshake();
    f.client2server(httpRequest('GET', '/a')).server2client(httpResponse(200, {}, 'x'));
    f.client2server(httpRequest('GET', '/b'))
      .server2client(httpResponse(200, {}, 'y'))
      .close();
  }, true);
  assert.deepEqual(
    r.notices.map((n) => n.note),
    [NoticeType.PROTOCOL_MISMATCH],
  );
  const n = r.notices[0];
  assert.equal(n.p, 5432);
  assert.equal(n.evidence.expected, 'postgres');
  assert.equal(n.evidence.seen, 'http');
  assert.equal(n.evidence.port, 5432);
  assert.equal(n.evidence.portName, 'pg');
  assert.equal(n.uid, r.conn[0].uid);
  assert.match(n.msg, /user-update-0 spoke http to db-0 tcp\/5432 \(pg\), which the model gives to postgres/);
  assert.deepEqual(
    r.http.map((h) => h.uri),
    ['/a', '/b'],
  );
  assert.equal(r.conn[0].service, 'http');
  assert.deepEqual(
    r.weird.map((w) => [w.name, w.source]),
    [['protocol_mismatch', 'DETECT']],
  );
});

test('on a model port: the promised protocol raises nothing; unknown bytes are a mismatch with seen unknown', () => {
  const r = run((flow) => {
    const ok = flow(USER_UPDATE, DB, 5432).handshake();
    ok.client2server(pg.startup('dvdrental', 'dvdrental')).server2client(Buffer.concat([pg.authOk(), pg.ready()]));
    ok.client2server(pg.query('SELECT 1'))
      .server2client(pg.answer('SELECT 1', 1, false))
      .close();
    flow(USER_UPDATE, DB, 5432).handshake().client2server('SSH-2.0-OpenSSH_9.2\r\n').close();
  }, true);
  assert.deepEqual(
    r.notices.map((n) => [n.note, n.evidence.expected, n.evidence.seen]),
    [[NoticeType.PROTOCOL_MISMATCH, 'postgres', 'unknown']],
  );
  assert.equal(r.notices[0].uid, r.conn[1].uid);
  assert.deepEqual(
    r.sql.map((q) => q.query),
    ['SELECT 1'],
  );
});

test('no verdict without evidence: a connection picked up mid-stream, one without data, one with too few bytes', () => {
  const r = run((flow) => {
    // No handshake: the monitor starts in the middle of an HTTP exchange on the database port.
    flow(USER_UPDATE, DB, 5432).client2server('ody of an earlier request that the monitor missed').close();
    flow(USER_UPDATE, DB, 5432).handshake().close();
    flow(USER_UPDATE, DB, 5432).handshake().client2server('GE').close();
  }, true);
  assert.deepEqual(r.notices, []);
  assert.deepEqual(
    r.conn.map((c) => c.service),
    ['-', '-', '-'],
  );
});

test('contentDetection false chooses by the port alone, as before: TLS on 8080 goes to the HTTP parser, 5555 to none', () => {
  const r = run(
    (flow) => {
      flow(CLIENT, SERVER, 8080).handshake().client2server(CLIENT_HELLO).server2client(SERVER_HELLO).close();
      flow(CLIENT, SERVER, 5555).handshake().client2server(httpRequest('GET', '/odd-port')).close();
    },
    false,
    false,
  );
  assert.deepEqual(
    r.conn.map((c) => c.service),
    ['-', '-'],
  );
  assert.deepEqual(r.http, []);
  assert.ok(r.weird.some((w) => w.source === 'HTTP' && w['id.resp_p'] === '8080'));
});

test("a server that speaks first overrides the port too: NATS's INFO on port 80 is NATS, with the client's commands", () => {
  const r = run((flow) => {
    flow(CLIENT, SERVER, 80)
      .handshake()
      .server2client('INFO {"server_id":"x"}\r\n')
      .client2server('CONNECT {}\r\nSUB jobs.* 1\r\n')
      .close();
  });
  assert.equal(r.conn[0].service, 'nats');
  assert.deepEqual(
    r.nats.map((m) => [m.command, m.subject]),
    [['SUB', 'jobs.*']],
  );
  assert.deepEqual(r.weird, []);
});
