import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBackends, parseRounds, report, SCENARIOS, type BackendOutcome, type BackendPlan, type Pair } from './dataplane.js';

const plan = (kind: BackendPlan['kind'], iperfSeconds = 4): BackendPlan => ({ kind, tap: `${kind} tap`, iperfSeconds, wrkSeconds: 4 });

/** Five rounds whose tapped side runs at `ratio` of a baseline of `base`, every copy read; `extra` as iperf3's retransmits or wrk's errors. */
function pairs(base: number, ratio: number, extra = '0'): Pair[] {
  return Array.from({ length: 5 }, (_, i) => {
    const copies = (sent: number) => ({ sent, notCopied: 0, monitor: { seen: sent, captured: sent, dropped: 0 } });
    return {
      round: i + 1,
      base: { value: base + i, extra, copies: copies(0) },
      tapped: { value: (base + i) * ratio, extra, copies: copies(1000 + i) },
    };
  });
}

const measured = (kind: BackendPlan['kind'], base: number, ratio: number): BackendOutcome => ({
  plan: plan(kind),
  throughput: SCENARIOS.map((s) => ({ s, pairs: pairs(base, ratio) })),
  // wrk's extra is its errors, none here.
  web: pairs(base / 10, ratio, ''),
  seconds: 100,
});

test('DATAPLANE_BENCH_BACKENDS: unset or empty means both; names are checked and deduplicated', () => {
  assert.deepEqual(parseBackends(undefined), { ok: true, value: new Set(['nftables', 'ovs']) });
  assert.deepEqual(parseBackends(' '), { ok: true, value: new Set(['nftables', 'ovs']) });
  assert.deepEqual(parseBackends('ovs, OVS'), { ok: true, value: new Set(['ovs']) });
  assert.deepEqual(parseBackends('ovs,nftables'), { ok: true, value: new Set(['ovs', 'nftables']) });
  const bad = parseBackends('nftables,kernel');
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.message, /DATAPLANE_BENCH_BACKENDS="nftables,kernel": unknown backend "kernel"/);
  assert.equal(parseBackends('nftables,').ok, false, 'an empty name is refused, not ignored');
});

test('DATAPLANE_BENCH_ROUNDS: at least five; anything but a whole number is refused by name', () => {
  assert.deepEqual(parseRounds(undefined), { ok: true, value: 5 });
  assert.deepEqual(parseRounds('2'), { ok: true, value: 5 });
  assert.deepEqual(parseRounds('7'), { ok: true, value: 7 });
  for (const bad of ['x', '2.5', '0', '-3', '1e9'])
    assert.match((parseRounds(bad) as { message: string }).message ?? '', new RegExp(`DATAPLANE_BENCH_ROUNDS="${bad}"`));
});

test('the report keeps each backend apart and puts their ratios side by side', () => {
  const lines = report([measured('nftables', 3000, 0.9), measured('ovs', 300, 0.5)], 5, 'flowtap', 200);
  const text = lines.join('\n');
  assert.match(text, /^== nftables: nftables tap$/m);
  assert.match(text, /^== ovs: ovs tap$/m);
  // One table per backend, then the comparison with a column per backend.
  assert.equal(lines.filter((l) => l.startsWith('1. TCP throughput')).length, 2);
  const side = lines.indexOf(lines.find((l) => l.startsWith('4. Backends side by side'))!);
  assert.ok(side > 0, text);
  assert.match(lines[side + 1], /placement\s+nftables\s+ovs$/);
  // Baseline medians 3002 and 302, ratios 0.9 and 0.5 in every round.
  const a = lines[side + 2];
  assert.match(a, /^ {2}\(a\) same node/);
  assert.match(a, /3002 · 0\.900 \(0\.900–0\.900\)\s+302 · 0\.500 \(0\.500–0\.500\)$/);
  assert.match(lines[side + 1 + SCENARIOS.length + 1], /^ {2}web-0 \(req\/s\)\s+302 · 0\.900/);
  assert.doesNotMatch(text, /WARNINGS/);
  assert.match(text, /dataplane: measured in 200 s$/);
});

test('a backend that could not run is said so, and no comparison is made with one backend measured', () => {
  const text = report(
    [measured('nftables', 3000, 0.9), { plan: plan('ovs'), skipped: 'Open vSwitch not running (scripts/ovs.sh start)' }],
    5,
    'flowtap',
    100,
  ).join('\n');
  assert.match(text, /dataplane \(ovs\): skipped — Open vSwitch not running \(scripts\/ovs\.sh start\)/);
  assert.doesNotMatch(text, /side by side/);
  const failed = report([{ plan: plan('nftables'), failed: 'boom' }], 5, 'flowtap', 1).join('\n');
  assert.match(failed, /dataplane \(nftables\): FAILED — boom/);
});

test('copies in a baseline and tapped rounds the monitor did not read are warned of, per backend', () => {
  const o = measured('ovs', 300, 0.5) as Extract<BackendOutcome, { web: Pair[] }>;
  o.web[2].base.copies.sent = 7;
  o.web[3].tapped.copies.monitor.seen = 0;
  const text = report([o], 5, 'flowtap', 1).join('\n');
  assert.match(text, /web: baseline round 3: 7 copies made/);
  assert.match(text, /web: tapped round 4: the monitor read no copies/);
});
