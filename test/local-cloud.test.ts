/**
 * The local cloud for real: dvd-rental on network namespaces with its inferred firewall and
 * forward taps, the probe matrix, the rental flow, taps delivering, quarantine (changing only
 * the rules it needs, so every other rule keeps its counter), move, redeploy, tamper
 * resistance (of the node agents too), and a `down` that leaves nothing behind. Needs root.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { openBroker } from '../src/broker/index.js';
import { nftBackend, type RuleCounter } from '../src/dataplane/index.js';
import { realSystem } from '../src/system/index.js';
import { needsRoot } from '../src/system/testing.js';
import { canConnect, flowtap, inNs, namespaces, psqlIn, run, stateDir } from './testing.js';

const skip = needsRoot();
const APP = 'examples/dvd-rental';
const PREFIX = 'ft-dvd-rental-';
const ns = (kind: string, name: string) => `${PREFIX}${kind}-${name}`;
const EXT = `${PREFIX}external`;
const POLICIES = ['--policy', 'examples/dvd-rental/policies/database.dl', '--policy', 'examples/dvd-rental/policies/public-http.dl'];

interface Ctx {
  addressing: {
    instances: Record<string, { ip: string; node: string; port: string }>;
    nodes: Record<string, { gateway: string; ip: string }>;
  };
}
let ctx: Ctx;
const ip = (i: string) => ctx.addressing.instances[i].ip;

async function liveOk(): Promise<{ ok: boolean; out: string }> {
  const r = await flowtap('verify', APP, '--live');
  return { ok: r.code === 0, out: r.stdout + r.stderr };
}

async function load(requests: number): Promise<{ errors: number; byOperation: Record<string, number> }> {
  const r = await inNs(EXT, process.execPath, [
    'dist/examples/dvd-rental/loadgen/loadgen.js',
    '--contract-update',
    `http://${ip('contract-update-0')}:8080`,
    '--user-create',
    `http://${ip('user-create-0')}:8080`,
    '--dvd-return',
    `http://${ip('dvd-return-0')}:8080`,
    '--requests',
    String(requests),
    '--rate',
    '150',
    '--concurrency',
    '4',
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return JSON.parse(r.stdout);
}

async function psqlFrom(instance: string, sql: string): Promise<string> {
  return psqlIn(ns('i', instance), ip('db-0'), sql);
}
/** From inside the database's own namespace: not through the firewall, not tapped. */
const psql = (sql: string) => psqlFrom('db-0', sql);

/** Every counting rule on each node, read as the backend reads them (both tables, with handles). */
async function countersOf(): Promise<Record<string, RuleCounter[]>> {
  const backend = nftBackend({ system: realSystem, nsOf: (node) => ns('n', node) });
  const out: Record<string, RuleCounter[]> = {};
  for (const node of Object.keys(ctx.addressing.nodes)) {
    const c = await backend.counters(node);
    assert.ok(c.ok, c.ok ? '' : c.errors.map((e) => e.message).join('\n'));
    out[node] = c.value;
  }
  return out;
}

