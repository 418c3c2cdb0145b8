/**
 * The security controller on an Open vSwitch cloud (`up --dataplane ovs`): web-sql under a name of
 * its own, with its node agent and a broker, and `flowtap serve` running reaction rules of the
 * test's. The deployed workflow goes through the node's agent (which changes the bridge from the
 * node namespace with ovs-ofctl) and is verified by the live probe; `flowtap reconfigure` adds
 * a copy tap through the agent as the difference alone (one bundle), recorded by the
 * orchestrator as the state of the bridge; a notice about an instance has the controller
 * quarantine it: cut off, confirmed through the flows' counters. Needs root and Open vSwitch.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordsSubject } from '../src/agent/index.js';
import { openBroker, type Broker, type StoredRecord } from '../src/broker/index.js';
import { externalNs, nodeNs, ovsBridge, parseState } from '../src/orchestrator/index.js';
import { cookieOf } from '../src/dataplane/index.js';
import { needsOvs } from '../src/system/testing.js';
import { canConnect, flowtap, flowtapCommand, ROOT, run, stateDir } from './testing.js';

const skip = needsOvs();
const APP = 'web-sql-ovsc';
const EXT = externalNs(APP);
const BRIDGE = ovsBridge(APP, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Reaction {
  id: string;
  state: string;
  action: { kind: string; instance?: string };
  installed?: { node: string; table: string; chain: string; comment: string; packets: number }[];
}

const ofctl = async (...args: string[]) => {
  const r = await run('ovs-ofctl', ['-O', 'OpenFlow15', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};
const flowCount = async () => Number(/flow_count=(\d+)/.exec(await ofctl('dump-aggregate', BRIDGE))?.[1]);
const recorded = () => {
  const s = parseState(readFileSync(join(stateDir, `${APP}.json`), 'utf8'), `${APP}.json`);
  assert.ok(s.ok, JSON.stringify(s));
  return s.value;
};

describe('the security controller on Open vSwitch: through the node agents', { skip, timeout: 10 * 60_000 }, () => {
  let broker: Broker;
  let controller: ChildProcess | undefined;
  const serveLog: string[] = [];
  let ip: Record<string, string> = {};
  let rules = '';

  /** The workflow records of one kind, once its last step is there. */
  async function workflow(kind: string, since: number): Promise<StoredRecord[]> {
    const t0 = Date.now();
    for (;;) {
      const chain = (await broker.store.query({ app: APP, kinds: ['config'], from: since, text: `"kind":"${kind}"` })).filter(
        (r) => r.data.workflow,
      );
      if (chain.some((r) => r.data.step === 'verified' || r.data.step === 'failed')) return chain;
      assert.ok(Date.now() - t0 < 120_000, `the ${kind} workflow ends within 120 s\n${serveLog.join('\n')}`);
      await sleep(300);
    }
  }

  /** The agent's own answers (what it applied on the bridge), newest last. */
  async function agentAnswers(since: number): Promise<StoredRecord[]> {
    return (await broker.store.query({ app: APP, kinds: ['config'], node: 'node1', from: since })).filter(
      (r) => r.data.what === 'config' && r.data.kind === 'dataplane',
    );
  }

  async function reactionReaching(state: string, timeoutMs = 30_000): Promise<{ r: Reaction; records: StoredRecord[] }> {
    const t0 = Date.now();
    for (;;) {
      const records = await broker.store.query({ app: APP, kinds: ['reaction'], limit: 1000 });
      const last = records.at(-1)?.data.reaction as Reaction | undefined;
      if (last && records.some((x) => x.data.event === state)) return { r: last, records };
      assert.ok(
        Date.now() - t0 < timeoutMs,
        `a reaction reaching ${state}; have ${records.map((x) => x.data.event).join(', ')}\n${serveLog.slice(-20).join('\n')}`,
      );
      await sleep(100);
    }
  }

  before(async () => {
    await flowtap('down', APP);
    const dir = mkdtempSync(join(tmpdir(), `flowtap-${APP}-`));
    const descriptor = join(dir, 'app.yaml');
    writeFileSync(descriptor, readFileSync(join(ROOT, 'examples/web-sql/app.yaml'), 'utf8').replace(/^app: web-sql$/m, `app: ${APP}`));
    rules = join(dir, 'reactions.dl');
    writeFileSync(
      rules,
      '// An instance that connects where it must not is cut off.\n' +
        'quarantine(N, I) :- notice(N, "FlowTap::Unauthorized_Connection"), notice_src(N, I), state(I, "running").\n' +
        'expires("quarantine", 3600).\n',
    );
    const db = join(stateDir, `${APP}-broker.db`);
    const up = await flowtap('up', descriptor, '--dataplane', 'ovs', '--store', `sqlite:${db}`, '--bus', `memory:${db}`, '--json');
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const ctx = JSON.parse(up.stdout) as { addressing: { instances: Record<string, { ip: string }> } };
    ip = Object.fromEntries(Object.entries(ctx.addressing.instances).map(([k, v]) => [k, v.ip]));
    const b = await openBroker({ store: `sqlite:${db}`, bus: `memory:${db}` });
    assert.ok(b.ok, b.ok ? '' : JSON.stringify(b.errors));
    broker = b.value;
  });

  after(async () => {
    if (controller && controller.exitCode === null) {
      const exited = new Promise<void>((r) => controller!.on('exit', () => r()));
      controller.kill('SIGTERM');
      await exited;
    }
    await broker?.close();
    await flowtap('down', APP);
  });

  test('serve: the deployed workflow goes through the agent of the node, in its namespace, and the probe verifies it', async () => {
    const t0 = Date.now();
    const agent = recorded().processes.find((p) => p.owner === 'agent:node1');
    assert.equal(agent?.ns, nodeNs(APP, 'node1'), 'the agent runs in the node namespace, the bridge in the root one');
    const [cmd, ...args] = flowtapCommand('serve', APP, '--rules', rules, '--confirm-window', '2');
    controller = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, FLOWTAP_STATE_DIR: stateDir }, stdio: ['ignore', 'ignore', 'pipe'] });
    controller.stderr!.on('data', (d: Buffer) => serveLog.push(...String(d).split('\n').filter(Boolean)));

    const chain = await workflow('deployed', t0);
    const steps = chain.map((r) => `${String(r.data.step)}${r.node ? ` ${r.node}` : ''}`);
    assert.deepEqual(steps, ['rendered', 'pushed node1', 'verified'], serveLog.join('\n'));
    const pushed = chain.find((r) => r.data.step === 'pushed')!.data;
    assert.equal(pushed.outcome, 'applied', JSON.stringify(pushed));
    // In force since `up`, as recorded: the agent, given the record, finds nothing to change.
    assert.equal((pushed.report as { kind: string }).kind, 'unchanged');
    const v = chain.find((r) => r.data.step === 'verified')!.data;
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.ok((v.pairs as number) >= 4 && (v.open as number) >= 2, JSON.stringify(v));
    const answers = await agentAnswers(t0);
    const mine = answers.find((a) => a.data.version === pushed.version);
    assert.ok(mine, JSON.stringify(answers.map((a) => a.data)));
    assert.deepEqual(mine.data.applied, { handles: {}, stamp: BRIDGE });
    assert.equal(recorded().ovsApplied?.node1.flows.length, await flowCount());
  });

  test('reconfigure through the controller: the agent adds the copy tap as one bundle, and the record follows the bridge', async () => {
    const t0 = Date.now();
    const flowsBefore = await flowCount();
    const r = await flowtap('reconfigure', APP, '--policy', join(ROOT, 'test/fixtures/policies/web-copy.dl'), '--json');
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}\n${serveLog.join('\n')}`);
    const out = JSON.parse(r.stdout) as {
      via: string;
      pushed: { node: string; outcome: string; report?: { kind: string; rulesAdded: number; rulesRemoved: number } }[];
      verified: { ok: boolean };
    };
    assert.equal(out.via, 'controller');
    assert.ok(out.verified.ok, JSON.stringify(out.verified));
    assert.equal(out.pushed.length, 1, JSON.stringify(out.pushed));
    const p = out.pushed[0];
    assert.deepEqual([p.node, p.outcome, p.report?.kind], ['node1', 'applied', 'incremental'], JSON.stringify(p));
    assert.ok((p.report?.rulesAdded ?? 0) > 0, JSON.stringify(p));
    console.log(`reconfigure through the agent: ${JSON.stringify(p.report)}`);
    // The agent's bundle, not a replacement: the flows added are on the bridge beside the ones kept.
    const flows = await ofctl('dump-flows', BRIDGE);
    assert.match(flows, /output:33000/, 'the copy to the monitor port');
    assert.equal(await flowCount(), flowsBefore + (p.report!.rulesAdded - p.report!.rulesRemoved));
    assert.equal(recorded().ovsApplied?.node1.flows.length, await flowCount());
    const answers = await agentAnswers(t0);
    assert.ok(
      answers.some((a) => a.data.outcome === 'applied' && (a.data.report as { kind: string }).kind === 'incremental'),
      JSON.stringify(answers.map((a) => a.data)),
    );
  });

  test('a notice about an instance: the controller quarantines it on the bridge, cut off, confirmed by the flows counting drops', async () => {
    assert.equal(await canConnect(EXT, ip['web-0'], 80, 2), true, 'web-0 answers before');
    const notice = {
      ts: Date.now(),
      kind: 'notice',
      tenant: 'demo',
      app: APP,
      node: 'node1',
      provenance: 'Covs1',
      data: {
        monitor: 'mon1',
        note: 'FlowTap::Unauthorized_Connection',
        msg: 'web-0 reached for what it must not',
        src: ip['web-0'],
        dst: ip['sql-0'],
        p: 3306,
      },
    };
    await broker.bus.publish(recordsSubject('demo', APP, 'node1', 'notice'), { records: [notice] });
    const { r } = await reactionReaching('applied');
    assert.deepEqual(r.action, { kind: 'quarantine', instance: 'web-0' });
    assert.ok(r.installed?.length && r.installed.every((x) => x.node === 'node1' && x.comment.startsWith('quarantine')), JSON.stringify(r));
    // Knocks during the confirmation window: dropped, and counted by the quarantine's flows.
    const knocks = await Promise.all([0, 1, 2].map(() => canConnect(EXT, ip['web-0'], 80, 1)));
    assert.deepEqual(knocks, [false, false, false], 'quarantined');
    const { records } = await reactionReaching('confirmed');
    const confirmed = records.find((x) => x.data.event === 'confirmed')!.data;
    assert.ok((confirmed.drops as number) > 0, JSON.stringify(confirmed));
    console.log(`quarantine confirmed: ${String(confirmed.drops)} drops counted by its flows`);
    assert.ok(recorded().isolated.includes('web-0'));
    assert.equal(recorded().ovsApplied?.node1.flows.length, await flowCount());
    const cookie = cookieOf({ table: 'flowtap', chain: 'quarantine', comment: 'quarantine' });
    const quarantine = (await ofctl('dump-flows', BRIDGE)).split('\n').filter((l) => l.includes(`cookie=${cookie}`));
    assert.equal(quarantine.length, 2, 'its port and its address, each a flow');
  });
});
