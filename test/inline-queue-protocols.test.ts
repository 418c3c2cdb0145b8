/**
 * Inline enforcement of PostgreSQL and NATS in queue mode on the local cloud (issue 13): DVD
 * rental (under a name of its own) with `--inline-mode queue` and test/fixtures/policies/
 * dvd-inline.dl, which puts user-create's and user-update's SQL and contract-update's NATS
 * through mon-forensics. From those instances' own namespaces: user-create's INSERT into users
 * passes and its SELECT on users gets PostgreSQL's own error (42501) as psql prints it; an
 * allowed publish passes and a forbidden one gets NATS's Permissions Violation; every decision
 * is an inline.log row with the uid the client was told. Killed, the monitor leaves each
 * contract to its fail mode in the kernel: user-create's (closed) SQL is held, user-update's
 * (open) passes even what the monitor refused, contract-update's (closed) NATS is held.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nfqueueMissing } from '../src/monitor/index.js';
import { needs, needsRoot } from '../src/system/testing.js';
import { flowtap, inNs, ROOT, type Ran } from './testing.js';

const skip = needsRoot(['iptables-restore', '--version'], ['psql', '--version'], ['nats-server', '--version']) || needs(nfqueueMissing());
const NAME = 'dvd-inline';
const POLICY = 'test/fixtures/policies/dvd-inline.dl';
const ns = (instance: string) => `ft-${NAME}-i-${instance}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Status {
  processes: { owner: string; pid: number; argv: string[] }[];
}

interface Row {
  uid: string;
  action: string;
  request: string | null;
  reason: string;
  fail_mode: string;
}

/** One psql command as DVD rental's database user from an instance's namespace, through whatever lies between. */
function psql(instance: string, db: string, sql: string, connectTimeout = 3): Promise<Ran & { ms: number }> {
  const t0 = Date.now();
  return inNs(ns(instance), 'env', [
    'PGPASSWORD=dvdrental',
    `PGCONNECT_TIMEOUT=${connectTimeout}`,
    'psql',
    '-X',
    '-h',
    db,
    '-U',
    'dvdrental',
    '-d',
    'dvdrental',
    '-tAc',
    sql,
  ]).then((r) => ({ ...r, ms: Date.now() - t0 }));
}

/**
 * A raw NATS client from an instance's namespace: waits for the server's INFO, sends `text`,
 * and reports what came back within `ms` and whether the server closed the connection.
 */
const NATS_CLIENT = `
const net = require('node:net');
const [ip, port, text, ms] = process.argv.slice(1);
let out = '', sent = false;
const s = net.connect(Number(port), ip);
const done = (closed) => { console.log(JSON.stringify({ out, closed })); process.exit(0); };
s.on('data', (d) => { out += d; if (!sent && out.includes('INFO')) { sent = true; s.write(text); } });
s.on('error', (e) => { out += '<' + e.code + '>'; });
s.on('close', () => done(true));
setTimeout(() => done(false), Number(ms));
`;

