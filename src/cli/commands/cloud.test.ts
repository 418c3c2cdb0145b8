/**
 * The cloud commands against the recording system, without root: what reaches the data plane
 * after `up` and every operation (the configuration the backend applied, as the state records
 * it), their --json output, and status. The state lives in a folder of the test's own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { prepareDeployment } from '../../controller/index.js';
import { fullScript, renderNodeConfig, type NftApplied, type NftNodeConfig } from '../../dataplane/index.js';
import type { FlowtapError } from '../../diagnostics/index.js';
import type { ManagementContext } from '../../orchestrator/index.js';
import { RecordingSystem, type Responder } from '../../system/index.js';
import { attachCloud, type CloudEnv } from '../attach.js';
import { cmdDown, cmdOperation, cmdStatus, cmdUp } from './cloud.js';
import { main } from '../main.js';
import { captureIo } from '../testing.js';

const DVD = 'examples/dvd-rental';
const POLICIES = ['examples/dvd-rental/policies/database.dl', 'examples/dvd-rental/policies/public-http.dl'];

const capture = captureIo;

function setup(responder?: Responder): { rec: RecordingSystem; env: CloudEnv } {
  const rec = new RecordingSystem(responder);
  return { rec, env: { system: rec, stateDir: mkdtempSync(join(tmpdir(), 'flowtap-cli-cloud-')), monitorSettleMs: 0 } };
}

/** The configuration the data-plane backend applied last on each node, as the state file records it. */
function inForce(env: CloudEnv, app: string): Record<string, NftNodeConfig> {
  const state = JSON.parse(readFileSync(join(env.stateDir!, `${app}.json`), 'utf8')) as { dataplane: Record<string, NftApplied> };
  return Object.fromEntries(Object.entries(state.dataplane).map(([node, a]) => [node, a.config]));
}

/** The nodes whose namespace got an nft transaction since call `from`. */
function touched(rec: RecordingSystem, from: number): string[] {
  const nodes = rec.calls
    .slice(from)
    .flatMap((c) =>
      c.kind === 'run' && c.argv[0] === 'nft' && c.argv.includes('-f') && !c.argv.includes('-c') && c.ns
        ? [c.ns.replace('ft-dvd-rental-n-', '')]
        : [],
    );
  return [...new Set(nodes)].sort();
}

test('up --strategy per-app then every operation re-renders from the whole recorded spec (regression: it fell back to per-node)', async () => {
  const { rec, env } = setup();
  const io = capture();
  assert.equal(await cmdUp(io, DVD, { policy: POLICIES, mode: 'audit', strategy: 'per-app', json: true }, env), 0);
  const upJson = JSON.parse(io.out_.join('\n'));
  assert.deepEqual(upJson.spec, {
    descriptor: resolve(DVD, 'app.yaml'),
    policies: POLICIES.map((p) => resolve(p)),
    mode: 'audit',
    strategy: 'per-app',
    downMonitors: [],
    broker: { store: `sqlite:${join(env.stateDir!, 'broker.db')}`, bus: 'memory' },
    agents: { level: 1, periodMs: 5000 },
  });
  // A monitor is marked down by another process; the operations after it must keep that too.
  await (await attachCloud(io, 'dvd-rental', env)).reconfigure({ downMonitors: ['mon-sql'] });
  const spec = {
    policies: POLICIES.map((p) => resolve(p)),
    mode: 'audit' as const,
    strategy: 'per-app' as const,
    downMonitors: ['mon-sql'],
  };
  const render = (dep: ReturnType<typeof prepareDeployment>, node: string, ctx: ManagementContext) => {
    const c = renderNodeConfig(dep.desired(node, ctx));
    assert.ok(c.ok);
    return c.value;
  };
  const expected = (ctx: ManagementContext) => {
    const dep = prepareDeployment(resolve(DVD, 'app.yaml'), spec, ctx.addressing);
    return { node1: render(dep, 'node1', ctx), node2: render(dep, 'node2', ctx) };
  };
  const ops: [Parameters<typeof cmdOperation>[1], string, string | undefined][] = [
    ['isolate', 'db-0', undefined],
    ['release', 'db-0', undefined],
    ['terminate', 'shipping-0', undefined],
    ['redeploy', 'shipping-0', undefined],
    ['move', 'shipping-0', 'node1'],
  ];
  for (const [op, instance, node] of ops) {
    const from = rec.calls.length;
    const o = capture();
    assert.equal(await cmdOperation(o, op, 'dvd-rental', instance, node, true, env), 0);
    const r = JSON.parse(o.out_.join('\n'));
    assert.equal(r.operation, op);
    assert.ok(touched(rec, from).length > 0, `${op} changed the data plane`);
    assert.deepEqual(inForce(env, 'dvd-rental'), expected(r.context), `${op}: the configuration applied is that of the recorded spec`);
  }
  // The difference is real: the defaults would have rendered other rules.
  const ctx = (await attachCloud(io, 'dvd-rental', env)).context();
  const defaults = prepareDeployment(resolve(DVD, 'app.yaml'), { policies: spec.policies, mode: 'enforce' }, ctx.addressing);
  assert.notDeepEqual(render(defaults, 'node2', ctx), expected(ctx).node2);
  assert.match(fullScript(expected(ctx).node2), /left out: monitor mon-sql is down/);
});

