/**
 * The monitor on real traffic: captures of the DVD-rental application running on this
 * machine (test/fixtures/pcap/README.md says how they were made and what each contains).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOG_SCHEMAS, NoticeType, parseZeekTsv, runMonitor, type MonitorRunResult, type Notice } from '../src/monitor/index.js';

function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'test', 'fixtures', 'pcap', 'addressing.json'))) return dir;
  }
  throw new Error('test/fixtures/pcap not found above this test');
}
const ROOT = repoRoot();
const FIX = join(ROOT, 'test', 'fixtures', 'pcap');
const APP = join(ROOT, 'examples', 'dvd-rental', 'app.yaml');
const ADDRESSING = join(FIX, 'addressing.json');

async function monitor(name: string, format: 'tsv' | 'json' = 'tsv'): Promise<{ r: MonitorRunResult; dir: string; done: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), `flowtap-mon-${name}-`));
  const r = await runMonitor({ pcap: join(FIX, `${name}.pcap`), app: APP, addressing: ADDRESSING, logDir: dir, format });
  assert.equal(r.exitCode, 0, JSON.stringify(r.diagnostics));
  assert.equal(r.summary?.internalErrors, 0);
  return { r, dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

const of = (r: MonitorRunResult, note: string): Notice[] => r.notices.filter((n) => n.note === note);
const describe = (r: MonitorRunResult): string => r.notices.map((n) => `${n.note}: ${n.msg}`).join('\n');

/** Every log in `dir` parses as strict Zeek TSV; returns rows as objects keyed by field name. */
function readTsvLogs(dir: string): Map<string, Record<string, string>[]> {
  const out = new Map<string, Record<string, string>[]>();
  for (const file of readdirSync(dir)) {
    const parsed = parseZeekTsv(readFileSync(join(dir, file), 'utf8'), file);
    assert.ok(parsed.ok, `${file}: ${!parsed.ok && JSON.stringify(parsed.errors)}`);
    const log = parsed.value;
    assert.equal(`${log.path}.log`, file);
    const schema = LOG_SCHEMAS.find((s) => s.path === log.path);
    assert.ok(schema, `unknown log ${log.path}`);
    assert.deepEqual(log.fields, schema.fields);
    assert.deepEqual(log.types, schema.types);
    assert.match(log.open, /^\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d$/);
    assert.match(log.close ?? '', /^\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d$/);
    out.set(
      log.path,
      log.rows.map((row) => Object.fromEntries(log.fields.map((f, i) => [f, row[i]]))),
    );
  }
  return out;
}

