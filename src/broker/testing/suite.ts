/**
 * The shared broker test suite (tests only): every store and every bus passes the same tests.
 * A target is a place a broker lives (a SQLite file, a PostgreSQL schema, a JetStream stream);
 * open() may be called again to reopen the same data, as a restarted process would.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FlowtapError } from '../../diagnostics/index.js';
import type { Broker, BusMessage, MessageBus, RecordQuery, SubscribeOptions, Subscription } from '../broker.js';
import { RECORD_KINDS, type BrokerRecord, type StoredRecord } from '../record.js';
import { SyntheticRecords } from './records.js';
import { asciiLower, recordBytes } from '../validate.js';

export interface BrokerTarget {
  /** A broker over this target's data; every call opens it anew (a restart). */
  open(): Promise<Broker>;
  /** Removes the data (file, schema, stream). */
  dispose(): Promise<void>;
}

export type TargetFactory = () => Promise<BrokerTarget>;

async function withBroker(make: TargetFactory, fn: (b: Broker, target: BrokerTarget) => Promise<void>): Promise<void> {
  const target = await make();
  const broker = await target.open();
  try {
    await fn(broker, target);
  } finally {
    await broker.close().catch(() => undefined);
    await target.dispose();
  }
}

async function rejectsWith(p: Promise<unknown>, code: string, field?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof FlowtapError, `expected a FlowtapError, got ${String(e)}`);
    assert.equal(e.diagnostics[0].code, code, e.message);
    if (field !== undefined) assert.equal(e.diagnostics[0].loc?.field, field, e.message);
    return true;
  });
}

const T0 = Date.UTC(2024, 5, 11, 10);
const MIN = 60_000;

/** A small, hand-made set that exercises every filter. */
function fixture(): BrokerRecord[] {
  return [
    { ts: T0, kind: 'topology', tenant: 'acme', app: 'shop', data: { services: ['web', 'db'] } },
    {
      ts: T0 + 1 * MIN,
      kind: 'monitor-log',
      tenant: 'acme',
      app: 'shop',
      node: 'n1',
      service: 'web',
      instance: 'web-0',
      provenance: 'CuidA1',
      data: { log: 'http', method: 'GET', uri: '/Admin/Login' },
    },
    {
      ts: T0 + 2 * MIN,
      kind: 'notice',
      tenant: 'acme',
      app: 'shop',
      node: 'n1',
      service: 'web',
      instance: 'web-0',
      provenance: 'CuidA1',
      data: { note: 'SQL_Injection', msg: 'UNION SELECT in uri' },
    },
    {
      ts: T0 + 3 * MIN,
      kind: 'counter',
      tenant: 'acme',
      app: 'shop',
      node: 'n2',
      service: 'db',
      instance: 'db-0',
      data: { rule: 'allow web -> db:5432', packets: 10, bytes: 1200, drops: 0 },
    },
    {
      ts: T0 + 4 * MIN,
      kind: 'flow',
      tenant: 'acme',
      app: 'blog',
      node: 'n2',
      service: 'db',
      instance: 'db-1',
      data: { state: 'ESTABLISHED', bytes: [100, 2000] },
    },
    {
      ts: T0 + 5 * MIN,
      kind: 'log',
      tenant: 'umbrella',
      app: 'shop',
      node: 'n3',
      service: 'web',
      instance: 'web-9',
      data: { line: 'ready on :8080 — ünïcode' },
    },
    {
      ts: T0 + 6 * MIN,
      kind: 'reaction',
      tenant: 'acme',
      app: 'shop',
      provenance: 'notice:2',
      data: { action: 'quarantine', instance: 'web-0' },
    },
    {
      ts: T0 + 7 * MIN,
      kind: 'monitor-log',
      tenant: 'acme',
      app: 'shop',
      node: 'n1',
      service: 'web',
      instance: 'web-1',
      provenance: 'CuidB2',
      data: { log: 'conn', conn_state: 'SF' },
    },
  ];
}

