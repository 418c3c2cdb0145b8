import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingSystem, type RunOptions } from '../../system/index.js';
import { backendFixture, suiteDesired } from '../testing.js';
import { OvsBackend } from './backend.js';
import { cookieOf, flowText } from './flows.js';
import { parseFlowDump, parseMeterStats, parsePortNumbers } from './read.js';
import type { OvsNodeConfig } from './render.js';

const f = backendFixture();
const PORTS =
  ' 1(foxg): addr:02:66:67:00:00:00\n 100(fo100): addr:aa\n 101(fo101): addr:aa\n 102(fo102): addr:aa\n 33000(fo33000): addr:aa\n 33001(fo33001): addr:aa\n LOCAL(ftbr0): addr:aa\n';

/**
 * A switch as ovs-ofctl shows it: ports, meters, a flow count that follows what was sent
 * (replace-flows sets it, a bundle's adds and deletes move it), and whatever the test says
 * about refusals.
 */
function fakeSwitch(
  opts: {
    refuse?: (argv: string[], input: string) => string | undefined;
    flows?: () => string;
    meters?: string;
    count?: () => number;
  } = {},
) {
  let count = 0;
  return new RecordingSystem((argv: string[], o: RunOptions) => {
    const verb = argv.find((a) => /^(dump-|parse-|replace-|add-|del-|mod-|meter-|bundle$)/.test(a));
    const input = o.input ?? '';
    const why = opts.refuse?.(argv, input);
    if (why) return { code: 1, stderr: why };
    if (verb === 'dump-ports-desc') return { stdout: PORTS };
    if (verb === 'dump-meters') return { stdout: opts.meters ?? 'OFPST_METER_CONFIG reply (OF1.3) (xid=0x2):\n' };
    if (verb === 'dump-flows') return { stdout: opts.flows?.() ?? '' };
    if (verb === 'dump-aggregate')
      return { stdout: `OFPST_AGGREGATE reply (OF1.5) (xid=0x2): packet_count=0 byte_count=0 flow_count=${opts.count?.() ?? count}\n` };
    if (verb === 'replace-flows') count = input.split('\n').filter(Boolean).length;
    if (verb === 'bundle')
      for (const l of input.split('\n')) count += l.startsWith('flow add ') ? 1 : l.startsWith('flow delete_strict ') ? -1 : 0;
    return { stdout: '' };
  });
}
const render = (b: OvsBackend, d = suiteDesired(f)): OvsNodeConfig => {
  const r = b.render(d);
  assert.ok(r.ok);
  return r.value;
};
const lines = (sys: RecordingSystem) => sys.commandLines();
/** What the runs were given on stdin, in order. */
const inputs = (sys: RecordingSystem) => sys.calls.flatMap((c) => (c.kind === 'run' ? [c.input] : []));

test('the first apply replaces the flows in one bundle; a change sends only the flows that differ, in one bundle', async () => {
  const sys = fakeSwitch();
  const b = new OvsBackend({ system: sys });
  const c = render(b);
  assert.equal(c.bridge, 'ftbr0');
  const first = await b.apply('n1', c);
  assert.deepEqual(first.ok && first.value, {
    kind: 'full',
    rulesAdded: c.flows.length,
    rulesRemoved: 0,
    reason: 'nothing applied on this node yet',
  });
  assert.deepEqual(lines(sys), [
    'ovs-ofctl -O OpenFlow15 dump-ports-desc ftbr0',
    'ovs-ofctl -O OpenFlow13 dump-meters ftbr0',
    'ovs-ofctl -O OpenFlow15 dump-groups ftbr0',
    'ovs-ofctl -O OpenFlow15 set-frags ftbr0 nx-match',
    'ovs-ofctl -O OpenFlow15 --bundle replace-flows ftbr0 -',
  ]);
  assert.equal(inputs(sys)[4], c.flows.map(flowText).join('\n') + '\n');

  const q = await b.apply('n1', render(b, suiteDesired(f, { 'api-0': 'isolated' })));
  assert.deepEqual(q.ok && q.value, { kind: 'incremental', rulesAdded: 2, rulesRemoved: 0 });
  // The ports are those applied last: not read again; the flow count says nobody changed the bridge.
  assert.deepEqual(lines(sys).slice(5), ['ovs-ofctl -O OpenFlow15 dump-aggregate ftbr0', 'ovs-ofctl -O OpenFlow15 bundle ftbr0 -']);
  const cookie = cookieOf({ table: 'flowtap', chain: 'quarantine', comment: 'quarantine' });
  assert.equal(
    inputs(sys).at(-1),
    `flow add table=21,priority=60000,cookie=${cookie},in_port=100,actions=drop\nflow add table=21,priority=60000,cookie=${cookie},ip,nw_dst=10.77.0.2,actions=drop\n`,
  );
  const back = await b.apply('n1', c);
  assert.deepEqual(back.ok && back.value, { kind: 'incremental', rulesAdded: 0, rulesRemoved: 2 });
  assert.equal(
    inputs(sys).at(-1),
    'flow delete_strict table=21,priority=60000,in_port=100\nflow delete_strict table=21,priority=60000,ip,nw_dst=10.77.0.2\n',
  );
  const same = await b.apply('n1', c);
  assert.deepEqual(same.ok && same.value, { kind: 'unchanged', rulesAdded: 0, rulesRemoved: 0 });
});