test('benign traffic (curl, load generator, NATS client) raises no notice and logs every protocol', async () => {
  const { r, dir, done } = await monitor('benign');
  try {
    assert.equal(r.notices.length, 0, describe(r));
    const s = r.summary!;
    assert.equal(s.decode.malformed ?? 0, 0);
    assert.ok(s.tracker.connections > 50, `only ${s.tracker.connections} connections`);
    // The request-integrity policy did real work: identities were compared across services.
    assert.ok(s.policy.integrity.checked > 100, JSON.stringify(s.policy.integrity));
    assert.ok(s.policy.integrity.attributedByTrace > 50);
    assert.ok(s.policy.integrity.attributedByNesting > 50);
    assert.equal(s.policy.integrity.mismatches, 0);
    assert.equal(s.policy.integrity.unattributed, 0);

    const logs = readTsvLogs(dir);
    const conn = logs.get('conn')!;
    const http = logs.get('http')!;
    const sql = logs.get('sql')!;
    const nats = logs.get('nats')!;
    assert.ok(http.length > 100 && sql.length > 100 && nats.length > 50, `${http.length} ${sql.length} ${nats.length}`);
    assert.equal(logs.has('notice'), false);
    const byUid = new Map(conn.map((c) => [c.uid, c]));
    assert.equal(byUid.size, conn.length, 'uids are unique in conn.log');
    for (const [name, rows] of [
      ['http', http],
      ['sql', sql],
      ['nats', nats],
    ] as const) {
      for (const row of rows) {
        const c = byUid.get(row.uid);
        assert.ok(c, `${name}.log uid ${row.uid} missing from conn.log`);
        for (const f of ['id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p']) assert.equal(row[f], c[f], `${name}.log ${row.uid} ${f}`);
        const expected = name === 'sql' ? 'postgresql' : name;
        assert.equal(c.service, expected);
      }
    }
    // What the services do, as the logs tell it.
    const routes = new Set(http.map((h) => `${h['id.resp_h']} ${h.method} ${h.uri.replace(/\d+/g, 'N')}`));
    for (const want of [
      '127.0.0.2 POST /contracts',
      '127.0.0.3 POST /users',
      '127.0.0.4 POST /returns',
      '127.0.0.5 POST /users/N/bill',
      '127.0.0.6 POST /returns',
      '127.0.0.7 POST /shipments',
    ]) {
      assert.ok(routes.has(want), `no ${want} in http.log (${[...routes].join(', ')})`);
    }
    const kinds = new Set(sql.map((q) => `${q['id.orig_h']} ${q.kind} ${q.tables}`));
    for (const want of ['127.0.0.3 INSERT users', '127.0.0.5 SELECT users', '127.0.0.5 UPDATE users', '127.0.0.6 INSERT rentals'])
      assert.ok(kinds.has(want), `no ${want} in sql.log`);
    assert.ok(sql.every((q) => q.user === 'dvdrental' && q.database === 'dvdrental'));
    assert.ok(nats.some((m) => m.command === 'HPUB' && m.subject === 'rentals.created' && m['id.orig_h'] === '127.0.0.2'));
    assert.ok(nats.some((m) => m.command === 'SUB' && m.subject === 'rentals.>' && m.queue === 'dvd-update'));
    assert.ok(conn.every((c) => c.local_orig === 'T' || c['id.orig_h'] === '127.0.0.1'));
  } finally {
    done();
  }
});

test('shipping, dvd-return and an external client reaching the database: Unauthorized_Connection each', async () => {
  const { r, done } = await monitor('unauthorized-db');
  try {
    const u = of(r, NoticeType.UNAUTHORIZED_CONNECTION);
    assert.deepEqual(u.map((n) => n.evidence.src).sort(), ['dvd-return', 'external', 'shipping'], describe(r));
    for (const n of u) {
      assert.equal(n.evidence.dst, 'db');
      assert.equal(n.p, 5432);
      assert.deepEqual([...(n.evidence.expected as string[])].sort(), ['dvd-update', 'user-create', 'user-update']);
      assert.ok(n.uid && n.evidence.uids[0] === n.uid);
    }
    assert.equal(r.notices.length, 3, describe(r));
  } finally {
    done();
  }
});

test('user-create reading the users table: Disallowed_SQL with the statement and the allowed one', async () => {
  const { r, done } = await monitor('user-create-select');
  try {
    const d = of(r, NoticeType.DISALLOWED_SQL);
    assert.equal(d.length, 1, describe(r));
    assert.equal(d[0].evidence.src, 'user-create-0');
    assert.equal(d[0].evidence.seen, 'SELECT on users');
    assert.deepEqual(d[0].evidence.expected, ['INSERT on users']);
    assert.equal(d[0].evidence.request, 'SELECT id, name, email, balance FROM users');
    // BEGIN and COMMIT are session control; nothing else is reported but the unattributable SELECT.
    assert.deepEqual(r.notices.map((n) => n.note).sort(), [NoticeType.DISALLOWED_SQL, NoticeType.UNATTRIBUTED_REQUEST]);
  } finally {
    done();
  }
});

