/**
 * A redirect to an inline monitor on another node (issue 13): web-0 on node1, its monitor on
 * node2. What the redirect diverts crosses to node2 through the monitor's tap tunnel, and what
 * the queue-mode monitor passes — and its answers, a 403 and the server's reset — comes back to
 * node1 by the same point-to-point tunnel, where the node takes it back as it would from a local
 * monitor. Passes and blocks like a local monitor; killed, its fail-closed contract holds.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nfqueueMissing } from '../src/monitor/index.js';
import { needs, needsRoot } from '../src/system/testing.js';
import { curlFrom, type Fetched, flowtap, inNs, namespaces, servedBy } from './testing.js';

const skip = needsRoot(['iptables-restore', '--version'], ['curl', '--version']) || needs(nfqueueMissing());
const APP = 'test/fixtures/web-inline-remote';
const NAME = 'web-inline-remote';
const EXT = `ft-${NAME}-external`;
const NODE1 = `ft-${NAME}-n-node1`;
const CLOSED = 'test/fixtures/policies/web-inline-closed.dl';
/** Linux's minimum retransmission timeout: a request that waited for one took at least this. */
const RTO_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Packets counted by the rules of node1's taps table whose text matches `re`. */
async function counted(re: RegExp): Promise<number> {
  const t = await inNs(NODE1, 'nft', ['list', 'table', 'netdev', 'flowtap_taps']);
  let n = 0;
  for (const line of t.stdout.split('\n')) if (re.test(line)) n += Number(/counter packets (\d+)/.exec(line)?.[1] ?? 0);
  return n;
}

describe('inline queue monitor on another node than the port it judges', { skip }, () => {
  after(async () => {
    await flowtap('down', NAME);
  });

  test('passes and blocks through its tap tunnel, without a retransmission; killed, fails closed', async (t) => {
    await flowtap('down', NAME);
    const r = await flowtap('up', APP, '--json', '--policy', CLOSED, '--inline-mode', 'queue');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const ctx = JSON.parse(r.stdout) as {
      addressing: { instances: Record<string, { ip: string; node: string }>; monitors: Record<string, { node: string; port: string }> };
    };
    const web = ctx.addressing.instances['web-0'];
    assert.equal(web.node, 'node1');
    assert.equal(ctx.addressing.monitors.mon1.node, 'node2', 'the monitor is remote');
    const tunnel = `tt-${ctx.addressing.monitors.mon1.port}`;
    const get = (path: string, timeout = 4): Promise<Fetched> => curlFrom(EXT, `http://${web.ip}${path}`, timeout);

    let first = await get('/', 1);
    for (let i = 0; i < 20 && first.status !== 200; i++) first = await get('/', 1);
    assert.equal(first.status, 200, `the remote monitor never passed a request: curl ${first.rc} ${first.err}`);
    const before = servedBy(NAME, 'web-0').length;
    const returnedBefore = await counted(/passed by mon1/);
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const ok = await get('/');
      assert.equal(ok.status, 200, `GET / #${i}: curl ${ok.rc} ${ok.err}`);
      times.push(ok.ms);
    }
    times.sort((a, b) => a - b);
    t.diagnostic(`GET / through the remote monitor, ms sorted: ${times.map((x) => x.toFixed(1)).join(' ')}`);
    assert.ok(times[8] < RTO_MS, `9th of 10 ${times[8]} ms: a request waited for a retransmission: ${times.join(' ')}`);
    // Everything the requests sent went out by the tunnel and came back by it.
    assert.ok((await counted(new RegExp(`fwd to "${tunnel}"`))) > 0, 'diverted into the tap tunnel');
    assert.ok((await counted(/passed by mon1/)) - returnedBefore >= 20, 'taken back from the tunnel');

    const admin = await get('/admin');
    assert.equal(admin.status, 403, `${admin.rc} ${admin.err}`);
    assert.match(admin.body, /Forbidden by flowtap's inline monitor: GET \/admin/);
    assert.ok(admin.ms < RTO_MS, `${admin.ms} ms`);
    await sleep(300);
    assert.deepEqual(servedBy(NAME, 'web-0').slice(before), Array(10).fill('GET /'), 'the blocked request never reached the server');

    // The monitor dies: its fail-closed redirect holds in node2's monitor namespace, with no process.
    const s = JSON.parse((await flowtap('status', NAME, '--json')).stdout) as { processes: { owner: string; pid: number }[] };
    const mon = s.processes.find((p) => p.owner === 'monitor:mon1');
    assert.ok(mon);
    process.kill(mon.pid, 'SIGKILL');
    await sleep(500);
    const dead = await get('/', 2);
    assert.notEqual(dead.status, 200, 'fail-closed: nothing passes without the monitor');

    const d = await flowtap('down', NAME);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(namespaces(`ft-${NAME}-`), []);
  });
});
