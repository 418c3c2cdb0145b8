/**
 * `up` with its broker, `agent`, `records` and `verbosity` together, without root: the cloud
 * runs on the recording system, the broker is the real embedded one (a SQLite file in the test's
 * state folder), and the two node agents are real `flowtap agent` runs in this process, from
 * the spec files `up` wrote, at level 0 (nothing that needs a namespace). What is checked is the
 * wiring: the records `up` makes, the filters of `records`, `--follow`, a verbosity change
 * acknowledged by exactly the agents it targets, and the exit codes when none answers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBroker } from '../../broker/index.js';
import { RecordingSystem } from '../../system/index.js';
import { cmdAgent } from './agent.js';
import type { CloudEnv } from '../attach.js';
import { cmdRecords } from './records.js';
import type { Io } from '../exit.js';
import { main } from '../main.js';

const DVD = 'examples/dvd-rental';
const POLICIES = ['--policy', 'examples/dvd-rental/policies/database.dl', '--policy', 'examples/dvd-rental/policies/public-http.dl'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function capture(): Io & { lines: string[]; errs: string[] } {
  const lines: string[] = [];
  const errs: string[] = [];
  return { lines, errs, out: (s) => lines.push(...s.replace(/\n$/, '').split('\n')), err: (s) => errs.push(s) };
}

async function cli(env: CloudEnv, ...argv: string[]): Promise<{ code: number; out: string[]; err: string }> {
  const io = capture();
  const code = await main(argv, io, env);
  return { code, out: io.lines, err: io.errs.join('\n') };
}

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(25);
  }
}

describe('up, agent, records and verbosity on the embedded broker', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'flowtap-records-'));
  const env: CloudEnv = { system: new RecordingSystem(), stateDir, monitorSettleMs: 0 };
  const agents: { stop: AbortController; done: Promise<number>; io: ReturnType<typeof capture> }[] = [];
  const run = join(stateDir, 'dvd-rental');

  before(async () => {
    const up = await cli(env, 'up', DVD, ...POLICIES, '--level', '0', '--period', '0.5');
    assert.equal(up.code, 0, up.err);
    assert.match(up.out.join('\n'), /agents at level 0, every 0\.5 s, ship to sqlite:.*broker\.db \(bus memory\)/);
  });

  after(async () => {
    for (const a of agents) a.stop.abort();
    await Promise.all(agents.map((a) => a.done));
  });

  test('up recorded the topology and the lifecycle of the deployment; records filters them', async () => {
    const topo = await cli(env, 'records', 'dvd-rental', '--kind', 'topology', '--limit', '1000', '--json');
    assert.equal(topo.code, 0, topo.err);
    const records = topo.out.map((l) => JSON.parse(l) as { kind: string; instance?: string; data: { type: string } });
    const count = (t: string) => records.filter((r) => r.data.type === t).length;
    assert.deepEqual([count('service'), count('node'), count('instance'), count('monitor')], [8, 2, 8, 5]);
    assert.ok(count('tap') > 0);
    const db = await cli(env, 'records', DVD, '--kind', 'topology', '--instance', 'db-0');
    assert.equal(db.code, 0, db.err);
    assert.ok(db.out.length > 1 && db.out.every((l) => / db-0 +(instance|tap) /.test(l)), db.out.join('\n'));
    const life = await cli(env, 'records', 'dvd-rental', '--kind', 'lifecycle', '--limit', '100');
    assert.match(life.out[0], / lifecycle +- +up$/);
    assert.equal(life.out.filter((l) => / deployed/.test(l)).length, 8);
    const text = await cli(env, 'records', 'dvd-rental', '--text', 'mon-SQL', '--kind', 'topology');
    assert.ok(text.out.length > 0 && text.out.every((l) => l.includes('mon-sql')), text.out.join('\n'));
    const whole = await cli(env, 'records', 'dvd-rental', '--kind', 'topology', '--limit', '1000');
    const limited = await cli(env, 'records', 'dvd-rental', '--kind', 'topology', '--limit', '3');
    assert.deepEqual(limited.out, whole.out.slice(-3), 'the latest three, oldest first');
    const future = await cli(env, 'records', 'dvd-rental', '--since', '2999-01-01');
    assert.deepEqual([future.code, future.out], [0, []]);
    const recent = await cli(env, 'records', 'dvd-rental', '--since', '10m', '--kind', 'lifecycle');
    assert.equal(recent.out.length, life.out.length, 'everything of the last ten minutes');
  });

  test('bad filters exit 2 naming the option', async () => {
    const kind = await cli(env, 'records', 'dvd-rental', '--kind', 'flows');
    assert.equal(kind.code, 2);
    assert.match(kind.err, /--kind flows: not a record kind \(have topology, config/);
    const since = await cli(env, 'records', 'dvd-rental', '--since', 'yesterday');
    assert.equal(since.code, 2);
    assert.match(since.err, /--since.*expected an ISO time .* or a duration before now/);
    const both = await cli(env, 'records', 'dvd-rental', '--until', '1h', '--follow');
    assert.equal(both.code, 2);
    const order = await cli(env, 'records', 'dvd-rental', '--since', '1m', '--until', '2h');
    assert.equal(order.code, 2);
    assert.match(order.err, /--since must be before --until/);
  });

  test('the agents of the spec files up wrote run here; verbosity reaches exactly the agents it targets', async () => {
    for (const node of ['node1', 'node2']) {
      const stop = new AbortController();
      const io = capture();
      agents.push({ stop, io, done: cmdAgent(io, join(run, 'agents', `${node}.json`), stop.signal) });
    }
    await waitFor('both agents ready', () => ['node1', 'node2'].every((n) => existsSync(join(run, 'agents', `${n}.ready`))));
    assert.match(agents[0].io.errs.join('\n'), /flowtap agent node1: running for acme\/dvd-rental .* 4 instances, 2 monitors/);

    const all = await cli(env, 'verbosity', 'dvd-rental', '0', '--period', '0.25');
    assert.equal(all.code, 0, all.err + all.out.join('\n'));
    assert.deepEqual(all.out, ['node1: level 0 every 0.25 s; collecting: nothing', 'node2: level 0 every 0.25 s; collecting: nothing']);

    const one = await cli(env, 'verbosity', 'dvd-rental', '0', '--node', 'node2', '--collector', 'syscalls', '--period', '2', '--json');
    assert.equal(one.code, 0, one.err);
    const answer = JSON.parse(one.out.join('\n')) as {
      ok: boolean;
      subject: string;
      answers: { node: string; outcome: string; settings: Record<string, { periodMs: number }> }[];
    };
    assert.equal(answer.subject, 'flowtap.acme.dvd-rental.control.node2');
    assert.deepEqual(
      answer.answers.map((a) => [a.node, a.outcome, a.settings.syscalls.periodMs, a.settings.flows.periodMs]),
      [['node2', 'applied', 2000, 250]],
    );

    // An instance: its node's agent only, its records only (the filter is the agent's).
    const inst = await cli(env, 'verbosity', 'dvd-rental', '0', '--instance', 'shipping-0');
    assert.equal(inst.code, 0, inst.err);
    // node2's syscalls collector kept the period it was given above.
    assert.match(
      inst.out.join('\n'),
      /^node2: counters,interfaces,flows,logs,monitor-logs at level 0 every 0\.25 s for shipping-0; syscalls at level 0 every 2 s for shipping-0; collecting: nothing$/m,
    );
    assert.equal(inst.out.length, 1);

    for (const [args, pattern] of [
      [['--instance', 'nope-0'], /no instance named "nope-0"/],
      [['--node', 'node9'], /no node named "node9" in dvd-rental \(have node1, node2\)/],
      [['--collector', 'flow'], /--collector flow: not a collector/],
      [['--node', 'node1', '--instance', 'shipping-0'], /instance shipping-0 runs on node2, not node1/],
    ] as const) {
      const r = await cli(env, 'verbosity', 'dvd-rental', '0', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, pattern);
    }
    const level = await cli(env, 'verbosity', 'dvd-rental', '5');
    assert.equal(level.code, 2);

    // Every change is in the store, as the agents acknowledged it.
    const acks = await cli(env, 'records', 'dvd-rental', '--kind', 'config', '--text', 'verbosity', '--limit', '100');
    assert.ok(acks.out.filter((l) => / verbosity applied /.test(l)).length >= 4, acks.out.join('\n'));
  });

  test('--follow prints new records as they are stored, until stopped', async () => {
    const io = capture();
    const stop = new AbortController();
    const following = cmdRecords(io, 'dvd-rental', { kind: ['notice'], follow: true, pollMs: 50 }, env, () => stop.signal);
    await sleep(200);
    assert.deepEqual(io.lines, [], 'no notice yet');
    const b = await openBroker({ store: `sqlite:${join(stateDir, 'broker.db')}` });
    assert.ok(b.ok);
    await b.value.store.append([
      {
        ts: Date.now(),
        kind: 'notice',
        tenant: 'acme',
        app: 'dvd-rental',
        node: 'node2',
        instance: 'db-0',
        data: { monitor: 'mon-sql', note: 'SQL::Test', msg: 'one' },
      },
      { ts: Date.now(), kind: 'notice', tenant: 'acme', app: 'other', data: { note: 'Other::App', msg: 'not ours' } },
      { ts: Date.now(), kind: 'log', tenant: 'acme', app: 'dvd-rental', data: { line: 'not a notice' } },
    ]);
    await waitFor(`the notice (${io.errs.join('; ')})`, () => io.lines.length > 0, 5000);
    await b.value.store.append([
      { ts: Date.now(), kind: 'notice', tenant: 'acme', app: 'dvd-rental', data: { note: 'SQL::Test', msg: 'two' } },
    ]);
    await waitFor('the second notice', () => io.lines.length > 1, 5000);
    await b.value.close();
    stop.abort();
    assert.equal(await following, 0);
    assert.equal(io.lines.length, 2, io.lines.join('\n'));
    assert.match(io.lines[0], /node2 +notice +db-0 +mon-sql SQL::Test one$/);
    assert.match(io.lines[1], /SQL::Test two$/);
  });

  test('stopped agents: they exit 0 and remove their ready file; a change nobody acknowledges exits 1', async () => {
    for (const a of agents) a.stop.abort();
    assert.deepEqual(await Promise.all(agents.map((a) => a.done)), [0, 0]);
    agents.length = 0;
    assert.equal(existsSync(join(run, 'agents', 'node1.ready')), false);
    const r = await cli(env, 'verbosity', 'dvd-rental', '2', '--timeout', '0.5');
    assert.equal(r.code, 1);
    assert.deepEqual(r.out, [
      'node1: no answer within 0.5 s (is its agent running? `flowtap status dvd-rental`)',
      'node2: no answer within 0.5 s (is its agent running? `flowtap status dvd-rental`)',
    ]);
    const stopped = await cli(env, 'records', 'dvd-rental', '--kind', 'config', '--text', 'stopped');
    assert.equal(stopped.out.filter((l) => / agent stopped$/.test(l)).length, 2, stopped.out.join('\n'));
  });

  test('down records itself; records of a deployment that is down stay readable', async () => {
    const down = await cli(env, 'down', 'dvd-rental');
    assert.equal(down.code, 0, down.err);
    const after = await cli(env, 'records', 'dvd-rental', '--kind', 'lifecycle', '--limit', '1');
    assert.equal(after.code, 0, after.err);
    assert.match(after.out[0], / lifecycle +- +down$/);
    const v = await cli(env, 'verbosity', 'dvd-rental', '1');
    assert.equal(v.code, 2);
    assert.match(v.err, /dvd-rental is not up/);
  });
});

test('agent: a spec that cannot be read or is damaged exits 2 naming the file and field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-agent-spec-'));
  const missing = await cli({}, 'agent', '--spec', join(dir, 'none.json'));
  assert.equal(missing.code, 2);
  assert.match(missing.err, /none\.json.*cannot read the agent spec/);
  const file = join(dir, 'bad.json');
  writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      tenant: 'acme',
      app: 'a',
      node: 'n',
      instances: [],
      monitors: [],
      broker: { store: 'sqlite:/x', bus: 'memory' },
      level: 9,
      periodMs: 1000,
    }),
  );
  const bad = await cli({}, 'agent', '--spec', file, '--json');
  assert.equal(bad.code, 2);
  const errors = (JSON.parse(bad.out.join('\n')) as { errors: { code: string; loc: { file: string; field: string } }[] }).errors;
  assert.deepEqual(
    errors.map((e) => [e.code, e.loc.file, e.loc.field]),
    [['E_AGENT_OPTION', file, 'level']],
  );
  assert.ok(readFileSync(file, 'utf8').length > 0);
});

test('relay: routes are SOCKET=HOST:PORT', async () => {
  for (const route of ['relative.sock=127.0.0.1:5432', '/x.sock=127.0.0.1', '/x.sock=127.0.0.1:70000']) {
    const r = await cli({}, 'relay', '--route', route);
    assert.equal(r.code, 2, route);
    assert.match(r.err, /expected \/ABSOLUTE\/SOCKET=HOST:PORT/);
  }
});
