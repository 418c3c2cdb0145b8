/**
 * The local cloud's plan and operations against the recording system, without root: the exact
 * commands `up`, isolate, release, terminate, redeploy, move, status and down issue, in order.
 * nft is answered by a small stand-in (FakeNft) that keeps the rules and their handles, so the
 * data-plane commands are those the backend issues against the real one: a full replacement at
 * `up`, then only the rules each operation changes. (test/local-cloud*.test.ts run the same on
 * real namespaces as root.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNamespace, RecordingSystem, type Responder } from '../system/index.js';
import { localCloud } from './driver.js';
import type { FlowtapError } from '../diagnostics/index.js';
import type { DeploymentSpec, LifecycleEvent, Orchestrator } from './lifecycle.js';
import { withDeploymentLock } from './deployment-lock.js';
import { LocalCloud } from './local-cloud.js';
import type { CloudState } from './state-file.js';
import { fakePrepare, FakeNft, repoFile, ROOT, specOf, testEnv, type FakeLog } from './testing.js';

const WEB_SQL = 'examples/web-sql/app.yaml';
const DVD = 'examples/dvd-rental/app.yaml';

async function upWith(descriptor: string, change: Partial<DeploymentSpec> = {}, responder?: Responder) {
  const nft = new FakeNft();
  const rec = new RecordingSystem(nft.responder(responder));
  const progress: string[] = [];
  const env = { ...testEnv(rec), progress: (l: string) => progress.push(l) };
  const spec = specOf(descriptor, change);
  const log: Required<FakeLog> = { specs: [], desired: [] };
  const cloud = await localCloud(env).up(spec, fakePrepare(log));
  return { rec, env, spec, cloud, log, nft, progress };
}

/** Lines issued from here on: each operation is asserted on its own. */
function since(rec: RecordingSystem): () => string[] {
  const from = rec.calls.length;
  return () => rec.commandLines().slice(from);
}

/** The scripts applied (not only checked) since call `from`. */
const applied = (rec: RecordingSystem, from = 0) =>
  rec.calls
    .slice(from)
    .flatMap((c) => (c.kind === 'run' && c.argv[0] === 'nft' && c.argv.includes('-f') && !c.argv.includes('-c') ? [c.input ?? ''] : []));
/** Items logged since their length was `from`. */
const after = <T>(list: T[], from: number) => list.slice(from);

type Applied = {
  config: { tables: { family: string; name: string; chains: { name: string; rules: { text: string }[] }[] }[] };
  handles: Record<string, number[]>;
  stamp: string;
};
const record = (env: { stateDir: string }, app: string): Record<string, Applied> =>
  JSON.parse(readFileSync(join(env.stateDir, `${app}.json`), 'utf8')).dataplane;
/** The rules of a recorded configuration as FakeNft lists them: what must be in force. */
const recorded = (a: Applied) =>
  a.config.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.map((r) => `${t.family} ${t.name} ${c.name}: ${r.text}`)));
const pidsOf = (rec: RecordingSystem, ns: string) => rec.calls.flatMap((c) => (c.kind === 'daemon' && c.ns === ns ? [c.pid] : []));

function events(cloud: Orchestrator): LifecycleEvent[] {
  const list: LifecycleEvent[] = [];
  cloud.onEvent((e) => list.push(e));
  return list;
}

test('up: namespaces, links, routes, the data plane per node, then monitors and instances in dependency order', async () => {
  const { rec, env, spec, log, nft, progress } = await upWith(WEB_SQL);
  const lines = rec.commandLines();
  assert.deepEqual(
    lines.filter((l) => l.startsWith('ip netns add ')),
    [
      'ip netns add ft-web-sql-underlay',
      'ip netns add ft-web-sql-external',
      'ip netns add ft-web-sql-n-node1',
      'ip netns add ft-web-sql-m-mon1',
      'ip netns add ft-web-sql-i-web-0',
      'ip netns add ft-web-sql-i-sql-0',
    ],
  );
  // One instance's plan, exactly: veth into the node, its MAC, /32 address, routes both ways.
  const web = lines.indexOf('ip netns add ft-web-sql-i-web-0');
  assert.deepEqual(lines.slice(web, web + 11), [
    'ip netns add ft-web-sql-i-web-0',
    'ip -n ft-web-sql-i-web-0 link set lo up',
    'ip netns exec ft-web-sql-i-web-0 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1',
    'ip link add ft0 netns ft-web-sql-n-node1 type veth peer name eth0 netns ft-web-sql-i-web-0',
    'ip -n ft-web-sql-i-web-0 link set eth0 address 02:66:74:00:00:00',
    'ip -n ft-web-sql-i-web-0 addr add 10.77.0.2/32 dev eth0',
    'ip -n ft-web-sql-i-web-0 link set eth0 up',
    'ip -n ft-web-sql-i-web-0 route add 10.77.0.1 dev eth0',
    'ip -n ft-web-sql-i-web-0 route add default via 10.77.0.1 dev eth0',
    'ip -n ft-web-sql-n-node1 link set ft0 up',
    'ip -n ft-web-sql-n-node1 route add 10.77.0.2/32 dev ft0',
  ]);
  assert.ok(lines.includes('ip -n ft-web-sql-external route add 10.77.0.0/24 via 10.250.0.1'));
  assert.ok(
    lines.includes(
      'ip netns exec ft-web-sql-n-node1 sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0',
    ),
  );
  // After the topology: check, then apply, the node's tables whole (nft echoes the handles); monitors;
  // sql before web (web calls it), each waited for.
  const run = env.stateDir;
  const last = lines.indexOf('ip -n ft-web-sql-n-node1 route add 10.77.0.3/32 dev ft1');
  assert.deepEqual(lines.slice(last + 1), [
    'ip netns exec ft-web-sql-n-node1 nft -c -f -',
    'ip netns exec ft-web-sql-n-node1 nft -e -a -f -',
    `daemon ip netns exec ft-web-sql-m-mon1 flowtap monitor --iface any --app ${spec.descriptor} --log-dir ${run}/web-sql/mon1`,
    `daemon ip netns exec ft-web-sql-i-sql-0 bash examples/dvd-rental/db/postgres.sh start ${run}/web-sql/sql-0 3306 10.77.0.3`,
    'ip netns exec ft-web-sql-i-sql-0 nc -z -w 1 10.77.0.3 3306',
    'daemon ip netns exec ft-web-sql-i-web-0 node dist/examples/web-sql/server/server.js',
    'ip netns exec ft-web-sql-i-web-0 nc -z -w 1 10.77.0.2 80',
  ]);
  assert.deepEqual(log.desired, ['# node1 mode=enforce strategy=per-node down= isolated= terminated=']);
  // Both tables replaced in one transaction, with the stamp that later updates check.
  const [script] = applied(rec);
  const { node1 } = record(env, 'web-sql');
  assert.match(node1.stamp, /^ft_applied_[0-9a-f]{12}$/);
  assert.ok(
    script.startsWith('table inet flowtap\ndelete table inet flowtap\ntable netdev flowtap_taps\ndelete table netdev flowtap_taps\n'),
  );
  assert.ok(script.endsWith(`add chain inet flowtap ${node1.stamp}\nadd chain netdev flowtap_taps ${node1.stamp}\n`));
  // What is in force is what the state records, every handle learned from the echo.
  assert.deepEqual(nft.rules('ft-web-sql-n-node1'), recorded(node1));
  assert.ok(
    Object.values(node1.handles)
      .flat()
      .every((h) => h > 0),
  );
  assert.match(
    progress.find((l) => l.startsWith('data plane on node1'))!,
    /^data plane on node1: full \(\d+ rules: nothing applied on this node yet\) in \d+ ms$/,
  );
  const daemons = rec.calls.filter((c) => c.kind === 'daemon');
  assert.ok(daemons.every((d) => d.cwd === ROOT));
  // Placeholders are filled with the addresses the cloud chose.
  const webDaemon = daemons.find((d) => d.ns === 'ft-web-sql-i-web-0');
  assert.equal(webDaemon?.env?.DATABASE_URL, 'postgres://dvdrental:dvdrental@10.77.0.3:3306/dvdrental');
  assert.equal(webDaemon?.log, join(run, 'web-sql', 'web-0', 'process.log'));
  // The state (in the redirected folder) records everything made.
  const state = JSON.parse(readFileSync(join(run, 'web-sql.json'), 'utf8'));
  assert.equal(state.phase, 'running');
  assert.equal(state.namespaces.length, 6);
  assert.deepEqual(
    state.processes.map((p: { owner: string }) => p.owner),
    ['monitor:mon1', 'sql-0', 'web-0'],
  );
  assert.deepEqual(state.spec, spec);
  assert.ok(existsSync(join(run, 'web-sql', 'addressing.json')));
});