const strip = (r: StoredRecord): BrokerRecord => {
  const { id: _id, ...rest } = r;
  return rest;
};

/** The reference semantics of a query, over records with their ids. */
function reference(all: StoredRecord[], q: RecordQuery): StoredRecord[] {
  const needle = q.text ? asciiLower(q.text) : undefined;
  const kinds = q.kinds && q.kinds.length > 0 ? new Set(q.kinds) : undefined;
  const out = all.filter(
    (r) =>
      (q.from === undefined || r.ts >= q.from) &&
      (q.to === undefined || r.ts < q.to) &&
      (kinds === undefined || kinds.has(r.kind)) &&
      (q.tenant === undefined || r.tenant === q.tenant) &&
      (q.app === undefined || r.app === q.app) &&
      (q.node === undefined || r.node === q.node) &&
      (q.service === undefined || r.service === q.service) &&
      (q.instance === undefined || r.instance === q.instance) &&
      (q.provenance === undefined || r.provenance === q.provenance) &&
      (q.afterId === undefined || r.id > q.afterId) &&
      (needle === undefined || asciiLower(JSON.stringify(r.data)).includes(needle)),
  );
  out.sort((a, b) => (q.order === 'desc' ? b.id - a.id : a.id - b.id));
  return out.slice(0, q.limit ?? 1000);
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return a / 4294967296;
  };
}

/** Records over hours, out of time order, some sharing a timestamp: what stresses grouping and paging. */
function shuffledRecords(n: number, seed: number): BrokerRecord[] {
  const gen = new SyntheticRecords({ seed, start: T0, stepMs: 1 });
  const r = seeded(seed);
  const rare = ['notice', 'reaction', 'agent-cost', 'config'] as const;
  return gen.batch(n).map((rec) => ({
    ...rec,
    // Some records of kinds that keep chunks of their own, among the collectors' bulk kinds.
    kind: r() < 0.06 ? rare[Math.floor(r() * rare.length)] : rec.kind,
    ts: T0 + Math.floor(r() * 240) * MIN + (r() < 0.2 ? 0 : Math.floor(r() * MIN)),
  }));
}

