/**
 * The local cloud's plan and operations against the recording system, without root: the exact
 * commands `up`, isolate, release, terminate, redeploy, move, status and down issue, in order.
 * (test/local-cloud*.test.ts run the same on real namespaces as root.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inNamespace, RecordingSystem, type RecordedCall, type Responder } from '../system/index.js';
import { localCloud } from './driver.js';
import type { DeploymentSpec, LifecycleEvent, Orchestrator } from './lifecycle.js';
import { LocalCloud } from './local-cloud.js';
import { fakePrepare, repoFile, ROOT, specOf, testEnv } from './testing.js';

const WEB_SQL = 'examples/web-sql/app.yaml';
const DVD = 'examples/dvd-rental/app.yaml';

async function upWith(descriptor: string, change: Partial<DeploymentSpec> = {}, responder?: Responder) {
  const rec = new RecordingSystem(responder);
  const env = testEnv(rec);
  const spec = specOf(descriptor, change);
  const cloud = await localCloud(env).up(spec, fakePrepare());
  return { rec, env, spec, cloud };
}

/** Lines issued from here on: each operation is asserted on its own. */
function since(rec: RecordingSystem): () => string[] {
  const from = rec.calls.length;
  return () => rec.commandLines().slice(from);
}

const nftInputs = (calls: RecordedCall[]) =>
  calls.flatMap((c) =>
    c.kind === 'run' && c.argv.includes('nft') && c.argv.at(-1) === '-' && !c.argv.includes('-c') ? [c.input ?? ''] : [],
  );
const firstLines = (scripts: string[]) => scripts.map((s) => s.split('\n')[0]);
const pidsOf = (rec: RecordingSystem, ns: string) => rec.calls.flatMap((c) => (c.kind === 'daemon' && c.ns === ns ? [c.pid] : []));

function events(cloud: Orchestrator): LifecycleEvent[] {
  const list: LifecycleEvent[] = [];
  cloud.onEvent((e) => list.push(e));
  return list;
}

test('up: namespaces, links, routes, the data plane per node, then monitors and instances in dependency order', async () => {
  const { rec, env, spec } = await upWith(WEB_SQL);
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
  // After the topology: check, then apply, the node's script; monitors; sql before web (web calls it), each waited for.
  const run = env.stateDir;
  const last = lines.indexOf('ip -n ft-web-sql-n-node1 route add 10.77.0.3/32 dev ft1');
  assert.deepEqual(lines.slice(last + 1), [
    'ip netns exec ft-web-sql-n-node1 nft -c -f -',
    'ip netns exec ft-web-sql-n-node1 nft -f -',
    `daemon ip netns exec ft-web-sql-m-mon1 flowtap monitor --iface any --app ${spec.descriptor} --log-dir ${run}/web-sql/mon1`,
    `daemon ip netns exec ft-web-sql-i-sql-0 bash examples/dvd-rental/db/postgres.sh start ${run}/web-sql/sql-0 3306 10.77.0.3`,
    'ip netns exec ft-web-sql-i-sql-0 nc -z -w 1 10.77.0.3 3306',
    'daemon ip netns exec ft-web-sql-i-web-0 node dist/examples/web-sql/server/server.js',
    'ip netns exec ft-web-sql-i-web-0 nc -z -w 1 10.77.0.2 80',
  ]);
  assert.deepEqual(firstLines(nftInputs(rec.calls)), ['# node1 mode=enforce strategy=per-node down= isolated= terminated=']);
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
  // Copies for a monitor on node1 (mon-http) come from node2 through its tap tunnel.
  assert.ok(
    lines.includes(
      'ip -n ft-dvd-rental-n-node2 link add tt-fm0 type vxlan id 1000 local 10.250.0.2 remote 10.250.0.1 dstport 4790 dev up-ft',
    ),
  );
  assert.deepEqual(
    lines.filter((l) => / nft -(c -)?f -$/.test(l)),
    [
      'ip netns exec ft-dvd-rental-n-node1 nft -c -f -',
      'ip netns exec ft-dvd-rental-n-node2 nft -c -f -',
      'ip netns exec ft-dvd-rental-n-node1 nft -f -',
      'ip netns exec ft-dvd-rental-n-node2 nft -f -',
    ],
  );
  assert.deepEqual(
    rec.calls.flatMap((c) => (c.kind === 'daemon' && c.ns?.includes('-i-') ? [c.ns.slice('ft-dvd-rental-i-'.length)] : [])),
    ['db-0', 'user-update-0', 'mq-0', 'contract-update-0', 'user-create-0', 'shipping-0', 'dvd-update-0', 'dvd-return-0'],
  );
  assert.equal(rec.calls.filter((c) => c.kind === 'daemon' && c.ns?.includes('-m-')).length, 5);
});

