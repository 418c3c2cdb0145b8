import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesPacket, parseFlow, parsePacketSpec, type FlowMatch, type FlowTap, type PacketSpec } from '../../flowtap/index.js';
import { randomFlow, randomPacketNear } from '../../flowtap/flow/testing.js';
import { seededRng } from '../../random/index.js';
import { OPENFLOW_BYPASS_PRIORITY, renderOpenFlow, type OpenFlowOptions, type OpenFlowRules } from './openflow.js';

function flow(text: string): FlowMatch {
  const r = parseFlow(text);
  if (!r.ok) assert.fail(`${text}: ${r.errors[0].message}`);
  return r.value;
}

function tap(id: string, src: string, dst: string, text: string, action: FlowTap['action'], extra: Partial<FlowTap> = {}): FlowTap {
  return { id, tenant: 't', src, dst, flow: flow(text), action, options: {}, direction: 'egress', ...extra };
}

const PORTS = { 'web-1': 1, 'web-2': 2, 'db-1': 3, 'ids-a': 9, 'ids-b': 10, 'ids-c': 11 };
const MACS = { 'web-1': '02:00:00:00:00:01', 'web-2': '02:00:00:00:00:02', 'db-1': '02:00:00:00:00:03' };
const OPTS: OpenFlowOptions = { ports: PORTS, macs: MACS };

function render(contracts: FlowTap[], opts: OpenFlowOptions = OPTS): OpenFlowRules {
  const r = renderOpenFlow(contracts, opts);
  if (!r.ok) assert.fail(r.errors.map((e) => `${e.code}: ${e.message}`).join('\n'));
  return r.value;
}