export function storeSuite(name: string, make: TargetFactory, skip: false | string = false): void {
  describe(`record store: ${name}`, { skip }, () => {
    it('appends a batch and returns it with increasing ids, in append order', async () => {
      await withBroker(make, async (b) => {
        const input = fixture();
        await b.store.append(input);
        const got = await b.store.query({});
        assert.equal(got.length, input.length);
        for (let i = 1; i < got.length; i++) assert.ok(got[i].id > got[i - 1].id);
        assert.deepEqual(got.map(strip), input);
        await b.store.append([input[0]]);
        const again = await b.store.query({ order: 'desc', limit: 1 });
        assert.ok(again[0].id > got[got.length - 1].id, 'a later batch gets larger ids');
      });
    });

    it('filters by time, kind, tenant, app, node, service, instance, provenance and text', async () => {
      await withBroker(make, async (b) => {
        const input = fixture();
        await b.store.append(input);
        const all = await b.store.query({});
        const ids = (rs: StoredRecord[]) => rs.map((r) => r.id);
        const at = (...idx: number[]) => idx.map((i) => all[i].id);
        assert.deepEqual(ids(await b.store.query({ from: T0 + 2 * MIN, to: T0 + 4 * MIN })), at(2, 3), 'from inclusive, to exclusive');
        assert.deepEqual(ids(await b.store.query({ kinds: ['monitor-log', 'notice'] })), at(1, 2, 7));
        assert.deepEqual(ids(await b.store.query({ kinds: [] })), ids(all), 'an empty kind list filters nothing');
        assert.deepEqual(ids(await b.store.query({ kinds: ['notice', 'reaction'] })), at(2, 6));
        assert.deepEqual(ids(await b.store.query({ kinds: ['flow'] })), at(4));
        assert.deepEqual(ids(await b.store.query({ tenant: 'umbrella' })), at(5));
        assert.deepEqual(ids(await b.store.query({ app: 'blog' })), at(4));
        assert.deepEqual(ids(await b.store.query({ tenant: 'acme', app: 'shop' })), at(0, 1, 2, 3, 6, 7));
        assert.deepEqual(ids(await b.store.query({ node: 'n2' })), at(3, 4));
        assert.deepEqual(ids(await b.store.query({ service: 'web' })), at(1, 2, 5, 7));
        assert.deepEqual(ids(await b.store.query({ instance: 'web-0' })), at(1, 2));
        assert.deepEqual(ids(await b.store.query({ provenance: 'CuidA1' })), at(1, 2));
        assert.deepEqual(ids(await b.store.query({ provenance: 'notice:2' })), at(6));
        assert.deepEqual(ids(await b.store.query({ provenance: 'notice' })), [], 'provenance matches whole ids only');
        assert.deepEqual(ids(await b.store.query({ provenance: 'cuida1' })), [], 'provenance is case-sensitive');
        assert.deepEqual(ids(await b.store.query({ text: 'union select' })), at(2), 'text ignores ASCII case');
        assert.deepEqual(ids(await b.store.query({ text: '"conn_state":"SF"' })), at(7), 'text is a substring of the JSON');
        assert.deepEqual(ids(await b.store.query({ text: 'ünïcode' })), at(5));
        assert.deepEqual(ids(await b.store.query({ text: '100%' })), [], 'LIKE wildcards are literal');
        assert.deepEqual(ids(await b.store.query({ text: 'admin', service: 'web', from: T0 })), at(1), 'filters combine');
        assert.deepEqual(ids(await b.store.query({ service: 'nope' })), []);
      });
    });

    it('orders by id both ways and pages with afterId without gaps or repeats', async () => {
      await withBroker(make, async (b) => {
        const input = shuffledRecords(1200, 7);
        for (let i = 0; i < input.length; i += 300) await b.store.append(input.slice(i, i + 300));
        const asc = await b.store.query({ limit: 5000 });
        assert.equal(asc.length, 1200);
        const desc = await b.store.query({ order: 'desc', limit: 5000 });
        assert.deepEqual(
          desc.map((r) => r.id),
          asc.map((r) => r.id).reverse(),
        );
        const paged: number[] = [];
        let after: number | undefined;
        for (;;) {
          const page = await b.store.query({ service: 'user-create', afterId: after, limit: 37 });
          if (page.length === 0) break;
          paged.push(...page.map((r) => r.id));
          after = page[page.length - 1].id;
        }
        assert.deepEqual(
          paged,
          asc.filter((r) => r.service === 'user-create').map((r) => r.id),
        );
        const last = await b.store.query({ order: 'desc', limit: 3, kinds: ['flow'] });
        assert.deepEqual(
          last.map((r) => r.id),
          desc
            .filter((r) => r.kind === 'flow')
            .slice(0, 3)
            .map((r) => r.id),
        );
      });
    });

    it('answers random queries exactly as a reference filter does', async () => {
      await withBroker(make, async (b) => {
        const input = shuffledRecords(3000, 11);
        for (let i = 0; i < input.length; i += 1000) await b.store.append(input.slice(i, i + 1000));
        const all = await b.store.query({ limit: 10_000 });
        assert.equal(all.length, 3000);
        const r = seeded(5);
        const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
        for (let n = 0; n < 120; n++) {
          const q: RecordQuery = {};
          if (r() < 0.5) q.from = T0 + Math.floor(r() * 240) * MIN + Math.floor(r() * MIN);
          if (r() < 0.5) q.to = (q.from ?? T0) + Math.floor(r() * 120) * MIN;
          const k = r();
          if (k < 0.15) q.kinds = [pick(RECORD_KINDS), pick(['monitor-log', 'flow', 'counter'] as const)];
          else if (k < 0.3)
            q.kinds = [pick(['notice', 'reaction', 'agent-cost', 'config'] as const), pick(['notice', 'reaction'] as const)];
          if (r() < 0.4) q.service = pick(all).service;
          if (r() < 0.2) q.instance = pick(all).instance;
          if (r() < 0.2) q.node = pick(all).node;
          if (r() < 0.1) q.provenance = pick(all.filter((x) => x.provenance)).provenance;
          if (r() < 0.15) q.text = pick(['status_code":404', 'REJ', 'TIME_WAIT', 'update RENTAL', 'connect']);
          if (r() < 0.3) q.afterId = pick(all).id;
          if (r() < 0.5) q.limit = 1 + Math.floor(r() * 200);
          if (r() < 0.4) q.order = 'desc';
          const got = await b.store.query(q);
          assert.deepEqual(got, reference(all, q), `query ${JSON.stringify(q)}`);
        }
      });
    });

    it('refuses a batch with one bad record whole, naming the record and field', async () => {
      await withBroker(make, async (b) => {
        const good = fixture();
        const bad = [...good.slice(0, 2), { ...good[2], kind: 'gossip' }, ...good.slice(3)] as BrokerRecord[];
        await rejectsWith(b.store.append(bad), 'E_BROKER_RECORD', 'records[2].kind');
        await rejectsWith(b.store.append([good[0], { ...good[1], ts: -1 }]), 'E_BROKER_RECORD', 'records[1].ts');
        await rejectsWith(b.store.append([{ ...good[0], tenant: '' }]), 'E_BROKER_RECORD', 'records[0].tenant');
        const { tenant: _t, ...noTenant } = good[0];
        await rejectsWith(b.store.append([noTenant as BrokerRecord]), 'E_BROKER_RECORD', 'records[0].tenant');
        const { kind: _k, ...noKind } = good[0];
        await rejectsWith(b.store.append([noKind as BrokerRecord]), 'E_BROKER_RECORD', 'records[0].kind');
        const { app: _a, ...noApp } = good[4];
        await rejectsWith(b.store.append([good[3], noApp as BrokerRecord]), 'E_BROKER_RECORD', 'records[1].app');
        await rejectsWith(
          b.store.append([good[3], { ...good[4], service: 42 } as unknown as BrokerRecord]),
          'E_BROKER_RECORD',
          'records[1].service',
        );
        await rejectsWith(b.store.append([good[0], null as unknown as BrokerRecord]), 'E_BROKER_RECORD', 'records[1]');
        await rejectsWith(
          b.store.append([{ ...good[0], data: [] as unknown as Record<string, unknown> }]),
          'E_BROKER_RECORD',
          'records[0].data',
        );
        await rejectsWith(b.store.append([{ ...good[0], node: 'a\0b' }]), 'E_BROKER_RECORD', 'records[0].node');
        await rejectsWith(b.store.append([good[0], { ...good[1], data: { n: 1n } }]), 'E_BROKER_RECORD', 'records[1].data');
        assert.deepEqual(await b.store.query({}), []);
        const s = await b.store.stats();
        assert.equal(s.records, 0);
        assert.equal(s.appended, 0);
        await rejectsWith(b.store.query({ from: 10, to: 5 }), 'E_BROKER_QUERY', 'from');
        await rejectsWith(b.store.query({ limit: 0 }), 'E_BROKER_QUERY', 'limit');
        await rejectsWith(b.store.query({ kinds: ['gossip' as never] }), 'E_BROKER_QUERY', 'kinds');
        await rejectsWith(b.store.retain({ maxBytes: -1 }), 'E_BROKER_RETENTION', 'maxBytes');
      });
    });

    it('keeps concurrent batches apart: every record once, each batch contiguous', async () => {
      await withBroker(make, async (b) => {
        const batches = [0, 1, 2, 3].map((k) => shuffledRecords(250, 100 + k).map((r) => ({ ...r, app: `app${k}` })));
        await Promise.all(batches.map((x) => b.store.append(x)));
        const all = await b.store.query({ limit: 5000 });
        assert.equal(all.length, 1000);
        assert.equal(new Set(all.map((r) => r.id)).size, 1000);
        for (let k = 0; k < 4; k++) {
          const mine = all.filter((r) => r.app === `app${k}`);
          assert.deepEqual(mine.map(strip), batches[k]);
          assert.equal(mine[mine.length - 1].id - mine[0].id, 249, 'a batch takes consecutive ids');
        }
      });
    });

    it('drops records older than maxAge, counts them, and keeps the count across a restart', async () => {
      await withBroker(make, async (b, target) => {
        const input = shuffledRecords(800, 3);
        await b.store.append(input);
        const now = T0 + 180 * MIN;
        const maxAgeMs = 90 * MIN;
        const expectedGone = input.filter((r) => r.ts < now - maxAgeMs).length;
        assert.ok(expectedGone > 100 && expectedGone < 700, 'the fixture straddles the cut');
        const report = await b.store.retain({ maxAgeMs }, now);
        assert.deepEqual(report, { droppedByAge: expectedGone, droppedBySize: 0 });
        const left = await b.store.query({ limit: 5000 });
        assert.equal(left.length, input.length - expectedGone);
        assert.ok(left.every((r) => r.ts >= now - maxAgeMs));
        const bytesLeft = left.reduce((s, r) => s + recordBytes(r, JSON.stringify(r.data)), 0);
        assert.deepEqual(await b.store.stats(), {
          records: left.length,
          bytes: bytesLeft,
          appended: 800,
          droppedByAge: expectedGone,
          droppedBySize: 0,
        });
        assert.deepEqual(await b.store.retain({ maxAgeMs }, now), { droppedByAge: 0, droppedBySize: 0 }, 'a second pass finds nothing');
        await b.close();
        const reopened = await target.open();
        try {
          const s = await reopened.store.stats();
          assert.equal(s.droppedByAge, expectedGone);
          assert.equal(s.records, left.length);
        } finally {
          await reopened.close();
        }
      });
    });

    it('drops the oldest records (by time) until the bytes kept fit maxBytes, exactly', async () => {
      await withBroker(make, async (b) => {
        const input = shuffledRecords(900, 4);
        // Small batches too: many chunks, so the embedded store needs several rounds to find the cut.
        for (let i = 0; i < 600; i += 300) await b.store.append(input.slice(i, i + 300));
        for (let i = 600; i < input.length; i += 2) await b.store.append(input.slice(i, i + 2));
        const all = await b.store.query({ limit: 5000 });
        const size = (r: BrokerRecord) => recordBytes(r, JSON.stringify(r.data));
        const total = all.reduce((s, r) => s + size(r), 0);
        assert.equal((await b.store.stats()).bytes, total, 'stats count the bytes retention counts');
        const maxBytes = Math.floor(total * 0.4);
        // Reference: drop oldest first by (ts, id) until what remains fits.
        const byAge = [...all].sort((x, y) => x.ts - y.ts || x.id - y.id);
        let kept = total;
        let k = 0;
        while (kept > maxBytes) kept -= size(byAge[k++]);
        const expectKept = new Set(byAge.slice(k).map((r) => r.id));
        const report = await b.store.retain({ maxBytes });
        assert.deepEqual(report, { droppedByAge: 0, droppedBySize: k });
        const left = await b.store.query({ limit: 5000 });
        assert.deepEqual(
          left.map((r) => r.id),
          all.filter((r) => expectKept.has(r.id)).map((r) => r.id),
        );
        const s = await b.store.stats();
        assert.equal(s.bytes, kept);
        assert.ok(s.bytes <= maxBytes);
        assert.equal(s.droppedBySize, k);
        // Queries still agree with the reference on what is left (chunks were rewritten).
        for (const q of [
          { service: 'db' },
          { kinds: ['notice', 'flow'] },
          { kinds: ['reaction'] },
          { provenance: left.find((r) => r.provenance)?.provenance },
        ] as RecordQuery[])
          assert.deepEqual(await b.store.query({ ...q, limit: 5000 }), reference(left, { ...q, limit: 5000 }), JSON.stringify(q));
        // Age first (cutting through what is left), then size empties the rest.
        const median = left.map((r) => r.ts).sort((x, y) => x - y)[Math.floor(left.length / 2)];
        const both = await b.store.retain({ maxAgeMs: 60 * MIN, maxBytes: 0 }, median + 60 * MIN);
        assert.equal(both.droppedByAge + both.droppedBySize, left.length, 'maxBytes 0 empties the store');
        assert.equal(both.droppedByAge, left.filter((r) => r.ts < median).length);
        assert.deepEqual(await b.store.query({}), []);
        assert.equal((await b.store.stats()).bytes, 0);
      });
    });

    it('reports use after close as E_BROKER_CLOSED', async () => {
      await withBroker(make, async (b) => {
        await b.close();
        await rejectsWith(b.store.append(fixture()), 'E_BROKER_CLOSED');
        await rejectsWith(b.store.query({}), 'E_BROKER_CLOSED');
      });
    });
  });
}

