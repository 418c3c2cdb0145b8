import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { realSystem } from '../../system/index.js';
import { backendFixture, backendSuite, DB_PORT, OVS_PROFILE, suiteDesired } from '../testing.js';
import type { OvsNodeConfig } from './render.js';
import { needsOvs } from '../../system/testing.js';
import { ovsHarness, type OvsHarness } from './testing.js';
import { OvsBackend } from './backend.js';

const skip = needsOvs();

backendSuite('Open vSwitch (root, netdev bridge)', (f) => ovsHarness(f), { skip, profile: OVS_PROFILE });

describe('Open vSwitch backend on a real bridge (root)', { skip }, () => {
  const f = backendFixture();
  /** db-0's delivery flow, deleted behind the backend's back. */
  const deleteByHand = async () => {
    const del = await realSystem.run([
      'ovs-ofctl',
      '-O',
      'OpenFlow15',
      '--strict',
      'del-flows',
      h.bridge,
      `table=23,priority=2,ip,nw_dst=${f.addressing.instances['db-0'].ip}`,
    ]);
    assert.equal(del.code, 0, del.stderr);
  };
  let h: OvsHarness;
  before(async () => {
    h = await ovsHarness(f);
  });
  after(async () => {
    await h?.close();
  });
  const config = (contracts = f.contracts): OvsNodeConfig => {
    const c = h.backend.render(suiteDesired(f, {}, { contracts }));
    assert.ok(c.ok);
    return c.value;
  };
  const flowsInForce = async () => {
    const r = await realSystem.run(['ovs-ofctl', '-O', 'OpenFlow15', '--no-stats', 'dump-flows', h.bridge]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout
      .split('\n')
      .filter((l) => l.includes('cookie='))
      .sort();
  };
  const arrived = async (send: () => Promise<void>, names = ['api-0', 'api-1', 'db-0', 'm1', 'm2']) => {
    const before = await Promise.all(names.map((n) => h.received(n)));
    await send();
    const after = await Promise.all(names.map((n) => h.received(n)));
    return Object.fromEntries(names.map((n, i) => [n, after[i] - before[i]]).filter(([, d]) => d !== 0));
  };

  test('the UDP probe matrix between the namespaces is the requirements: only api -> db:5000', async () => {
    // Without taps: a redirect would hold api-1's datagrams at its monitor.
    assert.ok((await h.backend.apply(f.node, config([]))).ok);
    const instances = ['api-0', 'api-1', 'db-0'];
    const allowed: string[] = [];
    for (const from of instances)
      for (const to of instances) {
        if (from === to) continue;
        for (const port of [DB_PORT, 7000]) {
          const got = await arrived(() => h.sendUdp(from, to, port, 10), [to]);
          if (got[to]) allowed.push(`${from} -> ${to}:${port}`);
        }
      }
    assert.deepEqual(allowed, ['api-0 -> db-0:5000', 'api-1 -> db-0:5000']);
    // No requirement allows ICMP, and instances cannot reach the node's gateway address.
    const ping = await realSystem.run(['ping', '-c1', '-W1', f.addressing.instances['db-0'].ip], { ns: h.nsOf('api-0') });
    assert.notEqual(ping.code, 0, 'ping is not a requirement');
    const gw = await realSystem.run(['ping', '-c1', '-W1', f.addressing.nodes[f.node].gateway], { ns: h.nsOf('api-0') });
    assert.notEqual(gw.code, 0, 'the node is not reachable from an instance');
  });

  test('a copy tap delivers the packet as sent to the monitor port (tcpdump there)', async () => {
    assert.ok((await h.backend.apply(f.node, config())).ok);
    const dump = realSystem.spawn(['timeout', '5', 'tcpdump', '-n', '-l', '-c', '1', '-i', 'eth0', 'udp'], {
      ns: h.nsOf('m1'),
      stdout: true,
    });
    let out = '';
    dump.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => setTimeout(r, 700));
    await h.sendUdp('api-0', 'db-0', DB_PORT, 10);
    await dump.exited;
    const a = f.addressing.instances;
    assert.match(
      out,
      new RegExp(`IP ${a['api-0'].ip.replace(/\./g, '\\.')}\\.\\d+ > ${a['db-0'].ip.replace(/\./g, '\\.')}\\.${DB_PORT}: UDP`),
    );
  });

  test('a bundle the switch refuses (a flow naming a meter it lacks) leaves every flow and counter as it was', async () => {
    assert.ok((await h.backend.apply(f.node, config())).ok);
    await h.sendUdp('api-0', 'db-0', DB_PORT, 10);
    const flows = await flowsInForce();
    const counters = await h.backend.counters(f.node);
    const applied = h.backend.applied.get(f.node);
    assert.ok(counters.ok && counters.value.some((c) => c.packets > 0));
    const good = config();
    const bad: OvsNodeConfig = {
      ...good,
      flows: [...good.flows, { table: 10, priority: 5, match: 'udp', actions: 'meter:4242,output:33000' }],
    };
    // ovs-ofctl parses it: only the switch can refuse it.
    assert.ok((await h.backend.check(f.node, bad)).ok);
    const r = await h.backend.apply(f.node, bad);
    assert.ok(!r.ok && r.errors[0].code === 'E_OVS_REJECTED' && /meter/i.test(r.errors[0].message), JSON.stringify(r));
    assert.deepEqual(await flowsInForce(), flows, 'the same flows');
    assert.deepEqual(await h.backend.counters(f.node), counters, 'the same counts');
    assert.equal(h.backend.applied.get(f.node), applied, 'what was applied last is unchanged');
    const drift = await h.backend.drift(f.node);
    assert.ok(drift.ok && drift.value.inForce, 'what is in force is still what was applied');
    assert.deepEqual(await arrived(() => h.sendUdp('api-0', 'db-0', DB_PORT, 10)), { 'db-0': 1, m1: 1, m2: 1 });
    // A flow text ovs-ofctl itself refuses: check says so, and nothing changes either.
    const garbled: OvsNodeConfig = { ...good, flows: [...good.flows, { table: 10, priority: 5, match: 'udp', actions: 'clone(meter:1)' }] };
    const checked = await h.backend.check(f.node, garbled);
    assert.ok(!checked.ok && /clone/.test(checked.errors[0].message));
    assert.equal((await h.backend.apply(f.node, garbled)).ok, false);
    assert.deepEqual(await flowsInForce(), flows);
  });

  test('an incremental change keeps the counters of the flows it does not touch, and of a flow whose actions it modifies', async () => {
    assert.ok((await h.backend.apply(f.node, config())).ok);
    // api-1's datagrams to db-0 are held by its redirect to m2 (table 10) and counted there.
    await h.sendUdp('api-1', 'db-0', DB_PORT, 10);
    await h.sendUdp('api-0', 'db-0', DB_PORT, 10);
    const before = await h.backend.counters(f.node);
    assert.ok(before.ok);
    const count = (list: typeof before.value, comment: string) => list.find((c) => c.comment === comment)?.packets ?? -1;
    const hold = count(before.value, 'hold-api1');
    const copy = count(before.value, 'copy-api0');
    assert.ok(hold >= 1 && copy >= 1, JSON.stringify(before.value));
    // m2 down: the hold's flow keeps its match and cookie, only its action changes (modify_strict).
    const down = h.backend.render(suiteDesired(f, {}, { downMonitors: ['m2'] }));
    assert.ok(down.ok);
    const r = await h.backend.apply(f.node, down.value);
    assert.ok(r.ok && r.value.kind === 'incremental', JSON.stringify(r));
    const after = await h.backend.counters(f.node);
    assert.ok(after.ok);
    assert.equal(count(after.value, 'hold-api1'), hold, 'the modified flow keeps its count');
    assert.equal(count(after.value, 'copy-api0'), copy, 'an untouched flow keeps its count');
    // The modified action is in force: api-1 is no longer diverted (fail closed: dropped, not at m2).
    assert.deepEqual(await arrived(() => h.sendUdp('api-1', 'db-0', DB_PORT, 10)), {});
  });

  test('an incremental change with one flow the switch refuses changes nothing: every flow and counter stays', async () => {
    assert.ok((await h.backend.apply(f.node, config())).ok);
    await h.sendUdp('api-0', 'db-0', DB_PORT, 10);
    const flows = await flowsInForce();
    const counters = await h.backend.counters(f.node);
    assert.ok(counters.ok && counters.value.some((c) => c.packets > 0));
    const q = h.backend.render(suiteDesired(f, { 'api-0': 'isolated' }));
    assert.ok(q.ok);
    const bad: OvsNodeConfig = {
      ...q.value,
      flows: [...q.value.flows, { table: 10, priority: 5, match: 'udp', actions: 'meter:4242,output:33000' }],
    };
    const calls: string[] = [];
    const watched = new OvsBackend({
      system: {
        ...realSystem,
        run: (argv, o) => {
          calls.push(argv.join(' '));
          return realSystem.run(argv, o);
        },
      },
      bridgeOf: () => h.bridge,
      applied: new Map(h.backend.applied),
    });
    const r = await watched.apply(f.node, bad);
    assert.ok(!r.ok && /meter/i.test(r.errors[0].message), JSON.stringify(r));
    assert.ok(
      calls.some((c) => / bundle \S+ -$/.test(c)),
      'the incremental bundle was tried first',
    );
    assert.deepEqual(await flowsInForce(), flows, 'the same flows');
    assert.deepEqual(await h.backend.counters(f.node), counters, 'the same counts');
    // Without the bad flow the same change goes in incrementally, and the quarantine holds.
    const good = await h.backend.apply(f.node, q.value);
    assert.ok(good.ok && good.value.kind === 'incremental', JSON.stringify(good));
    assert.deepEqual(await arrived(() => h.sendUdp('api-0', 'db-0', DB_PORT, 10)), { m1: 1 });
  });

  test('a flow deleted by hand changes the flow count: the next change replaces the flows, and they are in force again', async () => {
    assert.ok((await h.backend.apply(f.node, config())).ok);
    await deleteByHand();
    const q = h.backend.render(suiteDesired(f, { 'api-0': 'isolated' }));
    assert.ok(q.ok);
    const r = await h.backend.apply(f.node, q.value);
    assert.ok(
      r.ok && r.value.kind === 'full' && /^drift: bridge \S+ has \d+ flows, \d+ were applied$/.test(r.value.reason!),
      JSON.stringify(r),
    );
    const d = await h.backend.drift(f.node);
    assert.ok(d.ok && d.value.inForce, JSON.stringify(d));
  });

  test('fail modes: a fail-open redirect goes on untapped while its monitor port is down, a fail-closed one drops', async () => {
    const hold = f.contracts[2];
    const link = h.linkOf(f.addressing.monitors.m2.port);
    const api1 = () => h.sendUdp('api-1', 'db-0', DB_PORT, 10);
    for (const failMode of ['open', 'closed'] as const) {
      const c = config([{ ...hold, options: { failMode } }]);
      assert.ok((await h.backend.apply(f.node, c)).ok);
      assert.deepEqual(await arrived(api1), { m2: 1 }, `${failMode}: diverted while the monitor is up`);
      assert.equal((await realSystem.run(['ip', 'link', 'set', link, 'down'])).code, 0);
      try {
        // The switch notices the port's state through netlink; give it a moment.
        await new Promise((r) => setTimeout(r, 500));
        assert.deepEqual(await arrived(api1), failMode === 'open' ? { 'db-0': 1 } : {}, `${failMode}: monitor down`);
      } finally {
        await realSystem.run(['ip', 'link', 'set', link, 'up']);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  });

  test('a flow deleted by hand is drift; the next change is still all or nothing, and repair puts it back', async () => {
    assert.ok((await h.backend.apply(f.node, config())).ok);
    await deleteByHand();
    const d = await h.backend.drift(f.node);
    assert.ok(d.ok);
    assert.deepEqual(d.value.missing, [{ table: 'flowtap', chain: 'in_db_0', comment: 'in_db_0 default' }]);
    assert.equal(d.value.inForce, false);
    const r = await h.backend.apply(f.node, config(), { repair: true });
    assert.ok(r.ok && r.value.kind === 'full');
    const again = await h.backend.drift(f.node);
    assert.ok(again.ok && again.value.inForce, JSON.stringify(again));
  });
});
