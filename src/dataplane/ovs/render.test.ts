import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unwrap } from '../../diagnostics/index.js';
import { backendFixture, OVS_PROFILE, suiteDesired } from '../testing.js';
import { flowText, PIPELINE_COOKIE, ruleKey, cookieOf } from './flows.js';
import { ofportOf, routerMac, tunnelOfportOf } from './layout.js';
import { ipv4MinusText } from './prefixes.js';
import type { NodeDesired } from '../backend.js';
import { renderOvsNode } from './render.js';

const f = backendFixture();
const text = (d = suiteDesired(f)) => unwrap(renderOvsNode(d)).flows.map(flowText);

test('port numbers follow the port names; a name of another form is an error naming it', () => {
  assert.deepEqual(
    [ofportOf('ft0'), ofportOf('fta'), ofportOf('fm1')],
    [
      { ok: true, value: 100 },
      { ok: true, value: 110 },
      { ok: true, value: 33001 },
    ],
  );
  assert.deepEqual(tunnelOfportOf('fm1'), { ok: true, value: 34001 });
  assert.ok(!tunnelOfportOf('ft1').ok && !ofportOf('fmrs').ok, 'a tunnel is to a monitor; monitor numbers stay below the tunnels');
  const bad = ofportOf('eth0');
  assert.ok(!bad.ok && bad.errors[0].code === 'E_OVS_PORT' && /eth0/.test(bad.errors[0].message));
  assert.equal(routerMac(258), '02:66:67:00:01:02');
});

test('a block minus blocks is the blocks left over', () => {
  assert.deepEqual(ipv4MinusText('10.0.0.0/30', ['10.0.0.1']), ['10.0.0.0/32', '10.0.0.2/31']);
  assert.deepEqual(ipv4MinusText('10.0.0.0/8', ['10.0.0.0/8']), []);
  assert.deepEqual(ipv4MinusText('10.0.0.0/8', ['192.168.0.0/16']), ['10.0.0.0/8']);
  assert.equal(ipv4MinusText('0.0.0.0/0', ['10.77.0.0/16'])!.length, 16);
  assert.equal(ipv4MinusText('bogus', []), undefined);
});

test('the rules that count are the ones nftables counts for the same node, under the same names, inline return path included', () => {
  const c = unwrap(renderOvsNode(suiteDesired(f)));
  const named = [...new Set(c.flows.filter((x) => x.rule).map((x) => `${x.rule!.table} ${x.rule!.chain} ${x.rule!.comment}`))];
  assert.deepEqual(named.sort(), OVS_PROFILE.counted(suiteDesired(f)).sort());
  // Every rule has a cookie of its own; pipeline flows share theirs.
  const cookies = new Map<string, string>();
  for (const x of c.flows) if (x.rule) cookies.set(cookieOf(x.rule), ruleKey(x.rule));
  assert.equal(cookies.size, named.length);
  assert.ok(![...cookies.keys()].includes(PIPELINE_COOKIE));
  assert.deepEqual(c.ports, [1, 100, 101, 102, 33000, 33001]);
});

test('firewall: conntrack, rules by port and by destination, commit on accept, default deny', () => {
  const t = text();
  const db = f.addressing.instances['db-0'].ip;
  const has = (re: RegExp) =>
    assert.ok(
      t.some((x) => re.test(x)),
      `${re} in\n${t.join('\n')}`,
    );
  has(/^table=20,priority=100,.*,ip,actions=ct\(table=21,zone=1\)$/);
  has(/^table=21,priority=40000,.*ct_state=\+est\+trk,ip,actions=resubmit\(,30\)$/);
  has(/^table=21,priority=40000,.*ct_state=\+inv\+trk,ip,actions=drop$/);
  has(new RegExp(`^table=22,priority=30000,.*,udp,tp_dst=5000,in_port=100,nw_dst=${db.replace(/\./g, '\\.')},actions=resubmit\\(,23\\)$`));
  has(/^table=22,priority=2,.*,ip,in_port=102,actions=drop$/);
  has(
    new RegExp(
      `^table=23,priority=30000,.*,udp,tp_dst=5000,nw_dst=${db.replace(/\./g, '\\.')},nw_src=10\\.77\\.0\\.2,actions=ct\\(commit,zone=1\\),resubmit\\(,30\\)$`,
    ),
  );
  // "external" is everything but the application's network: 16 blocks.
  assert.equal(t.filter((x) => x.startsWith('table=23,priority=29999,')).length, 16);
  assert.ok(!t.some((x) => /nw_src=10\.77\./.test(x) && x.startsWith('table=23,priority=29999,')));
  has(/^table=23,priority=0,cookie=0xf7[0-9a-f]{14},actions=drop$/);
  // Audit: the drops accept instead.
  assert.ok(!text({ ...suiteDesired(f), mode: 'audit' }).some((x) => x.startsWith('table=22,priority=2,') && x.endsWith('actions=drop')));
});

