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
