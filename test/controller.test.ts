/**
 * The closed loop on a real cloud: DVD rental (front services with two replicas, so a
 * quarantine leaves one serving) with its agents, monitors, broker and the security
 * controller running the reference reaction rules. Benign load alone raises no reaction; the
 * demo's four attacks — shipping reaching for the database, user-create running SELECT on
 * users, contract-update billing another user than the renter, a SYN flood from outside — are
 * each contained by the controller (quarantine, or the source limited), confirmed through the
 * data plane, while the load generator on the other replicas sees no error. Then: `why` prints
 * a chain; kill -9 of the controller and of an agent under load loses no rule; a rule deleted by
 * hand comes back when the controller restarts; a dry run records would-be reactions with their
 * blast radius and changes nothing; `undo` lifts a restriction. Before all that the controller
 * configures the new deployment through the node agents and verifies it with the live probe;
 * at the end `flowtap reconfigure` changes the policies through it, node by node.
 *
 * FLOWTAP_BENIGN_S sets how long the benign load runs alone (default 180 s). Needs root.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { openBroker, type Broker, type StoredRecord } from '../src/broker/index.js';
import { needsRoot } from '../src/system/testing.js';
import { canConnect, flowtap, flowtapCommand, inNs, psqlIn, ROOT, run, stateDir } from './testing.js';

const skip = needsRoot(['hping3', '--version'], ['psql', '--version'], ['curl', '--version']);
const APP = 'dvd-guard';
const EXT = `ft-${APP}-external`;
const ins = (i: string) => `ft-${APP}-i-${i}`;
const nodeNs = (n: string) => `ft-${APP}-n-${n}`;
/** Two more outside addresses beside the external namespace's own (see test/agent-notices.test.ts). */
const FLOODER = '10.250.0.201';
const DRY_FLOODER = '10.250.0.202';
const NATS = process.env.FLOWTAP_TEST_NATS;
const BENIGN_S = Number(process.env.FLOWTAP_BENIGN_S ?? 180);
const LOADGEN = new URL('../examples/dvd-rental/loadgen/loadgen.js', import.meta.url).pathname;
const P = join(ROOT, 'examples', 'dvd-rental', 'policies');
const RULES = join(ROOT, 'examples', 'dvd-rental', 'reactions.dl');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Reaction {
  id: string;
  state: string;
  action: { kind: string; instance?: string; source?: string };
  installed?: { node: string; comment: string; handle?: number }[];
  blastRadius: { from: string; to: string; effect: string }[];
}