test('a changed action is one modify_strict line, a new group travels in the same bundle ahead of the flow using it, and leaves after it', async () => {
  const sys = fakeSwitch();
  const b = new OvsBackend({ system: sys });
  assert.ok((await b.apply('n1', render(b))).ok);
  const down = await b.apply('n1', render(b, suiteDesired(f, {}, { downMonitors: ['m2'] })));
  assert.deepEqual(down.ok && down.value, { kind: 'incremental', rulesAdded: 2, rulesRemoved: 2 });
  const hold = cookieOf({ table: 'flowtap_taps', chain: 'tap_eg_ft1', comment: 'hold-api1' });
  const lines2 = inputs(sys).at(-1)!.split('\n');
  assert.equal(lines2.length, 3);
  assert.ok(
    lines2.slice(0, 2).every((l) => l.startsWith('flow modify_strict table=')),
    lines2.join('\n'),
  );
  assert.equal(lines2[2], '');
  assert.ok(lines2[0].includes(`cookie=${hold},udp,in_port=101,tp_dst=5000,actions=drop`), lines2[0]);
  const open = suiteDesired(
    f,
    {},
    { contracts: f.contracts.map((c) => (c.id === 'hold-api1' ? { ...c, options: { failMode: 'open' as const } } : c)) },
  );
  assert.ok((await b.apply('n1', render(b))).ok);
  const g = await b.apply('n1', render(b, open));
  assert.ok(g.ok && g.value.kind === 'incremental');
  const groupBundle = inputs(sys).at(-1)!.split('\n');
  assert.equal(groupBundle.length, 3);
  assert.ok(groupBundle[0].startsWith('group add group_id=1,type=fast_failover,'), groupBundle[0]);
  assert.ok(groupBundle[1].startsWith('flow modify_strict table=10,') && groupBundle[1].endsWith(',actions=group:1'), groupBundle[1]);
  const back = await b.apply('n1', render(b));
  assert.ok(back.ok && back.value.kind === 'incremental');
  assert.deepEqual(inputs(sys).at(-1)!.split('\n').slice(-2), ['group delete group_id=1', '']);
  assert.ok(!lines(sys).some((l) => /(add|mod|del)-groups? /.test(l)), 'groups only ever change inside a bundle');
});