test("a compromised contract-update billing another user within the renter's trace: Identity_Mismatch", async () => {
  const { r, dir, done } = await monitor('identity-mismatch');
  try {
    const m = of(r, NoticeType.IDENTITY_MISMATCH);
    assert.equal(m.length, 3, describe(r));
    assert.equal(r.notices.length, 3, describe(r));
    const call = m.find((n) => n.evidence.request?.startsWith('POST /users/'));
    assert.ok(call);
    const renter = call.evidence.expected as string;
    const billed = call.evidence.seen as string;
    assert.notEqual(renter, billed);
    assert.equal(call.evidence.request, `POST /users/${billed}/bill`);
    assert.equal(call.evidence.src, 'contract-update-0');
    assert.equal(call.evidence.identityField, 'path segment 1');
    // both uids: the forged call and the external rental it was attributed to (by trace id)
    const logs = readTsvLogs(dir);
    const http = logs.get('http')!;
    const [forged, external] = call.evidence.uids;
    assert.equal(http.find((h) => h.uid === forged)?.uri, `/users/${billed}/bill`);
    assert.equal(http.find((h) => h.uid === external)?.uri, '/contracts');
    const ext = (call.evidence.external as { identity: string }[])[0];
    assert.equal(ext.identity, renter);
    // user-update's queries for the wrong user are caught by nesting in the forged call
    const sqls = m.filter((n) => n !== call);
    assert.deepEqual(sqls.map((n) => n.evidence.request?.split(' ')[0]).sort(), ['SELECT', 'UPDATE']);
    for (const n of sqls) {
      assert.equal(n.evidence.seen, billed);
      assert.equal(n.evidence.expected, renter);
      assert.equal(n.evidence.identityField, 'SQL parameter $1');
    }
    // the legitimate bill of the renter in the same trace raised nothing
    assert.ok(http.some((h) => h.uri === `/users/${renter}/bill` && h['id.orig_h'] === '127.0.0.2'));
  } finally {
    done();
  }
});

test('NATS subjects outside the requirements and a stranger on the queue', async () => {
  const { r, done } = await monitor('nats-subjects');
  try {
    const d = of(r, NoticeType.DISALLOWED_NATS_SUBJECT);
    assert.deepEqual(
      d.map((n) => `${n.evidence.src} ${n.evidence.request}`).sort(),
      ['contract-update-0 PUB rentals.deleted', 'dvd-update-0 SUB >'],
      describe(r),
    );
    assert.deepEqual(d.find((n) => n.evidence.src === 'dvd-update-0')?.evidence.expected, ['subscribe rentals.>']);
    const u = of(r, NoticeType.UNAUTHORIZED_CONNECTION);
    assert.equal(u.length, 1);
    assert.equal(u[0].evidence.src, 'dvd-return');
    assert.equal(u[0].evidence.dst, 'mq');
    assert.equal(r.notices.length, 3, describe(r));
  } finally {
    done();
  }
});

test('HTTP methods and paths outside the requirements', async () => {
  const { r, done } = await monitor('disallowed-http', 'json');
  try {
    const d = of(r, NoticeType.DISALLOWED_HTTP_REQUEST);
    assert.deepEqual(d.map((n) => n.evidence.request).sort(), ['DELETE /users/1', 'GET /contracts'], describe(r));
    assert.deepEqual(d.find((n) => n.evidence.request === 'GET /contracts')?.evidence.expected, ['POST /contracts']);
    const u = of(r, NoticeType.UNAUTHORIZED_CONNECTION);
    assert.equal(u.length, 1);
    assert.equal(u[0].evidence.dst, 'user-update');
  } finally {
    done();
  }
});

test('a burst of refused connections to shipping: SYN_Flood; JSON logs carry the same notice', async () => {
  const { r, dir, done } = await monitor('syn-flood', 'json');
  try {
    const f = of(r, NoticeType.SYN_FLOOD);
    assert.equal(f.length, 1, describe(r));
    assert.equal(f[0].src, '127.0.0.1');
    assert.equal(f[0].dst, '127.0.0.7');
    assert.equal(f[0].p, 9);
    assert.ok((f[0].n ?? 0) >= 100);
    assert.ok(r.summary!.policy.halfOpen >= 300);
    const lines = readFileSync(join(dir, 'notice.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const row = lines.find((l) => l.note === NoticeType.SYN_FLOOD);
    assert.ok(row);
    assert.equal(row['id.resp_p'], 9);
    assert.equal(row.uid, f[0].uid);
    assert.deepEqual(JSON.parse(row.sub as string).uids, [f[0].uid]);
    const conns = readFileSync(join(dir, 'conn.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(conns.filter((c) => c.conn_state === 'REJ' && c['id.resp_p'] === 9).length >= 300);
    for (const c of conns) for (const k of Object.keys(c)) assert.ok(LOG_SCHEMAS[0].fields.includes(k), `conn.log key ${k}`);
  } finally {
    done();
  }
});