test('isolate and release re-render every node from the current context, nothing else', async () => {
  const { rec, cloud } = await upWith(WEB_SQL);
  const seen = events(cloud);
  let lines = since(rec);
  let from = rec.calls.length;
  await cloud.isolate('web-0');
  assert.deepEqual(lines(), ['ip netns exec ft-web-sql-n-node1 nft -c -f -', 'ip netns exec ft-web-sql-n-node1 nft -f -']);
  assert.deepEqual(firstLines(nftInputs(rec.calls.slice(from))), [
    '# node1 mode=enforce strategy=per-node down= isolated=web-0 terminated=',
  ]);
  assert.equal(cloud.context().status['web-0'], 'isolated');
  lines = since(rec);
  from = rec.calls.length;
  await cloud.release('web-0');
  assert.deepEqual(lines(), ['ip netns exec ft-web-sql-n-node1 nft -c -f -', 'ip netns exec ft-web-sql-n-node1 nft -f -']);
  assert.deepEqual(firstLines(nftInputs(rec.calls.slice(from))), ['# node1 mode=enforce strategy=per-node down= isolated= terminated=']);
  assert.deepEqual(
    seen.map((e) => `${e.type} ${e.instance} ${e.node}`),
    ['isolated web-0 node1', 'released web-0 node1'],
  );
});

test('a rejected script leaves every node as it was: nothing is applied when a check fails', async () => {
  let reject = false;
  const { rec, cloud } = await upWith(DVD, {}, (argv, opts) =>
    reject && argv.includes('-c') && inNamespace(opts.ns, argv).includes('ft-dvd-rental-n-node2')
      ? { code: 1, stderr: '/dev/stdin:3:1-5: Error: syntax error' }
      : undefined,
  );
  reject = true;
  const lines = since(rec);
  await assert.rejects(cloud.isolate('db-0'), (e: Error) => /syntax error/.test(e.message));
  assert.deepEqual(lines(), ['ip netns exec ft-dvd-rental-n-node1 nft -c -f -', 'ip netns exec ft-dvd-rental-n-node2 nft -c -f -']);
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
    'ip netns exec ft-web-sql-n-node1 nft -c -f -',
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
  const { rec, env, cloud } = await upWith(WEB_SQL);
  const [pid] = pidsOf(rec, 'ft-web-sql-i-sql-0');
  const seen = events(cloud);
  const lines = since(rec);
  const from = rec.calls.length;
  await cloud.redeploy('sql-0');
  const got = lines();
  assert.deepEqual(got.slice(0, 8), [
    `stop ${pid}`,
    'ip netns pids ft-web-sql-i-sql-0',
    'ip -n ft-web-sql-n-node1 link del ft1',
    'ip netns del ft-web-sql-i-sql-0',
    'ip -n ft-web-sql-n-node1 route del 10.77.0.3/32',
    'ip netns exec ft-web-sql-n-node1 nft -c -f -',
    'ip netns exec ft-web-sql-n-node1 nft -f -',
    'ip netns add ft-web-sql-i-sql-0',
  ]);
  assert.deepEqual(got.slice(-5), [
    'ip -n ft-web-sql-n-node1 route add 10.77.0.3/32 dev ft1',
    'ip netns exec ft-web-sql-n-node1 nft -c -f -',
    'ip netns exec ft-web-sql-n-node1 nft -f -',
    `daemon ip netns exec ft-web-sql-i-sql-0 bash examples/dvd-rental/db/postgres.sh start ${env.stateDir}/web-sql/sql-0 3306 10.77.0.3`,
    'ip netns exec ft-web-sql-i-sql-0 nc -z -w 1 10.77.0.3 3306',
  ]);
  // Terminated while it was down, running again after.
  assert.deepEqual(firstLines(nftInputs(rec.calls.slice(from))), [
    '# node1 mode=enforce strategy=per-node down= isolated= terminated=sql-0',
    '# node1 mode=enforce strategy=per-node down= isolated= terminated=',
  ]);
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
    'ip netns exec ft-dvd-rental-n-node1 nft -c -f -',
    'ip netns exec ft-dvd-rental-n-node2 nft -c -f -',
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
  const { rec, env } = await upWith(DVD, { strategy: 'per-app', mode: 'audit', downMonitors: ['mon-sql'], policies: ['/p/database.dl'] });
  // Another process attaches with nothing but the application's name.
  const rendered: DeploymentSpec[] = [];
  const cloud = await localCloud(env).attach('dvd-rental', fakePrepare(rendered));
  const from = rec.calls.length;
  await cloud.isolate('db-0');
  await cloud.release('db-0');
  await cloud.terminate('shipping-0');
  await cloud.redeploy('shipping-0');
  await cloud.move('shipping-0', 'node1');
  assert.deepEqual(
    rendered.map((s) => [s.strategy, s.mode, s.downMonitors.join(), s.policies.join()]),
    [['per-app', 'audit', 'mon-sql', '/p/database.dl']],
  );
  const headers = firstLines(nftInputs(rec.calls.slice(from)));
  assert.ok(headers.length >= 10);
  assert.ok(
    headers.every((h) => h.includes('mode=audit strategy=per-app down=mon-sql')),
    headers.join('\n'),
  );
});

