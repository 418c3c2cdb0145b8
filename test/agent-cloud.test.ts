/**
 * The node agents on the local cloud, for real: dvd-rental (under a name of its own) deployed
 * with `flowtap up --store postgres://… --bus nats://… --level 1 --period 2` on a private
 * PostgreSQL and nats-server, its load generator running from outside the whole time. At
 * level 1 the agents ship counters and interface statistics only; `flowtap verbosity --node
 * node1 4` at run time makes flows, logs, monitor rows and system calls of node1's instances
 * appear within two periods, from the same agent process; lowering it stops them, and the
 * agents' cost records show what each level cost. An instance, root inside, can reach neither
 * its node's agent, nor the relay, nor the broker's servers. Needs root, bpftrace and the servers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { openBroker, type Broker, type RecordKind, type StoredRecord } from '../src/broker/index.js';
import { missingBrokerServers, netnsOf, privateBrokerServers, renamedDvdRental, type BrokerServers } from '../src/cli/testing.js';
import { realSystem } from '../src/system/index.js';
import { needs, needsRoot } from '../src/system/testing.js';
import { canConnect, flowtap, inNs, ROOT } from './testing.js';

const skip = needsRoot(['bpftrace', '--version']) || needs(missingBrokerServers());
const NAME = 'dvd-agents';
const PERIOD = 2000;
const ns = (kind: string, name: string) => `ft-${NAME}-${kind}-${name}`;
const NODE1 = ['contract-update-0', 'dvd-return-0', 'user-create-0', 'user-update-0'];
const DEEP: RecordKind[] = ['flow', 'log', 'monitor-log', 'syscall'];
/** A monitor's stats.log row: its capture counters, shipped at level 1 with the other counters. */
const isStats = (r: StoredRecord) => r.kind === 'monitor-log' && r.data.log === 'stats';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Ctx {
  addressing: { instances: Record<string, { ip: string; node: string }>; nodes: Record<string, { gateway: string; ip: string }> };
}
interface Proc {
  owner: string;
  pid: number;
  alive: boolean;
  ns?: string;
}

