/**
 * web-sql on the local cloud: a real web server and SQL database; a redirect tap diverts the
 * web server's requests to the monitor, and with no monitor process standing in the path the
 * redirect fails closed (the server never sees them; test/inline.test.ts has the monitor
 * passing and blocking); audit mode counts and
 * logs what it would drop without dropping; a rejected nft script leaves the rules in force.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { applyNft, readCounters } from '../src/dataplane/index.js';
import { realSystem } from '../src/system/index.js';
import { needsRoot } from '../src/system/testing.js';
import { canConnect, flowtap, flowtapCommand, inNs, namespaces, ROOT, stateDir } from './testing.js';

const skip = needsRoot();
const APP = 'examples/web-sql';
const EXT = 'ft-web-sql-external';
const NODE = 'ft-web-sql-n-node1';

async function up(...args: string[]) {
  await flowtap('down', 'web-sql');
  const r = await flowtap('up', APP, '--json', ...args);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return JSON.parse(r.stdout) as { addressing: { instances: Record<string, { ip: string }> } };
}

/** Stops the monitor processes the cloud started; an inline one hands its flows to their failMode as it goes. */
async function stopMonitors(): Promise<void> {
  const s = await flowtap('status', 'web-sql', '--json');
  assert.equal(s.code, 0, s.stderr);
  const state = JSON.parse(s.stdout) as { processes: { owner: string; pid: number; alive: boolean }[] };
  const running = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const p of state.processes.filter((x) => x.owner.startsWith('monitor:') && x.alive)) {
    process.kill(p.pid, 'SIGTERM');
    for (let i = 0; i < 50 && running(p.pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
}

describe('local cloud: web-sql', { skip }, () => {
  after(async () => {
    await flowtap('down', 'web-sql');
  });

  test('down cleans up after an `up` killed half-way (no state to trust, leftovers found by name)', async () => {
    await flowtap('down', 'web-sql');
    const [cmd, ...args] = flowtapCommand('up', APP);
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, FLOWTAP_STATE_DIR: stateDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let progress = '';
    child.stderr.on('data', (d) => (progress += d));
    // Kill it once it has made namespaces but before it finishes.
    for (let i = 0; i < 200 && !/instance web-0/.test(progress); i++) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(namespaces('ft-web-sql-').length > 0, `the killed up left something to clean: ${progress}`);
    // Even without its state file, down finds the leftovers by their names.
    rmSync(join(stateDir, 'web-sql.json'), { force: true });
    const r = await flowtap('down', 'web-sql');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(namespaces('ft-web-sql-'), []);
  });

  test('the web application serves from its SQL database; enforcement matches the requirements', async () => {
    const ctx = await up();
    const web = ctx.addressing.instances['web-0'].ip;
    const sql = ctx.addressing.instances['sql-0'].ip;
    const r = await inNs(EXT, 'curl', ['-sS', '-m', '5', `http://${web}/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.length > 0);
    assert.equal(await canConnect(EXT, sql, 3306), false, 'the database is not public');
    const live = await flowtap('verify', APP, '--live');
    assert.equal(live.code, 0, live.stdout);
  });

  test('a rejected nft script leaves the previous rules in force', async () => {
    const ctx = await up();
    const sql = ctx.addressing.instances['sql-0'].ip;
    const before = await readCounters(realSystem, NODE, { family: 'inet', name: 'flowtap' });
    assert.ok(before.ok && before.value.length > 0);
    const bad = await applyNft(
      realSystem,
      NODE,
      'table inet flowtap\ndelete table inet flowtap\ntable inet flowtap { chain forward { type filter hook forward priority filter; policy accept; ip saddr @missing accept } }\n',
    );
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.ok(bad.errors[0].loc?.line, JSON.stringify(bad.errors));
    const afterwards = await readCounters(realSystem, NODE, { family: 'inet', name: 'flowtap' });
    assert.ok(afterwards.ok);
    assert.deepEqual(
      afterwards.value.map((c) => c.comment),
      before.value.map((c) => c.comment),
    );
    assert.equal(await canConnect(EXT, sql, 3306), false, 'still enforced');
  });

  test('audit mode lets traffic through and counts what enforcement would drop', async () => {
    const ctx = await up('--mode', 'audit');
    const sql = ctx.addressing.instances['sql-0'].ip;
    assert.equal(await canConnect(EXT, sql, 3306), true, 'audit does not drop');
    const c = await readCounters(realSystem, NODE, { family: 'inet', name: 'flowtap' });
    assert.ok(c.ok);
    const would = c.value.find((x) => x.comment === 'in_sql_0 default');
    assert.ok(would && would.packets > 0, JSON.stringify(c.value));
  });

  test('a redirect delivers the packets to the monitor and, with no monitor running, not to the web server', async () => {
    const ctx = await up('--policy', 'test/fixtures/policies/web-redirect.dl');
    const web = ctx.addressing.instances['web-0'].ip;
    await stopMonitors();
    const cap = spawn('ip', ['netns', 'exec', 'ft-web-sql-m-mon1', 'tcpdump', '-l', '-n', '-i', 'any', 'tcp port 80'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const atServer = spawn('ip', ['netns', 'exec', 'ft-web-sql-i-web-0', 'tcpdump', '-l', '-n', '-i', 'eth0', 'tcp port 80'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let mon = '';
    let srv = '';
    cap.stdout.on('data', (d) => (mon += d));
    atServer.stdout.on('data', (d) => (srv += d));
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(await canConnect(EXT, web, 80, 2), false, 'the handshake never completes: the server never sees the SYN');
    await new Promise((r) => setTimeout(r, 300));
    cap.kill();
    atServer.kill();
    assert.match(mon, new RegExp(`> ${web.replace(/\./g, '\\.')}\\.80: Flags \\[S\\]`), mon);
    assert.equal(srv.trim(), '', srv);
  });
});
