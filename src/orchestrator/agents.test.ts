/**
 * The node agents of the local cloud without root: each node's spec file (its instances with
 * their namespaces, logs, addresses and ports; its monitors), the broker a deployment gets by
 * default, the relay started only for servers, the order of `up` (agents after the monitors,
 * before the instances, each waited for), a move restarting the agents of both nodes from new
 * specs, and `down` stopping the agents before everything else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAgentSpec, type AgentSpec } from '../agent/index.js';
import { loadApp, planAddresses } from '../model/index.js';
import { RecordingSystem, type Responder } from '../system/index.js';
import { agentSpec, deploymentBroker, relayPlan } from './agents.js';
import { relayTarget, viaLoopback } from './broker-relay.js';
import { localCloud } from './driver.js';
import { ovsBridge } from './ovs-plan.js';
import type { DeploymentSpec, Prepare } from './lifecycle.js';
import { fakePrepare, FakeNft, repoFile, specOf, testEnv } from './testing.js';

const DVD = 'examples/dvd-rental/app.yaml';
const PG = 'postgres://flowtap@127.0.0.1:55432/flowtap?schema=t';
const NATS = 'nats://127.0.0.1:54222?stream=T';

function dvd() {
  const app = loadApp(repoFile(DVD));
  assert.ok(app.ok);
  const addressing = planAddresses(app.value);
  assert.ok(addressing.ok);
  return { app: app.value, addressing: addressing.value };
}

test('the broker of a deployment: the embedded SQLite file of the state folder, a bus file of its own beside a server store', () => {
  assert.deepEqual(deploymentBroker({}, '/s'), { store: 'sqlite:/s/broker.db', bus: 'memory' });
  assert.deepEqual(deploymentBroker({ store: PG }, '/s'), { store: PG, bus: 'memory:/s/bus.db' });
  assert.deepEqual(deploymentBroker({ store: PG, bus: NATS }, '/s'), { store: PG, bus: NATS });
  assert.deepEqual(deploymentBroker({ bus: 'memory:/x/bus.db' }, '/s'), { store: 'sqlite:/s/broker.db', bus: 'memory:/x/bus.db' });
});

test('the relay serves TCP servers only; an address through it keeps user, database and parameters', () => {
  assert.deepEqual(relayTarget(PG), { host: '127.0.0.1', port: 55432 });
  assert.deepEqual(relayTarget('postgres://u@db.example.com/flowtap'), { host: 'db.example.com', port: 5432 });
  assert.deepEqual(relayTarget('nats://127.0.0.1'), { host: '127.0.0.1', port: 4222 });
  assert.deepEqual(relayTarget('nats://[::1]:4333'), { host: '::1', port: 4333 });
  // Files: every namespace reaches them as they are.
  for (const a of ['sqlite:/s/broker.db', 'memory', 'memory:/s/bus.db', 'postgres://u@localhost/db?host=/run/postgresql'])
    assert.equal(relayTarget(a), null, a);
  assert.equal(viaLoopback(PG, 40001), 'postgres://flowtap@127.0.0.1:40001/flowtap?schema=t');
  assert.equal(
    viaLoopback('postgres://u:secret@db.example.com/f?host=db2&schema=s', 40002),
    'postgres://u:secret@127.0.0.1:40002/f?schema=s',
  );
  assert.equal(viaLoopback(NATS, 40003), 'nats://127.0.0.1:40003?stream=T');
  assert.deepEqual(relayPlan({ store: PG, bus: 'memory:/s/bus.db' }, '/s/app'), {
    routes: [{ host: '127.0.0.1', port: 55432, socket: '/s/app/broker/store.sock' }],
    sockets: { store: '/s/app/broker/store.sock' },
  });
});

test("a node's agent spec: its instances (namespace, log, address, port) and monitors, the broker, the level; it reads back as valid", () => {
  const { app, addressing } = dvd();
  const spec = agentSpec(app, addressing, 'node2', {
    runDir: '/s/dvd-rental',
    broker: { store: PG, bus: NATS },
    relay: { store: '/s/dvd-rental/broker/store.sock', bus: '/s/dvd-rental/broker/bus.sock' },
    settings: { level: 2, periodMs: 1500 },
    since: 1_700_000_000_000,
  });
  assert.equal(spec.nodeNs, 'ft-dvd-rental-n-node2');
  // The one bridge an Open vSwitch push may change: the node's, by its index.
  assert.equal(spec.ovsBridge, ovsBridge('dvd-rental', addressing.nodes.node2.index));
  assert.notEqual(spec.ovsBridge, ovsBridge('dvd-rental', addressing.nodes.node1.index));
  assert.deepEqual(
    spec.instances.map((i) => [i.name, i.service, i.ns, i.ip, i.iface, i.logFile]),
    ['db-0', 'dvd-update-0', 'mq-0', 'shipping-0'].map((i) => [
      i,
      i.slice(0, -2),
      `ft-dvd-rental-i-${i}`,
      addressing.instances[i].ip,
      addressing.instances[i].port,
      `/s/dvd-rental/${i}/process.log`,
    ]),
  );
  assert.deepEqual(spec.monitors, [
    { name: 'mon-sql', logDir: '/s/dvd-rental/mon-sql' },
    { name: 'mon-node2', logDir: '/s/dvd-rental/mon-node2' },
    { name: 'mon-honeypot', logDir: '/s/dvd-rental/mon-honeypot' },
  ]);
  assert.deepEqual(spec.broker, {
    store: PG,
    bus: NATS,
    relay: { store: '/s/dvd-rental/broker/store.sock', bus: '/s/dvd-rental/broker/bus.sock' },
  });
  assert.deepEqual(
    [spec.level, spec.periodMs, spec.controlSince, spec.ready],
    [2, 1500, 1_700_000_000_000, '/s/dvd-rental/agents/node2.ready'],
  );
  const back = parseAgentSpec(JSON.stringify(spec), 'node2.json');
  assert.ok(back.ok, JSON.stringify(back));
  assert.deepEqual(back.value, spec);
});

/** The fake controller, with commands for the agents and the relay. */
function withAgents(): Prepare {
  const base = fakePrepare();
  return (spec, addressing) => ({
    ...base(spec, addressing),
    agentCommand: ({ specFile }) => ['flowtap', 'agent', '--spec', specFile],
    relayCommand: (routes) => ['flowtap', 'relay', ...routes.flatMap((r) => ['--route', `${r.socket}=${r.host}:${r.port}`])],
  });
}

