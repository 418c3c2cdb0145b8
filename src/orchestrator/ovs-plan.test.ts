import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadApp, planAddresses } from '../model/index.js';
import { RecordingSystem, type Responder } from '../system/index.js';
import { localCloud } from './driver.js';
import { ovsBridge, ovsBridgesOf, ovsInstancePlan, ovsLink, ovsLinksOf, ovsMonitorPlan, ovsNodePlan } from './ovs-plan.js';
import { parseState, type CloudState } from './state-file.js';
import { fakePrepare, repoFile, specOf, testEnv } from './testing.js';

const WEB_SQL = 'examples/web-sql/app.yaml';
const DVD = 'examples/dvd-rental/app.yaml';

function deployment(descriptor: string) {
  const app = loadApp(repoFile(descriptor));
  assert.ok(app.ok);
  const a = planAddresses(app.value);
  assert.ok(a.ok);
  return { app: app.value, a: a.value };
}

const lines = (steps: string[][]) => steps.map((s) => s.join(' '));

test('ports are plugged into their node bridge with the numbers the rules use, checksums computed in software', () => {
  const { app, a } = deployment(WEB_SQL);
  const bridge = ovsBridge('web-sql', 0);
  const web = lines(ovsInstancePlan(app, a, 'web-0'));
  const link = ovsLink('web-sql', 'ft0');
  assert.ok(web.includes(`ip link add ${link} type veth peer name eth0 netns ft-web-sql-i-web-0`));
  assert.ok(web.includes('ip netns exec ft-web-sql-i-web-0 ethtool -K eth0 tx off'));
  assert.equal(web.at(-1), `ovs-vsctl --may-exist add-port ${bridge} ${link} -- set interface ${link} ofport_request=100`);
  const mon = lines(ovsMonitorPlan(app, a, 'mon1'));
  assert.ok(mon.some((l) => /ofport_request=33000$/.test(l)));
  // Its return port (eth1 in its namespace), and the hold mode's inline table over both, last.
  const back = mon.find((l) => /ofport_request=35000$/.test(l));
  assert.ok(back && mon.includes(`ip link add ${back.split(' ')[4]} type veth peer name eth1 netns ft-web-sql-m-mon1`), mon.join('\n'));
  assert.ok(mon.includes('ip netns exec ft-web-sql-m-mon1 ethtool -K eth1 tx off'));
  assert.match(mon.at(-1)!, /^ip netns exec ft-web-sql-m-mon1 nft table netdev flowtap_inline\b[\s\S]*fwd to "eth1"/);
  assert.deepEqual(ovsMonitorPlan(app, a, 'mon1', [['true']]).at(-1), ['true'], "the deployment's own inline setup replaces it");
  const node = lines(ovsNodePlan(app, a, 'node1'));
  assert.match(node[0], new RegExp(`^ovs-vsctl --may-exist add-br ${bridge} .*datapath_type=netdev fail_mode=secure`));
  assert.ok(node.includes('ip -n ft-web-sql-n-node1 link set gw-ft address 02:66:67:00:00:00'));
  assert.ok(node.includes('ip -n ft-web-sql-n-node1 route add 10.77.0.0/24 dev gw-ft'));
  assert.match(node.at(-1)!, /ofport_request=1$/);
});

test('a monitor gets tap tunnels from the other nodes: their bridges feed them through a tunnel port; only tagged frames come back', () => {
  const { app, a } = deployment(DVD);
  const sql = a.monitors['mon-sql'];
  assert.notEqual(sql.node, 'node1');
  const plan = lines(ovsMonitorPlan(app, a, 'mon-sql'));
  const on = 'ft-dvd-rental-n-node1';
  assert.ok(
    plan.some((l) => l.startsWith(`ip -n ${on} link add tt-${sql.port} type vxlan`)),
    plan.join('\n'),
  );
  assert.ok(plan.includes(`ip -n ${on} link set tv-${sql.port} up`));
  assert.ok(
    plan.some(
      (l) =>
        l.startsWith(`ip netns exec ${on} nft table netdev`) &&
        l.includes(`device "tv-${sql.port}"`) &&
        l.includes(`fwd to "tt-${sql.port}"`) &&
        l.includes(`device "tt-${sql.port}" priority 0; policy drop;`) &&
        l.includes(`ether saddr & ff:ff:fc:00:00:00 == 02:66:70:00:00:00 fwd to "tv-${sql.port}"`) &&
        l.includes(`ether daddr & ff:ff:fc:00:00:00 == 02:66:70:00:00:00 fwd to "tv-${sql.port}"`),
    ),
  );
  const k = Number.parseInt(sql.port.slice(2), 36);
  assert.ok(
    plan.some((l) =>
      new RegExp(
        `^ovs-vsctl --may-exist add-port ${ovsBridge('dvd-rental', 0)} \\S+ -- set interface \\S+ ofport_request=${34000 + k}$`,
      ).test(l),
    ),
    plan.join('\n'),
  );
});