describe('local cloud: dvd-rental', { skip }, () => {
  before(async () => {
    await flowtap('down', 'dvd-rental');
    const t0 = Date.now();
    const r = await flowtap('up', APP, ...POLICIES, '--json');
    assert.equal(r.code, 0, r.stderr);
    ctx = JSON.parse(r.stdout);
    console.log(`flowtap up took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
  after(async () => {
    await flowtap('down', 'dvd-rental');
  });

  test('the probe matrix equals the required connectivity', async () => {
    const { ok, out } = await liveOk();
    assert.ok(ok, out);
    assert.match(out, /11 open/);
  });

  test('status: every service is up and listening, the database and the queue that daemonise included', async () => {
    const r = await flowtap('status', 'dvd-rental', '--json');
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as {
      instances: { instance: string; health: string; processes: number }[];
      monitors: { monitor: string; health: string }[];
      processes: { owner: string; alive: boolean }[];
    };
    assert.deepEqual(
      s.instances.filter((i) => i.health !== 'listening'),
      [],
    );
    assert.deepEqual(
      s.monitors.filter((m) => m.health !== 'running'),
      [],
    );
    // The scripts started for db-0 and mq-0 handed over to their servers and exited: that is not "down".
    for (const owner of ['db-0', 'mq-0']) assert.equal(s.processes.find((p) => p.owner === owner)?.alive, false, owner);
    const text = await flowtap('status', 'dvd-rental');
    assert.match(text.stdout, /db-0 +node2 +\S+ +running +listening +5432 open/);
  });

  test('the rental flow works end to end through the firewall, across nodes', async () => {
    const s = await load(150);
    assert.equal(s.errors, 0);
    assert.ok(s.byOperation.rent > 0 && s.byOperation['create-user'] > 0);
    // Rentals reached dvd-update over NATS and the database; shipping got its calls.
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(Number(await psql('select count(*) from rentals')) > 0);
    assert.ok(Number(await psql('select count(*) from users where balance > 0')) > 0);
    if (s.byOperation.return) assert.ok(Number(await psql('select count(*) from rentals where returned_at is not null')) > 0);
  });

  test('forward taps deliver copies to the SQL monitor while traffic still flows', async () => {
    const mon = ns('m', 'mon-sql');
    const cap = spawn('ip', ['netns', 'exec', mon, 'tcpdump', '-l', '-i', 'any', '-n', '-c', '20', 'tcp port 5432'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lines = '';
    cap.stdout.on('data', (d) => (lines += d));
    await new Promise((r) => setTimeout(r, 800));
    const s = await load(40);
    assert.equal(s.errors, 0);
    await new Promise((r) => setTimeout(r, 500));
    if (cap.exitCode === null && cap.signalCode === null) {
      const exited = new Promise((r) => cap.once('exit', r));
      cap.kill('SIGINT');
      await exited;
    }
    assert.ok(lines.split('\n').filter((l) => l.includes('.5432')).length >= 5, lines);
    const counters = JSON.parse(
      execFileSync('ip', ['netns', 'exec', ns('n', 'node2'), 'nft', '-j', 'list', 'table', 'netdev', 'flowtap_taps'], { encoding: 'utf8' }),
    );
    const dup = counters.nftables.filter((x: any) => x.rule).map((x: any) => x.rule.expr.find((e: any) => e.counter)?.counter.packets ?? 0);
    assert.ok(dup.reduce((a: number, b: number) => a + b, 0) > 0);
  });

  test('monitors run in their namespaces: benign load raises no notice, attacks on allowed paths do', async () => {
    const before = await flowtap('notices', 'dvd-rental', '--json');
    assert.equal(before.code, 0, before.stderr);
    // The probe matrix's denied attempts are real unauthorized connection attempts, and the taps
    // see them before the firewall drops them. The rental traffic itself raises nothing.
    const seen = before.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { note: string; sub: string });
    const required = new Set([
      'external>contract-update',
      'external>user-create',
      'external>dvd-return',
      'contract-update>user-update',
      'contract-update>mq',
      'user-create>db',
      'dvd-return>dvd-update',
      'user-update>db',
      'dvd-update>shipping',
      'dvd-update>db',
      'dvd-update>mq',
    ]);
    for (const n of seen) {
      assert.equal(n.note, 'FlowTap::Unauthorized_Connection', JSON.stringify(n));
      const ev = JSON.parse(n.sub) as { src: string; dst: string };
      assert.ok(!required.has(`${ev.src}>${ev.dst}`), `a required connection was flagged: ${JSON.stringify(n)}`);
    }
    assert.ok(seen.length > 0, 'the probe matrix attempts were seen');
    // A compromised user-create reads the users table; it may only INSERT.
    await psqlFrom('user-create-0', 'select count(*) from users');
    let notes: Array<{ monitor: string; note: string; msg: string }> = [];
    for (let i = 0; i < 20 && !notes.some((n) => n.note === 'FlowTap::Disallowed_SQL'); i++) {
      await new Promise((r) => setTimeout(r, 500));
      const r = await flowtap('notices', 'dvd-rental', '--json');
      notes = r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    }
    const sql = notes.find((n) => n.note === 'FlowTap::Disallowed_SQL');
    assert.ok(sql, JSON.stringify(notes));
    assert.equal(sql.monitor, 'mon-sql');
    assert.match(sql.msg, /user-create-0 ran SELECT on users/);
  });

  test('tamper resistance: root inside an instance can neither see nor change the rules, nor reach the node or monitors', async () => {
    const inst = ns('i', 'shipping-0');
    const listed = await inNs(inst, 'nft', ['list', 'ruleset']);
    assert.equal(listed.stdout.trim(), '', 'an instance sees no flowtap table');
    await inNs(inst, 'nft', ['flush', 'ruleset']);
    await inNs(inst, 'ip', ['route', 'add', '10.250.0.0/24', 'dev', 'eth0']).catch(() => undefined);
    // Still denied: the rules live in the node namespace.
    assert.equal(await canConnect(inst, ip('db-0'), 5432), false);
    // The node itself (gateway and underlay) is not reachable; a listener there proves it.
    const node = ns('n', 'node2');
    const gw = ctx.addressing.nodes.node2.gateway;
    const listener = spawn('ip', ['netns', 'exec', node, 'nc', '-l', '-k', '-s', gw, '-p', '9999'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await canConnect(node, gw, 9999), true, 'the listener is up');
    assert.equal(await canConnect(inst, gw, 9999), false);
    listener.kill();
    assert.equal(await canConnect(inst, ctx.addressing.nodes.node1.ip, 22), false);
    // Monitors have no address at all, and the control plane (root namespace) has no route in.
    const monAddrs = execFileSync('ip', ['-n', ns('m', 'mon-sql'), '-4', 'addr', 'show'], { encoding: 'utf8' });
    assert.ok(!/inet (?!127\.)/.test(monAddrs), monAddrs);
    const route = await inNs(inst, 'ip', ['route', 'get', '127.0.0.53']);
    assert.ok(route.code !== 0 || !route.stdout.includes('via 127'), 'no path to the host loopback');
  });

  test("tamper resistance extends to the node agents: in the node's namespace, reachable by no instance, not stoppable from one", async () => {
    const st = JSON.parse((await flowtap('status', 'dvd-rental', '--json')).stdout) as {
      processes: { owner: string; pid: number; alive: boolean }[];
    };
    const agent = st.processes.find((p) => p.owner === 'agent:node2');
    assert.ok(agent?.alive, 'the agent of node2 runs');
    const node = ns('n', 'node2');
    const inst = ns('i', 'shipping-0');
    // It lives in the node's namespace, not in any instance's.
    assert.equal(statSync(`/proc/${agent.pid}/ns/net`).ino, statSync(`/run/netns/${node}`).ino);
    for (const i of Object.keys(ctx.addressing.instances))
      assert.notEqual(statSync(`/proc/${agent.pid}/ns/net`).ino, statSync(`/run/netns/${ns('i', i)}`).ino, i);
    // With the embedded broker it listens on nothing at all: there is no port to knock on.
    const sockets = await inNs(node, 'ss', ['-lntupH']);
    assert.doesNotMatch(sockets.stdout, new RegExp(`pid=${agent.pid},`), sockets.stdout);
    // Root in an instance of its node: rules flushed, routes towards the node added; every address of the node stays shut.
    await inNs(inst, 'nft', ['flush', 'ruleset']);
    await inNs(inst, 'ip', ['route', 'add', '127.0.0.0/8', 'via', ctx.addressing.nodes.node2.gateway, 'dev', 'eth0']).catch(
      () => undefined,
    );
    for (const addr of [ctx.addressing.nodes.node2.gateway, ctx.addressing.nodes.node2.ip, '127.0.0.2'])
      for (const port of [22, 80, 4222, 5432, 8080]) assert.equal(await canConnect(inst, addr, port, 0.5), false, `${addr}:${port}`);
    const ping = await inNs(inst, 'ping', ['-c', '1', '-W', '1', ctx.addressing.nodes.node2.gateway]);
    assert.notEqual(ping.code, 0, 'the node does not even answer a ping');
    // The agent lived through it and goes on shipping to the broker.
    assert.ok(realSystem.alive(agent.pid));
    const b = await openBroker({ store: `sqlite:${join(stateDir, 'broker.db')}` });
    assert.ok(b.ok);
    const t0 = Date.now();
    let fresh = 0;
    while (fresh === 0 && Date.now() - t0 < 15_000) {
      await new Promise((r) => setTimeout(r, 500));
      fresh = (await b.value.store.query({ app: 'dvd-rental', node: 'node2', from: t0 })).length;
    }
    await b.value.close();
    assert.ok(fresh > 0, 'records from the agent of node2 after the attempts');
  });

  test('a quarantine changes only the rules it needs: every other rule keeps its counter', async () => {
    // Traffic through the firewall and the taps of both nodes first, so there are counts to lose.
    assert.equal((await load(60)).errors, 0);
    const before = await countersOf();
    const r = await flowtap('isolate', APP, 'shipping-0');
    assert.equal(r.code, 0, r.stderr);
    // Each node in one incremental transaction (or none): never a full replacement.
    const applied = [...r.stderr.matchAll(/data plane on (\S+): (\w+)(.*)/g)].map((m) => ({ node: m[1], kind: m[2], line: m[0] }));
    console.log(applied.map((a) => a.line).join('\n'));
    assert.deepEqual(applied.map((a) => a.node).sort(), ['node1', 'node2'], r.stderr);
    assert.ok(
      applied.every((a) => a.kind === 'incremental' || a.kind === 'unchanged'),
      r.stderr,
    );
    assert.ok(
      applied.some((a) => a.node === 'node2' && a.kind === 'incremental'),
      'shipping-0 lives on node2: its rules changed',
    );
    const after = await countersOf();
    // Every rule that counted something and is not about shipping is still the same rule (same
    // handle), and its counter went on from where it was instead of starting again at zero.
    let kept = 0;
    for (const node of Object.keys(before)) {
      const now = new Map(after[node].map((c) => [`${c.table} ${c.handle}`, c]));
      for (const b of before[node]) {
        if (b.packets === 0 || /shipping/.test(`${b.chain} ${b.comment}`)) continue;
        const a = now.get(`${b.table} ${b.handle}`);
        assert.ok(a, `${node}: ${b.table} ${b.chain} "${b.comment}" (handle ${b.handle}) was replaced`);
        assert.equal(`${a.chain} ${a.comment}`, `${b.chain} ${b.comment}`);
        assert.ok(a.packets >= b.packets, `${node}: ${b.chain} "${b.comment}" counted ${b.packets} packets before, ${a.packets} after`);
        kept++;
      }
    }
    assert.ok(kept >= 10, `only ${kept} rules with traffic to compare`);
    // And shipping-0 is cut off: its own chains stay as they were (nothing to list or delete), the
    // quarantine chain drops everything it sends or is sent before they are reached.
    const mine = (l: RuleCounter[]) =>
      l.filter((c) => c.chain === 'in_shipping_0' || c.chain === 'eg_shipping_0').map((c) => `${c.chain} ${c.handle} ${c.comment}`);
    assert.deepEqual(mine(after.node2), mine(before.node2));
    const q = after.node2.filter((c) => c.chain === 'quarantine').map((c) => c.comment);
    assert.ok(q.filter((c) => c === 'quarantine').length === 2 && q.every((c) => c.startsWith('quarantine')), q.join(', '));
    assert.equal(await canConnect(ns('i', 'dvd-update-0'), ip('shipping-0'), 8080), false);
    const back = await flowtap('release', APP, 'shipping-0');
    assert.equal(back.code, 0, back.stderr);
    assert.doesNotMatch(back.stderr, /data plane on \S+: full/, back.stderr);
    assert.equal(await canConnect(ns('i', 'dvd-update-0'), ip('shipping-0'), 8080), true);
  });

  test('quarantine cuts an instance off and release restores it', async () => {
    const from = ns('i', 'contract-update-0');
    assert.equal(await canConnect(from, ip('user-update-0'), 8080), true);
    let r = await flowtap('isolate', APP, 'user-update-0');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await canConnect(from, ip('user-update-0'), 8080), false);
    assert.equal(await canConnect(ns('i', 'user-update-0'), ip('db-0'), 5432), false);
    assert.ok((await liveOk()).ok, 'the live matrix expects the quarantined instance to be cut off');
    r = await flowtap('release', APP, 'user-update-0');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await canConnect(from, ip('user-update-0'), 8080), true);
  });

  test('moving an instance to another node: new address, same policy, enforcement holds', async () => {
    const before = ip('shipping-0');
    const r = await flowtap('move', APP, 'shipping-0', 'node1');
    assert.equal(r.code, 0, r.stderr);
    const st = JSON.parse((await flowtap('status', 'dvd-rental', '--json')).stdout);
    ctx.addressing = st.addressing;
    assert.notEqual(ip('shipping-0'), before);
    assert.equal(st.addressing.instances['shipping-0'].node, 'node1');
    const { ok, out } = await liveOk();
    assert.ok(ok, out);
    assert.equal(await canConnect(ns('i', 'dvd-update-0'), ip('shipping-0'), 8080), true);
    assert.equal(await canConnect(ns('i', 'shipping-0'), ip('db-0'), 5432), false);
    assert.equal((await load(30)).errors, 0);
  });

  test('redeploying the database keeps its data and its rules', async () => {
    const users = Number(await psql('select count(*) from users'));
    const r = await flowtap('redeploy', APP, 'db-0');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(Number(await psql('select count(*) from users')), users);
    const { ok, out } = await liveOk();
    assert.ok(ok, out);
  });

  test('down removes every namespace, process and rule, and is idempotent', async () => {
    // Every process living in the cloud's namespaces (services, servers, monitors, their children).
    const pids = new Set<number>();
    for (const n of namespaces(PREFIX)) {
      const r = await run('ip', ['netns', 'pids', n]);
      for (const p of r.stdout.split(/\s+/).filter(Boolean)) pids.add(Number(p));
    }
    assert.ok(pids.size >= 10, `expected the cloud's processes, found ${pids.size}`);
    const r = await flowtap('down', 'dvd-rental');
    assert.equal(r.code, 0);
    assert.deepEqual(namespaces(PREFIX), []);
    // An exited process its new parent (init) has not reaped yet still answers signal 0; it is not running.
    const alive = [...pids].filter((p) => realSystem.alive(p));
    assert.deepEqual(alive, [], 'processes of the cloud outlived down');
    // Nothing started from this cloud's state folder survives either (servers record it in their argv).
    const procs = await run('pgrep', ['-f', stateDir]);
    assert.equal(procs.stdout.trim(), '', procs.stdout);
    const again = await flowtap('down', 'dvd-rental');
    assert.equal(again.code, 0);
    assert.match(again.stdout, /removed 0 namespaces/);
  });
});