test('a flow count other than what was applied, or drift seen by drift(), makes the next change a replacement', async () => {
  let count: number | undefined;
  const sys = fakeSwitch({ count: () => count ?? 0 });
  const b = new OvsBackend({ system: sys });
  const c = render(b);
  assert.ok((await b.apply('n1', c)).ok);
  count = c.flows.length - 1;
  const q = await b.apply('n1', render(b, suiteDesired(f, { 'api-0': 'isolated' })));
  assert.ok(q.ok && q.value.kind === 'full', JSON.stringify(q));
  assert.equal(q.value.reason, `drift: bridge ftbr0 has ${c.flows.length - 1} flows, ${c.flows.length} were applied`);
  assert.equal(lines(sys).at(-1), 'ovs-ofctl -O OpenFlow15 --bundle replace-flows ftbr0 -');
  const applied = b.applied.get('n1')!;
  count = applied.flows.length;
  // Nothing in force is what was applied: drift says so, and the next apply replaces.
  const d = await b.drift('n1');
  assert.ok(d.ok && !d.value.inForce);
  const next = await b.apply('n1', c);
  assert.ok(
    next.ok && next.value.kind === 'full' && /^drift: \d+ flows missing and 0 extra on bridge ftbr0$/.test(next.value.reason!),
    JSON.stringify(next),
  );
  count = c.flows.length;
  const after = await b.apply('n1', render(b, suiteDesired(f, { 'api-0': 'isolated' })));
  assert.ok(after.ok && after.value.kind === 'incremental', 'a replacement clears the drift');
});

test('a changed meter is modified before the bundle and put back when the bundle is refused', async () => {
  let refuse = false;
  const sys = fakeSwitch({
    refuse: (argv) => (refuse && (argv.includes('bundle') || argv.includes('replace-flows')) ? 'OFPBFC_MSG_FAILED' : undefined),
  });
  const b = new OvsBackend({ system: sys });
  const d = suiteDesired(f);
  const limited = (perSecond: number) =>
    render(b, { ...d, context: { ...d.context, restrictions: [{ id: 'rate', source: '10.250.0.9', rate: { perSecond, burst: 1 } }] } });
  assert.ok((await b.apply('n1', limited(1))).ok);
  const mark = lines(sys).length;
  const faster = await b.apply('n1', limited(5));
  assert.deepEqual(faster.ok && faster.value, { kind: 'incremental', rulesAdded: 0, rulesRemoved: 0 });
  assert.deepEqual(lines(sys).slice(mark), [
    'ovs-ofctl -O OpenFlow15 dump-aggregate ftbr0',
    'ovs-ofctl -O OpenFlow13 mod-meter ftbr0 meter=1,pktps,burst,band=type=drop,rate=5,burst_size=1',
  ]);
  refuse = true;
  const withFlow = limited(9);
  withFlow.flows = [...withFlow.flows, { table: 10, priority: 5, match: 'udp', actions: 'drop' }];
  const at = lines(sys).length;
  const r = await b.apply('n1', withFlow);
  assert.ok(!r.ok);
  assert.deepEqual(
    lines(sys)
      .slice(at)
      .filter((l) => /-meters? ftbr0 |bundle/.test(l)),
    [
      'ovs-ofctl -O OpenFlow13 mod-meter ftbr0 meter=1,pktps,burst,band=type=drop,rate=9,burst_size=1',
      'ovs-ofctl -O OpenFlow15 bundle ftbr0 -',
      'ovs-ofctl -O OpenFlow13 mod-meter ftbr0 meter=1,pktps,burst,band=type=drop,rate=5,burst_size=1',
      // The replacement the refusal falls back to re-puts the meters the switch lists (this one lists none).
      'ovs-ofctl -O OpenFlow13 add-meter ftbr0 meter=1,pktps,burst,band=type=drop,rate=9,burst_size=1',
      'ovs-ofctl -O OpenFlow15 --bundle replace-flows ftbr0 -',
      'ovs-ofctl -O OpenFlow13 del-meters ftbr0 meter=1',
    ],
  );
});