test('reconfigure changes the spec, re-renders every node, restarts monitors, and the change is recorded', async () => {
  const { rec, env } = await upWith(WEB_SQL);
  const cloud = await localCloud(env).attach('web-sql', fakePrepare());
  const lines = since(rec);
  const from = rec.calls.length;
  await cloud.reconfigure({ downMonitors: ['mon1'], mode: 'audit' });
  assert.deepEqual(lines().slice(0, 3), [
    'ip netns exec ft-web-sql-n-node1 nft -c -f -',
    'ip netns exec ft-web-sql-n-node1 nft -f -',
    `stop ${pidsOf(rec, 'ft-web-sql-m-mon1')[0]}`,
  ]);
  assert.match(lines()[3], /^daemon ip netns exec ft-web-sql-m-mon1 flowtap monitor /);
  assert.deepEqual(firstLines(nftInputs(rec.calls.slice(from))), ['# node1 mode=audit strategy=per-node down=mon1 isolated= terminated=']);
  const again: DeploymentSpec[] = [];
  const later = await localCloud(env).attach('web-sql', fakePrepare(again));
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
  const rec = new RecordingSystem((argv) => (argv.join(' ') === 'ip netns list' ? { stdout: 'ft-web-sql-n-node1\n' } : undefined));
  const env = testEnv(rec);
  writeFileSync(join(env.stateDir, 'web-sql.json'), '{"version": 2, "app": ');
  const r = await localCloud(env).down('web-sql');
  assert.deepEqual(r.namespaces, ['ft-web-sql-n-node1']);
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
    LocalCloud.up(...(await appOf(WEB_SQL)), { ...env, dataplane: () => '', progress: (l) => seen.push(l) }),
    (e: Error) => /instance sql-0 did not become ready: port 3306 on 10\.77\.0\.3 still closed/.test(e.message),
  );
  assert.equal(JSON.parse(readFileSync(join(env.stateDir, 'web-sql.json'), 'utf8')).phase, 'failed');
  assert.ok(seen[0].startsWith('bringing up demo/web-sql: 1 nodes, 2 instances'));
});

async function appOf(descriptor: string) {
  const d = fakePrepare()(specOf(descriptor));
  return [d.app, d.addressing, repoFile(descriptor)] as const;
}