test('up on two nodes: VXLAN between them, tap tunnels to remote monitors, one script per node', async () => {
  const { rec } = await upWith(DVD);
  const lines = rec.commandLines();
  assert.ok(
    lines.includes(
      'ip -n ft-dvd-rental-n-node1 link add vx-ft mtu 1500 type vxlan id 42 local 10.250.0.1 dstport 4789 dev up-ft nolearning',
    ),
  );
  assert.ok(lines.includes('bridge -n ft-dvd-rental-n-node1 fdb append 00:00:00:00:00:00 dev vx-ft dst 10.250.0.2'));
  assert.ok(lines.includes('ip -n ft-dvd-rental-n-node1 route add 10.77.1.0/24 via 10.251.0.2 dev vx-ft'));
  assert.ok(lines.includes('ip -n ft-dvd-rental-n-node2 route add 10.77.0.0/24 via 10.251.0.1 dev vx-ft'));
  // Copies for a monitor on node1 (mon-http) come from node2 through its tap tunnel: point to
  // point, one VNI per (monitor, node), so what the monitor passes goes back to node2.
  assert.ok(
    lines.includes(
      'ip -n ft-dvd-rental-n-node2 link add tt-fm0 type vxlan id 1001 local 10.250.0.2 remote 10.250.0.1 dstport 4790 dev up-ft',
    ),
  );
  const home = lines.indexOf(
    'ip -n ft-dvd-rental-n-node1 link add tr1-fm0 type vxlan id 1001 local 10.250.0.1 remote 10.250.0.2 dstport 4790 dev up-ft',
  );
  assert.ok(home >= 0, 'the monitor end is made on its node, with its socket there');
  assert.deepEqual(lines.slice(home + 1, home + 4), [
    'ip -n ft-dvd-rental-n-node1 link set tr1-fm0 netns ft-dvd-rental-m-mon-http',
    'ip -n ft-dvd-rental-m-mon-http link set tr1-fm0 name tun1',
    'ip -n ft-dvd-rental-m-mon-http link set tun1 up',
  ]);
  assert.deepEqual(
    lines.filter((l) => /-n-node\d nft /.test(l)),
    [
      'ip netns exec ft-dvd-rental-n-node1 nft -c -f -',
      'ip netns exec ft-dvd-rental-n-node2 nft -c -f -',
      'ip netns exec ft-dvd-rental-n-node1 nft -e -a -f -',
      'ip netns exec ft-dvd-rental-n-node2 nft -e -a -f -',
    ],
  );
  assert.deepEqual(
    rec.calls.flatMap((c) => (c.kind === 'daemon' && c.ns?.includes('-i-') ? [c.ns.slice('ft-dvd-rental-i-'.length)] : [])),
    ['db-0', 'user-update-0', 'mq-0', 'contract-update-0', 'user-create-0', 'shipping-0', 'dvd-update-0', 'dvd-return-0'],
  );
  assert.equal(rec.calls.filter((c) => c.kind === 'daemon' && c.ns?.includes('-m-')).length, 5);
});