test('check has ovs-ofctl parse only what an incremental change sends and looks up only new ports; all of it for a replacement', async () => {
  const sys = fakeSwitch();
  const b = new OvsBackend({ system: sys });
  const c = render(b);
  assert.ok((await b.check('n1', c)).ok);
  assert.equal(inputs(sys)[0], c.flows.map(flowText).join('\n') + '\n');
  assert.ok((await b.apply('n1', c)).ok);
  const q = render(b, suiteDesired(f, { 'api-0': 'isolated' }));
  const at = sys.calls.length;
  assert.ok((await b.check('n1', q)).ok);
  assert.equal(
    inputs(sys)[at],
    `${q.flows
      .filter((x) => x.table === 21 && x.priority === 60000)
      .map(flowText)
      .join('\n')}\n`,
  );
  assert.ok((await b.check('n1', q, { repair: true })).ok);
  assert.equal(inputs(sys).at(-2), q.flows.map(flowText).join('\n') + '\n');
  const same = sys.calls.length;
  assert.ok((await b.check('n1', c)).ok);
  assert.deepEqual(lines(sys).slice(same), [], 'nothing to parse or read when nothing changes');
  const extra = await b.check('n1', { ...q, ports: [...q.ports, 33002] });
  assert.ok(!extra.ok && extra.errors[0].code === 'E_DATAPLANE_DEVICE' && /port 33002/.test(extra.errors[0].message));
  assert.equal(lines(sys).at(-1), 'ovs-ofctl -O OpenFlow15 dump-ports-desc ftbr0', 'a port new to the node is looked up');
});

test('a port the bridge lacks is refused before anything changes; so is a configuration of another node', async () => {
  const sys = fakeSwitch();
  const b = new OvsBackend({ system: sys });
  const c = render(b);
  const r = await b.apply('n1', { ...c, ports: [...c.ports, 33002] });
  assert.ok(!r.ok && r.errors[0].code === 'E_DATAPLANE_DEVICE' && /33002/.test(r.errors[0].message));
  assert.equal(lines(sys).length, 1, 'only the ports were read');
  const wrong = await b.check('n2', c);
  assert.ok(!wrong.ok && wrong.errors[0].code === 'E_DATAPLANE_WRONG_NODE');
  assert.ok((await b.check('n1', c)).ok);
  assert.deepEqual(lines(sys).slice(-2), ['ovs-ofctl -O OpenFlow15 parse-flows -', 'ovs-ofctl -O OpenFlow15 dump-ports-desc ftbr0']);
});

test('an incremental bundle the switch refuses becomes a replacement; a refused replacement keeps what was applied and takes its new meters back', async () => {
  let refuseAdd = true;
  let refuseReplace = false;
  const sys = fakeSwitch({
    refuse: (argv) =>
      (refuseAdd && argv.includes('bundle')) || (refuseReplace && argv.includes('replace-flows')) ? 'OFPBFC_MSG_FAILED' : undefined,
  });
  const b = new OvsBackend({ system: sys });
  const c = render(b);
  assert.ok((await b.apply('n1', c)).ok);
  const q = await b.apply('n1', render(b, suiteDesired(f, { 'api-0': 'isolated' })));
  assert.ok(q.ok && q.value.kind === 'full' && /incremental bundle was refused \(ovs-ofctl .*OFPBFC_MSG_FAILED\)/.test(q.value.reason!));
  refuseAdd = true;
  refuseReplace = true;
  const applied = b.applied.get('n1');
  const rate = { id: 'rate', source: '10.250.0.9', rate: { perSecond: 1, burst: 1 } };
  const d = suiteDesired(f);
  const r = await b.apply('n1', render(b, { ...d, context: { ...d.context, restrictions: [rate] } }));
  assert.ok(!r.ok && r.errors[0].code === 'E_OVS_REJECTED');
  assert.equal(b.applied.get('n1'), applied);
  const meterCalls = lines(sys).filter((l) => /meter/.test(l) && !/dump-meters/.test(l));
  // Added before the bundle, deleted after each refusal (incremental, then the replacement).
  assert.deepEqual(meterCalls, [
    'ovs-ofctl -O OpenFlow13 add-meter ftbr0 meter=1,pktps,burst,band=type=drop,rate=1,burst_size=1',
    'ovs-ofctl -O OpenFlow13 del-meters ftbr0 meter=1',
    'ovs-ofctl -O OpenFlow13 add-meter ftbr0 meter=1,pktps,burst,band=type=drop,rate=1,burst_size=1',
    'ovs-ofctl -O OpenFlow13 del-meters ftbr0 meter=1',
  ]);
});

