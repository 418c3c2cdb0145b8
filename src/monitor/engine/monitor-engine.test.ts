import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { PcapRecord } from '../capture/index.js';
import { MemoryLogTarget, parseZeekTsv, ZeekLogWriter } from '../logs/index.js';
import { loadApp, type Addressing, type App } from '../../model/index.js';
import { NoticeType, type Notice } from '../policy/index.js';
import { parseAddressing } from './load-model.js';
import { MonitorEngine, type PolicyOverrides } from './monitor-engine.js';
import { Clock, TcpFlow, httpRequest, httpResponse, pg, traceparent } from '../testing/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
function dvdApp(): App {
  // The compiled test runs from .build/<dir>/src/monitor/engine or dist/src/monitor/engine.
  for (const base of [root, join(root, '..')]) {
    const r = loadApp(join(base, 'examples/dvd-rental/app.yaml'));
    if (r.ok) return r.value;
  }
  throw new Error('examples/dvd-rental/app.yaml not found');
}

const IP = {
  'contract-update': '10.1.0.2',
  'user-create': '10.1.0.3',
  'dvd-return': '10.1.0.4',
  'user-update': '10.1.0.5',
  'dvd-update': '10.1.0.6',
  shipping: '10.1.0.7',
  db: '10.1.0.8',
  mq: '10.1.0.9',
} as const;
const CLIENT = '192.0.2.10';

function model(): { app: App; addressing: Addressing } {
  const app = dvdApp();
  const doc = { instances: Object.fromEntries(Object.entries(IP).map(([s, ip]) => [`${s}-0`, { ip }])) };
  const a = parseAddressing(JSON.stringify(doc), app, 'test.json');
  assert.ok(a.ok, JSON.stringify(!a.ok && a.errors));
  return { app, addressing: a.value };
}

function run(records: PcapRecord[], policy?: PolicyOverrides, withModel = true) {
  const target = new MemoryLogTarget();
  const notices: Notice[] = [];
  const engine = new MonitorEngine({
    model: withModel ? model() : null,
    logs: new ZeekLogWriter(target, { now: () => 1_700_000_000 }),
    onNotice: (n) => notices.push(n),
    policy,
    tracker: { seed: 1 },
  });
  for (const r of records) engine.frame(1, r.data, r.ts);
  const summary = engine.finish();
  return { target, notices, summary };
}

let port = 40000;
const flow = (out: PcapRecord[], clock: Clock, from: string, to: string, dport: number): TcpFlow =>
  new TcpFlow(out, clock, from, port++, to, dport).handshake();

/** One rental as the real services do it: external → contract-update → user-update → db, then a NATS publish. */
function rental(out: PcapRecord[], clock: Clock, user: string, trace: string, billed = user): void {
  const ext = flow(out, clock, CLIENT, IP['contract-update'], 8080);
  ext.client2server(
    httpRequest(
      'POST',
      '/contracts',
      { 'x-user-id': user, traceparent: traceparent(trace) },
      JSON.stringify({ user: Number(user), dvd: 3 }),
    ),
  );
  const bill = flow(out, clock, IP['contract-update'], IP['user-update'], 8080);
  bill.client2server(
    httpRequest(
      'POST',
      `/users/${billed}/bill`,
      { 'x-user-id': billed, traceparent: traceparent(trace, '1111111111111111') },
      '{"amount":3.99,"contract":"c1"}',
    ),
  );
  const db = flow(out, clock, IP['user-update'], IP.db, 5432);
  db.client2server(pg.startup('dvdrental', 'dvdrental'));
  db.server2client(Buffer.concat([pg.authOk(), pg.ready()]));
  db.client2server(pg.extended('SELECT id, name, balance FROM users WHERE id = $1', [billed]));
  db.server2client(pg.answer('SELECT 1', 1));
  db.client2server(pg.extended('UPDATE users SET balance = balance + $2 WHERE id = $1 RETURNING balance', [billed, '3.99']));
  db.server2client(pg.answer('UPDATE 1', 1));
  db.close();
  bill.server2client(httpResponse(200, { traceparent: traceparent(trace, '2222222222222222') }, '{}'));
  bill.close();
  const mq = flow(out, clock, IP['contract-update'], IP.mq, 4222);
  mq.server2client('INFO {"server_id":"x","headers":true}\r\n');
  mq.client2server('CONNECT {"verbose":false,"headers":true}\r\n');
  const hdr = `NATS/1.0\r\ntraceparent: ${traceparent(trace, '3333333333333333')}\r\nx-user-id: ${user}\r\n\r\n`;
  const payload = '{"contract":"c1"}';
  mq.client2server(`HPUB rentals.created ${hdr.length} ${hdr.length + payload.length}\r\n${hdr}${payload}\r\n`);
  mq.close();
  ext.server2client(httpResponse(201, {}, '{"contract":"c1"}'));
  ext.close();
}