test('--json on every operation: what was done, its events and the management context after it', async () => {
  const { env } = setup();
  await cmdUp(capture(), 'examples/web-sql', { policy: [], mode: 'enforce', strategy: 'per-node', json: false }, env);
  const io = capture();
  await cmdOperation(io, 'isolate', 'examples/web-sql', 'web-0', undefined, true, env);
  const r = JSON.parse(io.out_.join('\n'));
  assert.equal(r.ok, true);
  assert.equal(r.instance, 'web-0');
  assert.equal('node' in r, false);
  assert.deepEqual(
    r.events.map((e: { type: string; instance: string }) => `${e.type} ${e.instance}`),
    ['isolated web-0'],
  );
  assert.deepEqual(r.context.status, { 'web-0': 'isolated', 'sql-0': 'running' });
  assert.equal(r.context.addressing.instances['web-0'].ip, '10.77.0.2');
  // Without --json, one line per event.
  const text = capture();
  await cmdOperation(text, 'release', 'web-sql', 'web-0', undefined, false, env);
  assert.equal(text.out_.length, 1);
  assert.match(text.out_[0], /^\S+ released web-0 on node1$/);
  await assert.rejects(
    cmdOperation(capture(), 'isolate', 'web-sql', 'nope', undefined, true, env),
    (e: FlowtapError) => e.diagnostics[0].code === 'E_UNKNOWN_INSTANCE',
  );
});

