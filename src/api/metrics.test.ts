import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeLabel, Metrics } from './metrics.js';
import { call, FakeFleet, testServer, type TestServer } from './testing.js';

let t: TestServer;
before(async () => {
  t = await testServer();
});
after(async () => {
  await t.close();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A small reader of the text format: every line a HELP/TYPE comment or `name{labels} value`, TYPE before samples. */
function parseExposition(text: string): Sample[] {
  assert.ok(text === '' || text.endsWith('\n'), 'ends with a line feed');
  const typed = new Set<string>();
  const out: Sample[] = [];
  for (const line of text.split('\n').slice(0, -1)) {
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (comment) {
      if (comment[1] === 'TYPE') {
        assert.ok(['counter', 'gauge'].includes(comment[3]), line);
        assert.ok(!typed.has(comment[2]), `one TYPE line per family: ${line}`);
        typed.add(comment[2]);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*)\} (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(
      line,
    );
    assert.ok(m, `not a comment nor name{labels} value: ${JSON.stringify(line)}`);
    assert.ok(typed.has(m[1]), `sample before its TYPE: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

const scrape = async (token: string) => {
  const a = await call(t.server.url, 'get', '/metrics', { token });
  assert.equal(a.status, 200);
  assert.match(a.type, /^text\/plain; version=0\.0\.4/);
  return parseExposition(a.text);
};

test('metrics: every series carries tenant and app; a tenant scrape holds only its own, the operator’s all', async () => {
  await t.fleet.append('shop', [
    { kind: 'notice', data: { note: 'FlowTap::SQL_Injection', msg: 'a' } },
    { kind: 'notice', data: { note: 'FlowTap::SQL_Injection', msg: 'b' } },
    { kind: 'notice', data: { note: 'FlowTap::Monitor_Overload', monitor: 'mon1', evidence: { lagMs: 2500 } } },
    { kind: 'agent-cost', node: 'n1', data: { collector: 'flows', level: 2, cpuPercent: 1.5, bytesPerSec: 300, recordsPerSec: 4 } },
    { kind: 'agent-cost', node: 'n1', data: { collector: 'flows', level: 3, cpuPercent: 2.5, bytesPerSec: 900, recordsPerSec: 9 } },
  ]);
  await t.fleet.append('blog', [{ kind: 'notice', data: { note: 'FlowTap::Unauthorized_Connection', msg: 'c' } }]);
  const acme = await scrape(t.tokens.acme);
  const globex = await scrape(t.tokens.globex);
  const ops = await scrape(t.tokens.operator);
  for (const s of [...acme, ...globex, ...ops]) assert.ok(s.labels.tenant && s.labels.app, `${s.name} without tenant/app`);
  assert.deepEqual([...new Set(acme.map((s) => s.labels.tenant))], ['acme']);
  assert.deepEqual([...new Set(globex.map((s) => s.labels.tenant))], ['globex']);
  assert.deepEqual([...new Set(ops.map((s) => s.labels.tenant))].sort(), ['acme', 'globex']);

  const one = (list: Sample[], name: string, labels: Record<string, string>) =>
    list.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.equal(one(acme, 'flowtap_notices_total', { note: 'FlowTap::SQL_Injection' })[0]?.value, 2);
  assert.equal(one(acme, 'flowtap_monitor_lag_seconds', { monitor: 'mon1' })[0]?.value, 2.5);
  // The agent's latest report, at the level it runs now.
  assert.deepEqual(
    one(acme, 'flowtap_agent_cpu_percent', { node: 'n1', collector: 'flows' }).map((s) => [s.labels.level, s.value]),
    [['3', 2.5]],
  );
  assert.equal(one(acme, 'flowtap_agent_bytes_per_second', { collector: 'flows' })[0]?.value, 900);
  assert.equal(one(acme, 'flowtap_firewall_rule_packets_total', { rule: 'r1 shop' })[0]?.value, 7);
  assert.equal(
    one(acme, 'flowtap_reactions', { action: 'quarantine', state: 'awaiting-approval' }).length,
    0,
    'the fake ledger has no records',
  );
  assert.ok(one(acme, 'flowtap_broker_appended_total', {}).length === 1, 'a store only this tenant ships to is shown');

  // Incremental: a second scrape counts only what came since.
  await t.fleet.append('shop', [{ kind: 'notice', data: { note: 'FlowTap::SQL_Injection', msg: 'c' } }]);
  const again = await scrape(t.tokens.acme);
  assert.equal(one(again, 'flowtap_notices_total', { note: 'FlowTap::SQL_Injection' })[0]?.value, 3);
  assert.equal((await call(t.server.url, 'get', '/metrics')).status, 401);
});

test('metrics: a store shared with another tenant’s application is shown to the operator only; labels are escaped', async () => {
  const fleet = await FakeFleet.create();
  try {
    fleet.storeStats = async () => ({ store: 'sqlite:/var/lib/flowtap/broker.db', stats: await fleet.broker.store.stats() });
    const m = new Metrics(fleet);
    const tenant = parseExposition(await m.render('acme'));
    const operator = parseExposition(await m.render(null));
    assert.equal(tenant.filter((s) => s.name.startsWith('flowtap_broker_')).length, 0);
    assert.equal(operator.filter((s) => s.name === 'flowtap_broker_records').length, 2);
  } finally {
    await fleet.close();
  }
  assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const tricky = await FakeFleet.create([{ name: 'shop', tenant: 'acme', nodes: ['n"1\\x\ny'], services: {} }]);
  try {
    const samples = parseExposition(await new Metrics(tricky).render(null));
    assert.ok(
      samples.some((s) => s.labels.node === 'n"1\\x\ny'),
      'a label value with quote, backslash and line feed round-trips',
    );
  } finally {
    await tricky.close();
  }
});

const sample = (list: Sample[], name: string, labels: Record<string, string>) =>
  list.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

test('metrics: a tap’s drops by reason, from its over-budget and monitor-down counters, apart from what it copied', async () => {
  const fleet = await FakeFleet.create();
  try {
    const contract = (id: string, action: 'forward' | 'redirect') => ({
      id,
      src: 'web-0',
      dst: 'mon1',
      flow: 'tcp',
      action,
      direction: 'egress',
      options: { budget: { rate: 10, unit: 'pps' } },
    });
    fleet.taps = async () => ({ contracts: [contract('db:1', 'forward'), contract('hp:1', 'redirect')], placement: [] });
    const counter = (chain: string, comment: string, packets: number) => ({
      family: 'netdev' as const,
      table: 'flowtap_taps',
      chain,
      comment,
      packets,
      bytes: packets * 100,
    });
    fleet.counters = async () => ({
      n1: [
        counter('tapb_eg_p1_db_003a1', 'db:1 over-budget', 40),
        counter('tapb_eg_p1_db_003a1', 'db:1', 5),
        // Both directions: one budget chain a side, summed per node.
        counter('tapb_in_p1_db_003a1', 'db:1 over-budget', 2),
        counter('tap_eg_p2', 'hp:1 monitor-down', 7),
      ],
      n2: [counter('tapb_eg_p3_db_003a1', 'db:1 over-budget', 1)],
    });
    const m = parseExposition(await new Metrics(fleet).render(null));
    const drops = sample(m, 'flowtap_tap_dropped_packets_total', { app: 'shop' });
    assert.deepEqual(drops.map((s) => [s.labels.node, s.labels.contract, s.labels.reason, s.value]).sort(), [
      ['n1', 'db:1', 'over-budget', 42],
      ['n1', 'hp:1', 'monitor-down', 7],
      ['n2', 'db:1', 'over-budget', 1],
    ]);
    assert.equal(sample(m, 'flowtap_tap_dropped_bytes_total', { node: 'n1', contract: 'hp:1' })[0]?.value, 700);
    // What the tap copied is its own series; drops are neither copies nor firewall hits.
    assert.deepEqual(
      sample(m, 'flowtap_tap_packets_total', { app: 'shop' }).map((s) => [s.labels.tap, s.value]),
      [['db:1', 5]],
    );
    assert.equal(sample(m, 'flowtap_monitor_packets_total', { app: 'shop', monitor: 'mon1' })[0]?.value, 5);
    assert.equal(sample(m, 'flowtap_firewall_rule_packets_total', { app: 'shop' }).length, 0);
  } finally {
    await fleet.close();
  }
});

test('metrics: monitor capture counts from stats rows, summed over capture runs so they never go down', async () => {
  const fleet = await FakeFleet.create();
  try {
    const now = Date.now();
    const stats = (node: string, monitor: string, run: string, proc: number, dropped: number, at: number, lag?: number) => ({
      kind: 'monitor-log' as const,
      node,
      ts: at,
      data: {
        monitor,
        log: 'stats',
        row: {
          ts: at / 1000,
          peer: 'any',
          run,
          run_pkts_proc: proc,
          run_pkts_dropped: dropped,
          run_pkts_link: proc + dropped,
          ...(lag !== undefined ? { pkt_lag: lag } : {}),
        },
      },
    });
    const m = new Metrics(fleet);
    const scrape = async () => parseExposition(await m.render('acme'));
    const value = (list: Sample[], name: string, labels: Record<string, string>) => sample(list, name, labels)[0]?.value;
    await fleet.append('shop', [
      stats('n1', 'mon1', 'r1', 100, 3, now - 20_000),
      // Other monitor rows are not stats, whatever their text says.
      {
        kind: 'monitor-log',
        node: 'n1',
        data: { monitor: 'mon1', log: 'http', row: { uri: '/"log":"stats"', run: 'x', run_pkts_proc: 1e9 } },
      },
      stats('n1', 'mon1', 'r1', 250, 5, now - 10_000, 0.25),
      stats('n2', 'mon2', 'q1', 7, 0, now - 5000),
    ]);
    const first = await scrape();
    const mon1 = { monitor: 'mon1', node: 'n1', app: 'shop' };
    assert.equal(value(first, 'flowtap_monitor_captured_packets_total', mon1), 250);
    assert.equal(value(first, 'flowtap_monitor_dropped_packets_total', mon1), 5);
    assert.equal(value(first, 'flowtap_monitor_captured_packets_total', { monitor: 'mon2', node: 'n2' }), 7);
    assert.equal(value(first, 'flowtap_monitor_packet_lag_seconds', mon1), 0.25);
    assert.equal(value(first, 'flowtap_monitor_packet_lag_seconds', { monitor: 'mon2' }), undefined, 'no packets: no lag to tell');
    const age = value(first, 'flowtap_monitor_stats_age_seconds', mon1)!;
    assert.ok(age >= 9 && age < 30, `age ${age}`);

    // The monitor restarts: its new run counts from 0; a late row of the old run changes nothing.
    await fleet.append('shop', [stats('n1', 'mon1', 'r2', 10, 1, now - 2000), stats('n1', 'mon1', 'r1', 260, 9, now - 1900)]);
    const second = await scrape();
    assert.equal(value(second, 'flowtap_monitor_captured_packets_total', mon1), 260);
    assert.equal(value(second, 'flowtap_monitor_dropped_packets_total', mon1), 6);
    await fleet.append('shop', [stats('n1', 'mon1', 'r2', 40, 2, now - 1000)]);
    const third = await scrape();
    assert.equal(value(third, 'flowtap_monitor_captured_packets_total', mon1), 290);
    assert.equal(value(third, 'flowtap_monitor_dropped_packets_total', mon1), 7);
    // A fresh reader of the same store (a restarted API server) arrives at the same figures.
    const fresh = parseExposition(await new Metrics(fleet).render('acme'));
    assert.equal(value(fresh, 'flowtap_monitor_captured_packets_total', mon1), 290);
    // Another tenant sees none of it.
    assert.equal(sample(parseExposition(await m.render('globex')), 'flowtap_monitor_captured_packets_total', {}).length, 0);
  } finally {
    await fleet.close();
  }
});