test('benign rental: no notice; conn, http, sql and nats logs share uids and are valid Zeek TSV', () => {
  const out: PcapRecord[] = [];
  const clock = new Clock();
  rental(out, clock, '7', 'a1');
  rental(out, clock, '9', 'b2');
  const { target, notices, summary } = run(out);
  assert.deepEqual(
    notices.map((n) => n.msg),
    [],
  );
  assert.equal(summary.internalErrors, 0);
  const conn = parseZeekTsv(target.text('conn'));
  const http = parseZeekTsv(target.text('http'));
  const sql = parseZeekTsv(target.text('sql'));
  const nats = parseZeekTsv(target.text('nats'));
  assert.ok(conn.ok && http.ok && sql.ok && nats.ok);
  assert.equal(conn.value.rows.length, 8);
  assert.equal(http.value.rows.length, 4);
  assert.equal(sql.value.rows.length, 4);
  assert.equal(nats.value.rows.length, 2);
  const connUids = new Map(conn.value.rows.map((r) => [r[1], r]));
  const col = (log: { fields: string[] }, name: string): number => log.fields.indexOf(name);
  for (const log of [http.value, sql.value, nats.value]) {
    for (const r of log.rows) {
      const c = connUids.get(r[1]);
      assert.ok(c, `uid ${r[1]} of ${log.fields.join(',')} is in conn.log`);
      for (const f of ['id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p']) assert.equal(r[col(log, f)], c[col(conn.value, f)]);
    }
  }
  const services = conn.value.rows.map((r) => r[col(conn.value, 'service')]).sort();
  assert.deepEqual(services, ['http', 'http', 'http', 'http', 'nats', 'nats', 'postgresql', 'postgresql']);
  for (const r of conn.value.rows) assert.equal(r[col(conn.value, 'conn_state')], 'SF');
  assert.deepEqual(
    sql.value.rows.map((r) => r[col(sql.value, 'kind')]),
    ['SELECT', 'UPDATE', 'SELECT', 'UPDATE'],
  );
  assert.deepEqual(
    sql.value.rows.map((r) => r[col(sql.value, 'success')]),
    ['T', 'T', 'T', 'T'],
  );
  assert.equal(summary.policy.integrity.mismatches, 0);
  assert.ok(summary.policy.integrity.checked >= 6, JSON.stringify(summary.policy.integrity));
});

test("a compromised contract-update bills another user under the renter's trace: Identity_Mismatch on the call and on its SQL", () => {
  const out: PcapRecord[] = [];
  const clock = new Clock();
  rental(out, clock, '7', 'c3', '8');
  const { notices } = run(out);
  const mm = notices.filter((n) => n.note === NoticeType.IDENTITY_MISMATCH);
  assert.equal(mm.length, 3, notices.map((n) => n.msg).join('\n'));
  const http = mm.find((n) => n.evidence.request === 'POST /users/8/bill');
  assert.ok(http);
  assert.equal(http.evidence.expected, '7');
  assert.equal(http.evidence.seen, '8');
  assert.equal(http.evidence.uids.length, 2);
  assert.equal(http.evidence.identityField, 'path segment 1');
  const sqls = mm.filter((n) => n.evidence.request?.startsWith('SELECT') || n.evidence.request?.startsWith('UPDATE'));
  assert.equal(sqls.length, 2);
  for (const n of sqls) assert.equal(n.evidence.seen, '8');
});