describe('node agents on the local cloud: dvd-rental, levels changed at run time', { skip, timeout: 300_000 }, () => {
  let servers: BrokerServers;
  let broker: Broker;
  let ctx: Ctx;
  let load: ChildProcess | undefined;
  /** When the test raised node1 to 4 and lowered it back, as the agent acknowledged it. */
  const acks: { level4?: number; level1?: number } = {};

  const ip = (i: string) => ctx.addressing.instances[i].ip;
  const processes = async (): Promise<Proc[]> => {
    const r = await flowtap('status', NAME, '--json');
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { processes: Proc[] }).processes;
  };
  const pidOf = async (owner: string) => (await processes()).find((p) => p.owner === owner)!.pid;

  /** Every record after `afterId` matching, read page by page. */
  async function all(q: { kinds?: RecordKind[]; node?: string; afterId?: number }): Promise<StoredRecord[]> {
    const out: StoredRecord[] = [];
    let after = q.afterId ?? 0;
    for (;;) {
      const page = await broker.store.query({ app: NAME, ...q, afterId: after, order: 'asc', limit: 10_000 });
      out.push(...page);
      if (page.length < 10_000) return out;
      after = page.at(-1)!.id;
    }
  }
  const lastId = async () => (await broker.store.query({ app: NAME, order: 'desc', limit: 1 }))[0]?.id ?? 0;

  before(async () => {
    servers = await privateBrokerServers();
    const app = renamedDvdRental(NAME);
    await flowtap('down', NAME);
    const store = `${servers.pg}?schema=agents`;
    const bus = `${servers.nats}?stream=FT_AGENTS&prefix=ftagents`;
    const t0 = Date.now();
    const r = await flowtap(
      'up',
      app.descriptor,
      ...app.policies.flatMap((p) => ['--policy', p]),
      '--level',
      '1',
      '--period',
      String(PERIOD / 1000),
      '--store',
      store,
      '--bus',
      bus,
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    console.log(`flowtap up (with the agents and the relay) took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    ctx = JSON.parse(r.stdout);
    const b = await openBroker({ store, bus });
    assert.ok(b.ok, b.ok ? '' : JSON.stringify(b.errors));
    broker = b.value;
    // Customers, the whole time: about 20 requests a second from outside.
    load = spawn(
      'ip',
      [
        'netns',
        'exec',
        `ft-${NAME}-external`,
        process.execPath,
        'dist/examples/dvd-rental/loadgen/loadgen.js',
        '--contract-update',
        `http://${ip('contract-update-0')}:8080`,
        '--user-create',
        `http://${ip('user-create-0')}:8080`,
        '--dvd-return',
        `http://${ip('dvd-return-0')}:8080`,
        '--requests',
        '100000',
        '--rate',
        '20',
        '--concurrency',
        '2',
      ],
      { cwd: ROOT, stdio: 'ignore', detached: true },
    );
  });

  after(async () => {
    if (load?.pid) {
      try {
        process.kill(-load.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await broker?.close();
    await flowtap('down', NAME);
    await servers?.stop();
  });

  test("agents run in their nodes' namespaces, with the relay on the host; at level 1 counters and interfaces arrive, nothing deeper", async () => {
    const procs = await processes();
    for (const node of ['node1', 'node2']) {
      const a = procs.find((p) => p.owner === `agent:${node}`);
      assert.ok(a?.alive, `agent:${node} runs`);
      assert.equal(netnsOf(a.pid), statSync(`/run/netns/${ns('n', node)}`).ino, `the agent of ${node} is in ${ns('n', node)}`);
    }
    const relay = procs.find((p) => p.owner === 'relay');
    assert.ok(relay?.alive && relay.ns === undefined, 'the relay runs on the host');
    const t0 = Date.now();
    for (;;) {
      const got = await all({ kinds: ['counter', 'interface'] });
      const seen = (node: string, kind: RecordKind) => got.some((r) => r.node === node && r.kind === kind);
      if (['node1', 'node2'].every((n) => seen(n, 'counter') && seen(n, 'interface'))) break;
      assert.ok(Date.now() - t0 < 4 * PERIOD, 'counters and interface statistics of both nodes');
      await sleep(200);
    }
    await sleep(PERIOD);
    const counters = await all({ kinds: ['counter'] });
    assert.ok(
      counters.some((r) => r.data.type === 'rule' && (r.data.dPackets as number) > 0),
      'firewall rules count the load',
    );
    assert.ok(
      counters.some((r) => r.data.type === 'tap' && (r.data.dPackets as number) > 0),
      'taps count too',
    );
    const ifs = await all({ kinds: ['interface'] });
    assert.ok(
      ifs.some((r) => r.instance === 'contract-update-0' && (r.data.dRxPackets as number) > 0),
      'an instance port, attributed',
    );
    assert.deepEqual(
      (await all({ kinds: DEEP })).filter((r) => !isStats(r)).map((r) => `${r.node} ${r.kind}`),
      [],
      "nothing deeper at level 1 (the monitors' capture counters are counters)",
    );
    // Level 1 runs a few periods more, so its cost can be compared with level 4's.
    await sleep(3 * PERIOD);
    const topo = await all({ kinds: ['topology'] });
    assert.ok(
      topo.some((r) => r.data.type === 'tap') && topo.filter((r) => r.data.type === 'instance').length === 8,
      'up recorded the topology',
    );
  });

  test('raising node1 to level 4 at run time: flows, logs, monitor rows and system calls of its instances within two periods, same agent', async () => {
    const pid = await pidOf('agent:node1');
    const mark = await lastId();
    const r = await flowtap('verbosity', NAME, '--node', 'node1', '4');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(
      r.stdout.trim(),
      `node1: level 4 every ${PERIOD / 1000} s; collecting: counters interfaces flows logs monitor-logs syscalls`,
    );
    const ack = (await all({ kinds: ['config'], node: 'node1', afterId: mark })).find((x) => x.data.what === 'verbosity');
    assert.ok(ack, 'the acknowledgement is in the store');
    acks.level4 = ack.ts;
    const firstSeen = new Map<RecordKind, number>();
    const t0 = Date.now();
    while (firstSeen.size < DEEP.length && Date.now() - t0 < 4 * PERIOD) {
      for (const rec of await all({ kinds: DEEP, node: 'node1', afterId: mark }))
        if (rec.instance && NODE1.includes(rec.instance) && !firstSeen.has(rec.kind)) firstSeen.set(rec.kind, Date.now() - t0);
      await sleep(100);
    }
    console.log(`after the change (ms, as seen in the store): ${[...firstSeen].map(([k, ms]) => `${k} ${ms}`).join(', ')}`);
    // In the store within two periods, and the shipper's one-second flush that takes a record there.
    for (const k of DEEP)
      assert.ok((firstSeen.get(k) ?? Infinity) <= 2 * PERIOD + 1000, `${k} records within two periods (${firstSeen.get(k)} ms)`);
    const deep = await all({ kinds: DEEP, node: 'node1', afterId: mark });
    // Collected within two periods (a monitor row keeps the time of its connection, so it is not timed here).
    for (const k of ['flow', 'log', 'syscall'] as const) {
      const first = Math.min(...deep.filter((x) => x.kind === k).map((x) => x.ts));
      assert.ok(first - ack.ts <= 2 * PERIOD, `${k} collected ${first - ack.ts} ms after the change`);
    }
    assert.ok(deep.some((x) => x.kind === 'syscall' && x.data.event === 'counts' && (x.data.total as number) > 0));
    assert.ok(
      deep.some((x) => x.kind === 'monitor-log' && x.provenance && ['mon-http', 'mon-forensics'].includes(x.data.monitor as string)),
    );
    assert.ok(deep.some((x) => x.kind === 'log' && x.instance === 'contract-update-0'));
    assert.ok(
      deep.filter((x) => x.instance).every((x) => NODE1.includes(x.instance!)),
      "only node1's instances",
    );
    assert.equal(await pidOf('agent:node1'), pid, 'the same agent process');
    assert.deepEqual((await all({ kinds: ['flow', 'log', 'syscall'], node: 'node2' })).length, 0, 'node2 stays at level 1');
  });

  test('lowering it stops them (counters go on); the cost records show the difference between the levels', async () => {
    await sleep(2 * PERIOD);
    const pid = await pidOf('agent:node1');
    const r = await flowtap('verbosity', NAME, '--node', 'node1', '1');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const acked = (await all({ kinds: ['config'], node: 'node1' })).filter((x) => x.data.what === 'verbosity').at(-1)!;
    acks.level1 = acked.ts;
    // What was collected before the change has been shipped by then.
    await sleep(1500);
    const mark = await lastId();
    await sleep(2 * PERIOD + 500);
    assert.deepEqual(
      // Notices are not among them: they ship at every level (alerts, not context).
      (await all({ kinds: [...DEEP], node: 'node1', afterId: mark })).filter((x) => !isStats(x)).map((x) => x.kind),
      [],
      'nothing deeper after lowering',
    );
    assert.ok((await all({ kinds: ['counter'], node: 'node1', afterId: mark })).length > 0, 'counters go on');
    assert.equal(await pidOf('agent:node1'), pid, 'still the same agent process');

    // The cost, from the agent's own records: CPU (its own and its children's) and records per second, per level.
    const cost = (await all({ kinds: ['agent-cost'], node: 'node1' })).filter((x) => x.data.event !== 'loss');
    const window = (from: number, to: number) => {
      const inside = cost.filter((x) => x.ts > from && x.ts <= to);
      const cpuMs = inside.reduce((s, x) => s + (x.data.cpuMs as number) + (x.data.childCpuMs as number), 0);
      const records = inside.reduce((s, x) => s + (x.data.records as number), 0);
      return {
        cpuPercent: (cpuMs / (to - from)) * 100,
        recordsPerSec: (records * 1000) / (to - from),
        collectors: new Set(inside.map((x) => x.data.collector as string)),
      };
    };
    // Level 1 from the agent's first full window (its start is not a level's cost) to the change.
    const first = Math.min(...cost.map((x) => x.ts));
    const l1 = window(first, acks.level4!);
    assert.ok(acks.level4! - first >= 2 * PERIOD, 'level 1 ran long enough to be measured');
    // Level 4 from after bpftrace's start (compiling and attaching its program is a one-off).
    const l4 = window(acks.level4! + 2 * PERIOD, acks.level1!);
    console.log(
      `node1 agent cost: level 1 ${l1.cpuPercent.toFixed(2)}% of a core, ${l1.recordsPerSec.toFixed(1)} records/s; level 4 ${l4.cpuPercent.toFixed(2)}% of a core, ${l4.recordsPerSec.toFixed(1)} records/s`,
    );
    assert.ok(l1.cpuPercent > 0 && l1.collectors.has('counters'), 'level 1 has a cost too');
    assert.ok(l4.cpuPercent > l1.cpuPercent, 'level 4 costs more CPU');
    assert.ok(l4.recordsPerSec > l1.recordsPerSec, 'and ships more');
    for (const c of ['flows', 'logs', 'monitor-logs', 'syscalls']) assert.ok(l4.collectors.has(c), `${c} reported its cost at level 4`);
    assert.ok(!['flows', 'syscalls'].some((c) => l1.collectors.has(c)), 'no cost of collectors that did not run');
    const sys = cost.filter((x) => x.data.collector === 'syscalls');
    assert.ok(
      sys.some((x) => x.data.level === 4 && (x.data.childCpuMs as number) > 0),
      "bpftrace's CPU is the syscalls collector's",
    );
    assert.ok(
      sys.some((x) => x.data.final === true && x.data.level === 1),
      'a last report when it was switched off',
    );
  });

  test('tamper resistance: root inside an instance reaches neither its agent, nor the relay, nor the broker, and cannot stop the agent', async () => {
    const inst = ns('i', 'contract-update-0');
    const node = ns('n', 'node1');
    const pid = await pidOf('agent:node1');
    // What the agent listens on (its forwarders to the relay): the node's own loopback only.
    const ss = await inNs(node, 'ss', ['-ltnpH']);
    const ports = [...ss.stdout.matchAll(/127\.0\.0\.1:(\d+)\s.*pid=(\d+)/g)].filter((m) => Number(m[2]) === pid).map((m) => Number(m[1]));
    assert.ok(ports.length >= 1, ss.stdout);
    assert.ok(
      !new RegExp(`\\s(?!127\\.)[\\d.]+:\\d+\\s.*pid=${pid},`).test(ss.stdout),
      `the agent listens on nothing but the node's loopback:\n${ss.stdout}`,
    );
    for (const port of ports) assert.equal(await canConnect(node, '127.0.0.1', port), true, 'the forwarder answers on the node');
    // Root in the instance: its own rules gone, a route to the node's loopback added.
    await inNs(inst, 'nft', ['flush', 'ruleset']);
    await inNs(inst, 'ip', ['route', 'add', '127.0.0.0/8', 'via', ctx.addressing.nodes.node1.gateway, 'dev', 'eth0']);
    const pgPort = Number(new URL(servers.pg).port);
    const natsPort = Number(new URL(servers.nats).port);
    for (const port of [...ports, pgPort, natsPort])
      for (const addr of ['127.0.0.1', '127.0.0.2', ctx.addressing.nodes.node1.gateway, ctx.addressing.nodes.node1.ip, '10.250.0.254'])
        assert.equal(await canConnect(inst, addr, port, 0.5), false, `${addr}:${port} from the instance`);
    // The agent lived through it, and goes on shipping.
    assert.ok(realSystem.alive(pid));
    const mark = await lastId();
    await sleep(PERIOD + 1500);
    assert.ok((await all({ kinds: ['counter', 'interface'], node: 'node1', afterId: mark })).length > 0, 'the agent still ships');
  });

  test('down stops the agents (they ship their last records) and the relay', async () => {
    const procs = (await processes()).filter((p) => p.owner.startsWith('agent:') || p.owner === 'relay');
    assert.equal(procs.length, 3);
    const mark = await lastId();
    const r = await flowtap('down', NAME);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      procs.filter((p) => realSystem.alive(p.pid)).map((p) => p.owner),
      [],
    );
    const stopped = (await all({ kinds: ['config'], afterId: mark }))
      .filter((x) => x.data.event === 'stopped')
      .map((x) => x.node)
      .sort();
    assert.deepEqual(stopped, ['node1', 'node2']);
    assert.equal((await all({ kinds: ['lifecycle'], afterId: mark })).at(-1)?.data.type, 'down');
  });
});
