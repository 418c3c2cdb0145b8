import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBroker, type Broker, type BrokerRecord, type BusMessage } from '../broker/index.js';
import { formatJsonRow, NOTICE_LOG } from '../monitor/index.js';
import { RecordingSystem } from '../system/index.js';
import { runAgent, type AgentHandle } from './agent.js';
import type { Collector, Draft } from './collector.js';
import type { AgentOptions } from './options.js';
import { noticeDraft, NoticeWatcher } from './notices.js';
import { parseRow } from './monitor-row.js';
import { COLLECTORS, type CollectorName } from './settings.js';
import { MAX_LINE } from './tail.js';
import { fakeNetns, MemoryBus, MemoryStore } from './testing.js';

const WEB = { name: 'web-0', service: 'web', ns: 'ft-d-i-web-0', ip: '10.77.1.2' };
const DB = { name: 'db-0', service: 'db', ns: 'ft-d-i-db-0', ip: '10.77.1.4' };
const byIp = new Map([WEB, DB].map((i) => [i.ip, i]));
const SUBJECT = 'flowtap.acme.dvd.records.node1.notice';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(1);
  }
  return performance.now() - t0;
}

/** A notice.log row as the monitor writes it (engine/log-rows.ts: the evidence as JSON in `sub`). */
function noticeLine(uid: string, extra: { note?: string; ts?: number } = {}): string {
  const values: Record<string, unknown> = {
    ts: extra.ts ?? 1700000001.5,
    uid,
    'id.orig_h': '10.250.0.7',
    'id.orig_p': 40000,
    'id.resp_h': '10.77.1.2',
    'id.resp_p': 8080,
    proto: 'tcp',
    note: extra.note ?? 'FlowTap::SYN_Flood',
    msg: '100 half-open connections from 10.250.0.7 to web 10.77.1.2:8080 within 5s (threshold 100)',
    sub: JSON.stringify({ uids: [uid], src: '10.250.0.7', dst: 'web 10.77.1.2', port: 8080, seen: '100' }),
    src: '10.250.0.7',
    dst: '10.77.1.2',
    p: 8080,
    n: 100,
    actions: ['Notice::ACTION_LOG'],
    suppress_for: 300,
  };
  return formatJsonRow(
    NOTICE_LOG,
    NOTICE_LOG.fields.map((f) => (values[f] ?? null) as never),
  );
}

/** A collector that collects nothing: the collectors are not what these tests are about. */
const idle = (name: CollectorName): Collector => ({ name, collect: async () => ({ records: [] }) });

const running: AgentHandle[] = [];
const brokers: Broker[] = [];
afterEach(async () => {
  for (const a of running.splice(0)) await a.stop();
  for (const b of brokers.splice(0)) await b.close();
});

function monitorDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-notices-'));
  mkdirSync(join(dir, 'mon-http'));
  return join(dir, 'mon-http');
}

async function agent(logDir: string, o: Partial<AgentOptions> = {}) {
  const store = new MemoryStore();
  const bus = new MemoryBus();
  const logs: string[] = [];
  const a = await runAgent({
    tenant: 'acme',
    app: 'dvd',
    node: 'node1',
    nodeNs: 'ft-dvd-n-node1',
    instances: [WEB, DB],
    monitors: [{ name: 'mon-http', logDir }],
    broker: { store, bus },
    system: new RecordingSystem(),
    level: 0,
    // Nothing periodic may be what ships a notice: periods, flushes and the notice poll are all a minute.
    periodMs: 60_000,
    flushMs: 60_000,
    costPeriodMs: 60_000,
    noticePollMs: 60_000,
    netns: fakeNetns({ 'ft-dvd-n-node1': 10 }, 1),
    collectors: Object.fromEntries(COLLECTORS.filter((c) => c !== 'monitor-logs').map((c) => [c, idle(c)])),
    log: (l) => logs.push(l),
    ...o,
  });
  running.push(a);
  return { agent: a, store, bus, logs };
}

const published = (bus: MemoryBus): BrokerRecord[] => bus.on(SUBJECT).flatMap((m) => (m.data as { records: BrokerRecord[] }).records);