test('connection, request and subject policies each raise their notice with evidence', () => {
  const out: PcapRecord[] = [];
  const clock = new Clock();
  // shipping has no database access
  const s = flow(out, clock, IP.shipping, IP.db, 5432);
  s.client2server(pg.startup('dvdrental', 'dvdrental'));
  s.close();
  // user-create may only INSERT into users
  const uc = flow(out, clock, IP['user-create'], IP.db, 5432);
  uc.client2server(pg.startup('dvdrental', 'dvdrental'));
  uc.server2client(Buffer.concat([pg.authOk(), pg.ready()]));
  uc.client2server(pg.query('BEGIN'));
  uc.server2client(pg.answer('BEGIN', 0, false));
  uc.client2server(pg.query('SELECT email FROM users'));
  uc.server2client(pg.answer('SELECT 3', 3, false));
  uc.close();
  // the public path is POST /contracts only
  const ext = flow(out, clock, CLIENT, IP['contract-update'], 8080);
  ext.client2server(httpRequest('GET', '/contracts/../admin?x=1'));
  ext.server2client(httpResponse(404));
  ext.close();
  // contract-update may publish rentals.created only; dvd-update may subscribe under rentals.
  const pub = flow(out, clock, IP['contract-update'], IP.mq, 4222);
  pub.client2server('CONNECT {}\r\nPUB rentals.deleted 2\r\nhi\r\nSUB rentals.> 1\r\n');
  pub.close();
  const sub = flow(out, clock, IP['dvd-update'], IP.mq, 4222);
  sub.client2server('CONNECT {}\r\nSUB rentals.* dvd-update 1\r\nSUB > 2\r\n');
  sub.close();
  // an internal service reached from outside
  const inside = flow(out, clock, CLIENT, IP['user-update'], 8080);
  inside.close();
  const { notices } = run(out);
  const by = (t: string) => notices.filter((n) => n.note === t);

  const unauthorized = by(NoticeType.UNAUTHORIZED_CONNECTION);
  assert.equal(unauthorized.length, 2, notices.map((n) => n.msg).join('\n'));
  const ship = unauthorized.find((n) => n.evidence.src === 'shipping');
  assert.ok(ship);
  assert.equal(ship.evidence.dst, 'db');
  assert.equal(ship.p, 5432);
  assert.deepEqual([...(ship.evidence.expected as string[])].sort(), ['dvd-update', 'user-create', 'user-update']);
  assert.ok(ship.uid && ship.evidence.uids.includes(ship.uid));
  const ext2 = unauthorized.find((n) => n.evidence.src === 'external');
  assert.deepEqual(ext2?.evidence.expected, ['contract-update']);

  const sql = by(NoticeType.DISALLOWED_SQL);
  assert.equal(sql.length, 1);
  assert.equal(sql[0].evidence.seen, 'SELECT on users');
  assert.deepEqual(sql[0].evidence.expected, ['INSERT on users']);
  assert.equal(sql[0].evidence.request, 'SELECT email FROM users');

  const http = by(NoticeType.DISALLOWED_HTTP_REQUEST);
  assert.equal(http.length, 1);
  assert.equal(http[0].evidence.request, 'GET /contracts/../admin?x=1');
  assert.deepEqual(http[0].evidence.expected, ['POST /contracts']);

  const nats = by(NoticeType.DISALLOWED_NATS_SUBJECT);
  assert.deepEqual(nats.map((n) => n.evidence.request).sort(), ['PUB rentals.deleted', 'SUB >', 'SUB rentals.>']);
});