test('status tells a daemonised server that listens from a process that is gone, per instance, with --json', async () => {
  let probing = false;
  const taps = JSON.stringify({
    nftables: [
      {
        rule: {
          family: 'netdev',
          table: 'flowtap_taps',
          chain: 'tap_ft0',
          handle: 9,
          comment: 'c1 web -> mon1',
          expr: [{ counter: { packets: 3, bytes: 180 } }],
        },
      },
      {
        rule: {
          family: 'netdev',
          table: 'flowtap_taps',
          chain: 'tap_ft0',
          handle: 10,
          comment: 'idle',
          expr: [{ counter: { packets: 0, bytes: 0 } }],
        },
      },
    ],
  });
  const counters = JSON.stringify({
    nftables: [
      {
        rule: {
          family: 'inet',
          table: 'flowtap',
          chain: 'forward',
          handle: 4,
          comment: 'in_sql_0 allow web',
          expr: [{ counter: { packets: 7, bytes: 420 } }],
        },
      },
    ],
  });
  const { rec, env } = setup((argv, opts) => {
    if (argv.join(' ') === 'ip netns pids ft-web-sql-i-sql-0') return { stdout: '700 701\n' };
    if (argv.join(' ') === 'ip netns pids ft-web-sql-m-mon1') return { stdout: '800\n' };
    if (argv[0] === 'nc' && probing) return { code: opts.ns === 'ft-web-sql-i-sql-0' ? 0 : 1 };
    if (argv.join(' ') === 'nft -j list ruleset')
      return { stdout: JSON.stringify({ nftables: [...JSON.parse(counters).nftables, ...JSON.parse(taps).nftables] }) };
    return undefined;
  });
  await cmdUp(capture(), 'examples/web-sql', { policy: [], mode: 'enforce', strategy: 'per-node', json: false }, env);
  probing = true;
  // The pid started for sql-0 (a script that daemonises PostgreSQL) has exited.
  const sqlPid = rec.calls.find((c) => c.kind === 'daemon' && c.ns === 'ft-web-sql-i-sql-0');
  assert.ok(sqlPid?.kind === 'daemon');
  await rec.stop([sqlPid.pid]);
  const io = capture();
  assert.equal(await cmdStatus(io, 'web-sql', true, env), 0);
  const s = JSON.parse(io.out_.join('\n'));
  assert.deepEqual(
    s.instances.map((i: { instance: string; health: string; processes: number }) => [i.instance, i.health, i.processes]),
    [
      ['web-0', 'down', 0],
      ['sql-0', 'listening', 2],
    ],
  );
  assert.deepEqual(
    s.monitors.map((m: { monitor: string; health: string }) => [m.monitor, m.health]),
    [['mon1', 'running']],
  );
  assert.equal(s.spec.strategy, 'per-node');
  assert.equal(s.addressing.instances['sql-0'].ip, '10.77.0.3');
  assert.equal(s.processes.find((p: { owner: string }) => p.owner === 'sql-0').alive, false);
  // Both tables the backend applied, rules that matched only.
  assert.deepEqual(s.counters.node1, [
    { rule: 'flowtap forward: in_sql_0 allow web', packets: 7, bytes: 420 },
    { rule: 'flowtap_taps tap_ft0: c1 web -> mon1', packets: 3, bytes: 180 },
  ]);
  const text = capture();
  await cmdStatus(text, 'web-sql', false, env);
  const out = text.out_.join('\n');
  assert.match(out, /sql-0 +node1 +10\.77\.0\.3 +running +listening +3306 open \(2 processes\)/);
  assert.match(out, /web-0 +node1 +10\.77\.0\.2 +running +down +80 closed \(0 processes\)/);
  assert.match(out, /monitor mon1 +node1 +running, 1 processes, 0 notices/);
  assert.match(out, /^broker: store sqlite:.*\/broker\.db, bus memory; agents started at level 1, every 5 s$/m);
  assert.match(out, /^agent node1 +running \(pid \d+ in ft-web-sql-n-node1\), log .*\/web-sql\/agents\/node1\.log$/m);
  assert.match(
    out,
    /data-plane counters on node1 \(rules that matched\):\n +7 pkts +420 B {2}flowtap forward: in_sql_0 allow web\n +3 pkts +180 B {2}flowtap_taps tap_ft0: c1 web -> mon1/,
  );
});

test('a damaged state file is a clear error naming the file and the field; down still removes what it finds', async () => {
  const { env } = setup((argv) => (argv.join(' ') === 'ip netns list' ? { stdout: 'ft-web-sql-n-node1\n' } : undefined));
  await cmdUp(capture(), 'examples/web-sql', { policy: [], mode: 'enforce', strategy: 'per-app', json: false }, env);
  const file = join(env.stateDir!, 'web-sql.json');
  const state = JSON.parse(readFileSync(file, 'utf8'));
  state.spec.strategy = 'per-rack';
  writeFileSync(file, JSON.stringify(state));
  await assert.rejects(cmdStatus(capture(), 'web-sql', false, env), (e: FlowtapError) => {
    assert.equal(e.diagnostics[0].code, 'E_STATE_FILE');
    assert.deepEqual(e.diagnostics[0].loc, { file, field: 'spec.strategy' });
    return true;
  });
  const io = capture();
  assert.equal(await cmdDown(io, 'web-sql', true, env), 0);
  assert.deepEqual(JSON.parse(io.out_.join('\n')).namespaces, ['ft-web-sql-n-node1']);
  await assert.rejects(cmdStatus(capture(), 'web-sql', false, env), (e: FlowtapError) => e.diagnostics[0].code === 'E_NOT_UP');
});

test('up checks its broker before it builds anything: a bad address or an unreachable server exits 2 and leaves nothing', async () => {
  for (const [store, bus, pattern] of [
    ['mysql://x', undefined, /store "mysql:\/\/x": unknown kind of store/],
    ['sqlite::memory:', undefined, /the store must be shared by the agents and the commands/],
    [undefined, 'memory::memory:', /the bus must be shared/],
    ['postgres://flowtap@127.0.0.1:1/flowtap', undefined, /PostgreSQL .*127\.0\.0\.1:1/],
  ] as const) {
    const { rec, env } = setup();
    const io = capture();
    const argv = ['up', 'examples/web-sql', ...(store ? ['--store', store] : []), ...(bus ? ['--bus', bus] : [])];
    assert.equal(await main(argv, io, env), 2, argv.join(' '));
    assert.match(io.err_.join('\n'), pattern);
    assert.deepEqual(rec.calls, [], 'nothing was run');
    assert.equal(existsSync(join(env.stateDir!, 'web-sql.json')), false, 'no state');
  }
  const { env } = setup();
  for (const [args, pattern] of [
    [['--level', '5'], /--level.*expected a level from 0 to 4/],
    [['--period', '0.01'], /--period.*from 0\.1 to 3600/],
  ] as const) {
    const io = capture();
    assert.equal(await main(['up', 'examples/web-sql', ...args], io, env), 2);
    assert.match(io.err_.join('\n'), pattern);
  }
});