describe('notices', () => {
  test('a notice row becomes a notice record: uid as provenance, the instance of its addresses, note, evidence, when it was seen', () => {
    const d = noticeDraft('mon-http', parseRow(noticeLine('CSyn1'))!, byIp, 1700000001600);
    assert.ok(d);
    assert.deepEqual([d.kind, d.ts, d.provenance, d.instance, d.service], ['notice', 1700000001500, 'CSyn1', 'web-0', 'web']);
    assert.deepEqual(d.data, {
      monitor: 'mon-http',
      note: 'FlowTap::SYN_Flood',
      msg: '100 half-open connections from 10.250.0.7 to web 10.77.1.2:8080 within 5s (threshold 100)',
      sub: '{"uids":["CSyn1"],"src":"10.250.0.7","dst":"web 10.77.1.2","port":8080,"seen":"100"}',
      src: '10.250.0.7',
      dst: '10.77.1.2',
      p: 8080,
      sp: 40000,
      n: 100,
      evidence: { uids: ['CSyn1'], src: '10.250.0.7', dst: 'web 10.77.1.2', port: 8080, seen: '100' },
      seenAt: 1700000001600,
    });
    assert.equal(noticeDraft('m', { ts: 1, msg: 'no note' }, byIp, 0), null, 'a row without a note is not a notice');
  });

  test('at level 0 a row appended to notice.log is on the bus within 200 ms, no period passing; then stored, not published again', async () => {
    const dir = monitorDir();
    writeFileSync(join(dir, 'notice.log'), noticeLine('COld'));
    const { agent: a, store, bus } = await agent(dir);
    assert.equal(a.stats().active.length, 0, 'level 0: no collector runs');
    const t0 = Date.now();
    appendFileSync(join(dir, 'notice.log'), noticeLine('CNew'));
    const took = await waitFor('the notice on the bus', () => bus.on(SUBJECT).length > 0, 200);
    console.log(`notice row appended -> on the bus: ${took.toFixed(1)} ms`);
    const [r] = published(bus);
    assert.deepEqual([r.kind, r.provenance, r.instance, r.tenant, r.app, r.node], ['notice', 'CNew', 'web-0', 'acme', 'dvd', 'node1']);
    assert.ok((r.data.seenAt as number) >= t0 && (r.data.seenAt as number) <= Date.now(), 'seenAt is when the agent read it');
    await waitFor('the notice in the store', () => store.of('notice').length > 0, 200);
    await a.flush();
    assert.deepEqual(
      store.of('notice').map((n) => n.provenance),
      ['CNew'],
      'rows from before the start are not shipped',
    );
    assert.equal(published(bus).length, 1, 'the batch that stored it did not publish it again');
  });

  test('at level 3 the monitor-logs collector ships the notice row as a monitor-log only: one notice, stored once', async () => {
    const dir = monitorDir();
    const { agent: a, store, bus } = await agent(dir, { level: 3, periodMs: 100, flushMs: 50 });
    assert.ok(a.stats().active.includes('monitor-logs'));
    appendFileSync(join(dir, 'notice.log'), noticeLine('CDup'));
    await waitFor('the monitor-log row', () => store.of('monitor-log').length > 0, 1000);
    await sleep(300);
    await a.flush();
    assert.deepEqual(
      store.of('monitor-log').map((r) => [r.data.log, r.provenance]),
      [['notice', 'CDup']],
    );
    assert.equal(store.of('notice').length, 1);
    assert.equal(published(bus).length, 1);
  });

  test('a malformed row and a giant line are counted and skipped; the notices around them are shipped', async () => {
    const dir = monitorDir();
    const { agent: a, bus, logs } = await agent(dir);
    appendFileSync(join(dir, 'notice.log'), 'not json\n');
    appendFileSync(join(dir, 'notice.log'), noticeLine('C1'));
    appendFileSync(join(dir, 'notice.log'), '{"ts":1700000000,"msg":"a row with no note"}\n');
    appendFileSync(join(dir, 'notice.log'), `{"note":"${'x'.repeat(MAX_LINE + 100)}"}\n`);
    appendFileSync(join(dir, 'notice.log'), noticeLine('C2'));
    await waitFor('both notices', () => published(bus).length === 2, 500);
    assert.deepEqual(
      published(bus).map((r) => r.provenance),
      ['C1', 'C2'],
    );
    const st = a.stats().notices;
    // The giant line is cut at MAX_LINE: its head counts as cut, what follows as a line of its own that is not a row.
    assert.deepEqual([st.rows, st.cut, st.malformed >= 2], [2, 1, true]);
    assert.equal(logs.filter((l) => l.includes('skipped')).length, 1, 'told once, then only counted');
  });

  test('a notice.log that does not exist yet, in a folder that does not exist yet, is followed once it appears', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'flowtap-notices-')), 'mon-late');
    const { bus } = await agent(dir, { noticePollMs: 300 });
    mkdirSync(dir);
    // The poll finds the folder and watches it: from then on rows come by their events, well within a poll.
    await sleep(400);
    writeFileSync(join(dir, 'notice.log'), noticeLine('CLate'));
    await waitFor('the notice in a file just created', () => published(bus).length === 1, 150);
    appendFileSync(join(dir, 'notice.log'), noticeLine('CLater'));
    await waitFor('the next one', () => published(bus).length === 2, 150);
  });

  test('a truncated notice.log (a restarted monitor) is read from its start', async () => {
    const dir = monitorDir();
    writeFileSync(join(dir, 'notice.log'), noticeLine('CA') + noticeLine('CB') + noticeLine('CC'));
    const { bus } = await agent(dir);
    truncateSync(join(dir, 'notice.log'), 0);
    appendFileSync(join(dir, 'notice.log'), noticeLine('CAfter'));
    await waitFor('the notice after the truncation', () => published(bus).length === 1, 500);
    assert.equal(published(bus)[0].provenance, 'CAfter');
  });

  test('a notice the bus refuses is stored all the same and counted as not published', async () => {
    const dir = monitorDir();
    const { agent: a, store, bus } = await agent(dir);
    bus.failing = true;
    appendFileSync(join(dir, 'notice.log'), noticeLine('CRefused'));
    await waitFor('stored', () => store.of('notice').length === 1, 500);
    assert.equal(a.stats().notices.publishFailures, 1);
    assert.equal(a.stats().shipper.notPublished, 1, 'the batch tried to publish it too, and reported that it could not');
  });

  test('with the broker embedded: published on its bus as written, a subscriber has it within 200 ms', async () => {
    const b = await openBroker({ store: 'sqlite::memory:', bus: 'memory' });
    assert.ok(b.ok);
    brokers.push(b.value);
    const got: { m: BusMessage; at: number }[] = [];
    await b.value.bus.subscribe('flowtap.*.*.records.*.notice', (m) => void got.push({ m, at: Date.now() }));
    const dir = monitorDir();
    await agent(dir, { broker: b.value });
    const t0 = Date.now();
    appendFileSync(join(dir, 'notice.log'), noticeLine('CReal'));
    await waitFor('the notice', () => got.length === 1, 200);
    const [r] = (got[0].m.data as { records: BrokerRecord[] }).records;
    assert.equal(got[0].m.subject, SUBJECT);
    assert.equal(r.provenance, 'CReal');
    console.log(`embedded bus: appended -> subscriber ${got[0].at - t0} ms`);
    const t1 = Date.now();
    while ((await b.value.store.query({ kinds: ['notice'] })).length === 0) {
      assert.ok(Date.now() - t1 < 1000, 'stored within a second');
      await sleep(10);
    }
  });

  test('a burst is handed over in bounded pieces, every row once, in order', async () => {
    const dir = monitorDir();
    const batches: Draft[][] = [];
    const w = new NoticeWatcher({
      monitors: [{ name: 'mon-http', logDir: dir }],
      instances: [WEB],
      deliver: (d) => batches.push(d),
      maxReadBytes: 8192,
    });
    await w.start();
    try {
      const rows = Array.from({ length: 2000 }, (_, i) => noticeLine(`C${i}`)).join('');
      appendFileSync(join(dir, 'notice.log'), rows);
      await waitFor('every row', () => batches.flat().length === 2000, 3000);
      assert.ok(batches.length >= rows.length / 8192, `${batches.length} pieces for ${rows.length} bytes`);
      assert.ok(batches.every((b) => b.length <= Math.ceil(8192 / noticeLine('C0').length) + 1));
      assert.deepEqual(
        batches.flat().map((d) => d.provenance),
        Array.from({ length: 2000 }, (_, i) => `C${i}`),
      );
    } finally {
      await w.stop();
    }
  });
});