test('SYN flood: many unanswered SYNs from one source to a service port', () => {
  const out: PcapRecord[] = [];
  const clock = new Clock(1_700_000_000, 0.002);
  for (let i = 0; i < 150; i++) new TcpFlow(out, clock, '198.51.100.7', 20000 + i, IP.shipping, 8080).synOnly();
  // a few refused connection attempts from elsewhere stay below the threshold
  for (let i = 0; i < 10; i++) new TcpFlow(out, clock, '198.51.100.8', 30000 + i, IP.shipping, 9).refused();
  const { notices, summary } = run(out, { synFlood: { threshold: 100, window: 5 } });
  const floods = notices.filter((n) => n.note === NoticeType.SYN_FLOOD);
  assert.equal(floods.length, 1, notices.map((n) => n.msg).join('\n'));
  assert.equal(floods[0].src, '198.51.100.7');
  assert.equal(floods[0].p, 8080);
  assert.equal(floods[0].n, 100);
  assert.equal(summary.policy.halfOpen, 160);
  // without a model the flood is still seen
  const bare = run(out, { synFlood: { threshold: 100, window: 5 } }, false);
  assert.equal(bare.notices.filter((n) => n.note === NoticeType.SYN_FLOOD).length, 1);
});

test('without a model: parsers by port, no policy notice, JSON logs with dotted keys', () => {
  const out: PcapRecord[] = [];
  const clock = new Clock();
  const f = flow(out, clock, '10.9.0.1', '10.9.0.2', 80);
  f.client2server(httpRequest('GET', '/index.html', { 'user-agent': 'curl/8' }));
  f.server2client(httpResponse(200, {}, 'hello'));
  f.close();
  const target = new MemoryLogTarget();
  const engine = new MonitorEngine({ logs: new ZeekLogWriter(target, { format: 'json' }), tracker: { seed: 2 } });
  for (const r of out) engine.frame(1, r.data, r.ts);
  const summary = engine.finish();
  assert.equal(summary.notices, 0);
  const conn = target.lines('conn').map((l) => JSON.parse(l));
  const http = target.lines('http').map((l) => JSON.parse(l));
  assert.equal(conn.length, 1);
  assert.equal(http.length, 1);
  assert.equal(conn[0]['id.orig_h'], '10.9.0.1');
  assert.equal(conn[0]['id.resp_p'], 80);
  assert.equal(conn[0].service, 'http');
  assert.equal(conn[0].local_orig, undefined);
  assert.equal(http[0].uid, conn[0].uid);
  assert.equal(http[0].uri, '/index.html');
  assert.equal(http[0].status_code, 200);
  assert.equal(http[0].user_agent, 'curl/8');
  assert.equal(http[0].response_body_len, 5);
  assert.deepEqual(http[0].tags, []);
});

test("flowtap's probe (reserved source ports) is reported every time and hides no later attack of the same pair", () => {
  const out: PcapRecord[] = [];
  const clock = new Clock();
  // Two probes of shipping -> db:5432, then the real attack from an ordinary port, all within the hour.
  for (const sport of [61_000, 61_001]) new TcpFlow(out, clock, IP.shipping, sport, IP.db, 5432).handshake().close();
  new TcpFlow(out, clock, IP.shipping, 45_000, IP.db, 5432).handshake().close();
  // The attack again: suppressed as usual (Zeek's identifier suppression), the probe changed nothing there.
  new TcpFlow(out, clock, IP.shipping, 45_001, IP.db, 5432).handshake().close();
  const { notices } = run(out);
  const unauthorized = notices.filter((n) => n.note === NoticeType.UNAUTHORIZED_CONNECTION);
  assert.deepEqual(
    unauthorized.map((n) => n.id?.origP),
    [61_000, 61_001, 45_000],
  );
});