test('counters: summed by cookie and named by rule; a rate restriction counts its meter drops; drift compares cookies, tables and priorities', async () => {
  let dump = '';
  const sys = new RecordingSystem((argv) => {
    if (argv.includes('dump-ports-desc')) return { stdout: PORTS };
    if (argv.includes('dump-flows')) return { stdout: dump };
    if (argv.includes('meter-stats'))
      return {
        stdout:
          'OFPST_METER reply (OF1.3) (xid=0x2):\nmeter:1 flow_count:1 packet_in_count:4 byte_in_count:568 duration:1s bands:\n0: packet_count:2 byte_count:284\n',
      };
    return {};
  });
  const b = new OvsBackend({ system: sys });
  assert.ok(!(await b.counters('n1')).ok, 'nothing applied: nothing to name counters by');
  const d = suiteDesired(f);
  const c = render(b, {
    ...d,
    context: { ...d.context, restrictions: [{ id: 'rate', source: '10.250.0.9', rate: { perSecond: 1, burst: 2 } }] },
  });
  assert.ok((await b.apply('n1', c)).ok);
  const quarantine = { table: 'flowtap', chain: 'eg_db_0', comment: 'eg_db_0 default' };
  const line = (cookie: string, table: number, prio: number, n: number, bytes: number, rest = 'ip') =>
    ` cookie=${cookie}, duration=1s, table=${table}, n_packets=${n}, n_bytes=${bytes}, idle_age=1, priority=${prio},${rest} actions=drop`;
  dump = [
    'OFPST_FLOW reply (OF1.5) (xid=0x2):',
    ...c.flows.map((x) => line(cookieOf(x.rule), x.table, x.priority, 0, 0)),
    line(cookieOf(quarantine), 22, 2, 3, 426),
  ].join('\n');
  // The same flow twice in the dump: an extra one, as drift will say.
  const counters = await b.counters('n1');
  assert.ok(counters.ok);
  const of = (comment: string) => counters.value.find((x) => x.comment === comment);
  assert.deepEqual(of('eg_db_0 default'), {
    family: 'openflow',
    table: 'flowtap',
    chain: 'eg_db_0',
    comment: 'eg_db_0 default',
    packets: 3,
    bytes: 426,
  });
  assert.deepEqual(of('restrict rate'), {
    family: 'openflow',
    table: 'flowtap',
    chain: 'forward',
    comment: 'restrict rate',
    packets: 2,
    bytes: 284,
  });
  assert.equal(of('restrict rate metered')?.packets, 0);
  const drift = await b.drift('n1');
  assert.ok(drift.ok);
  assert.deepEqual(drift.value, { node: 'n1', inForce: false, missing: [], extra: [quarantine] });
  dump = c.flows
    .filter((x) => x.rule?.comment !== 'copy-api0')
    .map((x) => line(cookieOf(x.rule), x.table, x.priority, 0, 0))
    .join('\n');
  const missing = await b.drift('n1');
  assert.ok(missing.ok);
  assert.deepEqual(missing.value.missing, [{ table: 'flowtap_taps', chain: 'tap_eg_ft0', comment: 'copy-api0' }]);
});

test('what ovs-ofctl prints is read back; a flow without a cookie is an error', () => {
  assert.deepEqual(parsePortNumbers(PORTS), [1, 100, 101, 102, 33000, 33001]);
  assert.deepEqual(
    parseFlowDump(
      'OFPST_FLOW reply:\n cookie=0x00f7, duration=1s, n_packets=2, n_bytes=84, priority=10,arp actions=NORMAL\n cookie=0x9, table=3, priority=5,ip actions=drop',
    ),
    [
      { cookie: '0xf7', table: 0, priority: 10, packets: 2, bytes: 84 },
      { cookie: '0x9', table: 3, priority: 5, packets: 0, bytes: 0 },
    ],
  );
  assert.deepEqual(parseFlowDump(' cookie=0x1, table=1, ip actions=drop')[0].priority, 32768);
  assert.throws(() => parseFlowDump(' cookie=zz, priority=1 actions=drop'), /without a cookie/);
  assert.deepEqual(
    [...parseMeterStats('meter:7 flow_count:1 bands:\n0: packet_count:5 byte_count:490\n')],
    [[7, { packets: 5, bytes: 490 }]],
  );
});
