/**
 * Inline enforcement through netfilter queues on the local cloud (issue 13; web-inline:
 * visitors may only GET /). The monitor judges each redirected packet as it arrives, so an
 * allowed request costs no retransmission (today's hold-and-retransmit path costs ~200 ms a
 * request: see bench/inline.ts); a disallowed one gets a 403 with its reason and never reaches
 * the server; a killed monitor hands each flow to its failMode in the kernel.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nfqueueMissing } from '../src/monitor/index.js';
import { needs, needsRoot } from '../src/system/testing.js';
import { curlFrom, type Fetched, flowtap, inNs, ROOT, servedBy, stateDir } from './testing.js';

const skip = needsRoot(['iptables-restore', '--version'], ['curl', '--version']) || needs(nfqueueMissing());
const APP = 'test/fixtures/web-inline';
const NAME = 'web-inline';
const EXT = `ft-${NAME}-external`;
const MON = `ft-${NAME}-m-mon1`;
const CLOSED = 'test/fixtures/policies/web-inline-closed.dl';
const OPEN = 'test/fixtures/policies/web-inline-open.dl';
const QUEUE_MONITOR = new URL('./queue-monitor.js', import.meta.url).pathname;
/** Linux's minimum retransmission timeout: a request that waited for one took at least this. */
const RTO_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function up(policy: string): Promise<string> {
  await flowtap('down', NAME);
  const r = await flowtap('up', APP, '--json', '--policy', policy);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const s = await flowtap('status', NAME, '--json');
  const state = JSON.parse(s.stdout) as { processes: { owner: string; pid: number }[] };
  for (const p of state.processes.filter((x) => x.owner === 'monitor:mon1'))
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {}
  return (JSON.parse(r.stdout) as { addressing: { instances: Record<string, { ip: string }> } }).addressing.instances['web-0'].ip;
}

async function startQueueMonitor(): Promise<{ child: ChildProcess; logDir: string }> {
  const logDir = mkdtempSync(join(tmpdir(), 'flowtap-queue-'));
  const child = spawn(
    'ip',
    ['netns', 'exec', MON, process.execPath, QUEUE_MONITOR, join(ROOT, APP, 'app.yaml'), join(stateDir, NAME, 'addressing.json'), logDir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  for (let i = 0; i < 100 && !err.includes('READY') && child.exitCode === null; i++) await sleep(100);
  assert.ok(err.includes('READY'), `the queue monitor did not start: ${err}`);
  return { child, logDir };
}

const get = (web: string, path: string, timeout = 4): Promise<Fetched> => curlFrom(EXT, `http://${web}${path}`, timeout);

const served = () => servedBy(NAME, 'web-0');

interface Row {
  uid: string;
  action: string;
  request: string | null;
  reason: string;
  fail_mode: string;
}

async function jsonRows<T>(dir: string, file: string, done: (r: T[]) => boolean): Promise<T[]> {
  const read = () => {
    const f = join(dir, file);
    return existsSync(f)
      ? readFileSync(f, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as T)
      : [];
  };
  for (let i = 0; i < 40 && !done(read()); i++) await sleep(100);
  return read();
}

const rows = (dir: string, done: (r: Row[]) => boolean): Promise<Row[]> => jsonRows<Row>(dir, 'inline.log', done);

describe('inline monitor in queue mode on the local cloud', { skip }, () => {
  const children: ChildProcess[] = [];
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await flowtap('down', NAME);
  });

  test('fail-closed: allowed requests pass without a retransmission stall, a disallowed one gets a 403 with its reason; killed, nothing passes', async () => {
    const web = await up(CLOSED);
    const mon = await startQueueMonitor();
    children.push(mon.child);
    const before = served().length;
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const ok = await get(web, '/');
      assert.equal(ok.status, 200, `GET / #${i}: curl ${ok.rc} ${ok.err}`);
      times.push(ok.ms);
    }
    times.sort((a, b) => a - b);
    // The first request warms the server (JIT, its SQL connection); the others show the path.
    assert.ok(times[5] < RTO_MS / 4, `median ${times[5]} ms: ${times.join(' ')}`);
    assert.ok(times[8] < RTO_MS, `9th of 10 ${times[8]} ms: a request waited for a retransmission: ${times.join(' ')}`);

    const admin = await get(web, '/admin');
    assert.equal(admin.status, 403, `${admin.rc} ${admin.err}`);
    assert.match(admin.body, /Forbidden by flowtap's inline monitor: GET \/admin: .*allowed: GET \//);
    assert.ok(admin.ms < RTO_MS, `${admin.ms} ms`);
    const del = await get(web, '/x', 4);
    assert.equal(del.status, 403);
    await sleep(500);
    const got = served().slice(before);
    assert.equal(got.length, 10);
    assert.ok(
      got.every((r) => r === 'GET /'),
      `the blocked requests never reached the server: ${got.join(', ')}`,
    );

    const logged = await rows(mon.logDir, (r) => r.filter((x) => x.action === 'block').length >= 2);
    const blocks = logged.filter((r) => r.action === 'block');
    assert.deepEqual(
      blocks.map((r) => [r.request, r.fail_mode]),
      [
        ['GET /admin', 'closed'],
        ['GET /x', 'closed'],
      ],
    );
    const uid = /connection (\S+)/.exec(admin.body)?.[1];
    assert.equal(blocks[0].uid, uid, 'the 403 names the connection the row logs');
    assert.equal(logged.filter((r) => r.action === 'pass' && r.request === 'GET /').length, 10);

    // The server's replies pass in the kernel, never queued, and still reach the monitor's http.log.
    const forward = (await inNs(MON, 'iptables', ['-L', 'FORWARD', '-v', '-x', '-n'])).stdout.split('\n');
    const count = (p: (l: string) => boolean) => forward.filter(p).reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);
    const repliesLogged = count((l) => l.includes('ctdir REPLY') && l.includes('NFLOG'));
    const queued = count((l) => l.includes('NFQUEUE'));
    assert.ok(repliesLogged >= 10, `replies accepted in the kernel and copied: ${repliesLogged}\n${forward.join('\n')}`);
    assert.ok(queued > 0, 'what clients send is still queued');
    const http = await jsonRows<{ uri: string; status_code: number | null }>(mon.logDir, 'http.log', (r) => r.length >= 10);
    assert.deepEqual(
      http.filter((r) => r.uri === '/').map((r) => r.status_code),
      Array(10).fill(200),
      'every allowed request logged with the status of a reply the monitor never held',
    );

    mon.child.kill('SIGKILL');
    await sleep(300);
    const dead = await get(web, '/', 2);
    assert.equal(dead.status, 0, 'fail-closed: nothing passes while the monitor is down');
    assert.equal(dead.rc, 28, `held (timeout), not refused: ${dead.err}`);
  });

  test('fail-open: blocked while the monitor runs; killed, the kernel passes everything', async () => {
    const web = await up(OPEN);
    const mon = await startQueueMonitor();
    children.push(mon.child);
    assert.equal((await get(web, '/')).status, 200);
    assert.equal((await get(web, '/admin')).status, 403);
    mon.child.kill('SIGKILL');
    await sleep(300);
    const before = served().length;
    const admin = await get(web, '/admin');
    assert.equal(admin.status, 404, `fail-open: the request reaches the server (which has no /admin): ${admin.err}`);
    const ok = await get(web, '/');
    assert.equal(ok.status, 200);
    assert.ok(ok.ms < RTO_MS, `${ok.ms} ms`);
    await sleep(300);
    assert.deepEqual(served().slice(before), ['GET /admin', 'GET /']);
  });
});
