/**
 * The queue mode of the inline monitor as `flowtap up --inline-mode queue` deploys it (issue
 * 13; web-inline: visitors may only GET /): the monitor the cloud starts itself stands in the
 * path, an allowed request costs no retransmission, a disallowed one gets a 403 with its reason,
 * and `flowtap down` leaves no bridge, queue rule or namespace behind.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nfqueueMissing } from '../src/monitor/index.js';
import { needs, needsRoot } from '../src/system/testing.js';
import { curlFrom, type Fetched, flowtap, inNs, namespaces, run, servedBy } from './testing.js';

const skip = needsRoot(['iptables-restore', '--version'], ['curl', '--version']) || needs(nfqueueMissing());
const APP = 'test/fixtures/web-inline';
const NAME = 'web-inline';
const EXT = `ft-${NAME}-external`;
const MON = `ft-${NAME}-m-mon1`;
const CLOSED = 'test/fixtures/policies/web-inline-closed.dl';
const COPY = 'test/fixtures/policies/web-inline-copy.dl';
/** Linux's minimum retransmission timeout: a request that waited for one took at least this. */
const RTO_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const get = (web: string, path: string, timeout = 4): Promise<Fetched> => curlFrom(EXT, `http://${web}${path}`, timeout);

const served = () => servedBy(NAME, 'web-0');

interface Status {
  spec: { inlineMode?: string };
  processes: { owner: string; pid: number; argv: string[] }[];
}