test('quarantine and restrictions come before conntrack; a rate restriction meters new connections', () => {
  const d = suiteDesired(f, { 'api-0': 'isolated' });
  const c = unwrap(
    renderOvsNode({
      ...d,
      context: {
        ...d.context,
        restrictions: [
          { id: 'flood', source: '10.250.0.9' },
          { id: 'rate', source: '10.250.0.0/24', port: 53, protocol: 'udp', rate: { perSecond: 5, burst: 2 } },
        ],
      },
    }),
  );
  const t = c.flows.map(flowText);
  assert.deepEqual(
    t.filter((x) => x.startsWith('table=21,priority=60000,')).map((x) => x.replace(/cookie=\w+,/, '')),
    ['table=21,priority=60000,in_port=100,actions=drop', 'table=21,priority=60000,ip,nw_dst=10.77.0.2,actions=drop'],
  );
  assert.ok(
    t.includes(
      `table=21,priority=50000,cookie=${cookieOf({ table: 'flowtap', chain: 'forward', comment: 'restrict flood' })},ip,nw_src=10.250.0.9,actions=drop`,
    ),
  );
  assert.ok(
    t.some((x) =>
      /^table=21,priority=49999,.*ct_state=\+new\+trk,udp,nw_src=10\.250\.0\.0\/24,tp_dst=53,actions=meter:1,resubmit\(,22\)$/.test(x),
    ),
  );
  assert.deepEqual(
    c.meters.map((m) => m.text),
    ['meter=1,pktps,burst,band=type=drop,rate=5,burst_size=2'],
  );
  assert.deepEqual(c.meters[0].rule, { table: 'flowtap', chain: 'forward', comment: 'restrict rate' });
});

test('taps: a copy outputs and goes on, a redirect only outputs; a budget meters outside clone; fail open is a fast-failover group', () => {
  // Not inline: a redirect diverts the frame as it is (inline.test.ts has the tagged form).
  const plain = (d: NodeDesired) => ({ ...d, inline: false });
  const t = text(plain(suiteDesired(f)));
  assert.ok(t.some((x) => /^table=10,priority=100,.*,udp,in_port=100,actions=output:33000,resubmit\(,20\)$/.test(x)));
  assert.ok(t.some((x) => /^table=10,priority=100,.*,udp,in_port=101,tp_dst=5000,actions=output:33001$/.test(x)));
  assert.ok(t.some((x) => /^table=31,priority=100,.*,reg2=102,udp,tp_dst=5000,actions=output:33001,resubmit\(,32\)$/.test(x)));
  const budget = { ...f.contracts[0], options: { budget: { rate: 100, unit: 'pps' as const } } };
  const open = { ...f.contracts[2], options: { failMode: 'open' as const } };
  const c = unwrap(renderOvsNode(plain(suiteDesired(f, {}, { contracts: [budget, f.contracts[1], open] }))));
  const b = c.flows.map(flowText);
  assert.ok(
    b.some((x) => /in_port=100,actions=clone\(load:10001->NXM_NX_REG3\[\],resubmit\(,15\)\),resubmit\(,20\)$/.test(x)),
    b.join('\n'),
  );
  assert.ok(b.some((x) => /^table=15,priority=100,.*,reg3=10001,actions=meter:10001,output:33000$/.test(x)));
  assert.ok(!b.some((x) => /clone\([^)]*meter/.test(x)), 'no meter inside clone');
  assert.deepEqual(
    c.groups.map((g) => g.text),
    ['group_id=1,type=fast_failover,bucket=watch_port:33001,actions=output:33001,bucket=watch_port:101,actions=resubmit(,20)'],
  );
  // A monitor known to be down: its copy is left out, a closed redirect drops, an open one goes on.
  const down = unwrap(renderOvsNode(suiteDesired(f, {}, { downMonitors: ['m2'] }))).flows.map(flowText);
  assert.ok(down.some((x) => /in_port=101,tp_dst=5000,actions=drop$/.test(x)));
  assert.ok(down.some((x) => /reg2=102,udp,tp_dst=5000,actions=resubmit\(,32\)$/.test(x)));
});