/** Splits an action list at top-level commas (not those inside `clone(...)` or `resubmit(,1)`). */
function splitActions(actions: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of actions) {
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

/**
 * A small OpenFlow switch: highest-priority match per table, then the actions. Monitors are
 * assumed up and meters assumed under budget. Returns the ports a packet is output to and
 * whether it is switched normally.
 */
function simulate(rules: OpenFlowRules, pkt: PacketSpec): { outputs: number[]; normal: boolean } {
  const outputs: number[] = [];
  let normal = false;
  const run = (action: string, table: number): void => {
    if (action === 'NORMAL') normal = true;
    else if (action.startsWith('output:')) outputs.push(Number(action.slice(7)));
    else if (action.startsWith('meter:')) return;
    else if (action.startsWith('resubmit(,')) lookup(Number(action.slice(10, -1)));
    else if (action.startsWith('clone(')) for (const a of splitActions(action.slice(6, -1))) run(a, table);
    else if (action.startsWith('group:')) {
      const g = rules.groups.find((x) => x.id === Number(action.slice(6)));
      assert.ok(g, action);
      const bucket = /bucket=watch_port:\d+,actions=(.*?),bucket=/.exec(g.text);
      assert.ok(bucket, g.text);
      for (const a of splitActions(bucket[1])) run(a, table);
    } else assert.fail(`unknown action ${action}`);
  };
  const lookup = (table: number): void => {
    const hits = rules.flows.filter((f) => f.table === table && matchesPacket(f.match, pkt));
    assert.ok(hits.length > 0, `table ${table} has a default flow`);
    const top = Math.max(...hits.map((f) => f.priority));
    const best = hits.filter((f) => f.priority === top);
    assert.equal(new Set(best.map((f) => f.actions)).size, 1, `one action list at the top priority of table ${table}`);
    for (const a of splitActions(best[0].actions)) run(a, table);
  };
  lookup(0);
  return { outputs: [...new Set(outputs)].sort((a, b) => a - b), normal };
}

/** What the contracts mean for a packet, straight from their definition. */
function expected(contracts: FlowTap[], pkt: PacketSpec): { outputs: number[]; normal: boolean } {
  const macOf = (port: string) => flow(`dl_dst=${MACS[port as keyof typeof MACS]}`).dl_dst!.value;
  const out = new Set<number>();
  const sides: Array<'egress' | 'ingress'> = ['egress', 'ingress'];
  for (const side of sides) {
    const hit = contracts.filter(
      (c) =>
        c.direction !== (side === 'egress' ? 'ingress' : 'egress') &&
        matchesPacket(c.flow, pkt) &&
        (side === 'egress' ? PORTS[c.src as keyof typeof PORTS] === pkt.in_port : macOf(c.src).every((w, i) => w === pkt.dl_dst[i])),
    );
    for (const c of hit) out.add(PORTS[c.dst as keyof typeof PORTS]);
    if (hit.some((c) => c.action === 'redirect')) return { outputs: [...out].sort((a, b) => a - b), normal: false };
  }
  return { outputs: [...out].sort((a, b) => a - b), normal: true };
}

test('one forward renders as a copy then normal forwarding', () => {
  const rules = render([tap('c1', 'web-1', 'ids-a', 'http', 'forward')]);
  assert.deepEqual(
    rules.flows.map((f) => f.text),
    [
      'table=0,priority=100,cookie=0xf10a7a9,tcp,in_port=1,tp_dst=80,actions=output:9,resubmit(,1)',
      'table=0,priority=0,cookie=0xf10a7a9,actions=resubmit(,1)',
      'table=1,priority=0,cookie=0xf10a7a9,actions=NORMAL',
    ],
  );
  assert.ok(rules.script.includes(`ovs-ofctl -O OpenFlow15 add-flow br-int '${rules.flows[0].text}'`));
  assert.ok(rules.script.some((l) => l.startsWith('# c1 = FlowTap(web-1, ids-a, "tcp,tp_dst=80", forward)')));
});

test('a redirect outputs to the monitor only, and re-injected traffic bypasses the taps', () => {
  const rules = render([tap('r1', 'web-1', 'ids-a', 'tcp', 'redirect')]);
  const texts = rules.flows.map((f) => f.text);
  assert.ok(texts.includes('table=0,priority=100,cookie=0xf10a7a9,tcp,in_port=1,actions=output:9'));
  assert.ok(texts.includes(`table=0,priority=${OPENFLOW_BYPASS_PRIORITY},cookie=0xf10a7a9,in_port=9,actions=NORMAL`));
});

test('ingress taps match the MAC of the tapped port', () => {
  const rules = render([tap('i1', 'db-1', 'ids-a', 'postgres', 'forward', { direction: 'ingress' })]);
  assert.ok(
    rules.flows.some(
      (f) => f.text === 'table=1,priority=100,cookie=0xf10a7a9,tcp,dl_dst=02:00:00:00:00:03,tp_dst=5432,actions=output:9,NORMAL',
    ),
  );
});

test('the flow text of every rendered flow is ovs-ofctl syntax that parses back to its match, with no ranges', () => {
  const rules = render([
    tap('a', 'web-1', 'ids-a', 'tcp,tp_dst=8000-8100,tp_src=1024-65535', 'forward', { direction: 'both' }),
    tap('b', 'web-1', 'ids-b', 'tcp,nw_dst=10.0.0.0/8', 'redirect'),
  ]);
  for (const f of rules.flows) {
    const body = f.text.replace(/^table=\d+,priority=\d+,cookie=0x[0-9a-f]+,?/, '').replace(/,?actions=.*$/, '');
    assert.ok(!/tp_(src|dst)=\d+-\d+/.test(body), `no flowtap range in ${f.text}`);
    assert.deepEqual(flow(body), f.match, f.text);
  }
});

test('range decomposition matches exactly the range, for every port', () => {
  for (const [lo, hi] of [
    [8000, 8100],
    [1, 65534],
    [1000, 1999],
    [0, 1023],
  ]) {
    const rules = render([tap('r', 'web-1', 'ids-a', `udp,tp_dst=${lo}-${hi}`, 'forward')]);
    const base = parsePacketSpec('udp,in_port=1');
    assert.ok(base.ok);
    for (let port = 0; port <= 0xffff; port++) {
      const pkt = { ...base.value, tp_dst: port };
      const copied = rules.flows.some((f) => f.table === 0 && f.contracts.length > 0 && matchesPacket(f.match, pkt));
      assert.equal(copied, port >= lo && port <= hi, `${lo}-${hi} at ${port}`);
    }
  }
});

test('overlapping forwards and a redirect: copies first, then the diversion', () => {
  const contracts = [
    tap('f1', 'web-1', 'ids-a', 'tcp', 'forward'),
    tap('f2', 'web-1', 'ids-b', 'tcp,tp_dst=80-90', 'forward'),
    tap('r1', 'web-1', 'ids-c', 'tcp,tp_dst=85-100', 'redirect'),
  ];
  const rules = render(contracts);
  const pkt = parsePacketSpec('tcp,in_port=1,tp_dst=86');
  assert.ok(pkt.ok);
  assert.deepEqual(simulate(rules, pkt.value), { outputs: [9, 10, 11], normal: false });
  const cases: Array<[string, number[], boolean]> = [
    ['tcp,in_port=1,tp_dst=80', [9, 10], true],
    ['tcp,in_port=1,tp_dst=95', [9, 11], false],
    ['tcp,in_port=1,tp_dst=200', [9], true],
    ['udp,in_port=1,tp_dst=86', [], true],
    ['tcp,in_port=2,tp_dst=86', [], true],
  ];
  for (const [text, outputs, normal] of cases) {
    const p = parsePacketSpec(text);
    assert.ok(p.ok);
    assert.deepEqual(simulate(rules, p.value), { outputs, normal }, text);
  }
  const top = rules.flows.filter((f) => f.contracts.length === 3);
  assert.ok(top.length > 0 && top.every((f) => f.actions === 'output:9,output:10,output:11'), 'copies precede the redirect output');
});

const NESTED = [
  '',
  'ip',
  'tcp',
  'tcp,tp_dst=80-90',
  'tcp,tp_dst=85-100',
  'ip,nw_src=10.0.0.0/8',
  'tcp,nw_src=10.0.0.0/24',
  'udp,tp_dst=0x0030/0xfff0',
];

test('simulated switch does what the contracts say, on random contracts and packets', () => {
  const r = seededRng(31);
  const srcs = ['web-1', 'web-2'];
  const mons = ['ids-a', 'ids-b', 'ids-c'];
  const dirs: FlowTap['direction'][] = ['egress', 'ingress', 'both'];
  let checked = 0;
  let tapped = 0;
  for (let round = 0; round < 150; round++) {
    const contracts: FlowTap[] = [];
    const n = 1 + Math.floor(r() * 5);
    for (let i = 0; i < n; i++) {
      const action = r() < 0.35 ? 'redirect' : 'forward';
      const c = tap(`c${i}`, srcs[Math.floor(r() * srcs.length)], mons[Math.floor(r() * mons.length)], '', action, {
        direction: dirs[Math.floor(r() * dirs.length)],
      });
      // Half the flows come from a small nested family so that contracts of one port overlap.
      c.flow = r() < 0.5 ? flow(NESTED[Math.floor(r() * NESTED.length)]) : randomFlow(r);
      delete c.flow.in_port;
      delete c.flow.dl_dst;
      contracts.push(c);
    }
    const res = renderOpenFlow(contracts, OPTS);
    if (!res.ok) {
      // Only overlapping redirects may be refused here, and then with that code.
      assert.ok(
        res.errors.every((e) => e.code === 'E_CONTRACT_OVERLAP'),
        res.errors.map((e) => e.message).join('\n'),
      );
      continue;
    }
    for (let k = 0; k < 60; k++) {
      const c = contracts[Math.floor(r() * contracts.length)];
      const pkt = randomPacketNear(r, c.flow);
      pkt.in_port = [1, 2, 3, 4][Math.floor(r() * 4)];
      const mac = [MACS['web-1'], MACS['web-2'], MACS['db-1'], '02:00:00:00:00:99'][Math.floor(r() * 4)];
      pkt.dl_dst = flow(`dl_dst=${mac}`).dl_dst!.value;
      const want = expected(contracts, pkt);
      assert.deepEqual(simulate(res.value, pkt), want, `contracts:\n${res.value.script.join('\n')}`);
      checked++;
      if (want.outputs.length > 0) tapped++;
    }
  }
  assert.ok(checked > 1000 && tapped > checked / 10, `checked ${checked}, tapped ${tapped}`);
});

test('budgets become meters on the tapped copy; fail-open redirects use a fast-failover group', () => {
  const rules = render([
    tap('f1', 'web-1', 'ids-a', 'tcp', 'forward', { options: { budget: { rate: 1500, unit: 'pps' } } }),
    tap('r1', 'web-2', 'ids-b', 'udp', 'redirect', { options: { budget: { rate: 2_500_000, unit: 'bps' } } }),
    tap('r2', 'db-1', 'ids-c', 'tcp', 'redirect', { options: { failMode: 'open' } }),
  ]);
  assert.deepEqual(
    rules.meters.map((m) => m.text),
    ['meter=1,pktps,band=type=drop,rate=1500', 'meter=2,kbps,band=type=drop,rate=2500'],
  );
  const actionsOf = (id: string) => rules.flows.find((f) => f.contracts.includes(id))!.actions;
  // Open vSwitch refuses a meter inside clone: the copy is metered in the third table.
  assert.equal(actionsOf('f1'), 'clone(load:1->NXM_NX_REG3[],resubmit(,2)),resubmit(,1)');
  assert.deepEqual(
    rules.flows.filter((f) => f.table === 2).map((f) => f.text),
    ['table=2,priority=100,cookie=0xf10a7a9,reg3=1,actions=meter:1,output:9'],
  );
  assert.equal(actionsOf('r1'), 'meter:2,output:10');
  assert.equal(actionsOf('r2'), 'group:1');
  assert.deepEqual(
    rules.groups.map((g) => g.text),
    ['group_id=1,type=fast_failover,bucket=watch_port:11,actions=output:11,bucket=watch_port:' + PORTS['db-1'] + ',actions=resubmit(,1)'],
  );
  assert.ok(rules.script.includes("ovs-ofctl -O OpenFlow15 add-meter br-int 'meter=1,pktps,band=type=drop,rate=1500'"));
});

test('what OpenFlow cannot express is an E_BACKEND_UNSUPPORTED error naming the option and the backend', () => {
  const cases: Array<[FlowTap, RegExp]> = [
    [
      tap('s', 'web-1', 'ids-a', 'tcp', 'forward', { options: { sample: { every: 10, unit: 'packet' } } }),
      /option sample .* openflow backend/,
    ],
    [
      tap('d', 'web-1', 'ids-a', 'tcp', 'forward', { direction: 'ingress' }),
      /direction ingress .* openflow backend without the MAC address of web-1/,
    ],
    [
      tap('b', 'web-1', 'ids-a', 'tcp', 'forward', { options: { budget: { rate: 500, unit: 'bps' } } }),
      /option budget of 500 bps .* openflow backend/,
    ],
    [
      tap('o', 'web-1', 'ids-a', 'tcp', 'redirect', { options: { failMode: 'open', budget: { rate: 10, unit: 'pps' } } }),
      /budget with failMode=open/,
    ],
    // The renderer meters budgets on reg3 itself.
    [tap('r', 'web-1', 'ids-a', 'tcp,reg3=1', 'forward'), /reg3 cannot be expressed by the openflow backend/],
  ];
  for (const [c, re] of cases) {
    const r = renderOpenFlow([c], { ports: PORTS });
    assert.equal(r.ok, false, c.id);
    if (r.ok) continue;
    assert.equal(r.errors[0].code, 'E_BACKEND_UNSUPPORTED', r.errors[0].message);
    assert.match(r.errors[0].message, re);
    assert.match(r.errors[0].message, new RegExp(`^contract ${c.id} FlowTap`));
  }
  // Sampling every packet is no sampling at all, and renders.
  assert.ok(
    renderOpenFlow([tap('s1', 'web-1', 'ids-a', 'tcp', 'forward', { options: { sample: { every: 1, unit: 'packet' } } })], OPTS).ok,
  );
});

test('unknown ports, contracts that never match, overlapping redirects and bad options are errors', () => {
  const codes = (contracts: FlowTap[], opts: OpenFlowOptions = OPTS) => {
    const r = renderOpenFlow(contracts, opts);
    return r.ok ? [] : r.errors.map((e) => e.code);
  };
  assert.deepEqual(codes([tap('x', 'web-9', 'ids-a', 'tcp', 'forward')]), ['E_OPENFLOW_PORT']);
  assert.deepEqual(codes([tap('x', 'web-1', 'ids-z', 'tcp', 'forward')]), ['E_OPENFLOW_PORT']);
  assert.deepEqual(codes([tap('x', 'web-1', 'ids-a', 'in_port=2', 'forward')]), ['E_OPENFLOW_NEVER_MATCHES']);
  assert.deepEqual(codes([tap('r1', 'web-1', 'ids-a', 'tcp', 'redirect'), tap('r2', 'web-1', 'ids-b', 'http', 'redirect')]), [
    'E_CONTRACT_OVERLAP',
  ]);
  assert.deepEqual(codes([], { ports: { a: 0 } }), ['E_OPENFLOW_OPTIONS']);
  assert.deepEqual(codes([], { ports: {}, bridge: "br0'; rm -rf /" }), ['E_OPENFLOW_OPTIONS']);
  assert.deepEqual(
    codes([tap('m', 'web-1', 'ids-a', 'tcp', 'forward', { direction: 'both' })], { ports: PORTS, macs: { 'web-1': 'nope' } }),
    ['E_OPENFLOW_PORT'],
  );
  const many = Array.from({ length: 12 }, (_, i) => tap(`f${i}`, 'web-1', 'ids-a', `tcp,tp_dst=${i}-${1000 + i}`, 'forward'));
  assert.deepEqual(codes(many, { ...OPTS, maxFlows: 200 }), ['E_BACKEND_LIMIT']);
});
