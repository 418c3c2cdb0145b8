import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrokerRecord } from '../broker/index.js';
import { Shipper, type LossReport } from './shipper.js';
import { MemoryBus, MemoryStore } from './testing.js';

const rec = (i: number, kind: BrokerRecord['kind'] = 'flow'): BrokerRecord => ({
  ts: 1000 + i,
  kind,
  tenant: 't',
  app: 'a',
  node: 'n1',
  data: { i, pad: 'x'.repeat(50) },
});
const sizeOf = (r: BrokerRecord) => Buffer.byteLength(JSON.stringify(r));

function shipper(store: MemoryStore, bus: MemoryBus | undefined, o: { max?: number; batch?: number; clock?: { t: number } } = {}) {
  const clock = o.clock ?? { t: 0 };
  const shipped: Record<string, number> = {};
  const s = new Shipper({
    store,
    bus,
    subjectOf: (r) => `flowtap.t.a.records.n1.${r.kind}`,
    maxBufferBytes: o.max,
    batchSize: o.batch,
    retryMinMs: 100,
    retryMaxMs: 400,
    lossRecord: (loss: LossReport) => ({
      ts: clock.t,
      kind: 'agent-cost',
      tenant: 't',
      app: 'a',
      node: 'n1',
      data: { collector: 'shipper', event: 'loss', ...loss },
    }),
    onShipped: (source, n) => (shipped[source] = (shipped[source] ?? 0) + n),
    now: () => clock.t,
  });
  return { s, shipped, clock };
}

describe('shipper', () => {
  test('ships in batches to the store and publishes them by kind on the bus', async () => {
    const store = new MemoryStore();
    const bus = new MemoryBus();
    const { s, shipped } = shipper(store, bus, { batch: 3 });
    for (let i = 0; i < 7; i++) s.enqueue(rec(i, i % 2 ? 'flow' : 'counter'), i < 5 ? 'flows' : 'counters');
    assert.equal(await s.flush(), true);
    assert.equal(store.appends, 3, '7 records in batches of 3');
    assert.deepEqual(
      store.records.map((r) => r.data.i),
      [0, 1, 2, 3, 4, 5, 6],
    );
    assert.deepEqual(shipped, { flows: 5, counters: 2 });
    const published = bus
      .on('flowtap.t.a.records.n1.*')
      .flatMap((m) => (m.data as { records: BrokerRecord[] }).records.map((r) => `${m.subject.split('.').pop()}:${r.data.i}`));
    assert.deepEqual(published.sort(), ['counter:0', 'counter:2', 'counter:4', 'counter:6', 'flow:1', 'flow:3', 'flow:5']);
    const bytes = [0, 1, 2, 3, 4, 5, 6].reduce((a, i) => a + sizeOf(rec(i, i % 2 ? 'flow' : 'counter')), 0);
    assert.deepEqual(s.stats(), {
      buffered: 0,
      bufferedBytes: 0,
      shipped: 7,
      shippedBytes: bytes,
      dropped: 0,
      droppedBytes: 0,
      notPublished: 0,
      failures: 0,
      connected: true,
    });
  });

  test('while the store is down: bounded by bytes, keeps the newest, counts the dropped; on recovery reports the loss first, then the kept records', async () => {
    const store = new MemoryStore();
    const clock = { t: 0 };
    const one = sizeOf(rec(10));
    const { s } = shipper(store, undefined, { max: one * 5, batch: 4, clock });
    store.failing = true;
    for (let i = 0; i < 3; i++) s.enqueue(rec(i, 'counter'), 'counters');
    assert.equal(await s.flush(), false);
    assert.equal(s.stats().connected, false);
    for (let i = 3; i < 12; i++) s.enqueue(rec(i, i < 6 ? 'counter' : 'flow'), 'flows');
    const st = s.stats();
    assert.equal(st.buffered, 5);
    assert.ok(st.bufferedBytes <= one * 5);
    assert.equal(st.dropped, 7);
    clock.t = 50;
    assert.equal(await s.flush(), false, 'waits out the retry delay');
    assert.equal(store.failures, 1);
    clock.t = 150;
    assert.equal(await s.flush(), false);
    assert.equal(store.failures, 2);
    store.failing = false;
    clock.t = 300;
    assert.equal(await s.flush(), false, 'the delay doubled: 150 + 200');
    clock.t = 360;
    assert.equal(await s.flush(), true);
    const [loss, ...kept] = store.records;
    assert.equal(loss.kind, 'agent-cost');
    assert.deepEqual(
      { ...loss.data, lastError: undefined },
      {
        collector: 'shipper',
        event: 'loss',
        dropped: 7,
        droppedBytes: [0, 1, 2, 3, 4, 5, 6].reduce((a, i) => a + sizeOf(rec(i, i < 6 ? 'counter' : 'flow')), 0),
        byKind: { counter: 6, flow: 1 },
        firstTs: 1000,
        lastTs: 1006,
        notPublished: 0,
        failures: 2,
        outageStart: 0,
        outageMs: 360,
        lastError: undefined,
      },
    );
    assert.equal(loss.data.lastError, 'connection refused');
    assert.deepEqual(
      kept.map((r) => r.data.i),
      [7, 8, 9, 10, 11],
      'the newest, in order',
    );
    assert.equal(kept.length + (loss.data.dropped as number), 12, 'every record enqueued is either stored or counted');
    // Reported once: the next flush carries no loss record.
    s.enqueue(rec(12), 'flows');
    await s.flush();
    assert.deepEqual(
      store.records.slice(-1).map((r) => r.kind),
      ['flow'],
    );
    assert.equal(store.of('agent-cost').length, 1);
  });

  test('an outage without drops is still reported when the store answers again', async () => {
    const store = new MemoryStore();
    const clock = { t: 0 };
    const { s } = shipper(store, undefined, { clock });
    store.failing = true;
    s.enqueue(rec(1), 'flows');
    await s.flush();
    store.failing = false;
    clock.t = 1000;
    await s.flush();
    assert.deepEqual(
      store.records.map((r) => [r.kind, r.data.dropped ?? r.data.i]),
      [
        ['agent-cost', 0],
        ['flow', 1],
      ],
    );
    assert.equal(store.records[0].data.failures, 1);
  });

  test('records the bus refused are stored and reported as not published, once', async () => {
    const store = new MemoryStore();
    const bus = new MemoryBus();
    const { s } = shipper(store, bus);
    bus.failing = true;
    s.enqueue(rec(1), 'flows');
    s.enqueue(rec(2), 'flows');
    assert.equal(await s.flush(), true);
    assert.equal(s.stats().notPublished, 2);
    bus.failing = false;
    s.enqueue(rec(3), 'flows');
    await s.flush();
    const losses = store.of('agent-cost');
    assert.equal(losses.length, 1);
    assert.equal(losses[0].data.notPublished, 2);
    assert.equal(store.of('flow').length, 3);
    bus.failing = true;
    s.enqueue(rec(4), 'flows');
    await s.flush();
    await s.flush();
    assert.ok(store.of('agent-cost').length <= 3, 'a bus that keeps refusing does not make reports of reports forever');
  });

  test('a single record larger than the whole buffer is dropped and counted', async () => {
    const store = new MemoryStore();
    const { s } = shipper(store, undefined, { max: 50 });
    s.enqueue(rec(1), 'flows');
    assert.equal(s.stats().dropped, 1);
    assert.equal(s.stats().buffered, 0);
    await s.flush();
    assert.equal(store.records[0].data.dropped, 1);
  });
});