/** A SYN flood that raises one notice, with everything that might throw injected around it. */
function hostileRun(inject: { onNotice?: (n: Notice) => void; packet?: (index: number) => void; tick?: () => void }) {
  const out: PcapRecord[] = [];
  const clock = new Clock(1_700_000_000, 0.002);
  for (let i = 0; i < 150; i++) new TcpFlow(out, clock, '198.51.100.7', 20000 + i, IP.shipping, 8080).synOnly();
  const target = new MemoryLogTarget();
  let seen = 0;
  const engine = new MonitorEngine({
    logs: new ZeekLogWriter(target, { now: () => 1_700_000_000 }),
    onNotice: inject.onNotice,
    policy: { synFlood: { threshold: 100, window: 5 } },
    tracker: { seed: 1 },
    observer: {
      packet: () => {
        seen++;
        inject.packet?.(seen);
      },
    },
  });
  if (inject.tick) engine.policy.tick = inject.tick;
  for (const [i, r] of out.entries()) engine.frame(1, r.data, r.ts, i + 1);
  const summary = engine.finish();
  const rows = (path: string) => {
    const p = parseZeekTsv(target.text(path));
    assert.ok(p.ok, JSON.stringify(!p.ok && p.errors));
    return p.value.rows.map((r) => Object.fromEntries(p.value.fields.map((f, i) => [f, r[i]])));
  };
  return { frames: out.length, summary, rows, seen: () => seen };
}

test('a consumer that throws on a notice: counted, logged as a weird, the notice still written and the capture goes on', () => {
  const r = hostileRun({
    onNotice: () => {
      throw new RangeError('Invalid time value');
    },
  });
  assert.equal(r.summary.packets, r.frames);
  assert.equal(r.seen(), r.frames);
  assert.equal(r.summary.notices, 1);
  assert.equal(r.summary.internalErrors, 1);
  const notices = r.rows('notice');
  assert.equal(notices.length, 1);
  assert.equal(notices[0].note, NoticeType.SYN_FLOOD);
  const weird = r.rows('weird').filter((w) => w.name === 'flowtap_internal_error');
  assert.equal(weird.length, 1);
  assert.match(weird[0].addl, /Invalid time value/);
});

test('an exception on some packets (a component after the tracker, the timed policies) costs those packets only', () => {
  let ticks = 0;
  const r = hostileRun({
    packet: (i) => {
      if (i % 50 === 0) throw new Error(`observer broke on ${i}`);
    },
    tick: () => {
      if (++ticks === 1) throw new TypeError('tick broke');
    },
  });
  assert.equal(r.summary.packets, r.frames);
  assert.equal(r.seen(), r.frames);
  // 150 frames: the observer throws on 50, 100 and 150, the timed policies once.
  assert.equal(r.summary.internalErrors, 4);
  assert.equal(r.summary.notices, 1);
  const weird = r.rows('weird').filter((w) => w.name === 'flowtap_internal_error');
  assert.deepEqual(
    weird.map((w) => w.addl),
    ['packet 1; tick broke', 'packet 50; observer broke on 50', 'packet 100; observer broke on 100', 'packet 150; observer broke on 150'],
  );
});

test('a notice whose row cannot be formatted is written in a plainer form, never lost', () => {
  const target = new MemoryLogTarget();
  const got: Notice[] = [];
  const engine = new MonitorEngine({ logs: new ZeekLogWriter(target, { now: () => 1_700_000_000 }), onNotice: (n) => got.push(n) });
  // A BigInt makes JSON.stringify of the evidence throw.
  const evidence = { half_open: 10n } as unknown as Notice['evidence'];
  engine.health({ ts: 1_700_000_001.5, note: NoticeType.SYN_FLOOD, msg: 'odd evidence', src: '10.0.0.1', evidence });
  const summary = engine.finish();
  assert.equal(got.length, 1);
  assert.equal(summary.notices, 1);
  assert.equal(summary.internalErrors, 1);
  const p = parseZeekTsv(target.text('notice'));
  assert.ok(p.ok);
  const row = Object.fromEntries(p.value.fields.map((f, i) => [f, p.value.rows[0][i]]));
  assert.equal(p.value.rows.length, 1);
  assert.equal(row.ts, '1700000001.500000');
  assert.equal(row.msg, 'odd evidence');
  assert.equal(row.src, '10.0.0.1');
  assert.match(row.sub, /evidence not written: .*BigInt/);
});
