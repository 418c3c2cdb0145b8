/**
 * LocalFleet over a state folder as the local cloud leaves it, without root: a hand-written
 * state file for examples/web-sql (what state-file.ts validates), a real SQLite broker in the
 * folder, and the orchestrator attached through the recording system with a stand-in nft.
 * Agents and a controller are played by the test on the broker's bus.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBroker, type Broker, type BusMessage } from '../broker/index.js';
import { adminSubject, controllerPidFile, prepareDeployment, type Reaction } from '../controller/index.js';
import type { FlowtapError } from '../diagnostics/index.js';
import { loadApp, planAddresses, type Addressing } from '../model/index.js';
import { localCloud, type Prepare } from '../orchestrator/index.js';
import { FakeNft } from '../orchestrator/testing.js';
import { RecordingSystem } from '../system/index.js';
import type { Actor } from './fleet.js';
import { maskAddress } from './deployments.js';
import { LocalFleet } from './local-fleet.js';

function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'examples', 'web-sql', 'app.yaml'))) return dir;
    if (dirname(dir) === dir) throw new Error('repository root not found');
  }
}

const ROOT = repoRoot();
const DESCRIPTOR = join(ROOT, 'examples', 'web-sql', 'app.yaml');
const CREATED = '2025-03-01T10:00:00.000Z';
const BY: Actor = { tenant: 'demo', tokenId: 'abcdefabcdef', tokenName: 'ci' };
const POLICY = 'tap(I, M, "tcp,tp_dst=3306", "forward") :- instance(I, "sql", N), monitor(M, N, _).\n';

let dir: string;
let broker: Broker;
let fleet: LocalFleet;
let addressing: Addressing;

const prepare: Prepare = (spec, at) => {
  const d = prepareDeployment(spec.descriptor, { ...spec }, at);
  return { app: d.app, addressing: d.addressing, desired: d.desired, summary: 'test' };
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flowtap-fleet-'));
  const app = loadApp(DESCRIPTOR);
  assert.ok(app.ok);
  const planned = planAddresses(app.value);
  assert.ok(planned.ok);
  addressing = planned.value;
  const store = `sqlite:${join(dir, 'broker.db')}`;
  writeFileSync(
    join(dir, 'web-sql.json'),
    JSON.stringify({
      version: 2,
      app: 'web-sql',
      tenant: 'demo',
      createdAt: CREATED,
      phase: 'running',
      spec: {
        descriptor: DESCRIPTOR,
        policies: [],
        mode: 'enforce',
        strategy: 'per-node',
        downMonitors: [],
        broker: { store, bus: 'memory' },
        agents: { level: 1, periodMs: 5000 },
      },
      addressing,
      namespaces: [],
      processes: [],
      isolated: ['web-0'],
      terminated: [],
    }),
  );
  // Not deployments: the token store, a damaged state file, a temporary file.
  writeFileSync(join(dir, 'tokens.json'), '{"version":1,"tokens":[]}');
  writeFileSync(join(dir, 'broken.json'), '{"version":2');
  writeFileSync(join(dir, 'web-sql.json.tmp'), '{}');
  const b = await openBroker({ store, bus: 'memory' });
  assert.ok(b.ok);
  broker = b.value;
  const nft = new FakeNft();
  // The probe agent, everywhere: every port it is asked about answers.
  const system = new RecordingSystem(
    nft.responder((argv) =>
      argv[1]?.endsWith('probe-agent.js')
        ? { stdout: JSON.stringify((JSON.parse(argv[2]) as unknown[]).map(() => ({ open: true }))) }
        : undefined,
    ),
  );
  fleet = new LocalFleet({
    stateDir: dir,
    attach: async (name) => localCloud({ system, stateDir: dir, root: ROOT }).attach(name, prepare),
    answerTimeoutMs: 2000,
  });
});

after(async () => {
  await fleet.close();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

const ipOf = (i: string) => addressing.instances[i].ip;

test('local fleet: the deployments of a state folder, read from their state files', async () => {
  assert.deepEqual(await fleet.apps(), [{ name: 'web-sql', tenant: 'demo' }]);
  assert.equal(await fleet.find('broken'), null);
  assert.equal(await fleet.find('tokens'), null);
  assert.equal(await fleet.find('../web-sql'), null);
  const s = await fleet.summary('web-sql');
  assert.deepEqual(
    { ...s },
    {
      name: 'web-sql',
      tenant: 'demo',
      since: CREATED,
      mode: 'enforce',
      strategy: 'per-node',
      nodes: ['node1'],
      services: 2,
      instances: 2,
      quarantined: ['web-0'],
      controller: { running: false },
    },
  );
  const d = await fleet.detail('web-sql');
  assert.deepEqual(
    d.instances.map((i) => [i.name, i.status, i.ip]),
    [
      ['web-0', 'isolated', ipOf('web-0')],
      ['sql-0', 'running', ipOf('sql-0')],
    ],
  );
  assert.deepEqual(d.monitors, [{ name: 'mon1', node: 'node1', status: 'down' }], 'no process in the monitor’s namespace');
  const fw = await fleet.firewall('web-sql');
  assert.ok(fw.rules.length > 0);
  assert.ok(!fw.rules.some((r) => r.target === 'web-0'), 'the quarantined instance keeps no allow rule');
  await assert.rejects(fleet.summary('nope'), (e: FlowtapError) => e.diagnostics[0].code === 'E_API_NOT_FOUND');
});

test('local fleet: graph, notices with their reaction, reactions and verbosity from the broker', async () => {
  const now = Date.now();
  const flow = (ts: number, bytes: number, src: string, dst: string, dport: number, key: string) => ({
    ts,
    kind: 'flow' as const,
    tenant: 'demo',
    app: 'web-sql',
    node: 'node1',
    provenance: key,
    data: { proto: 'tcp', src, dst, sport: 40000, dport, origBytes: bytes, replyBytes: 0, origPackets: 1, replyPackets: 1 },
  });
  await broker.store.append([
    flow(now - 20_000, 100, '198.51.100.7', ipOf('web-0'), 80, 'ct:a'),
    flow(now - 10_000, 400, '198.51.100.7', ipOf('web-0'), 80, 'ct:a'),
    flow(now - 5_000, 3000, ipOf('web-0'), ipOf('sql-0'), 3306, 'ct:b'),
    flow(now - 300_000, 9999, ipOf('web-0'), ipOf('sql-0'), 3306, 'ct:old'),
  ]);
  const g = await fleet.graph('web-sql');
  assert.deepEqual(
    g.observed.map((e) => [e.from, e.to, e.port, e.bytes, e.rateBps]),
    [
      ['external', 'inst:web-0', 80, 400, 10],
      ['inst:web-0', 'inst:sql-0', 3306, 3000, 100],
    ],
  );
  assert.deepEqual(
    g.required.map((r) => [r.from, r.to, r.port]),
    [
      ['external', 'svc:web', 80],
      ['svc:web', 'svc:sql', 3306],
    ],
  );
  assert.deepEqual(
    g.instances.map((i) => [i.id, i.quarantined]),
    [
      ['inst:web-0', true],
      ['inst:sql-0', false],
    ],
  );

  const notice = {
    ts: now,
    kind: 'notice' as const,
    tenant: 'demo',
    app: 'web-sql',
    node: 'node1',
    provenance: 'Cabc',
    data: {
      note: 'FlowTap::SQL_Injection',
      msg: 'tautology',
      monitor: 'mon1',
      src: ipOf('web-0'),
      dst: ipOf('sql-0'),
      p: 3306,
      evidence: { table: 'film' },
    },
  };
  await broker.store.append([notice]);
  const [n] = await fleet.notices('web-sql', { limit: 5 });
  assert.equal(n.note, 'FlowTap::SQL_Injection');
  assert.deepEqual(n.src, { ip: ipOf('web-0'), instance: 'web-0', service: 'web' });
  assert.deepEqual(n.dst, { ip: ipOf('sql-0'), instance: 'sql-0', service: 'sql', port: 3306 });
  assert.deepEqual(n.evidence, { table: 'film' });
  assert.equal(n.reaction, undefined);
  const r: Reaction = {
    id: 'r-abc',
    deployment: CREATED,
    notice: n.id,
    note: n.note,
    action: { kind: 'quarantine', instance: 'web-0' } as Reaction['action'],
    state: 'applied',
    rule: 'r',
    derivation: '',
    blastRadius: [],
    createdAt: now,
  };
  const old: Reaction = { ...r, id: 'r-old', deployment: '2024-01-01T00:00:00.000Z' };
  // As the controller's ledger writes them (reactionRecord in src/controller/reaction/ledger.ts).
  const step = (x: Reaction) => ({
    ts: now,
    kind: 'reaction' as const,
    tenant: 'demo',
    app: 'web-sql',
    provenance: x.notice,
    data: { event: 'applied', reaction: x },
  });
  await broker.store.append([step(r), step(old)]);
  assert.deepEqual((await fleet.notices('web-sql', {}))[0].reaction, { id: 'r-abc', state: 'applied' });
  assert.deepEqual(
    (await fleet.reactions('web-sql')).map((x) => x.id),
    ['r-abc'],
    'only the deployment in force',
  );

  await broker.store.append([
    {
      ts: now,
      kind: 'config',
      tenant: 'demo',
      app: 'web-sql',
      node: 'node1',
      data: {
        what: 'agent',
        event: 'started',
        settings: {
          counters: { level: 1, periodMs: 5000, active: true },
          flows: { level: 1, periodMs: 5000, active: false, instances: ['web-0'] },
        },
      },
    },
  ]);
  assert.deepEqual((await fleet.verbosity('web-sql')).nodes, {
    node1: {
      counters: { level: 1, periodMs: 5000, active: true },
      flows: { level: 1, periodMs: 5000, active: false, filters: { instances: ['web-0'] } },
    },
  });
});

test('local fleet: a verbosity change goes to the agents on the bus and returns their acknowledgements', async () => {
  const seen: { subject: string; data: Record<string, unknown> }[] = [];
  // The agent of node1, as far as the API can tell: it acknowledges with a 'config' record.
  const sub = await broker.bus.subscribe('flowtap.demo.web-sql.control.*', async (m: BusMessage) => {
    const data = m.data as Record<string, unknown>;
    seen.push({ subject: m.subject, data });
    await broker.store.append([
      {
        ts: Date.now(),
        kind: 'config',
        tenant: 'demo',
        app: 'web-sql',
        node: 'node1',
        data: { what: 'verbosity', id: data.id, outcome: 'applied', settings: {} },
      },
    ]);
  });
  try {
    const all = await fleet.setVerbosity('web-sql', { level: 3, periodMs: 1000 }, BY);
    assert.deepEqual(all.acks, [{ node: 'node1', outcome: 'applied' }]);
    assert.equal(seen[0].subject, 'flowtap.demo.web-sql.control._all');
    assert.deepEqual(seen[0].data, { id: all.change, level: 3, periodMs: 1000, instances: null });
    const one = await fleet.setVerbosity('web-sql', { services: ['sql'], level: 4, collector: 'syscalls' }, BY);
    assert.deepEqual(one.acks, [{ node: 'node1', outcome: 'applied' }]);
    assert.equal(seen[1].subject, 'flowtap.demo.web-sql.control.node1');
    assert.deepEqual(seen[1].data.instances, ['sql-0']);
    await assert.rejects(
      fleet.setVerbosity('web-sql', { node: 'node9', level: 2 }, BY),
      (e: FlowtapError) => e.diagnostics[0].loc?.field === 'node',
    );
    await assert.rejects(
      fleet.setVerbosity('web-sql', { services: ['nope'], level: 2 }, BY),
      (e: FlowtapError) => e.diagnostics[0].code === 'E_UNKNOWN_SERVICE',
    );
  } finally {
    await sub.unsubscribe();
  }
});

test('local fleet: policies are saved under STATE/APP/policies and applied through the orchestrator; a bad one changes nothing', async () => {
  const bad = await fleet.reconfigure('web-sql', { policies: [{ name: 'broken', text: 'tap(I :- .' }] }, BY);
  assert.equal(bad.outcome, 'failed');
  assert.ok(bad.errors && bad.errors.length > 0 && bad.errors[0].message.startsWith('broken.dl'));
  assert.ok(!existsSync(join(dir, 'web-sql', 'policies', 'broken.dl')));

  const unknown = fleet.reconfigure('web-sql', { downMonitors: ['mon9'] }, BY);
  await assert.rejects(
    unknown,
    (e: FlowtapError) => e.diagnostics[0].code === 'E_UNKNOWN_MONITOR' && e.diagnostics[0].loc?.field === 'downMonitors.0',
  );

  const ok = await fleet.reconfigure('web-sql', { policies: [{ name: 'sql-watch', text: POLICY }], mode: 'audit' }, BY);
  assert.deepEqual(ok, { outcome: 'applied', via: 'orchestrator' });
  const p = await fleet.policies('web-sql');
  assert.deepEqual(
    p.policies.map((x) => [x.name, x.path, x.text]),
    [['sql-watch', join(dir, 'web-sql', 'policies', 'sql-watch.dl'), POLICY]],
  );
  assert.equal(p.mode, 'audit');
  const taps = await fleet.taps('web-sql');
  assert.ok(taps.contracts.length > 0 && taps.contracts.every((c) => c.src === 'sql-0' && c.dst === 'mon1' && c.policy === 'sql-watch'));
  assert.deepEqual(
    taps.placement.map((x) => [x.instance, x.srcNode, x.monitor, x.dstNode, x.crossNode]),
    taps.contracts.map(() => ['sql-0', 'node1', 'mon1', 'node1', false]),
  );
  assert.ok((await fleet.graph('web-sql')).taps.some((x) => x.instance === 'inst:sql-0' && x.port === 3306 && x.monitor === 'mon:mon1'));
  assert.deepEqual(readdirSync(join(dir, 'web-sql', 'policies')), ['sql-watch.dl']);
});

test('local fleet: with a controller running, a change goes through it and its answer decides; reaction ops need it', async () => {
  await assert.rejects(fleet.reactionOp('web-sql', 'undo', 'r-abc', BY), (e: FlowtapError) => e.diagnostics[0].code === 'E_API_CONFLICT');
  const pid = controllerPidFile(dir, 'web-sql');
  mkdirSync(dirname(pid), { recursive: true });
  writeFileSync(pid, `${process.pid}\n`);
  const requests: Record<string, unknown>[] = [];
  // The controller, as far as the API can tell: it answers on the admin subject with a record.
  const sub = await broker.bus.subscribe(adminSubject('demo', 'web-sql'), async (m: BusMessage) => {
    const req = m.data as Record<string, unknown>;
    requests.push(req);
    const base = { ts: Date.now(), tenant: 'demo', app: 'web-sql' };
    if (req.op === 'reconfigure') {
      const change = req.change as { mode?: string; policies?: string[] };
      // A controller configuring through the agents answers in steps: only the last one ends the wait.
      if (change.mode === 'enforce') {
        await broker.store.append([{ ...base, kind: 'config', data: { request: req.request, workflow: 'changed-1', step: 'rendered' } }]);
        await new Promise((r) => setTimeout(r, 300));
        await broker.store.append([
          { ...base, kind: 'config', data: { request: req.request, workflow: 'changed-1', step: 'verified', ok: true } },
        ]);
      } else if (change.mode === 'audit' && !change.policies)
        await broker.store.append([{ ...base, kind: 'config', data: { request: req.request, op: 'reconfigure', outcome: 'applied' } }]);
      else
        await broker.store.append([
          { ...base, kind: 'audit', data: { request: req.request, ok: false, code: 'E_RECONFIGURE', error: 'refused by the test' } },
        ]);
    } else if (req.op === 'undo')
      await broker.store.append([
        { ...base, kind: 'audit', data: { request: req.request, ok: false, code: 'E_REACTION_STATE', error: 'nothing to undo' } },
      ]);
  });
  try {
    assert.equal((await fleet.summary('web-sql')).controller.running, true);
    const t0 = Date.now();
    assert.deepEqual(await fleet.reconfigure('web-sql', { mode: 'enforce' }, BY), { outcome: 'applied', via: 'controller' });
    assert.ok(Date.now() - t0 >= 300, 'waited for the workflow to end, not for its first step');
    assert.deepEqual(await fleet.reconfigure('web-sql', { mode: 'audit' }, BY), { outcome: 'applied', via: 'controller' });
    const refused = await fleet.reconfigure('web-sql', { policies: [{ name: 'sql-watch', text: `// v2\n${POLICY}` }], mode: 'audit' }, BY);
    assert.equal(refused.outcome, 'failed');
    assert.equal(refused.errors?.[0].code, 'E_RECONFIGURE');
    assert.equal(readFileSync(join(dir, 'web-sql', 'policies', 'sql-watch.dl'), 'utf8'), POLICY, 'the refused text was taken back');
    await assert.rejects(
      fleet.reactionOp('web-sql', 'undo', 'r-abc', BY),
      (e: FlowtapError) => e.diagnostics[0].code === 'E_REACTION_STATE',
    );
    assert.deepEqual(
      requests.map((r) => [r.op, r.by]),
      [
        ['reconfigure', 'api:ci(abcdefabcdef)'],
        ['reconfigure', 'api:ci(abcdefabcdef)'],
        ['reconfigure', 'api:ci(abcdefabcdef)'],
        ['undo', 'api:ci(abcdefabcdef)'],
      ],
    );
  } finally {
    await sub.unsubscribe();
    rmSync(pid, { force: true });
  }
});

test('local fleet: writes are audited in the deployment’s broker; store figures with the password masked; counters via the orchestrator', async () => {
  await fleet.audit('web-sql', { by: BY, method: 'PUT', route: '/api/v1/apps/web-sql/verbosity', status: 200, outcome: 'ok' });
  const [a] = await broker.store.query({ kinds: ['audit'], text: 'verbosity', order: 'desc', limit: 1 });
  assert.equal(a.tenant, 'demo');
  assert.deepEqual(a.data.token, { id: 'abcdefabcdef', name: 'ci', tenant: 'demo' });
  assert.equal(maskAddress('postgres://flowtap:s3cret@db:5432/flowtap?schema=x'), 'postgres://flowtap:***@db:5432/flowtap?schema=x');
  assert.equal(maskAddress('nats://broker:4222'), 'nats://broker:4222');
  const s = await fleet.storeStats('web-sql');
  assert.equal(s.store, `sqlite:${join(dir, 'broker.db')}`);
  assert.ok(s.stats.records > 0);
  const counters = await fleet.counters('web-sql');
  assert.ok(counters.node1 && counters.node1.length > 0, 'the stand-in nft holds the rules the reconfigure applied');
  assert.equal(await fleet.reactionRules('web-sql'), null);
});

test('local fleet: the probe matrix against what the descriptor requires, quarantine included', async () => {
  const p = await fleet.probe('web-sql', BY);
  assert.deepEqual(
    p.probes.map((x) => [x.from, x.to, x.port, x.open, x.expected]),
    [
      ['external', 'web-0', 80, true, false],
      ['external', 'sql-0', 3306, true, false],
      ['web-0', 'sql-0', 3306, true, false],
      ['sql-0', 'web-0', 80, true, false],
    ],
    'web-0 is quarantined: nothing to or from it is expected open',
  );
  assert.equal(p.extra.length, 4);
  assert.deepEqual(p.missing, []);
  assert.equal(p.ok, false);
});