test('what the backend cannot express yet is an error naming the contract; a terminated instance has no taps', () => {
  const sampled = {
    ...f.contracts[0],
    options: { sample: { every: 10, unit: 'packet' as const } },
    origin: { policyFile: 'taps.ftc', line: 3 },
  };
  const r = renderOvsNode(suiteDesired(f, {}, { contracts: [sampled] }));
  assert.ok(
    !r.ok &&
      r.errors[0].code === 'E_BACKEND_UNSUPPORTED' &&
      /copy-api0|api-0/.test(r.errors[0].message) &&
      /sample/.test(r.errors[0].message),
  );
  // Why (no per-packet choice in OpenFlow, its sample action goes to collectors) and what to use instead.
  assert.match(r.errors[0].message, /no random choice per packet/);
  assert.match(r.errors[0].message, /IPFIX/);
  assert.match(r.errors[0].message, /sample by flow instead/);
  assert.deepEqual(r.errors[0].loc, { file: 'taps.ftc', line: 3 }, 'the error points at the contract');
  const gone = text(suiteDesired(f, { 'api-1': 'terminated' }));
  assert.ok(!gone.some((x) => x.startsWith('table=10,priority=100,') && x.includes('in_port=101')));
  const n9 = renderOvsNode({ ...suiteDesired(f), node: 'n9' });
  assert.ok(!n9.ok && n9.errors[0].code === 'E_DATAPLANE_NODE');
});

test('a monitor on another node gets its taps through its tap tunnel port, which sends nothing back in (not inline)', () => {
  const d = suiteDesired(f, {}, { inline: false });
  const m2 = f.addressing.monitors.m2;
  const away = {
    ...d,
    context: { ...d.context, addressing: { ...f.addressing, monitors: { ...f.addressing.monitors, m2: { ...m2, node: 'n2' } } } },
  };
  const c = unwrap(renderOvsNode(away));
  const t = c.flows.map(flowText);
  assert.ok(
    t.some((x) => /^table=10,priority=100,.*,udp,in_port=101,tp_dst=5000,actions=output:34001$/.test(x)),
    t.join('\n'),
  );
  assert.ok(t.some((x) => /^table=0,priority=600,.*,in_port=34001,actions=drop$/.test(x)));
  assert.ok(!t.some((x) => x.includes('output:33001')));
  assert.deepEqual(c.ports, [1, 100, 101, 102, 33000, 34001]);
});

test('a copy sampled by flow takes the symmetric hash in a clone and copies in table 16; by packet, or a sampled redirect, is an error', () => {
  const sampled = f.contracts.map((c) => (c.id === 'copy-api0' ? { ...c, options: { sample: { every: 4, unit: 'flow' as const } } } : c));
  const t = text(suiteDesired(f, {}, { contracts: sampled }));
  assert.ok(
    t.some((x) =>
      /^table=10,priority=100,.*,udp,in_port=100,actions=clone\(multipath\(symmetric_l3l4\+udp,0,modulo_n,4,0,NXM_NX_REG4\[\]\),load:20001->NXM_NX_REG3\[\],resubmit\(,16\)\),resubmit\(,20\)$/.test(
        x,
      ),
    ),
    t.join('\n'),
  );
  assert.ok(t.some((x) => /^table=16,priority=100,.*,reg3=20001,reg4=0,actions=output:33000$/.test(x)));
  const budgeted = sampled.map((c) =>
    c.id === 'copy-api0' ? { ...c, options: { ...c.options, budget: { rate: 50, unit: 'pps' as const } } } : c,
  );
  const b = unwrap(renderOvsNode(suiteDesired(f, {}, { contracts: budgeted }))).flows.map(flowText);
  assert.ok(b.some((x) => /^table=16,priority=100,.*,reg3=20001,reg4=0,actions=load:10001->NXM_NX_REG3\[\],resubmit\(,15\)$/.test(x)));
  assert.ok(b.some((x) => /^table=15,priority=100,.*,reg3=10001,actions=meter:10001,output:33000$/.test(x)));
  for (const [id, sample] of [
    ['copy-api0', { every: 4, unit: 'packet' as const }],
    ['hold-api1', { every: 4, unit: 'flow' as const }],
  ] as const) {
    const r = renderOvsNode(
      suiteDesired(f, {}, { contracts: f.contracts.map((c) => (c.id === id ? { ...c, options: { ...c.options, sample } } : c)) }),
    );
    assert.ok(!r.ok && r.errors[0].code === 'E_BACKEND_UNSUPPORTED' && r.errors[0].message.includes(id), JSON.stringify(r));
  }
});
