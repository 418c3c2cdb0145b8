/**
 * Inline redirects on the Open vSwitch local cloud (`up --dataplane ovs`; web-inline: visitors
 * may only GET /). The bridge tags what a redirect diverts, the monitor namespace judges it as
 * on nftables, and what it passes comes back by its return port, where the bridge restores the
 * frame and sends it on past the taps that diverted it:
 * - hold mode, fail-closed: allowed requests reach the server, others are reset before it sees
 *   them; with the monitor killed nothing passes;
 * - queue mode (the refusal lifted), fail-open: a disallowed request gets the monitor's 403; the
 *   web server's SQL passes the monitor on the way out and its egress rules still apply to what
 *   comes back (a connection they forbid stays forbidden); with the monitor killed everything passes;
 * - queue mode with the monitor on another node: frames and answers come back by its tap tunnel.
 * The monitors are started here in the monitor namespace (after stopping the one the cloud
 * started), as test/inline.test.ts and test/inline-queue.test.ts do. Needs root and Open vSwitch.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nfqueueMissing } from '../src/monitor/index.js';
import { ovsBridge } from '../src/orchestrator/index.js';
import { needs, needsOvs } from '../src/system/testing.js';
import { canConnect, curlFrom, flowtap, inNs, ROOT, run, servedBy, stateDir } from './testing.js';

const skip = needsOvs();
/** The queue mode needs the netfilter queue addon too. */
const noQueue = skip || needs(nfqueueMissing());
const APP = 'test/fixtures/ovsinl-web';
const NAME = 'ovsinl-web';
const EXT = `ft-${NAME}-external`;
const MON = `ft-${NAME}-m-mon1`;
const WEB_NS = `ft-${NAME}-i-web-0`;
const CLOSED = 'test/fixtures/policies/web-inline-closed.dl';
const OPEN = 'test/fixtures/policies/web-inline-open.dl';
const MONITOR_INDEX = new URL('../src/monitor/index.js', import.meta.url).href;
const QUEUE_MONITOR = new URL('./queue-monitor.js', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Cloud {
  web: string;
  addressing: string;
}

async function up(policy: string, ...extra: string[]): Promise<Cloud> {
  await flowtap('down', NAME);
  const r = await flowtap('up', APP, '--dataplane', 'ovs', '--json', '--policy', policy, ...extra);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const ctx = JSON.parse(r.stdout) as { addressing: { instances: Record<string, { ip: string }> }; spec: { dataplane?: string } };
  assert.equal(ctx.spec.dataplane, 'ovs');
  await stopCloudMonitor();
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

/** The bridge's counters (rules that matched) as `flowtap status` names them: `TABLE CHAIN: COMMENT` -> packets. */
async function counters(): Promise<Map<string, number>> {
  const s = await flowtap('status', NAME, '--json');
  assert.equal(s.code, 0, s.stderr);
  const rows = (JSON.parse(s.stdout) as { counters: Record<string, { rule: string; packets: number }[]> }).counters.node1;
  return new Map(rows.map((r) => [r.rule, r.packets]));
}

const counted = (c: Map<string, number>, re: RegExp) => [...c].filter(([rule]) => re.test(rule)).reduce((n, [, p]) => n + p, 0);

async function aliveElement(): Promise<boolean> {
  const r = await inNs(MON, 'nft', ['list', 'set', 'netdev', 'flowtap_inline', 'alive']);
  return r.stdout.includes('"eth0"');
}

async function packetSockets(): Promise<Set<string>> {
  const r = await inNs(MON, 'cat', ['/proc/net/packet']);
  assert.equal(r.code, 0, r.stderr);
  return new Set(
    r.stdout
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[8])
      .filter(Boolean),
  );
}

/** The hold-mode monitor in mon1's namespace, once its verdicts are in force and its capture runs. */
async function startHold(cloud: Cloud): Promise<ChildProcess> {
  const logDir = mkdtempSync(join(tmpdir(), 'flowtap-ovs-inline-'));
  const sockets = await packetSockets();
  const code = `
    const m = await import(${JSON.stringify(MONITOR_INDEX)});
    const [app, addressing, logDir] = process.argv.slice(1);
    const ac = new AbortController();
    process.once('SIGTERM', () => ac.abort());
    const r = await m.runMonitor({ iface: 'any', app, addressing, logDir, format: 'json', signal: ac.signal, inline: true });
    process.exitCode = r.exitCode;`;
  const child = spawn(
    'ip',
    ['netns', 'exec', MON, process.execPath, '--input-type=module', '-e', code, join(ROOT, APP, 'app.yaml'), cloud.addressing, logDir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  // Loading the monitor's modules takes a few seconds on a busy machine.
  for (let i = 0; i < 200 && !(await aliveElement()); i++) await sleep(100);
  assert.ok(await aliveElement(), `the inline monitor did not take over: ${err}`);
  const attached = async () => [...(await packetSockets())].some((s) => !sockets.has(s));
  for (let i = 0; i < 100 && !(await attached()); i++) await sleep(100);
  assert.ok(await attached(), `the inline monitor's capture did not start: ${err}`);
  await sleep(1500);
  return child;
}

async function startQueue(): Promise<ChildProcess> {
  const logDir = mkdtempSync(join(tmpdir(), 'flowtap-ovs-queue-'));
  const child = spawn(
    'ip',
    ['netns', 'exec', MON, process.execPath, QUEUE_MONITOR, join(ROOT, APP, 'app.yaml'), join(stateDir, NAME, 'addressing.json'), logDir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  for (let i = 0; i < 100 && !err.includes('READY') && child.exitCode === null; i++) await sleep(100);
  assert.ok(err.includes('READY'), `the queue monitor did not start: ${err}`);
  return child;
}

const served = () => servedBy(NAME, 'web-0');

async function servedSince(before: number, count: number): Promise<string[]> {
  for (let i = 0; i < 100 && served().length - before < count; i++) await sleep(50);
  return served().slice(before);
}

describe('inline redirects on the Open vSwitch local cloud', { skip }, () => {
  const children: ChildProcess[] = [];
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await flowtap('down', NAME);
  });

  test('hold mode, fail-closed: allowed requests pass through the monitor and back, others are reset; killed, nothing passes', async () => {
    const cloud = await up(CLOSED);
    const url = (p: string) => `http://${cloud.web}${p}`;
    const ports = await run('ovs-ofctl', ['-O', 'OpenFlow15', 'dump-ports-desc', ovsBridge(NAME, 0)]);
    assert.equal(ports.code, 0, ports.stderr);
    for (const p of [33000, 35000]) assert.match(ports.stdout, new RegExp(`^ ${p}\\(`, 'm'), 'the monitor port and its return port');
    const none = await curlFrom(EXT, url('/'), 2);
    assert.equal(none.status, 0, 'no monitor running: the fail-closed redirect passes nothing');

    const mon = await startHold(cloud);
    children.push(mon);
    const before = served().length;
    const c0 = await counters();
    const ok = await curlFrom(EXT, url('/'));
    assert.equal(ok.status, 200, `GET /: curl ${ok.rc} ${ok.err}`);
    const admin = await curlFrom(EXT, url('/admin'));
    assert.equal(admin.status, 0);
    assert.equal(admin.rc, 56, `reset, not a timeout: ${admin.err}`);
    assert.match(admin.err, /reset/i);
    assert.deepEqual(await servedSince(before, 1), ['GET /'], 'only the allowed request reached the server');

    const c1 = await counters();
    const delta = (re: RegExp) => counted(c1, re) - counted(c0, re);
    assert.ok(delta(/^flowtap_taps ret_fr0: passed by mon1 on its way to an instance/) > 0, JSON.stringify([...c1]));
    assert.ok(delta(/^flowtap_taps rst_fm0: reset from mon1 towards the peer/) > 0, 'the reset came back by the tap port');
    assert.equal(delta(/^flowtap_taps ret_fr0: not a frame/), 0, 'nothing untagged came back');

    mon.kill('SIGKILL');
    for (let i = 0; i < 50 && (await aliveElement()); i++) await sleep(100);
    assert.equal(await aliveElement(), false, 'the kernel falls back once the heartbeat stops');
    const dead = await curlFrom(EXT, url('/'), 2);
    assert.equal(dead.status, 0, 'fail-closed: nothing passes while the monitor is down');
    assert.equal(dead.rc, 28, `held (timeout), not refused: ${dead.err}`);
  });

  test('queue mode, fail-open: a 403 for what is blocked, SQL judged on the way out, egress rules after the return; killed, everything passes', {
    skip: noQueue,
  }, async () => {
    const cloud = await up(OPEN, '--inline-mode', 'queue');
    const url = (p: string) => `http://${cloud.web}${p}`;
    const mon = await startQueue();
    children.push(mon);
    // A fresh web server: its SQL connections now start through the monitor (the sent side of its port).
    const re = await flowtap('redeploy', NAME, 'web-0');
    assert.equal(re.code, 0, re.stdout + re.stderr);
    const before = served().length;
    const c0 = await counters();
    const ok = await curlFrom(EXT, url('/'));
    assert.equal(ok.status, 200, `GET /: curl ${ok.rc} ${ok.err}`);
    const admin = await curlFrom(EXT, url('/admin'));
    assert.equal(admin.status, 403, `${admin.rc} ${admin.err}`);
    assert.match(admin.body, /Forbidden by flowtap's inline monitor: GET \/admin/);
    assert.deepEqual(await servedSince(before, 1), ['GET /']);
    const c1 = await counters();
    const delta = (re: RegExp) => counted(c1, re) - counted(c0, re);
    assert.ok(delta(/^flowtap_taps ret_fr0: passed by mon1, sent by an instance/) > 0, `the SQL came back: ${JSON.stringify([...c1])}`);
    assert.ok(delta(/^flowtap_taps ret_fr0: passed by mon1 on its way to an instance/) > 0);

    assert.equal(delta(/^flowtap_taps ret_fr0: not a frame/), 0, 'nothing untagged came back');

    mon.kill('SIGKILL');
    await sleep(300);
    const open = await curlFrom(EXT, url('/admin'));
    assert.equal(open.status, 404, `fail-open: the request reaches the server (which has no /admin): ${open.err}`);
    assert.equal((await curlFrom(EXT, url('/'))).status, 200);
    assert.deepEqual(await servedSince(before, 3), ['GET /', 'GET /admin', 'GET /']);

    // web-0 may only reach sql:3306. With the monitor gone its connection to port 9000 outside
    // crosses the monitor namespace (fail-open) and comes back, and web-0's egress check, applied
    // on the way back, drops it. (A running monitor refuses that connection itself.)
    const listener = spawn('ip', ['netns', 'exec', EXT, 'nc', '-l', '-k', '-p', '9000'], { stdio: 'ignore' });
    children.push(listener);
    await sleep(300);
    const c2 = await counters();
    assert.equal(await canConnect(WEB_NS, '10.250.0.254', 9000, 2), false, 'the egress rules still hold');
    const c3 = await counters();
    const grew = (re: RegExp) => counted(c3, re) - counted(c2, re);
    assert.ok(grew(/^flowtap_taps tap_eg_ft0: web-inline-open:3$/) > 0, 'diverted');
    assert.ok(grew(/^flowtap_taps ret_fr0: passed by mon1, sent by an instance/) > 0, 'and passed back');
    assert.ok(grew(/^flowtap eg_web_0: eg_web_0 default/) > 0, `then dropped by the egress rules: ${JSON.stringify([...c3])}`);
    listener.kill();
  });

  test('queue mode, a monitor on another node: what it passes and answers comes back by its tap tunnel; killed, fails closed', {
    skip: noQueue,
  }, async () => {
    const REMOTE = 'ovsinl-far';
    try {
      await flowtap('down', REMOTE);
      const r = await flowtap(
        'up',
        'test/fixtures/ovsinl-far',
        '--dataplane',
        'ovs',
        '--json',
        '--policy',
        CLOSED,
        '--inline-mode',
        'queue',
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const ctx = JSON.parse(r.stdout) as {
        addressing: { instances: Record<string, { ip: string; node: string }>; monitors: Record<string, { node: string; port: string }> };
      };
      const web = ctx.addressing.instances['web-0'];
      assert.equal(ctx.addressing.monitors.mon1.node, 'node2', 'the monitor is remote');
      const ext = `ft-${REMOTE}-external`;
      const get = (path: string, timeout = 4) => curlFrom(ext, `http://${web.ip}${path}`, timeout);
      const returned = async () => {
        const s = JSON.parse((await flowtap('status', REMOTE, '--json')).stdout) as {
          counters: Record<string, { rule: string; packets: number }[]>;
        };
        return counted(new Map(s.counters.node1.map((x) => [x.rule, x.packets])), /^flowtap_taps ret_tt_fm0: /);
      };
      // The cloud's own queue monitor: the first request may come before it has bound its queues.
      let first = await get('/', 1);
      for (let i = 0; i < 20 && first.status !== 200; i++) first = await get('/', 1);
      assert.equal(first.status, 200, `the remote monitor never passed a request: curl ${first.rc} ${first.err}`);
      const before = await returned();
      assert.equal((await get('/')).status, 200);
      const admin = await get('/admin');
      assert.equal(admin.status, 403, `${admin.rc} ${admin.err}`);
      assert.match(admin.body, /Forbidden by flowtap's inline monitor: GET \/admin/);
      assert.ok((await returned()) > before, 'taken back from the tunnel port');

      const s = JSON.parse((await flowtap('status', REMOTE, '--json')).stdout) as { processes: { owner: string; pid: number }[] };
      const mon = s.processes.find((p) => p.owner === 'monitor:mon1');
      assert.ok(mon);
      process.kill(mon.pid, 'SIGKILL');
      await sleep(500);
      const dead = await get('/', 2);
      assert.notEqual(dead.status, 200, 'fail-closed: nothing passes without the monitor');
    } finally {
      await flowtap('down', REMOTE);
    }
  });
});
