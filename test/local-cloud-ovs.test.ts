/**
 * The local cloud with Open vSwitch as its data plane (`up --dataplane ovs`): a netdev bridge
 * per node, the instances and monitors plugged into it with the port numbers the flows use.
 * web-sql: the live probe matrix equals the requirements, a copy tap feeds the monitor while
 * the server still answers, a quarantine cuts the instance off and its release lets it back,
 * and `down` removes the bridge. dvd-rental: two nodes, so traffic between them leaves one
 * bridge through its node's kernel and VXLAN and enters the other's; the probe matrix, the
 * rental flow end to end, taps on both nodes and one to the other node's monitor through its
 * tap tunnel, both bridges removed. Needs root and Open vSwitch.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { needsOvs } from '../src/system/testing.js';
import { ovsBridge } from '../src/orchestrator/index.js';
import { canConnect, flowtap, inNs, namespaces, run, stateDir } from './testing.js';

const skip = needsOvs();
const APP = 'examples/web-sql';
const EXT = 'ft-web-sql-external';
const BRIDGE = ovsBridge('web-sql', 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const bridges = async () => (await run('ovs-vsctl', ['list-br'])).stdout.split('\n').filter(Boolean);
const ofctl = async (...args: string[]) => {
  const r = await run('ovs-ofctl', ['-O', 'OpenFlow15', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};
/** Rows of a monitor's conn.log (JSON lines; it flushes about every second). */
function connRows(app = 'web-sql', monitor = 'mon1'): string[] {
  const file = join(stateDir, app, monitor, 'conn.log');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

describe('local cloud on Open vSwitch: web-sql', { skip }, () => {
  let web = '';
  let sql = '';
  before(async () => {
    await flowtap('down', 'web-sql');
    const r = await flowtap('up', APP, '--dataplane', 'ovs', '--policy', 'test/fixtures/policies/web-copy.dl', '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const ctx = JSON.parse(r.stdout) as { addressing: { instances: Record<string, { ip: string }> }; spec: { dataplane?: string } };
    assert.equal(ctx.spec.dataplane, 'ovs');
    web = ctx.addressing.instances['web-0'].ip;
    sql = ctx.addressing.instances['sql-0'].ip;
  });
  after(async () => {
    await flowtap('down', 'web-sql');
  });

  test('the node is a bridge with every port at its number, and the flows flowtap rendered', async () => {
    const all = await bridges();
    assert.ok(all.includes(BRIDGE), `${BRIDGE} in ${all}`);
    const ports = await ofctl('dump-ports-desc', BRIDGE);
    for (const p of [1, 100, 101, 33000]) assert.match(ports, new RegExp(`^ ${p}\\(`, 'm'), ports);
    const flows = await ofctl('dump-flows', BRIDGE);
    assert.match(flows, /ct\(table=21,zone=1\)/);
    assert.match(flows, /output:33000/);
  });

  test('the live probe matrix equals the requirements; the database is not public', async () => {
    const r = await inNs(EXT, 'curl', ['-sS', '-m', '5', `http://${web}/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.length > 0);
    assert.equal(await canConnect(EXT, sql, 3306), false, 'the database is not public');
    const live = await flowtap('verify', APP, '--live');
    assert.equal(live.code, 0, live.stdout + live.stderr);
  });

  test('the copy tap feeds the monitor: its conn.log grows with the requests, which still get answers', async () => {
    const before = connRows().length;
    for (let i = 0; i < 3; i++) {
      const r = await inNs(EXT, 'curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-m', '5', `http://${web}/`]);
      assert.equal(r.stdout, '200', r.stderr);
    }
    let rows = connRows();
    for (let i = 0; i < 50 && rows.length < before + 3; i++) {
      await sleep(200);
      rows = connRows();
    }
    const mine = rows.slice(before).filter((l) => l.includes(web));
    assert.ok(mine.length >= 3, `conn.log grew by ${rows.length - before} rows, ${mine.length} to ${web}`);
    const status = JSON.parse((await flowtap('status', 'web-sql', '--json')).stdout) as { counters: Record<string, { rule: string }[]> };
    assert.ok(
      status.counters.node1.some((c) => c.rule.startsWith('flowtap_taps tap_in_')),
      JSON.stringify(status.counters.node1),
    );
  });

  test('a quarantined instance is cut off, and released it answers again', async () => {
    const q = await flowtap('isolate', 'web-sql', 'web-0');
    assert.equal(q.code, 0, q.stderr);
    assert.equal(await canConnect(EXT, web, 80, 2), false, 'quarantined');
    const r = await flowtap('release', 'web-sql', 'web-0');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await canConnect(EXT, web, 80, 2), true, 'released');
  });

  test('down removes the namespaces and the bridge', async () => {
    const r = await flowtap('down', 'web-sql');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(namespaces('ft-web-sql-'), []);
    assert.ok(!(await bridges()).includes(BRIDGE), `${BRIDGE} is still there`);
  });
});

describe('local cloud on Open vSwitch: dvd-rental on two nodes', { skip }, () => {
  const DVD = 'examples/dvd-rental';
  const POLICIES = [
    '--policy',
    `${DVD}/policies/database.dl`,
    '--policy',
    `${DVD}/policies/public-http.dl`,
    '--policy',
    'test/fixtures/policies/dvd-remote-copy.dl',
  ];
  let ips: Record<string, { ip: string; node: string }> = {};
  before(async () => {
    await flowtap('down', 'dvd-rental');
    const r = await flowtap('up', DVD, '--dataplane', 'ovs', ...POLICIES, '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    ips = (JSON.parse(r.stdout) as { addressing: { instances: typeof ips } }).addressing.instances;
  });
  after(async () => {
    await flowtap('down', 'dvd-rental');
  });

  test('the probe matrix equals the required connectivity, across the two bridges', async () => {
    const live = await flowtap('verify', DVD, '--live');
    assert.equal(live.code, 0, live.stdout + live.stderr);
    assert.match(live.stdout, /11 open/);
  });

  test('the rental flow works end to end across nodes; the taps feed their monitors, one through a tap tunnel', async () => {
    const before = { http: connRows('dvd-rental', 'mon-http').length, sql: connRows('dvd-rental', 'mon-sql').length };
    const url = (i: string) => `http://${ips[i].ip}:8080`;
    const r = await inNs('ft-dvd-rental-external', process.execPath, [
      'dist/examples/dvd-rental/loadgen/loadgen.js',
      '--contract-update',
      url('contract-update-0'),
      '--user-create',
      url('user-create-0'),
      '--dvd-return',
      url('dvd-return-0'),
      '--requests',
      '60',
      '--rate',
      '100',
      '--concurrency',
      '4',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as { errors: number }).errors, 0, r.stdout);
    assert.notEqual(ips['db-0'].node, ips['user-create-0'].node, 'the database is on the other node');
    // mon-sql (node2) gets user-update's (node1) requests through the tap tunnel.
    assert.notEqual(ips['user-update-0'].node, ips['db-0'].node);
    // (Its database connections reach mon-sql on node2 anyway: only a connection to its port 8080 came by the tunnel.)
    const remote = () =>
      connRows('dvd-rental', 'mon-sql').some((l) => {
        const row = JSON.parse(l) as Record<string, unknown>;
        return row['id.resp_h'] === ips['user-update-0'].ip && row['id.resp_p'] === 8080;
      });
    let grown = false;
    for (let i = 0; i < 50 && !grown; i++) {
      await sleep(200);
      grown = connRows('dvd-rental', 'mon-http').length > before.http && connRows('dvd-rental', 'mon-sql').length > before.sql && remote();
    }
    assert.ok(
      grown,
      `user-update in mon-sql's conn.log: ${remote()}; conn.log of mon-http ${before.http} -> ${connRows('dvd-rental', 'mon-http').length}, of mon-sql ${before.sql} -> ${connRows('dvd-rental', 'mon-sql').length}`,
    );
  });

  test('down removes both bridges', async () => {
    const r = await flowtap('down', 'dvd-rental');
    assert.equal(r.code, 0, r.stderr);
    const left = await bridges();
    for (const i of [0, 1]) assert.ok(!left.includes(ovsBridge('dvd-rental', i)), `${ovsBridge('dvd-rental', i)} is still there`);
    assert.deepEqual(namespaces('ft-dvd-rental-'), []);
  });
});