async function nats(instance: string, mq: string, text: string, ms = 1500): Promise<{ out: string; closed: boolean }> {
  const r = await inNs(ns(instance), process.execPath, ['-e', NATS_CLIENT, mq, '4222', text, String(ms)]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { out: string; closed: boolean };
}

const CONNECT = 'CONNECT {"verbose":false,"pedantic":false,"name":"inline-test"}\r\n';

describe('inline monitor in queue mode: PostgreSQL and NATS on the local cloud', { skip }, () => {
  let db = '';
  let mq = '';
  let monitor: Status['processes'][number] | undefined;

  before(async () => {
    await flowtap('down', NAME);
    // DVD rental under a name of its own, so this test never meets another test's deployment.
    const dir = mkdtempSync(join(tmpdir(), 'flowtap-dvd-inline-'));
    const descriptor = join(dir, 'app.yaml');
    writeFileSync(
      descriptor,
      readFileSync(join(ROOT, 'examples/dvd-rental/app.yaml'), 'utf8').replace(/^app: dvd-rental$/m, `app: ${NAME}`),
    );
    const r = await flowtap('up', descriptor, '--json', '--policy', POLICY, '--inline-mode', 'queue');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const instances = (JSON.parse(r.stdout) as { addressing: { instances: Record<string, { ip: string }> } }).addressing.instances;
    db = instances['db-0'].ip;
    mq = instances['mq-0'].ip;
    const s = await flowtap('status', NAME, '--json');
    assert.equal(s.code, 0, s.stderr);
    monitor = (JSON.parse(s.stdout) as Status).processes.find((p) => p.owner === 'monitor:mon-forensics');
    assert.ok(monitor, 'the cloud started mon-forensics');
    assert.equal(monitor.argv.at(-1), '--inline=queue');
  });

  after(async () => {
    await flowtap('down', NAME);
  });

  const logRows = (): Row[] => {
    const f = join(monitor!.argv[monitor!.argv.indexOf('--log-dir') + 1], 'inline.log');
    return existsSync(f)
      ? readFileSync(f, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Row)
      : [];
  };
  async function rowsWhen(done: (r: Row[]) => boolean): Promise<Row[]> {
    // The log writer flushes on its own schedule.
    for (let i = 0; i < 50 && !done(logRows()); i++) await sleep(100);
    return logRows();
  }

  test('allowed SQL and NATS pass; SELECT on users gets 42501 from psql, a forbidden PUB the -ERR; each decision logged with its uid', async (t) => {
    // The first statement may meet the monitor still binding its queues (fail-closed: held).
    let insert = await psql('user-create-0', db, "INSERT INTO users (name, email) VALUES ('Inline', 'inline-1@example.org')");
    for (let i = 0; i < 10 && insert.code !== 0; i++)
      insert = await psql('user-create-0', db, `INSERT INTO users (name, email) VALUES ('Inline', 'inline-r${i}@example.org')`);
    assert.equal(insert.code, 0, `user-create may insert users: ${insert.stderr}`);
    assert.match(insert.stdout, /INSERT 0 1/);

    const select = await psql('user-create-0', db, 'SELECT * FROM users');
    assert.notEqual(select.code, 0, 'refused');
    assert.match(
      select.stderr,
      /ERROR: {2}permission denied by flowtap's inline monitor: user-create-0 ran SELECT on users on db-0; allowed: INSERT on users/,
    );
    assert.doesNotMatch(select.stdout, /@example\.org/, 'no row reached the client');
    assert.ok(select.ms < 2000, `answered at once, not after a timeout: ${select.ms} ms`);
    t.diagnostic(`psql SELECT * FROM users (${select.ms} ms, exit ${select.code}): ${select.stderr.trim()}`);
    const pgUid = /DETAIL: {2}connection (\S+)/.exec(select.stderr)?.[1];
    assert.ok(pgUid, select.stderr);

    // user-update's contract fails open, but while the monitor runs it is judged like any other.
    const dvds = await psql('user-update-0', db, 'SELECT count(*) FROM dvds');
    assert.notEqual(dvds.code, 0);
    assert.match(dvds.stderr, /ERROR: {2}permission denied by flowtap's inline monitor: user-update-0 ran SELECT on dvds/);

    const pub = await nats('contract-update-0', mq, `${CONNECT}PUB rentals.created 2\r\nhi\r\nPING\r\n`);
    assert.match(pub.out, /^INFO /);
    assert.match(pub.out, /PONG\r\n/, `the server answered after the allowed publish: ${pub.out}`);
    assert.doesNotMatch(pub.out, /-ERR/);

    const bad = await nats('contract-update-0', mq, `${CONNECT}PUB users.deleted 2\r\nhi\r\nPING\r\n`);
    assert.match(bad.out, /-ERR 'Permissions Violation for Publish to "users\.deleted" \(flowtap inline monitor, connection (\S+)\)'\r\n/);
    assert.doesNotMatch(bad.out, /PONG/, 'the server never saw the forbidden publish');
    assert.equal(bad.closed, true, 'and the connection is closed');
    t.diagnostic(`NATS forbidden publish: ${JSON.stringify(bad)}`);
    const natsUid = /connection (\S+)\)'/.exec(bad.out)?.[1];

    const rows = await rowsWhen((r) => r.filter((x) => x.action === 'block').length >= 3);
    const blocks = rows.filter((r) => r.action === 'block' && !/mid-stream/.test(r.reason));
    assert.deepEqual(
      blocks.map((r) => [r.request, r.fail_mode]),
      [
        ['SELECT * FROM users', 'closed'],
        ['SELECT count(*) FROM dvds', 'open'],
        ['PUB users.deleted', 'closed'],
      ],
    );
    assert.equal(blocks[0].uid, pgUid, 'psql was told the uid the row logs');
    assert.equal(blocks[2].uid, natsUid, 'the NATS client was told the uid the row logs');
    const passes = rows.filter((r) => r.action === 'pass').map((r) => r.request);
    assert.ok(
      passes.some((p) => p?.startsWith('INSERT INTO users')),
      `the insert passed with a row: ${passes.join(' | ')}`,
    );
    assert.ok(passes.includes('PUB rentals.created'), passes.join(' | '));
  });

  test('killed, each contract falls back to its fail mode in the kernel: closed SQL and NATS are held, open SQL passes', async (t) => {
    process.kill(monitor!.pid, 'SIGKILL');
    await sleep(500);
    const closed = await psql('user-create-0', db, 'SELECT 1', 2);
    assert.notEqual(closed.code, 0, 'fail-closed: nothing reaches the database');
    assert.match(closed.stderr, /timeout expired/, `held, not refused: ${closed.stderr}`);

    t.diagnostic(`fail-closed psql (${closed.ms} ms): ${closed.stderr.trim()}`);
    const open = await psql('user-update-0', db, 'SELECT count(*) FROM dvds');
    assert.equal(open.code, 0, `fail-open: even what the monitor refused passes: ${open.stderr}`);
    assert.match(open.stdout.trim(), /^\d+$/);

    const held = await nats('contract-update-0', mq, `${CONNECT}PING\r\n`, 2000);
    assert.equal(held.out, '', `fail-closed: not even the server's greeting comes through: ${held.out}`);
    assert.equal(held.closed, false, 'held, not refused');
  });
});