interface Collector {
  messages: BusMessage[];
  sub: Subscription;
  /** Resolves once n messages arrived; fails after timeoutMs. */
  waitFor(n: number, timeoutMs?: number): Promise<BusMessage[]>;
}

async function collect(
  bus: MessageBus,
  pattern: string,
  opts?: SubscribeOptions,
  onMessage?: (m: BusMessage, all: BusMessage[]) => void | Promise<void>,
): Promise<Collector> {
  const messages: BusMessage[] = [];
  const sub = await bus.subscribe(
    pattern,
    async (m) => {
      messages.push(m);
      await onMessage?.(m, messages);
    },
    opts,
  );
  return {
    messages,
    sub,
    async waitFor(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < n) {
        if (Date.now() > deadline)
          assert.fail(`${pattern}: expected ${n} messages, got ${messages.length}: ${messages.map((m) => m.subject).join(' ')}`);
        await sleep(5);
      }
      return messages;
    },
  };
}

/** Waits a little to let a wrongly-delivered message show up. */
const settle = () => sleep(150);

export function busSuite(name: string, make: TargetFactory, skip: false | string = false): void {
  describe(`message bus: ${name}`, { skip }, () => {
    it('matches subjects with * (one token) and > (the rest), in publish order', async () => {
      await withBroker(make, async (b) => {
        const patterns = ['a.*', 'a.>', 'a.b', '*.b.>', '>', 'a.*.c'];
        const subs = await Promise.all(patterns.map((p) => collect(b.bus, p)));
        const subjects = ['a', 'a.b', 'a.c', 'a.b.c', 'x.b.c', 'x.b', 'a.bc.c', 'b.a'];
        for (const s of subjects) await b.bus.publish(s, { s });
        const expected: Record<string, string[]> = {
          'a.*': ['a.b', 'a.c'],
          'a.>': ['a.b', 'a.c', 'a.b.c', 'a.bc.c'],
          'a.b': ['a.b'],
          '*.b.>': ['a.b.c', 'x.b.c'],
          '>': subjects,
          'a.*.c': ['a.b.c', 'a.bc.c'],
        };
        for (let i = 0; i < patterns.length; i++) {
          await subs[i].waitFor(expected[patterns[i]].length);
          await settle();
          assert.deepEqual(
            subs[i].messages.map((m) => m.subject),
            expected[patterns[i]],
            patterns[i],
          );
          assert.deepEqual(
            subs[i].messages.map((m) => (m.data as { s: string }).s),
            expected[patterns[i]],
          );
          for (let k = 1; k < subs[i].messages.length; k++) assert.ok(subs[i].messages[k].seq > subs[i].messages[k - 1].seq);
        }
      });
    });

    it('refuses bad subjects, patterns, durable names and data', async () => {
      await withBroker(make, async (b) => {
        await rejectsWith(b.bus.publish('a.*', {}), 'E_BROKER_SUBJECT');
        await rejectsWith(b.bus.publish('a..b', {}), 'E_BROKER_SUBJECT');
        await rejectsWith(b.bus.publish('a b', {}), 'E_BROKER_SUBJECT');
        await rejectsWith(b.bus.publish('', {}), 'E_BROKER_SUBJECT');
        await rejectsWith(
          b.bus.subscribe('a.>.b', () => undefined),
          'E_BROKER_SUBJECT',
        );
        await rejectsWith(
          b.bus.subscribe('a.b*', () => undefined),
          'E_BROKER_SUBJECT',
        );
        await rejectsWith(
          b.bus.subscribe('a.>', () => undefined, { durable: 'has.dot' }),
          'E_BROKER_DURABLE',
        );
        await rejectsWith(b.bus.publish('a.b', { n: 1n }), 'E_BROKER_MESSAGE');
      });
    });

    it('delivers what is published after subscribe resolves, not before, and carries data intact', async () => {
      await withBroker(make, async (b) => {
        await b.bus.publish('t.before', { n: 0 });
        const c = await collect(b.bus, 't.>');
        const before = Date.now();
        const payload = { n: 1, nested: { list: [1, 'two', null, true], text: 'é "quoted" \\ \n' } };
        await b.bus.publish('t.after', payload);
        const [m] = await c.waitFor(1);
        await settle();
        assert.equal(c.messages.length, 1);
        assert.equal(m.subject, 't.after');
        assert.deepEqual(m.data, payload);
        assert.ok(m.ts >= before - 1000 && m.ts <= Date.now() + 1000, 'ts is the publish time');
      });
    });

    it('delivers 2,000 concurrent publishes exactly once, in order, and stops at unsubscribe', async () => {
      await withBroker(make, async (b) => {
        const c = await collect(b.bus, 'load.*');
        await Promise.all(Array.from({ length: 2000 }, (_, i) => b.bus.publish(`load.${i % 7}`, { i })));
        await c.waitFor(2000);
        const seen = c.messages.map((m) => (m.data as { i: number }).i);
        assert.equal(new Set(seen).size, 2000);
        for (let k = 1; k < c.messages.length; k++) assert.ok(c.messages[k].seq > c.messages[k - 1].seq);
        await c.sub.unsubscribe();
        await b.bus.publish('load.1', { i: -1 });
        await settle();
        assert.equal(c.messages.length, 2000);
      });
    });

    it('replays from a time, then continues live', async () => {
      await withBroker(make, async (b) => {
        await b.bus.publish('r.x', { n: 1 });
        await b.bus.publish('r.y', { n: 2 });
        await sleep(60);
        const from = Date.now();
        await sleep(60);
        await b.bus.publish('r.x', { n: 3 });
        await b.bus.publish('other', { n: 99 });
        await b.bus.publish('r.z', { n: 4 });
        const c = await collect(b.bus, 'r.*', { fromTime: from });
        await c.waitFor(2);
        await b.bus.publish('r.x', { n: 5 });
        await c.waitFor(3);
        await settle();
        assert.deepEqual(
          c.messages.map((m) => (m.data as { n: number }).n),
          [3, 4, 5],
        );
        const all = await collect(b.bus, 'r.*', { fromTime: 0 });
        await all.waitFor(5);
        assert.deepEqual(
          all.messages.map((m) => (m.data as { n: number }).n),
          [1, 2, 3, 4, 5],
        );
      });
    });

    it('resumes a durable consumer after the last message it handled, across a restart, losing and repeating nothing', async () => {
      await withBroker(make, async (b, target) => {
        // Created first, so it follows everything published from here on.
        const first = await collect(b.bus, 'd.>', { durable: 'resume' }, async (_m, all) => {
          if (all.length === 5) await first.sub.unsubscribe();
        });
        for (let i = 1; i <= 10; i++) await b.bus.publish(`d.${i % 2 ? 'odd' : 'even'}`, { i });
        await first.waitFor(5);
        await settle();
        assert.deepEqual(
          first.messages.map((m) => (m.data as { i: number }).i),
          [1, 2, 3, 4, 5],
          'stopped after five',
        );
        await b.close();

        const again = await target.open();
        try {
          // Published while no consumer ran: kept for the durable.
          for (let i = 11; i <= 13; i++) await again.bus.publish('d.late', { i });
          const second = await collect(again.bus, 'd.>', { durable: 'resume', fromTime: Date.now() + 3600_000 });
          await second.waitFor(8);
          for (let i = 14; i <= 15; i++) await again.bus.publish('d.live', { i });
          await second.waitFor(10);
          await settle();
          assert.deepEqual(
            second.messages.map((m) => (m.data as { i: number }).i),
            [6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
            'the rest, once each, in order (fromTime is ignored for an existing durable)',
          );
          await rejectsWith(
            again.bus.subscribe('d.>', () => undefined, { durable: 'resume' }),
            'E_BROKER_DURABLE',
          );
          await second.sub.unsubscribe();
          await rejectsWith(
            again.bus.subscribe('other.>', () => undefined, { durable: 'resume' }),
            'E_BROKER_DURABLE',
          );
        } finally {
          await again.close();
        }
      });
    });

    it('resumes a durable consumer stopped mid-stream (messages in flight) with nothing lost or repeated', async () => {
      await withBroker(make, async (b, target) => {
        const seen: number[] = [];
        const first = await b.bus.subscribe(
          'burst.*',
          async (m) => {
            seen.push((m.data as { i: number }).i);
            if (seen.length % 40 === 0) await sleep(5);
          },
          { durable: 'burst' },
        );
        const publishing = Promise.all(Array.from({ length: 600 }, (_, i) => b.bus.publish(`burst.${i % 3}`, { i })));
        const deadline = Date.now() + 10_000;
        while (seen.length < 150 && Date.now() < deadline) await sleep(2);
        // From outside the handler, while messages are being pulled and handled.
        await first.unsubscribe();
        await publishing;
        const stoppedAt = seen.length;
        assert.ok(stoppedAt >= 150 && stoppedAt < 600, `stopped mid-stream (${stoppedAt})`);
        await b.close();
        const again = await target.open();
        try {
          const rest: number[] = [];
          const second = await again.bus.subscribe(
            'burst.*',
            (m) => {
              rest.push((m.data as { i: number }).i);
            },
            { durable: 'burst' },
          );
          const until = Date.now() + 10_000;
          while (seen.length + rest.length < 600 && Date.now() < until) await sleep(10);
          await settle();
          await second.unsubscribe();
          assert.deepEqual(
            [...seen, ...rest],
            Array.from({ length: 600 }, (_, i) => i),
            'every message once, in order, across the restart',
          );
        } finally {
          await again.close();
        }
      });
    });

    it('starts a new durable consumer at fromTime', async () => {
      await withBroker(make, async (b) => {
        await b.bus.publish('f.a', { n: 1 });
        await sleep(60);
        const from = Date.now();
        await sleep(60);
        await b.bus.publish('f.a', { n: 2 });
        const c = await collect(b.bus, 'f.*', { durable: 'from-time', fromTime: from });
        await c.waitFor(1);
        await b.bus.publish('f.b', { n: 3 });
        await c.waitFor(2);
        await settle();
        assert.deepEqual(
          c.messages.map((m) => (m.data as { n: number }).n),
          [2, 3],
        );
      });
    });

    it('redelivers a message whose handler threw, before the next one', async () => {
      await withBroker(make, async (b) => {
        let failures = 0;
        const seen: number[] = [];
        const sub = await b.bus.subscribe(
          'e.*',
          (m) => {
            const i = (m.data as { i: number }).i;
            seen.push(i);
            if (i === 2 && failures++ === 0) throw new Error('handler failed once');
          },
          { durable: 'retry' },
        );
        for (let i = 1; i <= 3; i++) await b.bus.publish('e.x', { i });
        const deadline = Date.now() + 10_000;
        while (seen.length < 4 && Date.now() < deadline) await sleep(20);
        await settle();
        assert.deepEqual(seen, [1, 2, 2, 3]);
        await sub.unsubscribe();
      });
    });
  });
}
