import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBroker, type BrokerRecord } from '../broker/index.js';
import { FlowtapError, ok } from '../diagnostics/index.js';
import { RecordingSystem } from '../system/index.js';
import { configConsumer, runAgent, type AgentHandle } from './agent.js';
import type { Collector, Draft } from './collector.js';
import type { AgentOptions } from './options.js';
import { COLLECTOR_KINDS, COLLECTORS, type CollectorName, type CollectorSetting } from './settings.js';
import { controlSubject } from './subjects.js';
import { fakeNetns, MemoryBus, MemoryStore } from './testing.js';
import { pushConfig, setVerbosity } from './verbosity.js';

const PERIOD = 100;
const INSTANCES = [
  { name: 'web-0', service: 'web', ns: 'ft-d-i-web-0' },
  { name: 'db-0', service: 'db', ns: 'ft-d-i-db-0' },
];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
  return Date.now() - t0;
}

interface Fake extends Collector {
  starts: CollectorSetting[];
  updates: CollectorSetting[];
  stops: number;
  runs: number;
}

/** A collector that emits one record per instance per run, of its first kind. */
function fake(name: CollectorName, burnMs = 0): Fake {
  const f: Fake = {
    name,
    starts: [],
    updates: [],
    stops: 0,
    runs: 0,
    async start(s) {
      f.starts.push(s);
    },
    async update(s) {
      f.updates.push(s);
    },
    async stop() {
      f.stops++;
    },
    async collect(_s, now) {
      f.runs++;
      // CPU, not wall time: on a busy machine a wall-clock loop gets a fraction of a core.
      const t0 = process.cpuUsage();
      while (burnMs > 0) {
        const d = process.cpuUsage(t0);
        if ((d.user + d.system) / 1000 >= burnMs) break;
      }
      const kind = COLLECTOR_KINDS[name][0];
      const records: Draft[] = INSTANCES.map((i) => ({
        kind,
        ts: now,
        instance: i.name,
        service: i.service,
        data: { from: name, run: f.runs },
      }));
      return { records };
    },
  };
  return f;
}

interface Rig {
  agent: AgentHandle;
  store: MemoryStore;
  bus: MemoryBus;
  system: RecordingSystem;
  fakes: Record<CollectorName, Fake>;
  logs: string[];
}

const running: AgentHandle[] = [];
afterEach(async () => {
  for (const a of running.splice(0)) await a.stop();
});

async function rig(
  o: Partial<AgentOptions> & { failNft?: boolean } = {},
  burn: Partial<Record<CollectorName, number>> = {},
  before?: (bus: MemoryBus) => Promise<void>,
): Promise<Rig> {
  const store = new MemoryStore();
  const bus = new MemoryBus();
  const system = new RecordingSystem((argv) =>
    argv.join(' ').includes('nft -c') && o.failNft ? { code: 1, stderr: '/dev/stdin:3:5-9: Error: syntax error' } : undefined,
  );
  const fakes = Object.fromEntries(COLLECTORS.map((c) => [c, fake(c, burn[c])])) as Record<CollectorName, Fake>;
  const logs: string[] = [];
  if (before) await before(bus);
  const { failNft: _, ...given } = o;
  const agent = await runAgent({
    tenant: 'acme',
    app: 'dvd',
    node: 'node1',
    nodeNs: 'ft-dvd-n-node1',
    instances: INSTANCES,
    monitors: [],
    broker: { store, bus },
    system,
    level: 1,
    periodMs: PERIOD,
    costPeriodMs: 200,
    flushMs: 20,
    netns: fakeNetns({ 'ft-dvd-n-node1': 10, 'ft-d-i-web-0': 11, 'ft-d-i-db-0': 12 }, 1),
    collectors: fakes,
    log: (l) => logs.push(l),
    ...given,
  });
  running.push(agent);
  return { agent, store, bus, system, fakes, logs };
}

const acks = (store: MemoryStore, what: string) => store.of('config').filter((r) => r.data.what === what);
const since = (store: MemoryStore, kind: BrokerRecord['kind'], id: number) => store.of(kind).filter((r) => (r as { id: number }).id > id);
const lastId = (store: MemoryStore) => store.records.at(-1)?.id ?? 0;
const TARGET = { tenant: 'acme', app: 'dvd', node: 'node1' };

