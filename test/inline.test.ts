/**
 * The inline monitor on the local cloud (web-inline: web-sql whose visitors may only GET /):
 * redirected requests pass through the monitor, which passes the allowed ones on and resets
 * the connections of the others before the server sees them, logging every decision in
 * inline.log; with the monitor process killed, a fail-closed redirect passes nothing and a
 * fail-open one everything. Frames the monitor passes back keep their firewall checks: a
 * connection the web server's egress rules forbid stays forbidden.
 *
 * The inline monitor is started here in the monitor namespace (after stopping the one the cloud
 * started), so the test does not depend on how `flowtap up` launches monitors.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCounters } from '../src/dataplane/index.js';
import { realSystem } from '../src/system/index.js';
import { needsRoot } from '../src/system/testing.js';
import { canConnect, flowtap, inNs, ROOT, servedBy, stateDir } from './testing.js';

const skip = needsRoot();
const APP = 'test/fixtures/web-inline';
const NAME = 'web-inline';
const EXT = `ft-${NAME}-external`;
const MON = `ft-${NAME}-m-mon1`;
const WEB_NS = `ft-${NAME}-i-web-0`;
const NODE = `ft-${NAME}-n-node1`;
const CLOSED = 'test/fixtures/policies/web-inline-closed.dl';
const OPEN = 'test/fixtures/policies/web-inline-open.dl';
const MONITOR_INDEX = new URL('../src/monitor/index.js', import.meta.url).href;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Cloud {
  web: string;
  addressing: string;
}

async function up(policy: string): Promise<Cloud> {
  await flowtap('down', NAME);
  const r = await flowtap('up', APP, '--json', '--policy', policy);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const ctx = JSON.parse(r.stdout) as { addressing: { instances: Record<string, { ip: string }> } };
  return { web: ctx.addressing.instances['web-0'].ip, addressing: join(stateDir, NAME, 'addressing.json') };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops whatever monitor process the cloud started for mon1 (it may or may not be inline). */
async function stopCloudMonitor(): Promise<void> {
  const s = await flowtap('status', NAME, '--json');
  assert.equal(s.code, 0, s.stderr);
  const state = JSON.parse(s.stdout) as { processes: { owner: string; pid: number }[] };
  for (const p of state.processes.filter((x) => x.owner === 'monitor:mon1')) {
    if (!alive(p.pid)) continue;
    process.kill(p.pid, 'SIGTERM');
    for (let i = 0; i < 50 && alive(p.pid); i++) await sleep(100);
  }
}

/**
 * The AF_PACKET sockets open in a namespace (their inodes). A live capture holds one from the
 * moment it attaches; the monitor announces itself (`alive`) before its capture has started.
 */
async function packetSockets(ns: string): Promise<Set<string>> {
  const r = await inNs(ns, 'cat', ['/proc/net/packet']);
  assert.equal(r.code, 0, r.stderr);
  return new Set(
    r.stdout
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[8])
      .filter(Boolean),
  );
}

async function aliveElement(): Promise<boolean> {
  const r = await inNs(MON, 'nft', ['list', 'set', 'netdev', 'flowtap_inline', 'alive']);
  return r.stdout.includes('"eth0"');
}