test('root-namespace names fit an interface name, differ between applications, and down finds only its own bridges', () => {
  const { app, a } = deployment(DVD);
  const names = [
    ...app.nodes.map((_, i) => ovsBridge(app.name, i)),
    ...Object.values(a.instances).map((x) => ovsLink(app.name, x.port)),
    ...Object.values(a.monitors).map((x) => ovsLink(app.name, x.port)),
  ];
  for (const n of names) assert.ok(n.length <= 15, `${n} is longer than an interface name may be`);
  assert.equal(new Set(names).size, names.length);
  assert.notEqual(ovsBridge('web-sql', 0), ovsBridge('dvd-rental', 0));
  const listed = [
    ovsBridge('web-sql', 0),
    ovsBridge('web-sql', 1),
    ovsBridge('dvd-rental', 0),
    'br-int',
    `${ovsBridge('web-sql', 0)}x9z`,
  ].join('\n');
  assert.deepEqual(ovsBridgesOf('web-sql', listed), [ovsBridge('web-sql', 0), ovsBridge('web-sql', 1)]);
});

test("down finds every veth end the plans make in the host's namespace, and only the application's", () => {
  const web = deployment(WEB_SQL);
  const dvd = deployment(DVD);
  const made = (d: typeof web) =>
    [
      ...d.app.nodes.flatMap((n) => ovsNodePlan(d.app, d.a, n.name)),
      ...d.app.instances.flatMap((i) => ovsInstancePlan(d.app, d.a, i.name)),
      ...d.app.monitors.flatMap((m) => ovsMonitorPlan(d.app, d.a, m.name)),
    ]
      .filter((s) => s[0] === 'ip' && s[1] === 'link' && s[2] === 'add')
      .map((s) => s[3]);
  const mine = made(web);
  // Gateway, two instances, the monitor's tap and return ports.
  assert.equal(mine.length, 5, mine.join(' '));
  const listed = [
    'lo               UNKNOWN        00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP>',
    ...mine.map((l, i) => `${l}@if${i + 2}   UP             da:5b:d7:fe:22:f0 <BROADCAST,MULTICAST,UP,LOWER_UP>`),
    ...made(dvd).map((l) => `${l}@if9   UP   02:00:00:00:00:01 <BROADCAST,MULTICAST,UP,LOWER_UP>`),
    `${ovsBridge('web-sql', 0)}   UNKNOWN   02:00:00:00:00:02 <BROADCAST,MULTICAST,UP,LOWER_UP>`,
  ].join('\n');
  assert.deepEqual(ovsLinksOf('web-sql', listed), mine);
});

/** Just enough of ovs-vsctl and ovs-ofctl: bridges, the ports plugged with their numbers, bundles taken, flows counted. */
function fakeOvs(): Responder {
  const ports = new Map<string, number[]>();
  const flows = new Map<string, number>();
  return (argv, opts) => {
    const lines = (opts.input ?? '').split('\n').filter((l) => l.trim());
    if (argv[0] === 'ovs-ofctl' && argv.includes('replace-flows')) flows.set(argv.at(-2)!, lines.length);
    if (argv[0] === 'ovs-ofctl' && argv.includes('bundle')) {
      const bridge = argv.at(-2)!;
      const added = lines.filter((l) => /^flow add /.test(l)).length;
      const deleted = lines.filter((l) => /^flow delete_strict /.test(l)).length;
      flows.set(bridge, (flows.get(bridge) ?? 0) + added - deleted);
    }
    if (argv[0] === 'ovs-ofctl' && argv.includes('dump-aggregate'))
      return { stdout: `NXST_AGGREGATE reply (xid=0x4): packet_count=0 byte_count=0 flow_count=${flows.get(argv.at(-1)!) ?? 0}\n` };
    if (argv[0] === 'ovs-vsctl') {
      const add = argv.indexOf('add-br');
      if (add >= 0) ports.set(argv[add + 1], []);
      const port = argv.indexOf('add-port');
      if (port >= 0) ports.get(argv[port + 1])?.push(Number(argv.find((x) => x.startsWith('ofport_request='))!.split('=')[1]));
      if (argv.includes('list-br')) return { stdout: [...ports.keys(), 'someone-else'].join('\n') + '\n' };
      return { stdout: '' };
    }
    if (argv[0] === 'ovs-ofctl' && argv.includes('dump-ports-desc')) {
      const bridge = argv.at(-1)!;
      return { stdout: (ports.get(bridge) ?? []).map((p) => ` ${p}(x${p}): addr:aa\n`).join('') };
    }
    return undefined;
  };
}