test('up --inline-mode queue: kept in the spec, the monitor namespace steered into queues at topology time, monitors run --inline=queue; hold as before', async () => {
  const APP = 'test/fixtures/web-inline';
  const POLICY = ['test/fixtures/policies/web-inline-closed.dl'];
  const MON = 'ft-web-inline-m-mon1';
  const upWith = async (inlineMode: 'hold' | 'queue', inlineWorkers?: number) => {
    const { rec, env } = setup();
    const io = capture();
    const o = { policy: POLICY, mode: 'enforce' as const, strategy: 'per-node' as const, inlineMode, json: true };
    assert.equal(await cmdUp(io, APP, { ...o, ...(inlineWorkers ? { inlineWorkers } : {}) }, env), 0);
    const inMon = rec.calls.flatMap((c) =>
      c.kind === 'run' && c.argv.slice(0, 4).join(' ') === `ip netns exec ${MON}` ? [c.argv.slice(4)] : [],
    );
    const monitorArgv = rec.calls.flatMap((c) => (c.kind === 'daemon' && c.argv.includes('monitor') ? [c.argv] : []));
    return { rec, env, io, spec: JSON.parse(io.out_.join('\n')).spec, inMon, monitorArgv };
  };

  const q = await upWith('queue');
  assert.equal(q.spec.inlineMode, 'queue');
  assert.ok(q.inMon.some((a) => a.join(' ') === 'ip link set ftq0 up'));
  assert.equal(q.inMon.filter((a) => a[0] === 'iptables' && a.includes('NFQUEUE')).length, 2);
  const qNft = q.inMon.filter((a) => a[0] === 'nft').map((a) => a[1]);
  assert.equal(qNft.length, 1);
  assert.match(qNft[0], /table netdev flowtap_queue \{/);
  assert.doesNotMatch(qNft[0], /table netdev flowtap_inline \{/, 'no hold table: its heartbeat would never come');
  assert.equal(q.monitorArgv.length, 1);
  assert.equal(q.monitorArgv[0].at(-1), '--inline=queue');
  // A later attach renders from the recorded spec: a monitor it starts again is a queue one too.
  const again = await attachCloud(capture(), 'web-inline', q.env);
  assert.equal(again.spec().inlineMode, 'queue');
  assert.equal('inlineWorkers' in q.spec, false, 'one worker records what it always did');

  // Several workers: kept in the spec, the namespace steered to a range of queues per failMode, the monitor told.
  const w = await upWith('queue', 3);
  assert.equal(w.spec.inlineWorkers, 3);
  assert.deepEqual(
    w.inMon.filter((a) => a[0] === 'iptables' && a.includes('NFQUEUE')).map((a) => a.slice(a.indexOf('NFQUEUE') + 1).join(' ')),
    ['--queue-balance 16:18 --queue-bypass', '--queue-balance 19:21'],
  );
  assert.deepEqual(w.monitorArgv[0].slice(-3), ['--inline=queue', '--workers', '3']);
  assert.equal((await attachCloud(capture(), 'web-inline', w.env)).spec().inlineWorkers, 3);
  const refused = capture();
  assert.equal(await main(['up', APP, '--inline-workers', '2'], refused, setup().env), 2);
  assert.match(refused.err_.join('\n'), /--inline-workers needs --inline-mode queue/);

  const h = await upWith('hold');
  assert.equal('inlineMode' in h.spec, false, 'a hold deployment records what it always did');
  assert.equal(h.monitorArgv[0].at(-1), '--inline');
  assert.equal(h.inMon.filter((a) => a[0] === 'iptables').length, 0);
  assert.deepEqual(
    h.inMon.filter((a) => a[0] === 'nft').map((a) => /table netdev (\w+) \{/.exec(a[1])?.[1]),
    ['flowtap_inline'],
  );
  assert.equal(
    h.inMon.some((a) => a.includes('ftq0')),
    false,
  );
});