/** Runs the monitor in inline mode in mon1's namespace and waits until its verdicts are in force and it sees the packets. */
async function startInline(cloud: Cloud): Promise<{ child: ChildProcess; logDir: string }> {
  const logDir = mkdtempSync(join(tmpdir(), 'flowtap-inline-'));
  const sockets = await packetSockets(MON);
  const code = `
    const m = await import(${JSON.stringify(MONITOR_INDEX)});
    const [app, addressing, logDir] = process.argv.slice(1);
    const ac = new AbortController();
    process.once('SIGTERM', () => ac.abort());
    const r = await m.runMonitor({ iface: 'any', app, addressing, logDir, format: 'json', signal: ac.signal, inline: true });
    console.error(m.formatRunReport(r));
    process.exitCode = r.exitCode;`;
  const child = spawn(
    'ip',
    ['netns', 'exec', MON, process.execPath, '--input-type=module', '-e', code, join(ROOT, APP, 'app.yaml'), cloud.addressing, logDir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  for (let i = 0; i < 50 && !(await aliveElement()); i++) await sleep(100);
  assert.ok(await aliveElement(), `the inline monitor did not take over: ${err}`);
  // Its capture starts after that: until it is attached, a request's data is held unjudged and
  // only its retransmissions can get through, which a loaded machine may stretch beyond a
  // request's timeout. So wait for the capture's socket (what it may still miss while its
  // filter goes in is held and retransmitted).
  const attached = async () => [...(await packetSockets(MON))].some((s) => !sockets.has(s));
  for (let i = 0; i < 100 && !(await attached()); i++) await sleep(100);
  assert.ok(await attached(), `the inline monitor's capture did not start: ${err}`);
  await sleep(300);
  return { child, logDir };
}

/** Kills the monitor process outright (no goodbye) and waits until its `alive` element has expired. */
async function kill(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  for (let i = 0; i < 50 && (await aliveElement()); i++) await sleep(100);
  assert.equal(await aliveElement(), false, 'the kernel falls back once the heartbeat stops');
}

/** HTTP status from the external namespace; 0 when there was no answer (curl's exit code in `rc`). */
async function get(cloud: Cloud, method: string, path: string, timeout = 4): Promise<{ status: number; rc: number; err: string }> {
  const r = await inNs(EXT, 'curl', [
    '-sS',
    '-m',
    String(timeout),
    '-X',
    method,
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    `http://${cloud.web}${path}`,
  ]);
  return { status: Number(r.stdout) || 0, rc: r.code, err: r.stderr };
}

/**
 * The requests the web server logged after the first `before`, once there are at least
 * `count` of them (or after 5 s). The server logs a request after answering it: a client can
 * have its answer, and the test move on, before the line is written.
 */
async function servedSince(before: number, count: number): Promise<string[]> {
  for (let i = 0; i < 100 && served().length - before < count; i++) await sleep(50);
  return served().slice(before);
}

const served = () => servedBy(NAME, 'web-0');

interface InlineRow {
  action: string;
  request: string | null;
  reason: string;
  fail_mode: string;
  'id.resp_p': number;
}

function inlineLog(dir: string): InlineRow[] {
  const file = join(dir, 'inline.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** Waits until the monitor's logs (flushed every second) show what is expected. */
async function logged(dir: string, done: (rows: InlineRow[]) => boolean): Promise<InlineRow[]> {
  for (let i = 0; i < 40 && !done(inlineLog(dir)); i++) await sleep(100);
  return inlineLog(dir);
}

/**
 * For a request that failed where it should have passed: the monitor's own account (its rows,
 * overload fallbacks included, flushed within a second) and whether it still announces itself.
 */
async function monitorSaid(dir: string): Promise<string> {
  await sleep(1200);
  return `; inline.log: ${JSON.stringify(inlineLog(dir))}; alive: ${await aliveElement()}`;
}

/** Watches what reaches the web server's interface on port 80 (payload as text). */
function watchServer(): { stop: () => Promise<string> } {
  const cap = spawn('ip', ['netns', 'exec', WEB_NS, 'tcpdump', '-l', '-n', '-A', '-i', 'eth0', 'tcp port 80'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let text = '';
  cap.stdout!.on('data', (d) => (text += d));
  return {
    stop: async () => {
      await sleep(300);
      cap.kill();
      return text;
    },
  };
}

describe('inline monitor on the local cloud', { skip }, () => {
  const children: ChildProcess[] = [];
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await flowtap('down', NAME);
  });

  test('fail-closed: allowed requests pass, others are reset before the server sees them; killing the monitor stops everything', async () => {
    const cloud = await up(CLOSED);
    await stopCloudMonitor();
    assert.equal((await get(cloud, 'GET', '/', 2)).status, 0, 'no monitor running: the fail-closed redirect passes nothing');

    const mon = await startInline(cloud);
    children.push(mon.child);
    await sleep(1500);
    const watch = watchServer();
    await sleep(500);
    const before = served().length;
    const ok = await get(cloud, 'GET', '/');
    if (ok.status !== 200) assert.fail(`GET / answered ${ok.status} (curl ${ok.rc}): ${ok.err}${await monitorSaid(mon.logDir)}`);
    const admin = await get(cloud, 'GET', '/admin');
    assert.equal(admin.status, 0);
    assert.equal(admin.rc, 56, `reset, not a timeout: ${admin.err}`);
    assert.match(admin.err, /reset/i);
    const del = await get(cloud, 'DELETE', '/x');
    assert.equal(del.rc, 56, del.err);
    const wire = await watch.stop();
    assert.match(wire, /GET \/ HTTP\/1\.1/, 'the allowed request reached the server');
    assert.doesNotMatch(wire, /\/admin|DELETE/, 'the blocked ones never did');
    assert.deepEqual(await servedSince(before, 1), ['GET /']);

    const rows = await logged(mon.logDir, (r) => r.length >= 3);
    assert.deepEqual(
      rows.map((r) => [r.action, r.request, r.fail_mode]),
      [
        ['pass', 'GET /', 'closed'],
        ['block', 'GET /admin', 'closed'],
        ['block', 'DELETE /x', 'closed'],
      ],
    );
    assert.match(rows[0].reason, /allowed by external -> web:http/);
    assert.match(rows[1].reason, /allowed: GET \//);

    await kill(mon.child);
    const dead = await get(cloud, 'GET', '/', 2);
    assert.equal(dead.status, 0, 'fail-closed: nothing passes while the monitor is down');
    assert.equal(dead.rc, 28, `a timeout (held), not a reset: ${dead.err}`);
    assert.deepEqual(await servedSince(before, 1), ['GET /']);
  });

  test('fail-open: killing the monitor passes everything; what it passes back keeps its firewall checks', async () => {
    const cloud = await up(OPEN);
    await stopCloudMonitor();
    const mon = await startInline(cloud);
    children.push(mon.child);
    // A fresh web server: its SQL connections now start through the inline monitor (sent side of web-0's port).
    const re = await flowtap('redeploy', NAME, 'web-0');
    assert.equal(re.code, 0, re.stdout + re.stderr);
    const before = served().length;

    const ok = await get(cloud, 'GET', '/');
    // The page and the SQL behind it pass the monitor.
    if (ok.status !== 200) assert.fail(`GET / answered ${ok.status} (curl ${ok.rc}): ${ok.err}${await monitorSaid(mon.logDir)}`);
    assert.equal((await get(cloud, 'GET', '/admin')).rc, 56);
    assert.deepEqual(await servedSince(before, 1), ['GET /']);
    const sqlJudged = (r: InlineRow) => r.action === 'pass' && r['id.resp_p'] === 3306 && /^SELECT/i.test(r.request ?? '');
    const adminBlocked = (r: InlineRow) => r.action === 'block' && r.request === 'GET /admin' && r.fail_mode === 'open';
    const rows = await logged(mon.logDir, (rs) => rs.some(sqlJudged) && rs.some(adminBlocked));
    assert.ok(rows.some(sqlJudged), `the page's SQL query was judged inline: ${JSON.stringify(rows)}`);
    assert.ok(rows.some(adminBlocked), JSON.stringify(rows));

    // web-0 may only reach sql:3306. A connection to port 9000 outside is redirected, the monitor
    // passes the SYN (no payload), and web-0's egress check, applied on the way back, drops it.
    const listener = spawn('ip', ['netns', 'exec', EXT, 'nc', '-l', '-k', '-p', '9000'], { stdio: 'ignore' });
    children.push(listener);
    await sleep(300);
    const counters = async () => {
      const c = await readCounters(realSystem, NODE, { family: 'inet', name: 'flowtap' });
      assert.ok(c.ok);
      return c.value.find((x) => x.comment === 'eg_web_0 default')?.packets ?? 0;
    };
    const dropsBefore = await counters();
    assert.equal(await canConnect(WEB_NS, '10.250.0.254', 9000, 2), false, 'the egress rules still hold');
    assert.ok((await counters()) > dropsBefore, 'dropped by web-0 egress check after the monitor passed it');
    const passedBack = await readCounters(realSystem, NODE, { family: 'netdev', name: 'flowtap_taps' });
    assert.ok(
      passedBack.ok && passedBack.value.some((x) => x.chain === 'ret_fr0' && /sent by an instance/.test(x.comment) && x.packets > 0),
    );

    await kill(mon.child);
    const admin = await get(cloud, 'GET', '/admin');
    assert.equal(admin.status, 404, `fail-open: the request reaches the server (which has no /admin): ${admin.err}`);
    assert.equal((await get(cloud, 'GET', '/')).status, 200);
    assert.deepEqual(await servedSince(before, 3), ['GET /', 'GET /admin', 'GET /']);
    listener.kill();
  });
});
