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

/** A switch as ovs-ofctl shows it: ports, meters, and whatever the test says about bundles. */
function fakeSwitch(opts: { refuse?: (argv: string[], input: string) => string | undefined; flows?: () => string; meters?: string } = {}) {
  return new RecordingSystem((argv: string[], o: RunOptions) => {
    const verb = argv.find((a) => /^(dump-|parse-|replace-|add-|del-|mod-|meter-)/.test(a));
    const why = opts.refuse?.(argv, o.input ?? '');
    if (why) return { code: 1, stderr: why };
    if (verb === 'dump-ports-desc') return { stdout: PORTS };
    if (verb === 'dump-meters') return { stdout: opts.meters ?? 'OFPST_METER_CONFIG reply (OF1.3) (xid=0x2):\n' };
    if (verb === 'dump-flows') return { stdout: opts.flows?.() ?? '' };
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
  assert.deepEqual(lines(sys).slice(5), [
    'ovs-ofctl -O OpenFlow15 dump-ports-desc ftbr0',
    'ovs-ofctl -O OpenFlow15 --bundle add-flows ftbr0 -',
  ]);
  const cookie = cookieOf({ table: 'flowtap', chain: 'quarantine', comment: 'quarantine' });
  assert.equal(
    inputs(sys).at(-1),
    `add table=21,priority=60000,cookie=${cookie},in_port=100,actions=drop\nadd table=21,priority=60000,cookie=${cookie},ip,nw_dst=10.77.0.2,actions=drop\n`,
  );
  const back = await b.apply('n1', c);
  assert.deepEqual(back.ok && back.value, { kind: 'incremental', rulesAdded: 0, rulesRemoved: 2 });
  assert.equal(
    inputs(sys).at(-1),
    'delete_strict table=21,priority=60000,in_port=100\ndelete_strict table=21,priority=60000,ip,nw_dst=10.77.0.2\n',
  );
  const same = await b.apply('n1', c);
  assert.deepEqual(same.ok && same.value, { kind: 'unchanged', rulesAdded: 0, rulesRemoved: 0 });
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
      (refuseAdd && argv.includes('add-flows')) || (refuseReplace && argv.includes('replace-flows')) ? 'OFPBFC_MSG_FAILED' : undefined,
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