test('isolate and release re-render every node from the current context and change only the rules they need', async () => {
  const { rec, env, cloud, log, nft, progress } = await upWith(WEB_SQL);
  const NODE = 'ft-web-sql-n-node1';
  const seen = events(cloud);
  const handleOf = (comment: string) => {
    const a = record(env, 'web-sql').node1;
    for (const t of a.config.tables)
      for (const c of t.chains) {
        const i = c.rules.findIndex((r) => r.text.endsWith(`comment "${comment}"`));
        if (i >= 0) return a.handles[`${t.family} ${t.name} ${c.name}`][i];
      }
    return undefined;
  };
  const untouched = handleOf('in_sql_0 default');
  const { stamp } = record(env, 'web-sql').node1;
  let lines = since(rec);
  let from = { calls: rec.calls.length, desired: log.desired.length, progress: progress.length };
  await cloud.isolate('web-0');
  // One check and one transaction: the stamp first, then the quarantine chain only; web-0's own chains stay.
  assert.deepEqual(lines(), [`ip netns exec ${NODE} nft -f -`]);
  const [script] = applied(rec, from.calls);
  assert.deepEqual(script.split('\n').slice(0, 2), [`flush chain inet flowtap ${stamp}`, `flush chain netdev flowtap_taps ${stamp}`]);
  assert.match(script, /^add rule inet flowtap quarantine iifname "ft0" counter drop comment "quarantine"$/m);
  assert.doesNotMatch(script, /delete (table|rule)|flush chain inet flowtap (forward|eg_web_0|in_sql_0)/);
  assert.deepEqual(after(log.desired, from.desired), ['# node1 mode=enforce strategy=per-node down= isolated=web-0 terminated=']);
  const said = after(progress, from.progress);
  assert.equal(said.length, 1);
  assert.match(said[0], /^data plane on node1: incremental \(\+3 -0 rules\) in \d+ ms$/);
  assert.equal(handleOf('in_sql_0 default'), untouched, 'a rule the change does not touch stays the same rule (and keeps its counter)');
  assert.deepEqual(nft.rules(NODE), recorded(record(env, 'web-sql').node1));
  assert.equal(cloud.context().status['web-0'], 'isolated');
  lines = since(rec);
  from = { calls: rec.calls.length, desired: log.desired.length, progress: progress.length };
  await cloud.release('web-0');
  // The quarantine rules' handles were never read back, and are not needed: their chain is flushed.
  assert.deepEqual(lines(), [`ip netns exec ${NODE} nft -f -`]);
  assert.match(applied(rec, from.calls)[0], /^flush chain inet flowtap quarantine$/m);
  assert.doesNotMatch(applied(rec, from.calls)[0], /delete rule/);
  assert.deepEqual(after(log.desired, from.desired), ['# node1 mode=enforce strategy=per-node down= isolated= terminated=']);
  assert.match(progress.at(-1)!, /^data plane on node1: incremental \(\+0 -3 rules\)/);
  assert.equal(handleOf('in_sql_0 default'), untouched);
  assert.deepEqual(nft.rules(NODE), recorded(record(env, 'web-sql').node1));
  assert.deepEqual(
    seen.map((e) => `${e.type} ${e.instance} ${e.node}`),
    ['isolated web-0 node1', 'released web-0 node1'],
  );
});

test('a counters read after a change teaches the handles of what it added: the undo needs no listing', async () => {
  const { rec, cloud } = await upWith(WEB_SQL);
  const NODE = 'ft-web-sql-n-node1';
  await cloud.isolate('web-0');
  let lines = since(rec);
  const read = await cloud.counters('node1');
  assert.ok(read.ok && read.value.some((c) => c.comment === 'quarantine' && typeof c.handle === 'number'));
  assert.deepEqual(lines(), [`ip netns exec ${NODE} nft -j list ruleset`]);
  lines = since(rec);
  await cloud.release('web-0');
  assert.deepEqual(lines(), [`ip netns exec ${NODE} nft -f -`]);
});

test('a cloud attached with nft sessions (the controller) sends a quarantine to one interactive nft, without echo, and reports the rules it committed', async () => {
  const nft = new FakeNft();
  // An interactive `nft -j -i`: a transaction it accepts prints nothing; the end mark is answered from nft's own tables.
  const session = (_argv: string[], line: string) =>
    line === 'describe meta mark'
      ? { stdout: 'meta expression, datatype mark (packet mark) (basetype integer), 32 bits\n' }
      : { stdout: '' };
  const rec = new RecordingSystem(nft.responder(), session);
  const env = testEnv(rec);
  await localCloud(env).up(specOf(WEB_SQL), fakePrepare());
  let lines = since(rec);
  const controller = await localCloud({ ...env, nftSessions: true }).attach('web-sql', fakePrepare());
  // Each node's session starts at attach, before any reaction needs it; no echo (it would make nft fetch the whole ruleset).
  assert.deepEqual(
    lines().filter((l) => l.includes('nft -j')),
    controller.app.nodes.map((n) => `ip netns exec ft-web-sql-n-${n.name} sh -c exec nft -j -i 2>&1`),
  );
  lines = since(rec);
  const reports = await controller.isolate('web-0');
  assert.deepEqual(lines(), []);
  assert.equal(reports.node1.kind, 'incremental');
  assert.match(rec.sessionLines.at(-2)!, /add rule inet flowtap quarantine iifname "ft0" counter drop comment "quarantine"/);
  assert.equal(rec.sessionLines.at(-1), 'describe meta mark');
  // web-0's quarantine: its port's traffic both ways, as committed (no handle until someone lists them).
  assert.deepEqual(
    reports.node1.installed?.map((r) => [r.chain, r.comment, r.handle, r.packets]),
    [
      ['quarantine', 'quarantine', undefined, 0],
      ['quarantine', 'quarantine', undefined, 0],
      ['quarantine', 'quarantine (passed back by a monitor)', undefined, 0],
    ],
  );
  // The release goes to the same session and deletes nothing by handle: the chain is flushed.
  lines = since(rec);
  await controller.release('web-0');
  assert.deepEqual(lines(), []);
  assert.match(rec.sessionLines.at(-2)!, /flush chain inet flowtap quarantine/);
  await controller.close?.();
});

