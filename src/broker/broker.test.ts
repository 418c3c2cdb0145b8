/**
 * The embedded broker (SQLite store, SQLite-backed bus) against the shared suite, plus what is
 * specific to it: addresses, subjects, chunking, two processes on one file.
 */
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseBusAddress, parseStoreAddress } from './address.js';
import { BULK_KINDS, chunkBatch } from './chunk.js';
import { openBroker } from './open.js';
import type { Broker } from './broker.js';
import { subjectMatches } from './subject.js';
import { busSuite, storeSuite, type BrokerTarget } from './testing/index.js';
import { SyntheticRecords } from './testing/index.js';
import { encodeBatch } from './validate.js';

async function must(p: ReturnType<typeof openBroker>): Promise<Broker> {
  const r = await p;
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.code}: ${e.message}`).join('\n'));
  return r.value;
}

async function sqliteTarget(): Promise<BrokerTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-broker-'));
  const file = join(dir, 'nested', 'broker.db');
  return {
    open: () => must(openBroker({ store: `sqlite:${file}` })),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

storeSuite('SQLite', sqliteTarget);
busSuite('embedded, in the SQLite file', sqliteTarget);

describe('embedded broker specifics', () => {
  it('parses store and bus addresses, and names what is wrong', () => {
    assert.deepEqual(parseStoreAddress('sqlite:/var/lib/flowtap/b.db'), {
      ok: true,
      value: { kind: 'sqlite', path: '/var/lib/flowtap/b.db' },
    });
    assert.deepEqual(parseStoreAddress('sqlite:///abs/b.db'), { ok: true, value: { kind: 'sqlite', path: '/abs/b.db' } });
    assert.deepEqual(parseStoreAddress('sqlite::memory:'), { ok: true, value: { kind: 'sqlite', path: ':memory:' } });
    const pg = parseStoreAddress('postgres://flowtap:secret@127.0.0.1:55432/flowtap?schema=tenant_a&sslmode=disable');
    assert.ok(pg.ok && pg.value.kind === 'postgres');
    assert.equal(pg.value.schema, 'tenant_a');
    assert.equal(pg.value.connectionString, 'postgres://flowtap:secret@127.0.0.1:55432/flowtap?sslmode=disable');
    assert.ok(!pg.value.label.includes('secret'), 'the label hides the password');
    const nats = parseBusAddress('nats://127.0.0.1:54222?stream=S1&prefix=ft.test');
    assert.deepEqual(nats, {
      ok: true,
      value: { kind: 'nats', server: '127.0.0.1:54222', stream: 'S1', prefix: 'ft.test', label: 'nats://127.0.0.1:54222' },
    });
    const withUser = parseBusAddress('nats://u:p%40ss@h');
    assert.ok(withUser.ok && withUser.value.kind === 'nats' && withUser.value.pass === 'p@ss' && withUser.value.server === 'h:4222');
    assert.deepEqual(parseBusAddress('memory'), { ok: true, value: { kind: 'memory' } });
    for (const [bad, parse] of [
      ['mysql://x', parseStoreAddress],
      ['sqlite:', parseStoreAddress],
      ['postgres://h/db?schema=Bad-Name', parseStoreAddress],
      ['', parseStoreAddress],
      ['kafka://x', parseBusAddress],
      ['nats://h:4222?streem=x', parseBusAddress],
      ['nats://h/path', parseBusAddress],
    ] as const) {
      const r = parse(bad);
      assert.ok(!r.ok, bad);
      assert.equal(r.errors[0].code, 'E_BROKER_URL');
      assert.ok(r.errors[0].message.includes(JSON.stringify(bad)), r.errors[0].message);
    }
  });

  it('openBroker reports bad addresses and unusable files as diagnostics, opening nothing', async () => {
    const r = await openBroker({ store: 'mongodb://x', bus: 'kafka://y' });
    assert.ok(!r.ok);
    assert.deepEqual(
      r.errors.map((e) => [e.code, e.loc?.field]),
      [
        ['E_BROKER_URL', 'store'],
        ['E_BROKER_URL', 'bus'],
      ],
    );
    const dir = mkdtempSync(join(tmpdir(), 'flowtap-broker-'));
    try {
      const notAFile = await openBroker({ store: `sqlite:${dir}` });
      assert.ok(!notAFile.ok);
      assert.equal(notAFile.errors[0].code, 'E_BROKER_UNAVAILABLE');
      assert.equal(notAFile.errors[0].loc?.file, dir);
      const unreachablePg = await openBroker({ store: 'postgres://flowtap@127.0.0.1:9/flowtap', connectTimeoutMs: 2000 });
      assert.ok(!unreachablePg.ok);
      assert.equal(unreachablePg.errors[0].code, 'E_BROKER_UNREACHABLE', unreachablePg.errors[0].message);
      const unreachableNats = await openBroker({ store: 'sqlite::memory:', bus: 'nats://127.0.0.1:9', connectTimeoutMs: 2000 });
      assert.ok(!unreachableNats.ok);
      assert.equal(unreachableNats.errors[0].code, 'E_BROKER_UNREACHABLE', unreachableNats.errors[0].message);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('matches subjects with NATS semantics', () => {
    const cases: [string, string, boolean][] = [
      ['a.b', 'a.b', true],
      ['a.b', 'a.c', false],
      ['a.*', 'a.b', true],
      ['a.*', 'a.b.c', false],
      ['a.*', 'a', false],
      ['a.>', 'a', false],
      ['a.>', 'a.b.c.d', true],
      ['>', 'x', true],
      ['*.*', 'x.y', true],
      ['*.>', 'x', false],
      ['a.*.c', 'a.zz.c', true],
      ['a.*.c', 'a.zz.d', false],
    ];
    for (const [p, s, want] of cases) assert.equal(subjectMatches(p, s), want, `${p} ~ ${s}`);
  });

  it('chunks a batch by who the records are about, bounded in records and in time span', () => {
    const gen = new SyntheticRecords({ stepMs: 1000 });
    const records = gen.batch(3000);
    // A few records of kinds that keep chunks of their own.
    for (let i = 0; i < 3000; i += 97) records[i] = { ...records[i], kind: i % 2 ? 'notice' : 'reaction' };
    const enc = encodeBatch(records);
    assert.ok(enc.ok);
    const chunks = chunkBatch(enc.value, 1, 5 * 60_000, 100);
    const ids = chunks.flatMap((c) => c.ids).sort((a, b) => a - b);
    assert.deepEqual(
      ids,
      records.map((_, i) => i + 1),
      'every record in exactly one chunk',
    );
    for (let i = 1; i < chunks.length; i++) assert.ok(chunks[i].minId > chunks[i - 1].minId, 'ordered by first id');
    assert.ok(
      chunks.some((c) => c.kind === null),
      'bulk kinds share chunks',
    );
    assert.ok(chunks.some((c) => c.kind === 'notice') && chunks.some((c) => c.kind === 'reaction'));
    for (const c of chunks) {
      assert.ok(c.ids.length <= 100);
      assert.ok(c.tsMax - c.tsMin <= 5 * 60_000);
      c.ids.forEach((id, k) => {
        const r = records[id - 1];
        assert.equal(r.kind, c.kinds[k]);
        if (c.kind !== null) assert.equal(r.kind, c.kind);
        assert.ok(c.kind !== null || BULK_KINDS.has(r.kind), 'only bulk kinds share a chunk');
        assert.equal(r.instance, c.instance ?? undefined);
        assert.equal(r.ts, c.tss[k]);
      });
    }
  });

  it('two processes on one file: a message published by one reaches a subscriber of the other', async () => {
    const target = await sqliteTarget();
    const a = await target.open();
    const b = await target.open();
    try {
      const got: unknown[] = [];
      const sub = await b.bus.subscribe('x.>', (m) => {
        got.push(m.data);
      });
      await a.bus.publish('x.y', { from: 'a' });
      await a.store.append([{ ts: 1, kind: 'log', tenant: 't', app: 'p', data: { line: 'hello' } }]);
      const deadline = Date.now() + 5000;
      while (got.length === 0 && Date.now() < deadline) await sleep(20);
      assert.deepEqual(got, [{ from: 'a' }]);
      assert.equal((await b.store.query({})).length, 1, 'and the store is shared too');
      // b opened before a numbered the kinds it stored: b's kind filters must still find them.
      await a.store.append([{ ts: 2, kind: 'syscall', tenant: 't', app: 'p', data: { calls: 3 } }]);
      assert.deepEqual(
        (await b.store.query({ kinds: ['syscall'] })).map((r) => r.data),
        [{ calls: 3 }],
      );
      await sub.unsubscribe();
    } finally {
      await a.close();
      await b.close();
      await target.dispose();
    }
  });

  it('applies a retention policy by itself while open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowtap-broker-'));
    const b = await must(openBroker({ store: `sqlite:${join(dir, 'b.db')}`, retention: { maxAgeMs: 60_000 }, retentionEveryMs: 50 }));
    try {
      const now = Date.now();
      await b.store.append([
        { ts: now - 3600_000, kind: 'log', tenant: 't', app: 'a', data: { line: 'old' } },
        { ts: now, kind: 'log', tenant: 't', app: 'a', data: { line: 'new' } },
      ]);
      const deadline = Date.now() + 5000;
      while ((await b.store.stats()).droppedByAge === 0 && Date.now() < deadline) await sleep(20);
      assert.deepEqual(
        (await b.store.query({})).map((r) => r.data.line),
        ['new'],
      );
      assert.equal((await b.store.stats()).droppedByAge, 1);
    } finally {
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a SQLite file written in another broker format, leaving it untouched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowtap-broker-'));
    const file = join(dir, 'other.db');
    try {
      const db = new Database(file);
      db.pragma('user_version = 99');
      db.close();
      const r = await openBroker({ store: `sqlite:${file}` });
      assert.ok(!r.ok);
      assert.equal(r.errors[0].code, 'E_BROKER_UNAVAILABLE');
      assert.match(r.errors[0].message, /format 99/);
      const again = new Database(file);
      assert.equal(again.pragma('user_version', { simple: true }), 99);
      assert.deepEqual(again.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all(), []);
      assert.equal(again.pragma('journal_mode', { simple: true }), 'delete');
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the bus message log bounded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowtap-broker-'));
    const b = await must(openBroker({ store: `sqlite:${join(dir, 'b.db')}`, busLimits: { maxMessages: 50 } }));
    try {
      for (let i = 0; i < 2100; i++) await b.bus.publish('n', { i });
      const seen: number[] = [];
      const sub = await b.bus.subscribe(
        'n',
        (m) => {
          seen.push((m.data as { i: number }).i);
        },
        { fromTime: 0 },
      );
      await sleep(200);
      await sub.unsubscribe();
      // Pruned every 2,000 publishes (or 10 s) down to the newest 50.
      assert.ok(seen.length >= 50 && seen.length <= 150, `replay holds only the newest messages (${seen.length})`);
      assert.deepEqual(
        seen,
        Array.from({ length: seen.length }, (_, k) => 2100 - seen.length + k),
      );
    } finally {
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("checkpoints in the writer's commits when told to (an agent): no worker thread, the log stays bounded", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowtap-broker-ckpt-'));
    const threads = () => readdirSync('/proc/self/task').length;
    try {
      const gen = new SyntheticRecords({ stepMs: 10 });
      const before = threads();
      const writer = await must(openBroker({ store: `sqlite:${join(dir, 'w.db')}`, checkpoints: 'writer' }));
      // About 40 MiB through a file whose writer checkpoints every 1,000 pages of 16 KiB.
      let written = 0;
      while (written < 40 << 20) {
        const batch = gen.batch(2000);
        written += batch.reduce((n, r) => n + JSON.stringify(r).length, 0);
        await writer.store.append(batch);
      }
      assert.equal(threads(), before, 'no checkpointer thread was started');
      const wal = statSync(join(dir, 'w.db-wal')).size;
      assert.ok(wal < 24 << 20, `the log was checkpointed as it grew (${wal} bytes after ${written} written)`);
      await writer.close();
      const background = await must(openBroker({ store: `sqlite:${join(dir, 'b.db')}` }));
      await background.store.append(gen.batch(10));
      assert.ok(threads() > before, 'the default starts its checkpointer with the first write');
      await background.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