describe('flowtap up --inline-mode queue on the local cloud', { skip }, () => {
  after(async () => {
    await flowtap('down', NAME);
  });

  test('the monitor up starts judges from the queues: allowed fast, disallowed 403 with its reason; down cleans up', async (t) => {
    await flowtap('down', NAME);
    const r = await flowtap('up', APP, '--json', '--policy', CLOSED, '--inline-mode', 'queue');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const web = (JSON.parse(r.stdout) as { addressing: { instances: Record<string, { ip: string }> } }).addressing.instances['web-0'].ip;

    const s = await flowtap('status', NAME, '--json');
    assert.equal(s.code, 0, s.stderr);
    const status = JSON.parse(s.stdout) as Status;
    assert.equal(status.spec.inlineMode, 'queue', 'kept in the spec for later attaches');
    const mon = status.processes.find((p) => p.owner === 'monitor:mon1');
    assert.ok(mon, 'the cloud started the monitor');
    assert.equal(mon.argv.at(-1), '--inline=queue');
    // Steered at topology time: the queue rules are there whatever the monitor does.
    const rules = await inNs(MON, 'iptables', ['-w', '-S', 'FORWARD']);
    assert.match(rules.stdout, /-j NFQUEUE --queue-num 17\n/);
    const tables = await inNs(MON, 'nft', ['list', 'tables']);
    assert.match(tables.stdout, /table netdev flowtap_queue/);
    assert.doesNotMatch(tables.stdout, /flowtap_inline/);

    // Fail-closed until the monitor binds its queues; then the first request warms the server.
    let first: Fetched = await get(web, '/', 1);
    for (let i = 0; i < 20 && first.status !== 200; i++) first = await get(web, '/', 1);
    assert.equal(first.status, 200, `the monitor never passed a request: curl ${first.rc} ${first.err}`);
    const before = served().length;
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const ok = await get(web, '/');
      assert.equal(ok.status, 200, `GET / #${i}: curl ${ok.rc} ${ok.err}`);
      times.push(ok.ms);
    }
    times.sort((a, b) => a - b);
    t.diagnostic(`GET / ms, sorted: ${times.map((x) => x.toFixed(1)).join(' ')}`);
    assert.ok(times[5] < RTO_MS / 4, `median ${times[5]} ms: ${times.join(' ')}`);
    assert.ok(times[8] < RTO_MS, `9th of 10 ${times[8]} ms: a request waited for a retransmission: ${times.join(' ')}`);

    const admin = await get(web, '/admin');
    assert.equal(admin.status, 403, `${admin.rc} ${admin.err}`);
    assert.match(admin.body, /Forbidden by flowtap's inline monitor: GET \/admin: .*allowed: GET \//);
    assert.ok(admin.ms < RTO_MS, `${admin.ms} ms`);
    await sleep(300);
    const got = served().slice(before);
    assert.deepEqual(got, Array(10).fill('GET /'), 'the blocked request never reached the server');

    const logDir = mon.argv[mon.argv.indexOf('--log-dir') + 1];
    const readBlocks = () =>
      existsSync(join(logDir, 'inline.log'))
        ? readFileSync(join(logDir, 'inline.log'), 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { action: string; request: string | null; fail_mode: string })
            .filter((x) => x.action === 'block')
        : [];
    // The log writer flushes on its own schedule.
    let blocks = readBlocks();
    for (let i = 0; i < 50 && blocks.length === 0; i++) {
      await sleep(100);
      blocks = readBlocks();
    }
    assert.deepEqual(
      blocks.map((b) => [b.request, b.fail_mode]),
      [['GET /admin', 'closed']],
    );

    const d = await flowtap('down', NAME);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(namespaces(`ft-${NAME}-`), []);
    // The bridge and the queue rules lived in the monitor namespace; none leaked to the host.
    assert.notEqual((await run('ip', ['link', 'show', 'ftq0'])).code, 0, 'no ftq0 bridge on the host');
    assert.doesNotMatch((await run('iptables', ['-w', '-S', 'FORWARD'])).stdout, /NFQUEUE/);
  });

  test('copies to the same monitor are captured per port, in the kernel filter, and logged; redirected frames are not captured', async () => {
    await flowtap('down', NAME);
    const r = await flowtap('up', APP, '--json', '--policy', COPY, '--inline-mode', 'queue');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const web = (JSON.parse(r.stdout) as { addressing: { instances: Record<string, { ip: string }> } }).addressing.instances['web-0'].ip;
    const status = JSON.parse((await flowtap('status', NAME, '--json')).stdout) as Status;
    const mon = status.processes.find((p) => p.owner === 'monitor:mon1');
    assert.ok(mon, 'the cloud started the monitor');
    let first: Fetched = await get(web, '/', 1);
    for (let i = 0; i < 20 && first.status !== 200; i++) first = await get(web, '/', 1);
    assert.equal(first.status, 200, `the monitor never passed a request: curl ${first.rc} ${first.err}`);
    // The monitor's captures: one on the tap interface (no tunnels on one node), none on `any`.
    const pids = (await run('ip', ['netns', 'pids', MON])).stdout.split('\n').filter(Boolean);
    const captures = pids
      .map((pid) => (existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') : []))
      .filter((argv) => argv[0] === 'tcpdump');
    assert.deepEqual(
      captures.map((argv) => argv[argv.indexOf('-i') + 1]),
      ['eth0'],
      JSON.stringify(captures),
    );
    assert.match(captures[0].at(-2) ?? '', /^inbound and not \(ether\[6:2\] = 0x0266/);
    for (let i = 0; i < 3; i++) assert.equal((await get(web, '/')).status, 200);
    // The copies of web-0's queries reach sql.log (the writer flushes every second); the
    // redirected requests reach http.log from the queue, each once.
    const logDir = mon.argv[mon.argv.indexOf('--log-dir') + 1];
    const rows = (log: string) =>
      existsSync(join(logDir, `${log}.log`))
        ? readFileSync(join(logDir, `${log}.log`), 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [];
    let sql = rows('sql');
    for (let i = 0; i < 50 && !sql.some((x) => String(x.query).includes('FROM articles')); i++) {
      await sleep(100);
      sql = rows('sql');
    }
    assert.ok(
      sql.some((x) => String(x.query).includes('FROM articles') && x['id.resp_p'] === 3306),
      `copied queries logged: ${JSON.stringify(sql.slice(0, 3))}`,
    );
    const http = rows('http').filter((x) => x.uri === '/');
    const uids = http.map((x) => `${x.uid} ${x.trans_depth}`);
    assert.ok(http.length >= 4, `redirected requests logged: ${http.length}`);
    assert.equal(new Set(uids).size, uids.length, `each request once: ${uids.join(', ')}`);
    const d = await flowtap('down', NAME);
    assert.equal(d.code, 0, d.stderr);
  });

  test('--inline-workers 2: the namespace steers to ranges, the monitor forks two workers, and they judge as one did', async () => {
    await flowtap('down', NAME);
    const r = await flowtap('up', APP, '--json', '--policy', CLOSED, '--inline-mode', 'queue', '--inline-workers', '2');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const web = (JSON.parse(r.stdout) as { addressing: { instances: Record<string, { ip: string }> } }).addressing.instances['web-0'].ip;
    const status = JSON.parse((await flowtap('status', NAME, '--json')).stdout) as Status & { spec: { inlineWorkers?: number } };
    assert.equal(status.spec.inlineWorkers, 2);
    const mon = status.processes.find((p) => p.owner === 'monitor:mon1');
    assert.deepEqual(mon?.argv.slice(-3), ['--inline=queue', '--workers', '2']);
    const rules = (await inNs(MON, 'iptables', ['-w', '-S', 'FORWARD'])).stdout;
    assert.match(rules, /-j NFQUEUE --queue-balance 16:17 --queue-bypass\n/);
    assert.match(rules, /-j NFQUEUE --queue-balance 18:19\n/);
    // Fail-closed until the workers bind; then the same verdicts as one monitor.
    let first: Fetched = await get(web, '/', 1);
    for (let i = 0; i < 30 && first.status !== 200; i++) first = await get(web, '/', 1);
    assert.equal(first.status, 200, `the workers never passed a request: curl ${first.rc} ${first.err}`);
    const bound = (await inNs(MON, 'cat', ['/proc/net/netfilter/nfnetlink_queue'])).stdout;
    assert.deepEqual(
      bound
        .split('\n')
        .filter(Boolean)
        .map((l) => Number(l.trim().split(/\s+/)[0]))
        .sort((a, b) => a - b),
      [16, 17, 18, 19],
      bound,
    );
    const admin = await get(web, '/admin');
    assert.equal(admin.status, 403, `${admin.rc} ${admin.err}`);
    assert.match(admin.body, /Forbidden by flowtap's inline monitor: GET \/admin/);
    const d = await flowtap('down', NAME);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(namespaces(`ft-${NAME}-`), []);
  });
});