test('another process attaching applies incrementally from the recorded state; a stale record becomes a full replacement', async () => {
  const { rec, env, nft } = await upWith(WEB_SQL);
  const NODE = 'ft-web-sql-n-node1';
  const progress: string[] = [];
  const other = await localCloud({ ...env, progress: (l) => progress.push(l) }).attach('web-sql', fakePrepare());
  let lines = since(rec);
  await other.isolate('web-0');
  assert.deepEqual(lines(), [`ip netns exec ${NODE} nft -f -`]);
  assert.match(progress.at(-1)!, /: incremental /);
  // The tables are replaced behind the record's back (its stamp is no longer there): nft refuses
  // the update, and the tables are replaced whole instead, never patched by stale handles.
  const file = join(env.stateDir, 'web-sql.json');
  const state = JSON.parse(readFileSync(file, 'utf8'));
  state.dataplane.node1.stamp = 'ft_applied_000000000000';
  writeFileSync(file, JSON.stringify(state));
  const third = await localCloud({ ...env, progress: (l) => progress.push(l) }).attach('web-sql', fakePrepare());
  lines = since(rec);
  const from = rec.calls.length;
  await third.release('web-0');
  // No listing first: the release rewrites the quarantine chain whole, which needs no handle.
  assert.deepEqual(lines(), [`ip netns exec ${NODE} nft -f -`, `ip netns exec ${NODE} nft -e -a -f -`]);
  assert.match(applied(rec, from)[0], /^flush chain inet flowtap ft_applied_000000000000$/m);
  assert.match(
    progress.at(-1)!,
    /^data plane on node1: full \(\d+ rules: the incremental update was refused \(.*No such file or directory/,
  );
  const now = record(env, 'web-sql').node1;
  assert.notEqual(now.stamp, 'ft_applied_000000000000');
  assert.deepEqual(nft.rules(NODE), recorded(now));
});

test('a rejected script leaves every node as it was: nothing is applied when a check fails', async () => {
  let reject = false;
  const { rec, cloud, nft } = await upWith(DVD, {}, (argv, opts) =>
    reject && argv.includes('-c') && inNamespace(opts.ns, argv).includes('ft-dvd-rental-n-node2')
      ? { code: 1, stderr: '/dev/stdin:3:1-5: Error: syntax error' }
      : undefined,
  );
  reject = true;
  const inForce = ['node1', 'node2'].map((n) => nft.rules(`ft-dvd-rental-n-${n}`));
  const lines = since(rec);
  // Audit mode changes the forward chains' policy: a full replacement, which nft checks first on every node.
  await assert.rejects(cloud.reconfigure({ mode: 'audit' }), (e: Error) => /syntax error/.test(e.message));
  // node2's replacement is refused: nothing is applied anywhere, and the spec stays as it was.
  assert.deepEqual(lines(), ['ip netns exec ft-dvd-rental-n-node1 nft -c -f -', 'ip netns exec ft-dvd-rental-n-node2 nft -c -f -']);
  assert.deepEqual(
    ['node1', 'node2'].map((n) => nft.rules(`ft-dvd-rental-n-${n}`)),
    inForce,
  );
  assert.equal(cloud.spec().mode, 'enforce');
});

test('terminate stops the recorded process and whatever else lives in the namespace, removes it and its route', async () => {
  const { rec, cloud } = await upWith(WEB_SQL, {}, (argv) =>
    argv.join(' ') === 'ip netns pids ft-web-sql-i-sql-0' ? { stdout: '4242\n4243\n' } : undefined,
  );
  const [pid] = pidsOf(rec, 'ft-web-sql-i-sql-0');
  const seen = events(cloud);
  const lines = since(rec);
  await cloud.terminate('sql-0');
  assert.deepEqual(lines(), [
    `stop ${pid}`,
    'ip netns pids ft-web-sql-i-sql-0',
    'stop 4242 4243',
    'ip -n ft-web-sql-n-node1 link del ft1',
    'ip netns del ft-web-sql-i-sql-0',
    'ip -n ft-web-sql-n-node1 route del 10.77.0.3/32',
    'ip netns exec ft-web-sql-n-node1 ip -j link show',
    'ip netns exec ft-web-sql-n-node1 nft -f -',
  ]);
  assert.equal(cloud.context().status['sql-0'], 'terminated');
  assert.deepEqual(
    seen.map((e) => e.type),
    ['terminated'],
  );
  // A second terminate has nothing left to do.
  const again = since(rec);
  await cloud.terminate('sql-0');
  assert.deepEqual(again(), []);
});

test('redeploy: terminate, the same plan again at the same address, rules, then the process once it listens', async () => {
  const { rec, env, cloud, log, nft } = await upWith(WEB_SQL);
  const [pid] = pidsOf(rec, 'ft-web-sql-i-sql-0');
  const seen = events(cloud);
  const lines = since(rec);
  const from = log.desired.length;
  const before = nft.rules('ft-web-sql-n-node1');
  await cloud.redeploy('sql-0');
  const got = lines();
  assert.deepEqual(got.slice(0, 8), [
    `stop ${pid}`,
    'ip netns pids ft-web-sql-i-sql-0',
    'ip -n ft-web-sql-n-node1 link del ft1',
    'ip netns del ft-web-sql-i-sql-0',
    'ip -n ft-web-sql-n-node1 route del 10.77.0.3/32',
    'ip netns exec ft-web-sql-n-node1 ip -j link show',
    'ip netns exec ft-web-sql-n-node1 nft -f -',
    'ip netns add ft-web-sql-i-sql-0',
  ]);
  // Back in: the handles of the rules terminate added are listed first (their chains), the devices new rules send to looked up.
  assert.deepEqual(got.slice(-7), [
    'ip -n ft-web-sql-n-node1 route add 10.77.0.3/32 dev ft1',
    'ip netns exec ft-web-sql-n-node1 nft -j list chain netdev flowtap_taps ret_fr0',
    'ip netns exec ft-web-sql-n-node1 nft -j list chain netdev flowtap_taps rst_fm0',
    'ip netns exec ft-web-sql-n-node1 ip -j link show',
    'ip netns exec ft-web-sql-n-node1 nft -f -',
    `daemon ip netns exec ft-web-sql-i-sql-0 bash examples/dvd-rental/db/postgres.sh start ${env.stateDir}/web-sql/sql-0 3306 10.77.0.3`,
    'ip netns exec ft-web-sql-i-sql-0 nc -z -w 1 10.77.0.3 3306',
  ]);
  // Terminated while it was down, running again after: the same rules as before.
  assert.deepEqual(after(log.desired, from), [
    '# node1 mode=enforce strategy=per-node down= isolated= terminated=sql-0',
    '# node1 mode=enforce strategy=per-node down= isolated= terminated=',
  ]);
  assert.deepEqual(nft.rules('ft-web-sql-n-node1'), before);
  assert.deepEqual(
    seen.map((e) => e.type),
    ['terminated', 'deploying', 'deployed'],
  );
  const state = JSON.parse(readFileSync(join(env.stateDir, 'web-sql.json'), 'utf8'));
  assert.equal(state.processes.filter((p: { owner: string }) => p.owner === 'sql-0').length, 1, 'the old process record is gone');
});

test('move: unplug from the old node, a free address on the new one, rules on both, monitors restarted, the process started', async () => {
  const { rec, env, spec, cloud } = await upWith(DVD);
  const [pid] = pidsOf(rec, 'ft-dvd-rental-i-shipping-0');
  const monitorPids = rec.calls.flatMap((c) => (c.kind === 'daemon' && c.ns?.includes('-m-') ? [c.pid] : []));
  const seen = events(cloud);
  const lines = since(rec);
  await cloud.move('shipping-0', 'node1');
  const run = env.stateDir;
  const ns = 'ft-dvd-rental-i-shipping-0';
  const monitorDaemons = ['mon-http', 'mon-sql', 'mon-node2', 'mon-forensics', 'mon-honeypot'].map(
    (m) =>
      `daemon ip netns exec ft-dvd-rental-m-${m} flowtap monitor --iface any --app ${spec.descriptor} --log-dir ${run}/dvd-rental/${m}`,
  );
  assert.deepEqual(lines(), [
    `stop ${pid}`,
    `ip netns pids ${ns}`,
    'ip -n ft-dvd-rental-n-node2 link del ft5',
    'ip -n ft-dvd-rental-n-node2 route del 10.77.1.3/32',
    `ip netns del ${ns}`,
    `ip netns add ${ns}`,
    `ip -n ${ns} link set lo up`,
    `ip netns exec ${ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1`,
    `ip link add ft5 netns ft-dvd-rental-n-node1 type veth peer name eth0 netns ${ns}`,
    `ip -n ${ns} link set eth0 address 02:66:74:00:00:05`,
    `ip -n ${ns} addr add 10.77.0.6/32 dev eth0`,
    `ip -n ${ns} link set eth0 up`,
    `ip -n ${ns} route add 10.77.0.1 dev eth0`,
    `ip -n ${ns} route add default via 10.77.0.1 dev eth0`,
    'ip -n ft-dvd-rental-n-node1 link set ft5 up',
    'ip -n ft-dvd-rental-n-node1 route add 10.77.0.6/32 dev ft5',
    'ip netns exec ft-dvd-rental-n-node1 ip -j link show',
    'ip netns exec ft-dvd-rental-n-node2 ip -j link show',
    'ip netns exec ft-dvd-rental-n-node1 nft -f -',
    'ip netns exec ft-dvd-rental-n-node2 nft -f -',
    `stop ${monitorPids.join(' ')}`,
    ...monitorDaemons,
    `daemon ip netns exec ${ns} node dist/examples/dvd-rental/services/main.js shipping`,
    `ip netns exec ${ns} nc -z -w 1 10.77.0.6 8080`,
  ]);
  assert.deepEqual(cloud.context().addressing.instances['shipping-0'], {
    instance: 'shipping-0',
    node: 'node1',
    port: 'ft5',
    ip: '10.77.0.6',
    mac: '02:66:74:00:00:05',
  });
  assert.deepEqual(
    seen.map((e) => `${e.type} ${e.node} ${e.detail ?? ''}`),
    ['deployed node1 ', 'moved node1 from node2 (10.77.1.3) to node1 (10.77.0.6)'],
  );
  // Monitors read the new address from the rewritten file.
  assert.equal(JSON.parse(readFileSync(join(run, 'dvd-rental', 'addressing.json'), 'utf8')).instances['shipping-0'].ip, '10.77.0.6');
  // Moving where it already is changes nothing; unknown names are errors naming them.
  const none = since(rec);
  await cloud.move('shipping-0', 'node1');
  assert.deepEqual(none(), []);
  await assert.rejects(cloud.move('shipping-0', 'node9'), /no node named "node9"/);
  await assert.rejects(cloud.isolate('nope-0'), /no instance named "nope-0"/);
});

test('status: running, listening or down per instance, from the namespace pids and the ports that answer', async () => {
  // sql-0 daemonised (its started pid is gone) but its server lives in the namespace and listens;
  // web-0 runs but does not accept connections; after terminate nothing is probed.
  const open = new Set(['ft-web-sql-i-sql-0']);
  const pids: Record<string, string> = { 'ft-web-sql-i-sql-0': '501 502', 'ft-web-sql-i-web-0': '601', 'ft-web-sql-m-mon1': '701' };
  let up = false;
  const { rec, cloud } = await upWith(WEB_SQL, {}, (argv, opts) => {
    if (argv[0] === 'ip' && argv[2] === 'pids') return { stdout: pids[argv[3]] ?? '' };
    if (argv[0] === 'nc' && up) return { code: open.has(opts.ns ?? '') ? 0 : 1 };
    return undefined;
  });
  up = true;
  const sqlPid = pidsOf(rec, 'ft-web-sql-i-sql-0')[0];
  await rec.stop([sqlPid]);
  const lines = since(rec);
  const s = await cloud.status();
  assert.deepEqual(
    s.instances.map((i) => [i.instance, i.state, i.health, i.processes, i.ports.map((p) => `${p.port}:${p.open}`).join()]),
    [
      ['web-0', 'running', 'running', 1, '80:false'],
      ['sql-0', 'running', 'listening', 2, '3306:true'],
    ],
  );
  assert.deepEqual(
    s.monitors.map((m) => [m.monitor, m.health, m.processes]),
    [['mon1', 'running', 1]],
  );
  assert.deepEqual(s.processes.find((p) => p.owner === 'sql-0')?.alive, false, 'the started pid exited: that alone is not the service');
  assert.deepEqual(lines().sort(), [
    'ip netns exec ft-web-sql-i-sql-0 nc -z -w 1 10.77.0.3 3306',
    'ip netns exec ft-web-sql-i-web-0 nc -z -w 1 10.77.0.2 80',
    'ip netns pids ft-web-sql-i-sql-0',
    'ip netns pids ft-web-sql-i-web-0',
    'ip netns pids ft-web-sql-m-mon1',
  ]);
  // Without probing, no port is knocked on and nothing claims to listen.
  const quiet = since(rec);
  const q = await cloud.status({ probe: false });
  assert.ok(quiet().every((l) => !l.includes(' nc ')));
  assert.deepEqual(
    q.instances.map((i) => i.health),
    ['running', 'running'],
  );
  delete pids['ft-web-sql-i-web-0'];
  await cloud.terminate('sql-0');
  const after = await cloud.status();
  assert.deepEqual(
    after.instances.map((i) => [i.instance, i.state, i.health]),
    [
      ['web-0', 'running', 'down'],
      ['sql-0', 'terminated', 'down'],
    ],
  );
});

test('attach renders from the recorded spec: strategy, mode and monitors down survive every operation', async () => {
  const { env } = await upWith(DVD, { strategy: 'per-app', mode: 'audit', downMonitors: ['mon-sql'], policies: ['/p/database.dl'] });
  // Another process attaches with nothing but the application's name.
  const rendered: DeploymentSpec[] = [];
  const headers: string[] = [];
  const cloud = await localCloud(env).attach('dvd-rental', fakePrepare({ specs: rendered, desired: headers }));
  await cloud.isolate('db-0');
  await cloud.release('db-0');
  await cloud.terminate('shipping-0');
  await cloud.redeploy('shipping-0');
  await cloud.move('shipping-0', 'node1');
  assert.deepEqual(
    rendered.map((s) => [s.strategy, s.mode, s.downMonitors.join(), s.policies.join()]),
    [['per-app', 'audit', 'mon-sql', '/p/database.dl']],
  );
  assert.ok(headers.length >= 10);
  assert.ok(
    headers.every((h) => h.includes('mode=audit strategy=per-app down=mon-sql')),
    headers.join('\n'),
  );
});

test('reconfigure changes the spec, re-renders every node, restarts monitors, and the change is recorded', async () => {
  const { rec, env } = await upWith(WEB_SQL);
  const headers: string[] = [];
  const progress: string[] = [];
  const cloud = await localCloud({ ...env, progress: (l) => progress.push(l) }).attach('web-sql', fakePrepare({ desired: headers }));
  const lines = since(rec);
  await cloud.reconfigure({ downMonitors: ['mon1'], mode: 'audit' });
  // Audit mode changes the forward chain's policy: no incremental form, the tables are replaced whole.
  assert.deepEqual(lines().slice(0, 3), [
    'ip netns exec ft-web-sql-n-node1 nft -c -f -',
    'ip netns exec ft-web-sql-n-node1 nft -e -a -f -',
    `stop ${pidsOf(rec, 'ft-web-sql-m-mon1')[0]}`,
  ]);
  assert.match(progress[0], /^data plane on node1: full \(\d+ rules: chain forward in inet flowtap changed its hook or policy\)/);
  assert.match(lines()[3], /^daemon ip netns exec ft-web-sql-m-mon1 flowtap monitor /);
  assert.deepEqual(headers, ['# node1 mode=audit strategy=per-node down=mon1 isolated= terminated=']);
  const again: DeploymentSpec[] = [];
  const later = await localCloud(env).attach('web-sql', fakePrepare({ specs: again }));
  assert.equal(later.spec().mode, 'audit');
  assert.deepEqual(again[0].downMonitors, ['mon1']);
  await assert.rejects(later.reconfigure({ downMonitors: ['mon9'] }), /no monitor named "mon9"/);
  assert.deepEqual(later.spec().downMonitors, ['mon1'], 'a refused change leaves the spec');
});

test('down: recorded processes, then every namespace (instances first, the underlay last), the state file too; idempotent', async () => {
  const listed = [
    'ft-web-sql-underlay (id: 0)',
    'ft-web-sql-external (id: 1)',
    'ft-web-sql-n-node1 (id: 2)',
    'ft-web-sql-m-mon1',
    'ft-web-sql-i-web-0',
    'ft-web-sql-i-sql-0',
    'ft-web-sql-i-stray',
    'ft-other-i-web-0',
  ];
  let gone = false;
  const { rec, env } = await upWith(WEB_SQL, {}, (argv) => {
    if (argv.join(' ') === 'ip netns list') return { stdout: gone ? '' : listed.join('\n') + '\n' };
    if (argv.join(' ') === 'ip netns pids ft-web-sql-i-stray') return { stdout: '9001\n' };
    return undefined;
  });
  const started = rec.calls.flatMap((c) => (c.kind === 'daemon' ? [c.pid] : []));
  const lines = since(rec);
  const report = await localCloud(env).down('web-sql');
  const order = [
    'ft-web-sql-m-mon1',
    'ft-web-sql-i-web-0',
    'ft-web-sql-i-sql-0',
    'ft-web-sql-i-stray',
    'ft-web-sql-n-node1',
    'ft-web-sql-underlay',
    'ft-web-sql-external',
  ];
  assert.deepEqual(lines(), [
    `stop ${started.join(' ')}`,
    'ip netns list',
    ...order.map((n) => `ip netns pids ${n}`),
    'stop 9001',
    ...order.map((n) => `ip netns del ${n}`),
  ]);
  assert.deepEqual(report, { namespaces: order, processes: started.length + 1 });
  assert.equal(existsSync(join(env.stateDir, 'web-sql.json')), false);
  gone = true;
  const again = since(rec);
  assert.deepEqual(await localCloud(env).down('web-sql'), { namespaces: [], processes: 0 });
  assert.deepEqual(again(), ['ip netns list']);
});

test('down still cleans up by name when the state file is damaged', async () => {
  // Beside it, another application whose name starts the same way: not this one's to remove.
  const listed = 'ft-web-sql-n-node1\nft-web-sql-external\nft-web-sql-ovs-n-node1\nft-web-sql-ovs-i-web-0 (id: 3)\n';
  const rec = new RecordingSystem((argv) => (argv.join(' ') === 'ip netns list' ? { stdout: listed } : undefined));
  const env = testEnv(rec);
  writeFileSync(join(env.stateDir, 'web-sql.json'), '{"version": 2, "app": ');
  const r = await localCloud(env).down('web-sql');
  assert.deepEqual(r.namespaces, ['ft-web-sql-n-node1', 'ft-web-sql-external']);
  assert.equal(existsSync(join(env.stateDir, 'web-sql.json')), false);
});

test('up refuses a second deployment; attach needs one; a descriptor that changed its name is refused', async () => {
  const { env, spec } = await upWith(WEB_SQL);
  await assert.rejects(localCloud(env).up(spec, fakePrepare()), (e: Error) => /web-sql is already up \(state running\)/.test(e.message));
  await assert.rejects(localCloud(env).attach('dvd-rental', fakePrepare()), /dvd-rental is not up/);
  const other = fakePrepare();
  await assert.rejects(
    localCloud(env).attach('web-sql', (s, a) => other({ ...s, descriptor: repoFile(DVD) }, a)),
    /now describes "dvd-rental"/,
  );
});

test('an instance that never listens fails up, and the state says so for `down`', async () => {
  const rec = new RecordingSystem((argv) => (argv[0] === 'nc' && argv.includes('3306') ? { code: 1 } : undefined));
  const env = { ...testEnv(rec), readyTimeout: 0.3 };
  const seen: string[] = [];
  await assert.rejects(
    LocalCloud.up(...(await appOf(WEB_SQL)), { ...env, desired: fakePrepare()(specOf(WEB_SQL)).desired, progress: (l) => seen.push(l) }),
    (e: Error) => /instance sql-0 did not become ready: port 3306 on 10\.77\.0\.3 still closed/.test(e.message),
  );
  assert.equal(JSON.parse(readFileSync(join(env.stateDir, 'web-sql.json'), 'utf8')).phase, 'failed');
  assert.ok(seen[0].startsWith('bringing up demo/web-sql: 1 nodes, 2 instances'));
});

async function appOf(descriptor: string) {
  const d = fakePrepare()(specOf(descriptor));
  return [d.app, d.addressing, repoFile(descriptor)] as const;
}

test('restrict and unrestrict: validated first, kept in the state, every node changed by only its rules, one event each', async () => {
  const { rec, env, cloud, nft, progress } = await upWith(DVD);
  const seen = events(cloud);
  const nodes = ['ft-dvd-rental-n-node1', 'ft-dvd-rental-n-node2'];
  const stateOf = () => JSON.parse(readFileSync(join(env.stateDir, 'dvd-rental.json'), 'utf8'));
  const stamps = Object.fromEntries(Object.entries(record(env, 'dvd-rental')).map(([n, a]) => [n, a.stamp]));

  let from = rec.calls.length;
  await cloud.restrict({ id: 'flood-1', source: '203.0.113.0/24', port: 8080, rate: { perSecond: 10, burst: 5 } });
  // Per node one transaction (no device to look up, so no check): the stamp, then the restriction at the top of forward.
  assert.deepEqual(rec.commandLines().slice(from), [...nodes.map((n) => `ip netns exec ${n} nft -f -`)]);
  assert.deepEqual(
    applied(rec, from).map((s) => s.split('\n')),
    ['node1', 'node2'].map((n) => [
      `flush chain inet flowtap ${stamps[n]}`,
      `flush chain netdev flowtap_taps ${stamps[n]}`,
      'insert rule inet flowtap forward ip saddr 203.0.113.0/24 tcp dport 8080 ct state new limit rate over 10/second burst 5 packets counter drop comment "restrict flood-1"',
      '',
    ]),
  );
  for (const [i, n] of ['node1', 'node2'].entries()) assert.deepEqual(nft.rules(nodes[i]), recorded(record(env, 'dvd-rental')[n]));
  assert.deepEqual(stateOf().restrictions, [{ id: 'flood-1', source: '203.0.113.0/24', port: 8080, rate: { perSecond: 10, burst: 5 } }]);
  assert.deepEqual(cloud.context().restrictions, stateOf().restrictions);

  // The same id again replaces it in place; a second one goes after it.
  from = rec.calls.length;
  await cloud.restrict({ id: 'flood-1', source: '203.0.113.0/24' });
  await cloud.restrict({ id: 'scan-2', source: '2001:DB8::7' });
  const scripts = applied(rec, from).join('');
  assert.match(scripts, /^delete rule inet flowtap forward handle \d+$/m);
  assert.match(scripts, /^insert rule inet flowtap forward ip saddr 203\.0\.113\.0\/24 counter drop comment "restrict flood-1"$/m);
  assert.match(scripts, /^add rule inet flowtap forward position \d+ ip6 saddr 2001:db8::7\/128 counter drop comment "restrict scan-2"$/m);
  assert.deepEqual(
    stateOf().restrictions.map((r: { id: string; source: string }) => `${r.id} ${r.source}`),
    ['flood-1 203.0.113.0/24', 'scan-2 2001:db8::7'],
  );
  const forward = (ns: string) => nft.rules(ns).filter((r) => r.startsWith('inet flowtap forward: '));
  assert.deepEqual(forward(nodes[0]).slice(0, 2), [
    'inet flowtap forward: ip saddr 203.0.113.0/24 counter drop comment "restrict flood-1"',
    'inet flowtap forward: ip6 saddr 2001:db8::7/128 counter drop comment "restrict scan-2"',
  ]);

  // Bad input: a diagnostic naming the field, and not one nft command.
  from = rec.calls.length;
  await assert.rejects(
    cloud.restrict({ id: 'x', source: '203.0.113.0/24', port: 0 }),
    (e: FlowtapError) => e.diagnostics.length === 1 && e.diagnostics[0].code === 'E_RESTRICTION' && e.diagnostics[0].loc?.field === 'port',
  );
  await assert.rejects(
    cloud.restrict({ id: 'x', source: '10.77.0.9' }),
    (e: FlowtapError) => e.diagnostics[0].code === 'E_RESTRICTION' && e.diagnostics[0].loc?.field === 'source',
  );
  assert.equal(rec.calls.length, from);
  assert.equal(stateOf().restrictions.length, 2);

  const handles = ['node1', 'node2'].map((n) => nft.handleOf(nodes[n === 'node1' ? 0 : 1], 'restrict flood-1'));
  from = rec.calls.length;
  const said = progress.length;
  await cloud.unrestrict('flood-1');
  assert.deepEqual(
    applied(rec, from).map((s) => s.split('\n').filter((l) => !l.startsWith('flush chain'))),
    handles.map((h) => [`delete rule inet flowtap forward handle ${h}`, '']),
  );
  assert.ok(progress.slice(said).includes('lifted flood-1: 203.0.113.0/24 dropped'));
  // An id not in force: nothing run, no event.
  from = rec.calls.length;
  await cloud.unrestrict('flood-1');
  assert.equal(rec.calls.length, from);
  assert.deepEqual(
    seen.map((e) => [e.type, e.instance, e.node, e.detail]),
    [
      ['restricted', undefined, undefined, 'flood-1: 203.0.113.0/24 to tcp/8080 limited to 10/s (burst 5)'],
      ['restricted', undefined, undefined, 'flood-1: 203.0.113.0/24 dropped'],
      ['restricted', undefined, undefined, 'scan-2: 2001:db8::7 dropped'],
      ['unrestricted', undefined, undefined, 'flood-1: 203.0.113.0/24 dropped'],
    ],
  );
  // Another process attaching renders the restrictions in force, and changes nothing.
  const other = LocalCloud.attach('dvd-rental', fakePrepare(), env);
  assert.deepEqual(other.context().restrictions, [{ id: 'scan-2', source: '2001:db8::7' }]);
  from = rec.calls.length;
  await other.applyDataplane();
  assert.equal(applied(rec, from).length, 0);
});

test('reconcile: drift read on every node; only the node with a rule deleted by hand is replaced whole, its record updated', async () => {
  const { rec, env, cloud, nft } = await upWith(DVD);
  const seen = events(cloud);
  const [N1, N2] = ['ft-dvd-rental-n-node1', 'ft-dvd-rental-n-node2'];
  const before = record(env, 'dvd-rental');
  // Nothing changed yet: each table read back, nothing applied, no event.
  let from = rec.calls.length;
  const clean = await cloud.reconcile();
  assert.deepEqual(
    clean.map((d) => [d.node, d.inForce, d.missing.length, d.extra.length]),
    [
      ['node1', true, 0, 0],
      ['node2', true, 0, 0],
    ],
  );
  assert.ok(
    rec
      .commandLines()
      .slice(from)
      .every((l) => / nft -j list table /.test(l)),
  );
  assert.equal(seen.length, 0);

  // Someone deletes one firewall rule of node2 by hand.
  const victim = before.node2.config.tables[0].chains
    .flatMap((c) => c.rules.map((r) => ({ chain: c.name, comment: /comment "(r\d+ [^"]*)"$/.exec(r.text)?.[1] })))
    .find((r) => r.comment !== undefined) as { chain: string; comment: string };
  const handle = nft.handleOf(N2, victim.comment)!;
  const deleted = await rec.run(['nft', '-f', '-'], { ns: N2, input: `delete rule inet flowtap ${victim.chain} handle ${handle}\n` });
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.equal(nft.handleOf(N2, victim.comment), undefined);
  const node1Rules = nft.rules(N1);

  from = rec.calls.length;
  const found = await cloud.reconcile();
  // As found, before the repair.
  assert.deepEqual(found[0], { node: 'node1', inForce: true, missing: [], extra: [] });
  assert.deepEqual(found[1], {
    node: 'node2',
    inForce: false,
    missing: [{ table: 'flowtap', chain: victim.chain, comment: victim.comment }],
    extra: [],
  });
  // Node2 alone: checked and replaced whole (both tables, a new stamp); node1 only read.
  const changed = rec
    .commandLines()
    .slice(from)
    .filter((l) => !/ nft -j list table /.test(l));
  assert.deepEqual(changed, [`ip netns exec ${N2} nft -c -f -`, `ip netns exec ${N2} nft -e -a -f -`]);
  const [script] = applied(rec, from);
  assert.ok(script.startsWith('table inet flowtap\ndelete table inet flowtap\n'));
  const after_ = record(env, 'dvd-rental');
  assert.equal(after_.node1.stamp, before.node1.stamp);
  assert.notEqual(after_.node2.stamp, before.node2.stamp);
  assert.deepEqual(nft.rules(N2), recorded(after_.node2));
  assert.ok(nft.handleOf(N2, victim.comment)! > handle, 'the rule is back, as a new rule');
  assert.deepEqual(nft.rules(N1), node1Rules);
  assert.deepEqual(
    seen.map((e) => [e.type, e.node, e.instance, e.detail]),
    [['drift', 'node2', undefined, `missing: flowtap ${victim.chain}: ${victim.comment}; extra: none`]],
  );
  // And the next reconcile finds everything in force; an update after it is incremental again.
  assert.ok((await cloud.reconcile()).every((d) => d.inForce));
  from = rec.calls.length;
  await cloud.isolate('db-0');
  const updates = applied(rec, from);
  assert.ok(updates.length > 0 && updates.every((s) => s.startsWith('flush chain ')), updates.join('\n---\n'));
});

test('two processes holding one deployment: each acts on the other’s latest change, never undoes it', async () => {
  const { rec, env, cloud } = await upWith(DVD);
  // A controller attached earlier (its own copy of the state), then a shell quarantines an instance.
  const controller = LocalCloud.attach('dvd-rental', fakePrepare(), env);
  const shell = LocalCloud.attach('dvd-rental', fakePrepare(), env);
  await shell.isolate('shipping-0');
  assert.equal(controller.context().status['shipping-0'], 'isolated');
  // The controller's next change starts from that state: the quarantine stays, on disk and in the rules.
  await controller.restrict({ id: 'flood-1', source: '203.0.113.0/24' });
  const onDisk = JSON.parse(readFileSync(join(env.stateDir, 'dvd-rental.json'), 'utf8')) as CloudState;
  assert.deepEqual(onDisk.isolated, ['shipping-0']);
  assert.deepEqual(
    onDisk.restrictions?.map((r) => r.id),
    ['flood-1'],
  );
  // The first process saw both without being told.
  assert.equal(cloud.context().status['shipping-0'], 'isolated');
  assert.deepEqual(
    cloud.context().restrictions.map((r) => r.id),
    ['flood-1'],
  );
  // And its next apply changes nothing: its record of the nodes' rules was read again too.
  const from = rec.calls.length;
  await cloud.reconfigure({});
  assert.equal(applied(rec, from).length, 0);
  assert.ok((onDisk.revision ?? 0) > 1);
});

test('the deployment lock: reentrant in one process; another live owner is waited for, a dead one taken over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ft-lock-'));
  const file = join(dir, 'app.json.lock');
  const order: string[] = [];
  await withDeploymentLock(file, async () => {
    order.push('outer');
    // One operation calling another (redeploy terminates first) goes straight in.
    await withDeploymentLock(file, async () => {
      order.push('nested');
    });
    assert.equal(existsSync(file), true);
  });
  assert.deepEqual(order, ['outer', 'nested']);
  assert.equal(existsSync(file), false);
  // Another process holds it (pid 1 is alive): waited for until it lets go.
  writeFileSync(file, '1\n');
  const t0 = Date.now();
  setTimeout(() => rmSync(file, { force: true }), 150);
  await withDeploymentLock(file, async () => order.push('after the other'), 5000);
  assert.ok(Date.now() - t0 >= 140);
  // ... or, if it never does, E_LOCKED naming the owner, and its lock is left alone.
  writeFileSync(file, '1\n');
  await assert.rejects(
    withDeploymentLock(file, async () => undefined, 200),
    (e: FlowtapError) => e.diagnostics[0].code === 'E_LOCKED' && /pid 1/.test(e.diagnostics[0].message),
  );
  assert.equal(readFileSync(file, 'utf8'), '1\n');
  // A dead owner's lock (a process that has exited) is taken over at once.
  writeFileSync(file, `${spawnSync(process.execPath, ['-e', '0']).pid}\n`);
  await withDeploymentLock(file, async () => order.push('taken over'), 1000);
  assert.deepEqual(order.slice(2), ['after the other', 'taken over']);
  rmSync(dir, { recursive: true, force: true });
});

test('reconfigure reads the descriptor again: a new requirement goes in rule by rule; new instances are refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ft-desc-'));
  const file = join(dir, 'app.yaml');
  const original = readFileSync(repoFile(DVD), 'utf8');
  writeFileSync(file, original);
  const { rec, cloud } = await upWith(file);
  assert.ok(!cloud.app.requirements.some((r) => r.from === 'shipping' && r.to === 'db'));
  // An operator allows shipping to read the database, in the descriptor.
  writeFileSync(file, `${original.trimEnd()}\n  - from: shipping\n    to: db:pg\n`);
  const from = rec.calls.length;
  const reports = await cloud.reconfigure({});
  assert.ok(cloud.app.requirements.some((r) => r.from === 'shipping' && r.to === 'db'));
  // Rule by rule, never the tables whole. (Rules are numbered in order, so rules after the new one
  // are renumbered and replaced too: their comments are their identity.)
  assert.ok(
    Object.values(reports).every((r) => r.kind === 'incremental'),
    JSON.stringify(reports),
  );
  assert.ok(reports.node2.rulesAdded > 0);
  assert.ok(applied(rec, from).some((s) => /shipping -> db:pg/.test(s)));
  // One more replica of a service is not a reconfigure: refused, nothing applied.
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace('  shipping:\n    placement: [node2]\n', '  shipping:\n    replicas: 2\n    placement: [node2]\n'),
  );
  const before = rec.calls.length;
  await assert.rejects(cloud.reconfigure({}), (e: FlowtapError) => e.diagnostics[0].code === 'E_RECONFIGURE');
  assert.equal(applied(rec, before).length, 0);
  rmSync(dir, { recursive: true, force: true });
});
