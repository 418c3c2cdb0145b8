/**
 * The DVD-rental reference application end to end, on real servers: PostgreSQL and NATS
 * started by the example's own scripts, the six services as separate Node processes on
 * 127.0.0.1, and the load generator. Needs the PostgreSQL server binaries and nats-server;
 * without them the test is skipped with the reason, and fails where FLOWTAP_REQUIRE_ROOT=1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { connect, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { needs } from '../src/system/testing.js';
import { callJson, parseTraceparent, RENTAL_PRICE, type CallResult } from '../examples/dvd-rental/services/index.js';
import { runLoad, type RequestRecord } from '../examples/dvd-rental/loadgen/index.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const SERVICES_MAIN = fileURLToPath(new URL('../examples/dvd-rental/services/main.js', import.meta.url));
const LOADGEN_MAIN = fileURLToPath(new URL('../examples/dvd-rental/loadgen/loadgen.js', import.meta.url));
const WEB_SQL_MAIN = fileURLToPath(new URL('../examples/web-sql/server/server.js', import.meta.url));

/** The scripts are not compiled: find the source tree above wherever this file was built to. */
function findDbScripts(): string {
  let dir = here;
  for (;;) {
    const candidate = join(dir, 'examples', 'dvd-rental', 'db');
    if (existsSync(join(candidate, 'postgres.sh'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`examples/dvd-rental/db/postgres.sh not found above ${here}`);
    dir = parent;
  }
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, bin)));
}

function missingServers(): string | null {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql') : [];
  const pgBin = process.env.PG_BIN ?? versions.map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => existsSync(join(d, 'initdb')));
  if (!pgBin || !existsSync(join(pgBin, 'initdb'))) return 'needs the PostgreSQL server (initdb, pg_ctl; run scripts/setup.sh)';
  if (!process.env.NATS_SERVER && !onPath('nats-server') && !existsSync('/usr/sbin/nats-server'))
    return 'needs nats-server (run scripts/setup.sh)';
  return null;
}

const skip = needs(missingServers());

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** For races: an unref'd timer does not keep the test process alive once the race is won. */
const deadline = <T>(ms: number, value: T): Promise<T> => new Promise((r) => setTimeout(() => r(value), ms).unref());

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  url: string;
}

function spawnNode(name: string, script: string, env: Record<string, string>, args: string[] = []): Proc {
  const child = spawn(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    // Own process group, so cleanup can kill the service and anything it started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer): void => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter((l) => l !== ''));
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // 'close', not 'exit': all of the child's output has been read by then.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { name, child, lines, exited, url: '' };
}

function alive(p: Proc): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

function killGroup(p: Proc, signal: NodeJS.Signals): void {
  if (p.child.pid === undefined || !alive(p)) return;
  try {
    process.kill(-p.child.pid, signal);
  } catch {
    /* already gone */
  }
}

/** Statements the server executed with their parameters, from a log_statement=all log. */
function executedStatements(log: string): Array<{ sql: string; params: string }> {
  const out: Array<{ sql: string; params: string }> = [];
  const lines = log.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const exec = /LOG:\s+execute [^:]*: (.*)$/.exec(lines[i]);
    if (!exec) continue;
    const detail = /DETAIL:\s+parameters: (.*)$/.exec(lines[i + 1] ?? '');
    out.push({ sql: exec[1], params: detail ? detail[1] : '' });
  }
  return out;
}

/** A random trace, in the form a client would send. */
function clientTrace(): { traceId: string; header: string } {
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  const traceId = `a${hex(31)}`;
  return { traceId, header: `00-${traceId}-${`b${hex(15)}`}-01` };
}

type LogLine = Record<string, unknown>;

function logsWithTrace(p: Proc, traceId: string): LogLine[] {
  return p.lines.filter((l) => l.includes(traceId)).map((l) => JSON.parse(l) as LogLine);
}

/** Log lines travel through a pipe and may arrive after the HTTP answer: wait for them. */
function logged(p: Proc, traceId: string, want: (l: LogLine) => boolean = () => true): Promise<LogLine[]> {
  return eventually(
    `${p.name} to log trace ${traceId}`,
    async () => {
      const lines = logsWithTrace(p, traceId);
      return lines.some(want) ? lines : undefined;
    },
    5000,
  );
}