describe('node agent', () => {
  test('at level 1 only counters and interfaces run; records are stamped with tenant, app and node', async () => {
    const { store, fakes } = await rig();
    await waitFor(
      'counter and interface records',
      () => store.of('counter').length >= 4 && store.of('interface').length >= 4,
      2 * PERIOD + 100,
    );
    assert.equal(fakes.flows.runs + fakes.logs.runs + fakes['monitor-logs'].runs + fakes.syscalls.runs, 0);
    const r = store.of('counter')[0];
    assert.deepEqual([r.tenant, r.app, r.node, r.instance], ['acme', 'dvd', 'node1', 'web-0']);
    const started = acks(store, 'agent')[0];
    assert.equal(started.data.event, 'started');
    assert.equal((started.data.settings as Record<string, { active: boolean }>).flows.active, false);
  });

  test('raised to 4 at run time: every collector starts and its records arrive within two periods; lowered: they stop', async () => {
    const { agent, store, bus, fakes } = await rig();
    await waitFor('level 1 records', () => store.of('counter').length > 0, 2 * PERIOD + 100);
    const sent = await setVerbosity(bus, TARGET, { level: 4 });
    assert.deepEqual(sent, ok('flowtap.acme.dvd.control.node1'));
    const mark = lastId(store);
    const took = await waitFor(
      'flow, log, monitor-log and syscall records',
      () => (['flow', 'log', 'monitor-log', 'syscall'] as const).every((k) => since(store, k, mark).length > 0),
      2 * PERIOD + 100,
    );
    assert.ok(took <= 2 * PERIOD + 100);
    assert.equal(fakes.syscalls.starts.length, 1);
    assert.deepEqual(agent.stats().active.sort(), [...COLLECTORS].sort());
    const ack = acks(store, 'verbosity').at(-1)!;
    const sentMsg = bus.on('flowtap.acme.dvd.control.*').at(-1)!;
    assert.deepEqual([ack.data.outcome, ack.data.seq, (ack.data.request as { level: number }).level], ['applied', sentMsg.seq, 4]);

    await setVerbosity(bus, TARGET, { level: 1 });
    await waitFor('stopped', () => fakes.syscalls.stops === 1 && fakes.flows.stops === 1, 500);
    const finals = store.of('agent-cost').filter((r) => r.data.final);
    await waitFor('final cost records', () => store.of('agent-cost').filter((r) => r.data.final).length >= 4, 500);
    assert.ok(finals.every((r) => ['flows', 'logs', 'monitor-logs', 'syscalls'].includes(r.data.collector as string)));
    await agent.flush();
    const after = lastId(store);
    const runs = fakes.counters.runs;
    await sleep(3 * PERIOD);
    for (const k of ['flow', 'log', 'monitor-log', 'syscall'] as const)
      assert.equal(since(store, k, after).length, 0, `no ${k} after lowering`);
    assert.ok(fakes.counters.runs > runs, 'level 1 goes on');
    assert.ok(since(store, 'counter', after).length > 0);
  });

  test("one collector's level and period change alone; the others keep theirs", async () => {
    const { agent, bus, fakes } = await rig({ level: 2 });
    assert.equal((await setVerbosity(bus, TARGET, { collector: 'interfaces', periodMs: 400 })).ok, true);
    await setVerbosity(bus, TARGET, { collector: 'flows', level: 0 });
    await waitFor('flows stopped', () => fakes.flows.stops === 1, 500);
    const c0 = fakes.counters.runs;
    const i0 = fakes.interfaces.runs;
    const l0 = fakes.logs.runs;
    await sleep(1300);
    // Ratios, not counts: the machine may be busy and timers late, but 100 ms stays a quarter of 400 ms.
    const counters = fakes.counters.runs - c0;
    const interfaces = fakes.interfaces.runs - i0;
    assert.ok(
      interfaces >= 2 && counters >= 2.5 * interfaces,
      `counters every 100 ms, interfaces every 400 ms: ${counters} and ${interfaces} runs in 1300 ms`,
    );
    assert.ok(fakes.logs.runs - l0 >= 5, 'logs go on');
    assert.equal(agent.settings().interfaces.periodMs, 400);
    assert.equal(agent.settings().counters.periodMs, PERIOD);
    assert.deepEqual(fakes.interfaces.updates.at(-1), { level: 2, periodMs: 400 });
    assert.equal(fakes.counters.updates.length, 0, 'a collector hears only of changes to its own settings');
  });

  test('filters: records of other instances and other kinds are not shipped', async () => {
    const { store, bus, agent } = await rig({ level: 3 });
    await setVerbosity(bus, TARGET, { instances: ['db-0'] });
    // To every collector: those that emit neither kind have nothing left to do.
    await setVerbosity(bus, TARGET, { kinds: ['flow', 'log'] });
    assert.deepEqual(agent.stats().active.sort(), ['flows', 'logs']);
    const mark = lastId(store);
    await waitFor(
      'records after the filter',
      () => since(store, 'flow', mark).length >= 2 && since(store, 'log', mark).length >= 2,
      3 * PERIOD,
    );
    for (const k of ['flow', 'log'] as const)
      assert.ok(
        since(store, k, mark).every((r) => r.instance === 'db-0'),
        `${k} only about db-0`,
      );
    for (const k of ['counter', 'interface', 'monitor-log'] as const)
      assert.equal(since(store, k, mark).length, 0, `${k} filtered out by kind`);
    await setVerbosity(bus, TARGET, { instances: null });
    const m2 = lastId(store);
    await waitFor('flows about web-0 again', () => since(store, 'flow', m2).some((r) => r.instance === 'web-0'), 3 * PERIOD);
    assert.equal(since(store, 'monitor-log', m2).length, 0);
  });

  test('a malformed change is rejected with its reasons and changes nothing', async () => {
    const { agent, store, bus } = await rig();
    await bus.publish(controlSubject('acme', 'dvd', 'node1'), { level: 9, instances: ['nobody'] });
    await bus.publish(controlSubject('acme', 'dvd', 'node1'), { instances: ['nobody'] });
    await agent.flush();
    const [a, b] = acks(store, 'verbosity');
    assert.equal(a.data.outcome, 'rejected');
    assert.match((a.data.errors as string[]).join(), /level must be an integer from 0 to 4/);
    assert.match((b.data.errors as string[]).join(), /no instance nobody on this node/);
    assert.equal(agent.settings().flows.level, 1);
    const direct = await agent.apply({ collector: 'flows', level: 'high' });
    assert.equal(direct.ok, false);
    assert.equal((await setVerbosity(bus, TARGET, { level: 12 })).ok, false, 'checked before it is sent');
  });

  test("changes for every node apply; another node's do not; a restarted agent resumes the last level", async () => {
    const { agent, bus, fakes } = await rig({}, {}, async (b) => {
      await setVerbosity(b, { tenant: 'acme', app: 'dvd' }, { level: 2 });
    });
    assert.equal(agent.settings().flows.level, 2, 'replayed at start');
    await waitFor('flows run', () => fakes.flows.runs > 0, 2 * PERIOD + 100);
    await setVerbosity(bus, { ...TARGET, node: 'node2' }, { level: 4 });
    await agent.flush();
    assert.equal(agent.settings().syscalls.level, 2);
    await setVerbosity(bus, { tenant: 'acme', app: 'dvd' }, { collector: 'syscalls', level: 4 });
    assert.equal(agent.settings().syscalls.level, 4);
  });

  test('configuration pushes: the data plane applied in the node namespace and acknowledged with its version', async () => {
    const pushed: string[] = [];
    const { store, bus, system } = await rig({ onConfig: async (p) => (pushed.push(String(p.version)), ok('monitors reloaded')) });
    const script = 'table inet flowtap\ndelete table inet flowtap\ntable inet flowtap { }\n';
    await pushConfig(bus, TARGET, { version: 3, kind: 'dataplane', script });
    assert.deepEqual(system.commandLines(), ['ip netns exec ft-dvd-n-node1 nft -c -f -', 'ip netns exec ft-dvd-n-node1 nft -f -']);
    assert.deepEqual(
      system.calls.map((c) => c.kind === 'run' && c.input),
      [script, script],
    );
    await pushConfig(bus, TARGET, { version: 2, kind: 'dataplane', script });
    await pushConfig(bus, TARGET, { version: 3, kind: 'dataplane', script });
    await pushConfig(bus, TARGET, { version: 'a1', kind: 'monitors', observes: { 'mon-sql': ['db-0'] } });
    await bus.publish('flowtap.acme.dvd.config.node1', { kind: 'dataplane' });
    await new Promise((r) => setTimeout(r, 50));
    const got = acks(store, 'config').map((r) => [r.data.kind, r.data.version, r.data.outcome]);
    assert.deepEqual(got, [
      ['dataplane', 3, 'applied'],
      ['dataplane', 2, 'stale'],
      ['dataplane', 3, 'unchanged'],
      ['monitors', 'a1', 'applied'],
      ['dataplane', null, 'rejected'],
    ]);
    assert.deepEqual(pushed, ['a1']);
    assert.equal(system.calls.filter((c) => c.kind === 'run').length, 2, 'stale and repeated versions are not applied');
  });

  test("a script nft refuses is acknowledged as failed, with nft's words; unknown kinds as unsupported", async () => {
    const { store, bus } = await rig({ failNft: true });
    await pushConfig(bus, TARGET, { version: 1, kind: 'dataplane', script: 'table inet flowtap { chain x { junk } }' });
    await pushConfig(bus, TARGET, { version: 1, kind: 'monitors' });
    await new Promise((r) => setTimeout(r, 30));
    const [a, b] = acks(store, 'config');
    assert.deepEqual([a.data.outcome, a.data.errors], ['failed', ['syntax error']]);
    assert.equal(b.data.outcome, 'unsupported');
  });

  test("cost records every period per collector, with its level; a collector that burns CPU shows it; the rest is the agent's", async () => {
    const { store } = await rig({ level: 2 }, { flows: 15 });
    await waitFor(
      'a few periods of cost',
      () => store.of('agent-cost').filter((r) => r.data.collector === 'flows').length >= 3,
      10 * PERIOD,
    );
    const cost = (c: string) => store.of('agent-cost').filter((r) => r.data.collector === c);
    const flows = cost('flows');
    assert.ok(flows.every((r) => r.data.level === 2 && r.data.periodMs === PERIOD));
    const burnt = flows.slice(1).map((r) => r.data.cpuMs as number);
    assert.ok(
      burnt.every((ms) => ms >= 10),
      `flows burns 15 ms a run: ${burnt}`,
    );
    assert.ok(
      cost('counters')
        .slice(1)
        .every((r) => (r.data.cpuMs as number) < 10),
    );
    const later = cost('counters').at(-1)!;
    assert.ok((later.data.records as number) > 0 && (later.data.bytes as number) > 0, 'records and bytes shipped in the window');
    assert.ok((later.data.recordsPerSec as number) > 0);
    await waitFor("the agent's own cost", () => cost('agent').length > 0, 400);
    assert.equal(cost('agent')[0].data.level, 2);
  });

  test('the broker goes away: collection goes on, records are kept, and the outage is reported when it is back', async () => {
    const { agent, store, fakes } = await rig({ shipping: { retryMinMs: 20, retryMaxMs: 40 } });
    await waitFor('records', () => store.of('counter').length > 0, 2 * PERIOD + 100);
    store.failing = true;
    const runs = fakes.counters.runs;
    await waitFor('collection during the outage', () => fakes.counters.runs >= runs + 3, 10 * PERIOD);
    assert.ok(agent.stats().shipper.buffered > 0);
    assert.equal(agent.stats().shipper.connected, false);
    const stored = store.records.length;
    store.failing = false;
    await waitFor('the outage report', () => store.records.some((r) => r.data.event === 'loss'), 500);
    const loss = store.records.find((r) => r.data.event === 'loss')!;
    assert.equal(loss.data.dropped, 0);
    assert.ok((loss.data.failures as number) >= 1);
    const afterOutage = store.records.slice(stored);
    assert.ok(afterOutage.filter((r) => r.kind === 'counter').length >= 6, 'the records kept during the outage arrive');
  });

  test("the agent refuses to run inside an instance's namespace, and bad options are named", async () => {
    await assert.rejects(
      rig({ netns: fakeNetns({ 'ft-dvd-n-node1': 10, 'ft-d-i-web-0': 11 }, 11) }),
      (e: unknown) => e instanceof FlowtapError && e.diagnostics[0].code === 'E_AGENT_NS' && /instance web-0's namespace/.test(e.message),
    );
    await assert.rejects(rig({ node: 'node 1', instances: [{ name: 'x', service: 'x', ns: 'ft-dvd-n-node1' }] }), (e: unknown) => {
      const fields = (e as FlowtapError).diagnostics.map((d) => d.loc?.field);
      return fields.includes('node') && fields.includes('instances[0].ns');
    });
  });

  test('against the embedded broker: records queryable by kind and instance, control and acknowledgements on its bus', async () => {
    const opened = await openBroker({ store: 'sqlite::memory:' });
    assert.ok(opened.ok, !opened.ok ? opened.errors.map((e) => e.message).join() : '');
    const broker = opened.value;
    try {
      const seen: string[] = [];
      await broker.bus.subscribe('flowtap.acme.dvd.records.node1.*', (m) => void seen.push(m.subject));
      const fakes = Object.fromEntries(COLLECTORS.map((c) => [c, fake(c)])) as Record<CollectorName, Fake>;
      const agent = await runAgent({
        tenant: 'acme',
        app: 'dvd',
        node: 'node1',
        nodeNs: 'ft-dvd-n-node1',
        instances: INSTANCES,
        monitors: [],
        broker,
        system: new RecordingSystem(),
        level: 1,
        periodMs: PERIOD,
        flushMs: 20,
        netns: fakeNetns({ 'ft-dvd-n-node1': 10 }, 1),
        collectors: fakes,
        log: () => {},
      });
      running.push(agent);
      assert.equal((await setVerbosity(broker.bus, TARGET, { level: 2, instances: ['db-0'] })).ok, true);
      const q = async () => broker.store.query({ kinds: ['flow'], instance: 'db-0', tenant: 'acme', app: 'dvd', node: 'node1' });
      for (let i = 0; i < 100 && (await q()).length === 0; i++) await sleep(20);
      assert.ok((await q()).length > 0, 'flow records of db-0 in the store');
      assert.equal((await broker.store.query({ kinds: ['flow'], instance: 'web-0' })).length, 0, 'filtered out');
      const ack = (await broker.store.query({ kinds: ['config'], text: 'verbosity' })).at(-1);
      assert.equal(ack?.data.outcome, 'applied');
      await waitFor(
        'records on the bus',
        () => seen.includes('flowtap.acme.dvd.records.node1.flow') && seen.includes('flowtap.acme.dvd.records.node1.config'),
        2000,
      );
      await agent.stop();
    } finally {
      await broker.close();
    }
  });

  test('a bus that refuses the subscriptions fails the start, and leaves nothing running', async () => {
    const bus = new MemoryBus();
    bus.subscribe = async () => {
      throw new Error('durable consumer "x" is already subscribed');
    };
    const fakes = Object.fromEntries(COLLECTORS.map((c) => [c, fake(c)])) as Record<CollectorName, Fake>;
    await assert.rejects(
      runAgent({
        tenant: 'acme',
        app: 'dvd',
        node: 'node1',
        instances: INSTANCES,
        monitors: [],
        broker: { store: new MemoryStore(), bus },
        system: new RecordingSystem(),
        level: 4,
        periodMs: PERIOD,
        netns: fakeNetns({}, 1),
        collectors: fakes,
        log: () => {},
      }),
      /already subscribed/,
    );
    assert.equal(fakes.syscalls.starts.length, 1);
    assert.equal(fakes.syscalls.stops, 1, 'the started collectors are stopped');
    const runs = fakes.counters.runs;
    await sleep(2 * PERIOD);
    assert.equal(fakes.counters.runs, runs);
  });

  test('the consumer of configuration pushes has a name every bus takes, however long the names', () => {
    assert.equal(configConsumer('acme', 'dvd-rental', 'node1'), 'agent-config-acme-dvd-rental-node1');
    const long = configConsumer('a'.repeat(40), 'b.c', 'n'.repeat(40));
    assert.match(long, /^[A-Za-z0-9_-]{64}$/);
    assert.notEqual(long, configConsumer('a'.repeat(40), 'b.c', 'n'.repeat(39) + 'm'));
  });

  test('stop: collectors stopped, last costs and a stopped record shipped, no more runs', async () => {
    const { agent, store, fakes } = await rig({ level: 4 });
    await waitFor('runs', () => fakes.syscalls.runs > 0, 2 * PERIOD + 100);
    await agent.stop();
    assert.equal(fakes.syscalls.stops, 1);
    assert.equal(acks(store, 'agent').at(-1)!.data.event, 'stopped');
    assert.ok(store.of('agent-cost').some((r) => r.data.collector === 'agent' && r.data.final));
    const runs = fakes.counters.runs;
    await sleep(2 * PERIOD);
    assert.equal(fakes.counters.runs, runs);
  });
});