async function upWithAgents(change: Partial<DeploymentSpec>, responder?: Responder) {
  const nft = new FakeNft();
  const rec = new RecordingSystem(nft.responder(responder));
  const env = testEnv(rec);
  const cloud = await localCloud(env).up(specOf(DVD, change), withAgents());
  return { rec, env, cloud };
}

const specAt = (file: string): AgentSpec => JSON.parse(readFileSync(file, 'utf8')) as AgentSpec;

test('up with a server broker: the relay on the host, then one agent per node in its namespace, each waited for, before any instance', async () => {
  const { rec, env, cloud } = await upWithAgents({ broker: { store: PG, bus: NATS }, agents: { level: 3, periodMs: 2000 } });
  const run = join(env.stateDir, 'dvd-rental');
  const lines = rec.commandLines();
  const relay = lines.findIndex((l) => l.startsWith('daemon flowtap relay'));
  assert.equal(
    lines[relay],
    `daemon flowtap relay --route ${run}/broker/store.sock=127.0.0.1:55432 --route ${run}/broker/bus.sock=127.0.0.1:54222`,
  );
  const agents = lines.flatMap((l, i) => (l.includes(' flowtap agent ') ? [i] : []));
  assert.deepEqual(
    agents.map((i) => lines[i]),
    ['node1', 'node2'].map((n) => `daemon ip netns exec ft-dvd-rental-n-${n} flowtap agent --spec ${run}/agents/${n}.json`),
  );
  const ready = lines.flatMap((l, i) => (l.startsWith('test -e ') ? [i] : []));
  assert.deepEqual(
    ready.map((i) => lines[i]),
    ['node1', 'node2'].map((n) => `test -e ${run}/agents/${n}.ready`),
  );
  const firstInstance = lines.findIndex((l) => l.startsWith('daemon ip netns exec ft-dvd-rental-i-'));
  const lastMonitor = Math.max(...lines.flatMap((l, i) => (l.startsWith('daemon ip netns exec ft-dvd-rental-m-') ? [i] : [])));
  assert.ok(lastMonitor < relay && relay < agents[0] && Math.max(...ready) < firstInstance, lines.join('\n'));
  const s1 = specAt(join(run, 'agents', 'node1.json'));
  assert.deepEqual(s1.broker.relay, { store: `${run}/broker/store.sock`, bus: `${run}/broker/bus.sock` });
  assert.deepEqual([s1.level, s1.periodMs], [3, 2000]);
  const status = await cloud.status({ probe: false });
  assert.deepEqual(
    status.processes.filter((p) => p.owner === 'relay' || p.owner.startsWith('agent:')).map((p) => [p.owner, p.ns ?? 'host']),
    [
      ['relay', 'host'],
      ['agent:node1', 'ft-dvd-rental-n-node1'],
      ['agent:node2', 'ft-dvd-rental-n-node2'],
    ],
  );
  assert.deepEqual(cloud.spec().broker, { store: PG, bus: NATS });
});