describe('the security controller contains the demo attacks on a live cloud', { skip, timeout: 30 * 60_000 }, () => {
  let broker: Broker;
  let ip: Record<string, string> = {};
  let controller: ChildProcess | undefined;
  const serveLog: string[] = [];

  /** Starts `flowtap serve` and waits until it follows notices. */
  async function serve(...extra: string[]): Promise<ChildProcess> {
    const [cmd, ...args] = flowtapCommand('serve', APP, '--rules', RULES, '--confirm-window', '2', ...extra);
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, FLOWTAP_STATE_DIR: stateDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let ready = false;
    child.stderr!.on('data', (d: Buffer) => {
      for (const l of String(d).split('\n').filter(Boolean)) {
        serveLog.push(l);
        if (l.includes('following notices')) ready = true;
      }
    });
    const t0 = Date.now();
    while (!ready) {
      assert.ok(child.exitCode === null, `serve exited: ${serveLog.join('\n')}`);
      assert.ok(Date.now() - t0 < 30_000, `serve ready within 30 s: ${serveLog.join('\n')}`);
      await sleep(50);
    }
    return child;
  }

  async function stopServe(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = controller;
    controller = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.on('exit', () => r()));
    c.kill(signal);
    await exited;
  }

  /**
   * The rental load. While shipping is quarantined, dvd-update's call to it waits out its 5 s
   * deadline on every rental (the quarantine's blast radius: dvd-update -> shipping is cut), so
   * fulfilment runs at most 32 rentals per 5 s behind: under attack the load is lighter and
   * returns wait a little longer, as customers would.
   */
  let runs = 0;
  function loadgen(durationS: number, rate = 8, returnAfterMs = 1000): Promise<{ code: number; stdout: string; stderr: string }> {
    // Each run its own customers and DVDs: a DVD an earlier run left rented is unavailable to the next.
    runs++;
    // The replicas no attack touches: contract-update-1, user-create-1, and dvd-return-0 (the flood's source is limited, not the service).
    return run('ip', [
      'netns',
      'exec',
      EXT,
      process.execPath,
      LOADGEN,
      '--contract-update',
      `http://${ip['contract-update-1']}:8080`,
      '--user-create',
      `http://${ip['user-create-1']}:8080`,
      '--dvd-return',
      `http://${ip['dvd-return-0']}:8080`,
      '--duration',
      String(durationS),
      '--rate',
      String(rate),
      '--return-after',
      String(returnAfterMs),
      '--seed',
      String(runs),
      '--first-dvd',
      String((runs - 1) * 300 + 1),
      '--dvds',
      '300',
      '--concurrency',
      '4',
      '--max-error-rate',
      '0',
    ]);
  }

  async function reactions(): Promise<StoredRecord[]> {
    return broker.store.query({ app: APP, kinds: ['reaction'], limit: 10_000 });
  }

  /** The latest state of the reaction whose action matches, once it reaches `state`. */
  async function waitFor(
    match: (r: Reaction) => boolean,
    state: string,
    timeoutMs = 20_000,
  ): Promise<{ r: Reaction; records: StoredRecord[] }> {
    const t0 = Date.now();
    for (;;) {
      const records = (await reactions()).filter((x) => match(x.data.reaction as Reaction));
      const last = records.at(-1)?.data.reaction as Reaction | undefined;
      if (last && records.some((x) => x.data.event === state)) return { r: last, records };
      assert.ok(
        Date.now() - t0 < timeoutMs,
        `a reaction reaching ${state} within ${timeoutMs} ms; have ${records.map((x) => x.data.event).join(', ')}\n${serveLog.slice(-20).join('\n')}`,
      );
      await sleep(100);
    }
  }

  /** Every rule of every node, as (node chain comment), sorted: what "no rule lost" compares. */
  async function rulesInForce(): Promise<string[]> {
    const out: string[] = [];
    for (const n of ['node1', 'node2']) {
      const r = await run('ip', ['netns', 'exec', nodeNs(n), 'nft', '-j', 'list', 'ruleset']);
      assert.equal(r.code, 0, r.stderr);
      for (const x of (JSON.parse(r.stdout) as { nftables: { rule?: { table: string; chain: string; comment?: string } }[] }).nftables)
        if (x.rule) out.push(`${n} ${x.rule.table} ${x.rule.chain} ${x.rule.comment ?? ''}`);
    }
    return out.sort();
  }

  /** A compromised instance runs a query the database requirement does not allow it. */
  async function forbiddenSelect(instance: string, sql: string): Promise<void> {
    await psqlIn(ins(instance), ip['db-0'], sql);
  }

  /**
   * A compromised contract-update bills another user than the renter, in the same trace: a
   * customer signs up and rents through it, then it calls billing for `victim` from inside.
   */
  async function billAnother(cu: string, renter: number, victim: number, dvd: number, trace: string): Promise<void> {
    const post = (ns: string, url: string, user: number, body: string, span?: string) =>
      inNs(ns, 'curl', [
        ...['-sS', '-m', '5', '-X', 'POST', '-H', 'content-type: application/json', '-H', `x-user-id: ${user}`],
        ...(span ? ['-H', `traceparent: 00-${trace}-${span}-01`] : []),
        ...[url, '-d', body],
      ]);
    await post(EXT, `http://${ip['user-create-1']}:8080/users`, renter, `{"name":"Ann","email":"ann${renter}@guard.test"}`);
    await post(EXT, `http://${ip[cu]}:8080/contracts`, renter, `{"user":${renter},"dvd":${dvd}}`, '00f067aa0ba902b7');
    await post(
      ins(cu),
      `http://${ip['user-update-0']}:8080/users/${victim}/bill`,
      victim,
      '{"amount":3.99,"contract":"c-evil"}',
      '1111111111111111',
    );
  }

  /** 600 SYNs from `source` (an address of the external namespace) to a public service's port. */
  function synFlood(source: string, target: string): Promise<{ code: number; stderr: string }> {
    return run('ip', ['netns', 'exec', EXT, 'hping3', '-q', '-S', '-p', '8080', '-i', 'u2000', '-c', '600', '-a', source, ip[target]]);
  }

  before(async () => {
    const doc = parseDocument(readFileSync(join(ROOT, 'examples', 'dvd-rental', 'app.yaml'), 'utf8'));
    doc.set('app', APP);
    for (const s of ['contract-update', 'user-create']) doc.setIn(['services', s, 'replicas'], 2);
    const dir = mkdtempSync(join(tmpdir(), `flowtap-${APP}-`));
    writeFileSync(join(dir, 'app.yaml'), doc.toString());
    await flowtap('down', APP);
    const store = `sqlite:${join(stateDir, `${APP}-broker.db`)}`;
    const bus = NATS
      ? `${NATS}${NATS.includes('?') ? '&' : '?'}stream=FT_GUARD&prefix=ftguard`
      : `memory:${join(stateDir, `${APP}-broker.db`)}`;
    const up = await flowtap(
      'up',
      join(dir, 'app.yaml'),
      ...['public-http.dl', 'database.dl', 'message-queue.dl', 'connection-attempts.dl'].flatMap((p) => ['--policy', join(P, p)]),
      '--store',
      store,
      '--bus',
      bus,
      '--json',
    );
    assert.equal(up.code, 0, up.stderr);
    const ctx = JSON.parse(up.stdout) as { addressing: { instances: Record<string, { ip: string }> } };
    ip = Object.fromEntries(Object.entries(ctx.addressing.instances).map(([k, v]) => [k, v.ip]));
    const b = await openBroker({ store, bus });
    assert.ok(b.ok, b.ok ? '' : JSON.stringify(b.errors));
    broker = b.value;
    for (const a of [FLOODER, DRY_FLOODER]) assert.equal((await run('ip', ['-n', EXT, 'addr', 'add', `${a}/24`, 'dev', 'eth0'])).code, 0);
    controller = await serve();
  });

  after(async () => {
    await stopServe('SIGKILL');
    await broker?.close();
    await flowtap('down', APP);
  });

  test('deployed: the controller configures every node through its agent and verifies the deployment by the live probe', async () => {
    const t0 = Date.now();
    let chain: StoredRecord[] = [];
    while (Date.now() - t0 < 90_000) {
      chain = (await broker.store.query({ app: APP, kinds: ['config'], text: '"kind":"deployed"' })).filter((r) => r.data.workflow);
      if (chain.some((r) => r.data.step === 'verified')) break;
      await sleep(500);
    }
    const steps = chain.map((r) => `${String(r.data.step)}${r.node ? ` ${r.node}` : ''}`);
    assert.deepEqual(steps, ['rendered', 'pushed node1', 'pushed node2', 'verified'], serveLog.join('\n'));
    for (const p of chain.filter((r) => r.data.step === 'pushed')) {
      assert.equal(p.data.outcome, 'applied', JSON.stringify(p.data));
      // Already in force since `up`: the agent confirms it and changes nothing.
      assert.equal((p.data.report as { kind: string }).kind, 'unchanged');
      assert.equal(typeof p.data.version, 'number');
    }
    const v = chain.find((r) => r.data.step === 'verified')!.data;
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.ok((v.pairs as number) > 50 && (v.open as number) > 5, JSON.stringify(v));
    // The probe's denied attempts were taken for what they are: no reaction.
    assert.deepEqual(await reactions(), []);
  });

  test(`benign load alone for ${BENIGN_S} s causes no reaction`, async () => {
    const load = await loadgen(BENIGN_S);
    assert.equal(load.code, 0, `load generator: ${load.stdout}\n${load.stderr}`);
    const stats = JSON.parse(load.stdout) as { requests: number; errors: number };
    assert.ok(stats.requests >= BENIGN_S * 6, `${stats.requests} requests`);
    const notices = await broker.store.query({ app: APP, kinds: ['notice'] });
    assert.deepEqual(await reactions(), [], `no reaction; notices: ${notices.map((n) => String(n.data.msg)).join('\n')}`);
  });

  test('each attack is contained automatically and confirmed while the load on the other replicas sees no error', async () => {
    const load = loadgen(75, 4, 3000);
    await sleep(2000);

    // 1. A compromised shipping reaches for the database (the firewall drops it; the tap sees it).
    assert.equal(await canConnect(ins('shipping-0'), ip['db-0'], 5432, 2), false);
    const shipping = await waitFor((r) => r.action.kind === 'quarantine' && r.action.instance === 'shipping-0', 'confirmed');
    assert.ok(shipping.r.installed?.some((x) => x.node === 'node2' && x.comment.startsWith('quarantine') && typeof x.handle === 'number'));
    assert.equal(await canConnect(ins('dvd-update-0'), ip['shipping-0'], 8080, 1), false, 'shipping-0 is cut off');

    // 2. A compromised user-create runs SELECT on users (it may only INSERT).
    await forbiddenSelect('user-create-0', 'select count(*) from users');
    await waitFor((r) => r.action.kind === 'quarantine' && r.action.instance === 'user-create-0', 'confirmed');
    assert.equal(await canConnect(ins('user-create-0'), ip['db-0'], 5432, 1), false, 'user-create-0 is cut off');

    // 3. A compromised contract-update bills another user than the renter (same trace).
    await billAnother('contract-update-0', 3000001, 3000002, 9, '5bf92f3577b34da6a3ce929d0e0e4736');
    await waitFor((r) => r.action.kind === 'quarantine' && r.action.instance === 'contract-update-0', 'confirmed');

    // 4. A SYN flood from outside on a public service: its source is limited, everyone else is served.
    const flood = await synFlood(FLOODER, 'dvd-return-0');
    assert.ok(flood.code === 0 || flood.code === 1, flood.stderr);
    const limited = await waitFor((r) => r.action.kind === 'restrict' && r.action.source === FLOODER, 'confirmed');
    assert.equal(limited.r.installed?.length, 2, 'one rule per node');

    const done = await load;
    assert.equal(done.code, 0, `the load generator saw errors: ${done.stdout}\n${done.stderr}`);
    const s = JSON.parse(done.stdout) as { requests: number; errors: number };
    assert.equal(s.errors, 0);

    const status = JSON.parse((await flowtap('status', APP, '--json')).stdout) as { instances: { instance: string; state: string }[] };
    const isolated = status.instances
      .filter((i) => i.state === 'isolated')
      .map((i) => i.instance)
      .sort();
    assert.deepEqual(isolated, ['contract-update-0', 'shipping-0', 'user-create-0']);
    const applied = (await reactions()).filter((x) => x.data.event === 'applied');
    for (const a of applied)
      console.log(
        `contained: ${String((a.data.reaction as Reaction).action.kind)} ${JSON.stringify((a.data.reaction as Reaction).action)} ${String(a.data.sinceNoticeMs)} ms after the notice (apply ${String(a.data.applyMs)} ms)`,
      );
  });

  test('`flowtap why` prints the chain from the connection to the confirmation', async () => {
    const { r } = await waitFor((x) => x.action.kind === 'quarantine' && x.action.instance === 'user-create-0', 'confirmed');
    const why = await flowtap('why', APP, r.id);
    assert.equal(why.code, 0, why.stderr);
    const out = why.stdout;
    assert.match(out, /is a reaction; connection C\w+/);
    assert.match(out, /Disallowed_SQL/);
    assert.match(out, /rule .*reactions\.dl:\d+/);
    assert.match(out, /notice_src\(.*"user-create-0"\)/);
    // Applied through the node's nft session without echo (no listing on the way), read back with handles when confirmed.
    assert.match(out, /rule added: node1 flowtap quarantine handle not read yet "quarantine"/);
    assert.match(out, /confirmed[\s\S]*rule in force: node1 \S+ \S+ handle \d+ "quarantine/);
    assert.match(out, /orchestrator: isolated user-create-0/);
    assert.match(out, /confirmed/);
    const byUid = await flowtap('why', APP, /connection (C\w+)/.exec(out)![1]);
    assert.equal(byUid.code, 0);
    assert.match(byUid.stdout, new RegExp(r.id));
    assert.equal((await flowtap('why', APP, 'r-nosuchreaction')).code, 1);
  });

  test('kill -9 of the controller and of an agent under load loses no rule; a rule deleted by hand is back on restart', async () => {
    const load = loadgen(25, 4, 3000);
    await sleep(2000);
    const before = await rulesInForce();
    const status = JSON.parse((await flowtap('status', APP, '--json')).stdout) as {
      processes: { owner: string; pid: number; alive: boolean }[];
    };
    const agent = status.processes.find((p) => p.owner === 'agent:node1' && p.alive);
    assert.ok(agent, 'the agent of node1 runs');
    await stopServe('SIGKILL');
    process.kill(agent.pid, 'SIGKILL');
    await sleep(3000);
    assert.deepEqual(await rulesInForce(), before, 'every rule still in force');
    // Someone deletes shipping-0's quarantine by hand.
    const listed = await run('ip', ['netns', 'exec', nodeNs('node2'), 'nft', '-j', '-a', 'list', 'ruleset']);
    const q = (
      JSON.parse(listed.stdout) as {
        nftables: { rule?: { family: string; table: string; chain: string; handle: number; comment?: string } }[];
      }
    ).nftables
      .map((x) => x.rule)
      .find((x) => x?.comment?.startsWith('quarantine'));
    assert.ok(q, 'a quarantine rule on node2');
    const del = await run('ip', [
      'netns',
      'exec',
      nodeNs('node2'),
      'nft',
      'delete',
      'rule',
      q.family,
      q.table,
      q.chain,
      'handle',
      String(q.handle),
    ]);
    assert.equal(del.code, 0, del.stderr);
    assert.notDeepEqual(await rulesInForce(), before);
    controller = await serve();
    assert.deepEqual(await rulesInForce(), before, 'the deleted rule is back');
    let drift: StoredRecord[] = [];
    for (let i = 0; i < 50 && drift.filter((d) => d.data.type === 'drift').length < 2; i++) {
      drift = await broker.store.query({ app: APP, kinds: ['lifecycle'], text: 'drift' });
      await sleep(100);
    }
    assert.ok(
      drift.some((d) => d.data.type === 'drift' && d.node === 'node2'),
      'the repair is on record as drift',
    );
    assert.ok(
      serveLog.some((l) => /drift on node2: 1 rule\(s\) missing/.test(l)),
      serveLog.join('\n'),
    );
    // The agent killed is part of the drift: the restart brought it back.
    const after = JSON.parse((await flowtap('status', APP, '--json')).stdout) as {
      processes: { owner: string; pid: number; alive: boolean }[];
    };
    assert.ok(
      after.processes.some((p) => p.owner === 'agent:node1' && p.alive && p.pid !== agent.pid),
      'node1 has a live agent again',
    );
    assert.ok(drift.some((d) => d.node === 'node1' && /agent on node1 was not running/.test(String(d.data.detail))));
    const done = await load;
    assert.equal(done.code, 0, `the load generator saw errors: ${done.stdout}\n${done.stderr}`);
  });

  test('dry run: the attacks record would-be reactions with their blast radius; nothing is applied', async () => {
    await stopServe();
    controller = await serve('--dry-run');
    const rulesBefore = await rulesInForce();
    // A compromised user-update reaches for the message queue (only renting and fulfilment may).
    assert.equal(await canConnect(ins('user-update-0'), ip['mq-0'], 4222, 2), false);
    const dry = await waitFor((r) => r.action.kind === 'quarantine' && r.action.instance === 'user-update-0', 'dry-run');
    assert.ok(
      dry.r.blastRadius.some((c) => c.from === 'contract-update' && c.to === 'user-update' && c.effect === 'cut'),
      `quarantining the only user-update would cut billing: ${JSON.stringify(dry.r.blastRadius)}`,
    );
    await synFlood(DRY_FLOODER, 'user-create-1');
    await waitFor((r) => r.action.kind === 'restrict' && r.action.source === DRY_FLOODER, 'dry-run');
    // The same attacks from the replicas that served the load: SELECT on users, billing another user.
    await forbiddenSelect('user-create-1', 'select count(*) from users where id > 1');
    await waitFor((r) => r.action.kind === 'quarantine' && r.action.instance === 'user-create-1', 'dry-run');
    await billAnother('contract-update-1', 3000011, 3000012, 990, '6bf92f3577b34da6a3ce929d0e0e4736');
    const cu = await waitFor((r) => r.action.kind === 'quarantine' && r.action.instance === 'contract-update-1', 'dry-run');
    assert.ok(
      cu.r.blastRadius.some((c) => c.from === 'external' && c.to === 'contract-update' && c.effect === 'cut'),
      'with contract-update-0 quarantined, the last replica would cut renting',
    );
    await sleep(500);
    assert.deepEqual(await rulesInForce(), rulesBefore, 'no rule changed');
    const status = JSON.parse((await flowtap('status', APP, '--json')).stdout) as { instances: { instance: string; state: string }[] };
    for (const i of ['user-update-0', 'user-create-1', 'contract-update-1'])
      assert.equal(status.instances.find((x) => x.instance === i)?.state, 'running', `${i} still runs`);
    const listed = await flowtap('reactions', APP);
    assert.match(listed.stdout, /dry-run\s+quarantine user-update-0/);
  });

  test('`flowtap undo` lifts the SYN flood restriction: its source connects again', async () => {
    const { r } = await waitFor((x) => x.action.kind === 'restrict' && x.action.source === FLOODER, 'confirmed');
    const undo = await flowtap('undo', APP, r.id);
    assert.equal(undo.code, 0, `${undo.stdout}${undo.stderr}`);
    assert.match(undo.stdout, /undone/);
    const nc = await inNs(EXT, 'nc', ['-z', '-w', '2', '-s', FLOODER, ip['dvd-return-0'], '8080']);
    assert.equal(nc.code, 0, 'the flooder reaches dvd-return again');
    assert.equal((await flowtap('undo', APP, r.id)).code, 1, 'undoing twice is refused');
  });

  test('`flowtap reconfigure` through the controller: only the nodes whose taps change get a new configuration, through their agents; verified', async () => {
    const three = ['public-http.dl', 'database.dl', 'message-queue.dl'].flatMap((p) => ['--policy', join(P, p)]);
    const less = await flowtap('reconfigure', APP, ...three, '--json');
    assert.equal(less.code, 0, `${less.stdout}${less.stderr}`);
    const out = JSON.parse(less.stdout) as {
      via: string;
      pushed: { node: string; outcome: string; version?: number; report?: { kind: string; rulesRemoved: number } }[];
      verified: { ok: boolean; pairs: number };
    };
    assert.equal(out.via, 'controller');
    assert.ok(out.verified.ok && out.verified.pairs > 50, JSON.stringify(out.verified));
    const changed = out.pushed.filter((p) => p.outcome === 'applied');
    assert.ok(changed.length >= 1, JSON.stringify(out.pushed));
    // The SYN taps of the connection-attempts policy went: taken out rule by rule, not the tables replaced.
    for (const p of changed)
      assert.deepEqual([p.report?.kind, (p.report?.rulesRemoved ?? 0) > 0], ['incremental', true], JSON.stringify(p));
    const back = await flowtap('reconfigure', APP, ...three, '--policy', join(P, 'connection-attempts.dl'));
    assert.equal(back.code, 0, `${back.stdout}${back.stderr}`);
    assert.match(back.stdout, /through its agent/);
    assert.match(back.stdout, /live connectivity equals the required one/);
    // A policy file that does not exist is refused before anything is asked of the controller.
    const bad = await flowtap('reconfigure', APP, '--policy', '/nonexistent.dl');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr + bad.stdout, /no policy file \/nonexistent\.dl/);
  });
});