test('up --dataplane ovs: bridges and ports instead of node ports, flows in one bundle per node, recorded; down removes the bridges', async () => {
  const rec = new RecordingSystem(fakeOvs());
  const env = testEnv(rec);
  const spec = specOf(WEB_SQL, { dataplane: 'ovs' });
  const cloud = await localCloud(env).up(spec, fakePrepare());
  const all = rec.commandLines();
  const bridge = ovsBridge('web-sql', 0);
  // No nftables on the nodes (only the monitor's own inline table), no port in the node's namespace.
  assert.deepEqual(
    all.filter((l) => / nft /.test(` ${l} `)).map((l) => l.split(/\s+/).slice(0, 8).join(' ')),
    ['ip netns exec ft-web-sql-m-mon1 nft table netdev flowtap_inline'],
  );
  assert.ok(!all.some((l) => /^ip link add f[tmr]\d/.test(l)));
  for (const p of [1, 100, 101, 33000, 35000])
    assert.ok(all.some((l) => l.startsWith('ovs-vsctl --may-exist add-port') && l.endsWith(`ofport_request=${p}`)));
  assert.deepEqual(
    all.filter((l) => l.startsWith('ovs-ofctl') && /replace-flows|add-flows|set-frags/.test(l)),
    [`ovs-ofctl -O OpenFlow15 set-frags ${bridge} nx-match`, `ovs-ofctl -O OpenFlow15 --bundle replace-flows ${bridge} -`],
  );
  const state = (): CloudState => JSON.parse(readFileSync(join(env.stateDir, 'web-sql.json'), 'utf8'));
  assert.equal(state().spec.dataplane, 'ovs');
  assert.equal(state().ovsApplied?.node1.bridge, bridge);
  assert.equal(state().dataplane, undefined);

  // A quarantine changes only its flows, from the recorded configuration, in one bundle.
  const from = rec.calls.length;
  await cloud.isolate('web-0');
  assert.deepEqual(
    rec
      .commandLines()
      .slice(from)
      .filter((l) => /flows| bundle /.test(l)),
    [`ovs-ofctl -O OpenFlow15 parse-flows -`, `ovs-ofctl -O OpenFlow15 bundle ${bridge} -`],
  );
  assert.ok(state().ovsApplied!.node1.flows.some((f) => f.rule?.chain === 'quarantine'));

  // A damaged record cannot smuggle a flow into the next bundle (each flow is one line of it).
  const damaged = state();
  damaged.ovsApplied!.node1.flows[0].actions = 'drop\nadd table=0,priority=65535,actions=output:1';
  const refused = parseState(JSON.stringify(damaged), 'web-sql.json');
  assert.ok(
    !refused.ok && refused.errors.some((e) => e.loc?.field?.startsWith('ovsApplied.node1.flows[0].actions')),
    JSON.stringify(refused),
  );
  assert.ok(parseState(JSON.stringify(state()), 'web-sql.json').ok);

  const down = rec.calls.length;
  await cloud.down();
  const removed = rec
    .commandLines()
    .slice(down)
    .filter((l) => l.includes('del-br'));
  assert.deepEqual(removed, [`ovs-vsctl --if-exists del-br ${bridge}`]);
});

test('the queue inline mode runs on ovs: its steering stays in the monitor namespace, whose return port is on the bridge', async () => {
  const rec = new RecordingSystem(fakeOvs());
  const cloud = await localCloud(testEnv(rec)).up(specOf(WEB_SQL, { dataplane: 'ovs', inlineMode: 'queue' }), fakePrepare());
  const all = rec.commandLines();
  assert.ok(all.some((l) => l.startsWith('ovs-vsctl --may-exist add-port') && l.endsWith('ofport_request=35000')));
  const bundle = rec.calls.find((c) => c.kind === 'run' && c.argv.join(' ').includes('--bundle replace-flows'));
  assert.ok(bundle && bundle.kind === 'run', 'the flows went in');
  // What mon1 passes back by its return port re-enters the pipeline (one flow per instance and side).
  assert.match(
    bundle.input ?? '',
    /in_port=35000,dl_src=02:66:70:[0-9a-f:]+\/ff:ff:fd:ff:ff:ff,actions=mod_dl_src:[0-9a-f:]+,load:\d+->NXM_OF_IN_PORT\[\],resubmit\(,20\)/,
  );
  await cloud.down();
});