function status(res: CallResult): number {
  if (!res.ok) throw new Error(`request failed: ${res.kind}: ${res.message}`);
  return res.status;
}

function bodyOf<T>(res: CallResult): T {
  if (!res.ok) throw new Error(`request failed: ${res.kind}: ${res.message}`);
  return res.body as T;
}

describe('DVD-rental application on real PostgreSQL and NATS', { skip, timeout: 180_000 }, () => {
  const scripts = skip ? '' : findDbScripts();
  let pgDir = '';
  let natsDir = '';
  const procs = new Map<string, Proc>();
  let databaseUrl = '';
  let natsUrl = '';
  let pgStarted = false;
  let natsStarted = false;
  let db: pg.Client | undefined;
  let nc: NatsConnection | undefined;

  const svc = (name: string): Proc => {
    const p = procs.get(name);
    if (!p) throw new Error(`service ${name} not started`);
    return p;
  };
  const post = (name: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<CallResult> =>
    callJson('POST', `${svc(name).url}${path}`, { body, headers });

  before(async () => {
    // Directly under /tmp: postgres.sh hands the directory to the postgres user, who must reach it.
    pgDir = mkdtempSync(join(tmpdir(), 'flowtap-dvd-pg-'));
    natsDir = mkdtempSync(join(tmpdir(), 'flowtap-dvd-nats-'));
    const pgPort = await freePort();
    pgStarted = true;
    const pgOut = await run('bash', [join(scripts, 'postgres.sh'), 'start', pgDir, String(pgPort), '127.0.0.1'], {
      timeout: 90_000,
      env: { ...process.env, PG_LOG_STATEMENTS: '1' },
    });
    databaseUrl = /DATABASE_URL=(\S+)/.exec(pgOut.stdout)?.[1] ?? '';
    assert.match(databaseUrl, /^postgres:\/\/.+@127\.0\.0\.1:\d+\/dvdrental$/);

    const natsPort = await freePort();
    natsStarted = true;
    const natsOut = await run('bash', [join(scripts, 'nats.sh'), 'start', natsDir, String(natsPort), '127.0.0.1'], { timeout: 30_000 });
    natsUrl = /NATS_URL=(\S+)/.exec(natsOut.stdout)?.[1] ?? '';
    assert.equal(natsUrl, `nats://127.0.0.1:${natsPort}`);

    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    nc = await connect({ servers: natsUrl, name: 'dvd-rental-test' });

    const ports: Record<string, number> = {};
    for (const name of ['shipping', 'user-update', 'dvd-update', 'user-create', 'contract-update', 'dvd-return'])
      ports[name] = await freePort();
    const url = (name: string): string => `http://127.0.0.1:${ports[name]}`;
    const deps: Record<string, Record<string, string>> = {
      shipping: {},
      'user-create': { DATABASE_URL: databaseUrl },
      'user-update': { DATABASE_URL: databaseUrl },
      'dvd-update': { DATABASE_URL: databaseUrl, NATS_URL: natsUrl, SHIPPING_URL: url('shipping') },
      'contract-update': { NATS_URL: natsUrl, USER_UPDATE_URL: url('user-update') },
      'dvd-return': { DVD_UPDATE_URL: url('dvd-update') },
    };
    for (const [name, env] of Object.entries(deps)) {
      const p = spawnNode(name, SERVICES_MAIN, { SERVICE: name, PORT: String(ports[name]), BIND: '127.0.0.1', ...env });
      p.url = url(name);
      procs.set(name, p);
    }
    for (const p of procs.values()) {
      await eventually(
        `${p.name} to answer /healthz`,
        async () => {
          if (!alive(p)) throw new Error(`${p.name} exited early:\n${p.lines.join('\n')}`);
          const res = await callJson('GET', `${p.url}/healthz`, { timeoutMs: 500 });
          return res.ok && res.status === 200 ? true : undefined;
        },
        30_000,
      );
    }
  });

  after(async () => {
    for (const p of procs.values()) killGroup(p, 'SIGKILL');
    await Promise.all([...procs.values()].map((p) => p.exited));
    await nc?.close().catch(() => undefined);
    await db?.end().catch(() => undefined);
    if (natsStarted) await run('bash', [join(scripts, 'nats.sh'), 'stop', natsDir]).catch(() => undefined);
    if (pgStarted) await run('bash', [join(scripts, 'postgres.sh'), 'stop', pgDir], { timeout: 60_000 }).catch(() => undefined);
    if (pgDir) rmSync(pgDir, { recursive: true, force: true });
    if (natsDir) rmSync(natsDir, { recursive: true, force: true });
  });

  it('every service answers /healthz and returns a traceparent', async () => {
    for (const p of procs.values()) {
      const res = await callJson('GET', `${p.url}/healthz`);
      assert.equal(status(res), 200, p.name);
      assert.deepEqual(bodyOf(res), { status: 'ok', service: p.name });
      assert.ok(res.ok && parseTraceparent(res.headers.traceparent as string), `${p.name} sent no valid traceparent`);
    }
  });

  it('rents and returns a DVD across all services, with one trace id per request', async () => {
    const sql = db!;
    const signup = clientTrace();
    // Signed up with an id from the identity provider, carried as x-user-id like every request.
    const user = 2_000_001;
    const created = await post(
      'user-create',
      '/users',
      { name: 'Ada Lovelace', email: 'ada@example.test' },
      { traceparent: signup.header, 'x-user-id': String(user) },
    );
    assert.equal(status(created), 201);
    assert.deepEqual(bodyOf(created), { id: user });
    assert.equal(created.ok && parseTraceparent(created.headers.traceparent as string)?.traceId, signup.traceId);
    await logged(svc('user-create'), signup.traceId, (l) => l.status === 201 && l.path === '/users');

    // Watch the event bus as a second consumer, to see what contract-update publishes.
    const sub = nc!.subscribe('rentals.>');
    const firstMessage = (async (): Promise<Msg | undefined> => {
      for await (const m of sub) return m;
      return undefined;
    })();
    await nc!.flush();

    const dvd = 7;
    const rent = clientTrace();
    const rented = await post('contract-update', '/contracts', { user, dvd }, { traceparent: rent.header, 'x-user-id': String(user) });
    assert.equal(status(rented), 201, JSON.stringify(bodyOf(rented)));
    const contract = bodyOf<{ contract: string }>(rented).contract;
    assert.match(contract, /^[0-9a-f-]{36}$/);

    const msg = await Promise.race([firstMessage, deadline(5000, undefined)]);
    sub.unsubscribe();
    assert.ok(msg, 'no message on rentals.>');
    assert.equal(msg.subject, 'rentals.created');
    const event = JSON.parse(msg.string()) as { contract: string; user: number; dvd: number; traceparent: string };
    assert.deepEqual({ contract: event.contract, user: event.user, dvd: event.dvd }, { contract, user, dvd });
    assert.equal(parseTraceparent(event.traceparent)?.traceId, rent.traceId);
    assert.equal(parseTraceparent(msg.headers?.get('traceparent'))?.traceId, rent.traceId);
    assert.equal(msg.headers?.get('x-user-id'), String(user));

    const rental = await eventually('the rental row', async () => {
      const r = await sql.query('SELECT user_id, dvd_id, trace_id, returned_at FROM rentals WHERE contract = $1', [contract]);
      return r.rows[0] as { user_id: number; dvd_id: number; trace_id: string; returned_at: Date | null } | undefined;
    });
    assert.deepEqual(rental, { user_id: user, dvd_id: dvd, trace_id: rent.traceId, returned_at: null });
    const billed = await sql.query('SELECT balance FROM users WHERE id = $1', [user]);
    assert.equal(billed.rows[0].balance, RENTAL_PRICE.toFixed(2));
    const disc = await sql.query('SELECT available, rented_by FROM dvds WHERE id = $1', [dvd]);
    assert.deepEqual(disc.rows[0], { available: false, rented_by: user });

    const shipment = await eventually('the shipment', async () => {
      const res = await callJson('GET', `${svc('shipping').url}/shipments/${contract}`);
      return res.ok && res.status === 200 ? (res.body as { rental: string; user: number; dvd: number }) : undefined;
    });
    assert.deepEqual({ rental: shipment.rental, user: shipment.user, dvd: shipment.dvd }, { rental: contract, user, dvd });

    // The client's trace id reached every hop; each hop worked in a span of its own.
    const hops: string[] = [];
    for (const name of ['contract-update', 'user-update', 'dvd-update', 'shipping']) {
      const lines = await logged(svc(name), rent.traceId);
      hops.push(parseTraceparent(lines[0].traceparent as string)!.spanId);
    }
    assert.equal(new Set(hops).size, hops.length, 'spans were reused across services');
    await logged(svc('user-update'), rent.traceId, (l) => l.user === String(user) && l.status === 200);
    await logged(svc('dvd-update'), rent.traceId, (l) => l.nats === 'rentals.created' && l.outcome === 'rented' && l.shipping === 'ok');

    // Someone else cannot return this rental.
    const other = bodyOf<{ id: number }>(await post('user-create', '/users', { name: 'Mallory', email: 'mallory@example.test' })).id;
    const stolen = await post('dvd-return', '/returns', { rental: contract }, { 'x-user-id': String(other) });
    assert.equal(status(stolen), 404);
    assert.equal((await sql.query('SELECT available FROM dvds WHERE id = $1', [dvd])).rows[0].available, false);

    const back = clientTrace();
    const returned = await post('dvd-return', '/returns', { rental: contract }, { traceparent: back.header, 'x-user-id': String(user) });
    assert.equal(status(returned), 200, JSON.stringify(bodyOf(returned)));
    assert.deepEqual(bodyOf(returned), { rental: contract, dvd, returned: true });
    const after = await sql.query(
      'SELECT d.available, d.rented_by, r.returned_at FROM dvds d JOIN rentals r ON r.dvd_id = d.id WHERE r.contract = $1',
      [contract],
    );
    assert.equal(after.rows[0].available, true);
    assert.equal(after.rows[0].rented_by, null);
    assert.ok(after.rows[0].returned_at instanceof Date);
    await logged(svc('dvd-return'), back.traceId, (l) => l.status === 200);
    await logged(svc('dvd-update'), back.traceId, (l) => l.path === '/returns' && l.status === 200);

    const again = await post('dvd-return', '/returns', { rental: contract }, { 'x-user-id': String(user) });
    assert.equal(status(again), 409);

    // On the wire, every statement that acts for this customer carries the user id as $1.
    const statements = executedStatements(readFileSync(join(pgDir, 'postgres.log'), 'utf8')).filter((s) =>
      s.params.startsWith(`$1 = '${user}'`),
    );
    for (const expected of [
      /^INSERT INTO users \(id, name, email\)/,
      /^SELECT id, name, balance FROM users WHERE id = \$1/,
      /^UPDATE users SET balance = balance \+ \$2 WHERE id = \$1/,
      /^UPDATE dvds SET available = false, rented_by = \$1 WHERE id = \$2/,
      /^INSERT INTO rentals \(user_id, dvd_id, contract, trace_id\)/,
      /^UPDATE rentals SET returned_at = now\(\) WHERE user_id = \$1/,
      /^UPDATE dvds SET available = true, rented_by = NULL WHERE rented_by = \$1/,
    ]) {
      assert.ok(
        statements.some((s) => expected.test(s.sql)),
        `no ${expected} with $1 = ${user} in the server log`,
      );
    }
  });

  it('rejects bad requests with clear errors and keeps serving', async () => {
    const user = bodyOf<{ id: number }>(await post('user-create', '/users', { name: 'Grace', email: 'grace@example.test' })).id;
    assert.ok(user < 1_000_000, 'without x-user-id the database assigns the id');
    const external = 1_234_567;
    const signedUp = await post('user-create', '/users', { name: 'Hedy', email: 'hedy@example.test' }, { 'x-user-id': String(external) });
    assert.equal(status(signedUp), 201);
    assert.deepEqual(bodyOf(signedUp), { id: external });
    const cases: Array<[string, Promise<CallResult>, number, RegExp]> = [
      ['rent without x-user-id', post('contract-update', '/contracts', { user, dvd: 3 }), 400, /x-user-id header is required/],
      [
        'rent for someone else',
        post('contract-update', '/contracts', { user, dvd: 3 }, { 'x-user-id': String(user + 1000) }),
        403,
        /does not match/,
      ],
      [
        'rent for an unknown user',
        post('contract-update', '/contracts', { user: 999_999, dvd: 3 }, { 'x-user-id': '999999' }),
        404,
        /does not exist/,
      ],
      [
        'rent with a bad dvd',
        post('contract-update', '/contracts', { user, dvd: 'x' }, { 'x-user-id': String(user) }),
        400,
        /dvd must be a positive integer/,
      ],
      [
        'bill another user',
        post('user-update', `/users/${user}/bill`, { amount: 1, contract: 'c' }, { 'x-user-id': String(user + 1) }),
        403,
        /does not match/,
      ],
      [
        'bill a negative amount',
        post('user-update', `/users/${user}/bill`, { amount: -5, contract: 'c' }),
        400,
        /amount must be greater than 0/,
      ],
      [
        'sign up with a bad email',
        post('user-create', '/users', { name: 'X', email: 'not-an-email' }),
        400,
        /email must be an e-mail address/,
      ],
      ['sign up twice', post('user-create', '/users', { name: 'Grace', email: 'grace@example.test' }), 409, /already exists/],
      [
        'sign up with a service-range id',
        post('user-create', '/users', { name: 'Eve', email: 'eve@example.test' }, { 'x-user-id': '5' }),
        400,
        /at least 1000000/,
      ],
      [
        'sign up with a taken id',
        post('user-create', '/users', { name: 'Eve', email: 'eve@example.test' }, { 'x-user-id': String(external) }),
        409,
        /user \d+ already exists/,
      ],
      ['return without x-user-id', post('dvd-return', '/returns', { rental: 'abc' }), 400, /x-user-id header is required/],
      ['ship without a rental', post('shipping', '/shipments', { user, dvd: 1 }), 400, /rental must be a string/],
      ['unknown route', post('shipping', '/nowhere', {}), 404, /no route/],
      ['wrong method', callJson('GET', `${svc('user-create').url}/users`), 405, /not allowed/],
    ];
    for (const [what, pending, expected, message] of cases) {
      const res = await pending;
      assert.equal(status(res), expected, what);
      assert.match(String((res.ok && (res.body as { error?: string })?.error) ?? ''), message, what);
    }
    const raw = await fetch(`${svc('user-create').url}/users`, {
      method: 'POST',
      body: '{"name": ',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(raw.status, 400);
    assert.match(((await raw.json()) as { error: string }).error, /not valid JSON/);
    const huge = await fetch(`${svc('user-create').url}/users`, { method: 'POST', body: JSON.stringify({ name: 'x'.repeat(100_000) }) });
    assert.equal(huge.status, 413);
    // Without a traceparent, a service starts a trace of its own.
    assert.ok(parseTraceparent(raw.headers.get('traceparent')));
    for (const p of procs.values()) {
      assert.ok(alive(p), `${p.name} died`);
      assert.equal(status(await callJson('GET', `${p.url}/healthz`)), 200);
    }
    assert.equal(
      (await db!.query('SELECT balance FROM users WHERE id = $1', [user])).rows[0].balance,
      '0.00',
      'a rejected rental billed the user',
    );
  });

  it('serves 50 load-generator requests with no errors, every rental recorded', async () => {
    const sql = db!;
    const before = await sql.query<{ n: number; returned: number }>(
      'SELECT count(*)::int AS n, count(returned_at)::int AS returned FROM rentals',
    );
    const records: RequestRecord[] = [];
    const summary = await runLoad(
      {
        contractUpdateUrl: svc('contract-update').url,
        userCreateUrl: svc('user-create').url,
        dvdReturnUrl: svc('dvd-return').url,
        rate: 40,
        concurrency: 4,
        requests: 50,
        seed: 42,
        dvdCount: 1000,
        firstDvd: 1,
        returnAfterMs: 250,
        timeoutMs: 5000,
      },
      (r) => records.push(r),
    );
    assert.equal(summary.requests, 50);
    assert.deepEqual(summary.errorsByKind, {}, JSON.stringify(summary));
    assert.equal(summary.errors, 0);
    assert.ok((summary.byOperation['create-user'] ?? 0) > 0 && (summary.byOperation.rent ?? 0) > 0, JSON.stringify(summary.byOperation));
    assert.ok(summary.latencyMs.p50 > 0 && summary.latencyMs.p99 >= summary.latencyMs.p50);
    assert.equal(new Set(records.map((r) => r.traceparent)).size, 50, 'traceparents were reused');

    const rents = summary.byOperation.rent ?? 0;
    const returns = summary.byOperation.return ?? 0;
    await eventually('every rental to be recorded', async () => {
      const now = await sql.query<{ n: number; returned: number }>(
        'SELECT count(*)::int AS n, count(returned_at)::int AS returned FROM rentals',
      );
      return now.rows[0].n === before.rows[0].n + rents && now.rows[0].returned === before.rows[0].returned + returns ? true : undefined;
    });
    const aRent = records.find((r) => r.op === 'rent')!;
    const traceId = parseTraceparent(aRent.traceparent)!.traceId;
    const recorded = await sql.query('SELECT user_id FROM rentals WHERE trace_id = $1', [traceId]);
    assert.deepEqual(recorded.rows, [{ user_id: aRent.userId }]);
  });

  it('runs the load generator from the command line', async () => {
    const args = [
      '--contract-update',
      svc('contract-update').url,
      '--user-create',
      svc('user-create').url,
      '--dvd-return',
      svc('dvd-return').url,
    ];
    const good = spawnNode('loadgen', LOADGEN_MAIN, {}, [...args, '--requests', '20', '--concurrency', '2', '--seed', '3']);
    assert.equal(await good.exited, 0, good.lines.join('\n'));
    const summary = JSON.parse(good.lines.join('\n')) as { requests: number; errors: number; passed: boolean };
    assert.equal(summary.requests, 20);
    assert.equal(summary.errors, 0);
    assert.equal(summary.passed, true);

    const bad = spawnNode('loadgen', LOADGEN_MAIN, {}, [...args, '--rate=-1']);
    assert.equal(await bad.exited, 2);
    assert.match(bad.lines.join('\n'), /--rate must be a number >= 0.*give --duration S or --requests N/s);

    // Every request to a dead endpoint fails: the error-rate threshold turns that into exit 1.
    const deadPort = await freePort();
    const failing = spawnNode('loadgen', LOADGEN_MAIN, {}, [
      '--contract-update',
      `http://127.0.0.1:${deadPort}`,
      '--user-create',
      `http://127.0.0.1:${deadPort}`,
      '--dvd-return',
      `http://127.0.0.1:${deadPort}`,
      '--requests',
      '5',
    ]);
    assert.equal(await failing.exited, 1);
    const failed = JSON.parse(failing.lines.join('\n')) as { errorsByKind: Record<string, number>; passed: boolean };
    assert.deepEqual(failed.errorsByKind, { 'create-user:refused': 5 });
    assert.equal(failed.passed, false);
  });

  it('web-sql server answers from the SQL database', async () => {
    const port = await freePort();
    const web = spawnNode('web-sql', WEB_SQL_MAIN, { PORT: String(port), BIND: '127.0.0.1', DATABASE_URL: databaseUrl });
    web.url = `http://127.0.0.1:${port}`;
    procs.set('web-sql', web);
    await eventually(
      'web-sql to answer',
      async () => {
        if (!alive(web)) throw new Error(`web-sql exited:\n${web.lines.join('\n')}`);
        const res = await callJson('GET', `${web.url}/healthz`, { timeoutMs: 500 });
        return res.ok && res.status === 200 ? true : undefined;
      },
      30_000,
    );
    const created = await callJson('POST', `${web.url}/articles`, { body: { title: 'Hello', body: 'First post' } });
    assert.equal(status(created), 201);
    const id = bodyOf<{ id: number }>(created).id;
    const read = await callJson('GET', `${web.url}/articles/${id}`);
    assert.equal(status(read), 200);
    assert.deepEqual(
      { ...bodyOf<Record<string, unknown>>(read), views: undefined },
      { id, title: 'Hello', body: 'First post', views: undefined },
    );
    assert.equal(bodyOf<{ views: number }>(await callJson('GET', `${web.url}/articles/${id}`)).views, 2);
    assert.equal(status(await callJson('GET', `${web.url}/articles/999999`)), 404);
    const list = await fetch(`${web.url}/`);
    assert.equal(list.status, 200);
    assert.match(await list.text(), /<li>.*Hello.*<\/li>/);
  });

  it('stops every service cleanly on SIGTERM', async () => {
    for (const p of procs.values()) killGroup(p, 'SIGTERM');
    for (const p of procs.values()) {
      const code = await Promise.race([p.exited, deadline(15_000, 'timeout')]);
      assert.equal(code, 0, `${p.name} exit: ${String(code)}\n${p.lines.slice(-5).join('\n')}`);
    }
    assert.ok(svc('dvd-update').lines.some((l) => l.includes('"event":"stopped"')));
  });
});