test('an embedded broker needs no relay; no broker in the spec, no agents', async () => {
  const embedded = await upWithAgents({ broker: { store: 'sqlite:/s/broker.db', bus: 'memory' } });
  assert.equal(embedded.rec.commandLines().filter((l) => l.includes('flowtap relay')).length, 0);
  assert.equal(embedded.rec.commandLines().filter((l) => l.includes('flowtap agent')).length, 2);
  assert.equal(specAt(join(embedded.env.stateDir, 'dvd-rental', 'agents', 'node1.json')).broker.relay, undefined);
  assert.deepEqual(embedded.cloud.spec().agents, { level: 1, periodMs: 5000 }, 'the default settings are recorded');
  const none = await upWithAgents({});
  assert.deepEqual(
    none.rec.commandLines().filter((l) => /flowtap (agent|relay)|test -e/.test(l)),
    [],
  );
});

test('an agent that exits before it is ready fails up, naming its node and log', async () => {
  const rec = new RecordingSystem(new FakeNft().responder((argv) => (argv[0] === 'test' ? { code: 1 } : undefined)));
  const env = testEnv(rec);
  const alive = rec.alive.bind(rec);
  // Agents die at once; everything else lives.
  const agentPids = new Set<number>();
  const daemon = rec.daemon.bind(rec);
  rec.daemon = (spec) => {
    const p = daemon(spec);
    if (spec.argv.includes('agent')) agentPids.add(p.pid);
    return p;
  };
  rec.alive = (pid) => !agentPids.has(pid) && alive(pid);
  await assert.rejects(
    localCloud(env).up(specOf(DVD, { broker: { store: 'sqlite:/s/b.db', bus: 'memory' } }), withAgents()),
    /the agent on node1 exited before it started; see .*agents\/node1\.log/,
  );
});

test('move restarts the agents of the old and the new node from new specs; down stops the agents before anything else', async () => {
  const { rec, env, cloud } = await upWithAgents({ broker: { store: 'sqlite:/s/broker.db', bus: 'memory' } });
  const run = join(env.stateDir, 'dvd-rental');
  const before = rec.calls.flatMap((c) => (c.kind === 'daemon' && c.argv.includes('agent') ? [c.pid] : []));
  const from = rec.calls.length;
  await cloud.move('shipping-0', 'node1');
  const after = rec.calls.slice(from);
  assert.ok(
    after.some((c) => c.kind === 'stop' && c.pids.join(' ') === before.join(' ')),
    'both agents stopped',
  );
  assert.equal(after.filter((c) => c.kind === 'daemon' && c.argv.includes('agent')).length, 2);
  assert.deepEqual(
    specAt(join(run, 'agents', 'node1.json')).instances.map((i) => i.name),
    ['contract-update-0', 'dvd-return-0', 'shipping-0', 'user-create-0', 'user-update-0'],
  );
  assert.ok(!specAt(join(run, 'agents', 'node2.json')).instances.some((i) => i.name === 'shipping-0'));
  const agents = rec.calls.slice(from).flatMap((c) => (c.kind === 'daemon' && c.argv.includes('agent') ? [c.pid] : []));
  const others = (await cloud.status({ probe: false })).processes.filter((p) => !p.owner.startsWith('agent:')).map((p) => p.pid);
  const mark = rec.calls.length;
  await localCloud(env).down('dvd-rental');
  const stops = rec.calls.slice(mark).flatMap((c) => (c.kind === 'stop' ? [c.pids] : []));
  assert.deepEqual(stops[0], agents, 'the agents first, so they ship what they hold');
  assert.deepEqual(stops[1], others);
});
