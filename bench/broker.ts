/**
 * Context broker benchmark: ingest of realistic records (batches of 1,000: monitor rows,
 * connection table entries, counters, interface statistics, logs, system calls) into the SQLite
 * store, the PostgreSQL store and the JetStream bus (each record a message, and for comparison
 * each batch one message), and the latency of a one-service, one-hour window query over a large
 * SQLite store. Every figure is the median of 5 rounds with their spread, all in this run. The
 * per-record SQLite layout (a row and seven index entries per record) is measured as the
 * baseline the chunked store replaces.
 *
 *   node dist/bench/broker.js
 *   BROKER_BENCH_ROWS=10000000   rows of the query dataset (default 10 million)
 *   BROKER_BENCH_INGEST=200000   records per ingest round
 *   BROKER_BENCH_DATASET=PATH    keep the query dataset in PATH and reuse it in later runs
 *   FLOWTAP_TEST_PG, FLOWTAP_TEST_NATS   servers (default: the ports scripts/broker-servers.sh uses)
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openBroker, type Broker, type BrokerRecord } from '../src/broker/index.js';
import { SYNTHETIC_SERVICES, SyntheticRecords } from '../src/broker/testing/index.js';
import { fmtRate, stat } from './stats.js';

const ROUNDS = 5;
const BATCH = 1000;
const ROWS = Number(process.env.BROKER_BENCH_ROWS ?? 10_000_000);
const INGEST = Number(process.env.BROKER_BENCH_INGEST ?? 200_000);
const PG_URL = process.env.FLOWTAP_TEST_PG ?? 'postgres://flowtap@127.0.0.1:55432/flowtap';
const NATS_URL = process.env.FLOWTAP_TEST_NATS ?? 'nats://127.0.0.1:54222';
const DAY = 24 * 3600_000;
const HOUR = 3600_000;
const START = Date.UTC(2024, 5, 11);
const GOALS = { sqlite: 200_000, jetstream: 100_000, queryMs: 50 };

/** CPU time of this process's main thread in ms (/proc schedstat, nanosecond resolution). */
function mainThreadCpuMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

interface Round {
  /** records per wall-clock second */
  rate: number;
  /** records per second of main-thread CPU */
  cpuRate: number;
}

/**
 * Feeds ROUND_BATCHES fresh batches to `sink`, timing only the sink: each batch is generated
 * just before (as agents' batches arrive and die), not all held at once, so the collector does
 * not scan a heap of input that no real broker would keep.
 */
async function timedRound(source: SyntheticRecords, sink: (batch: BrokerRecord[]) => Promise<void>): Promise<Round> {
  let wall = 0;
  let cpu = 0;
  for (let i = 0; i < INGEST; i += BATCH) {
    const batch = source.batch(Math.min(BATCH, INGEST - i));
    const c0 = mainThreadCpuMs();
    const t0 = performance.now();
    await sink(batch);
    wall += performance.now() - t0;
    cpu += mainThreadCpuMs() - c0;
  }
  return { rate: (INGEST / wall) * 1000, cpuRate: cpu > 0 ? (INGEST / cpu) * 1000 : NaN };
}

const source = (round: number) => new SyntheticRecords({ seed: 7 + round, start: START, stepMs: 10 });

const fmtMs = (x: number) => x.toFixed(1);

async function must(p: ReturnType<typeof openBroker>): Promise<Broker> {
  const r = await p;
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.code}: ${e.message}`).join('; '));
  return r.value;
}

/** Why a server cannot be used, or null. */
async function unreachable(open: () => ReturnType<typeof openBroker>): Promise<string | null> {
  const r = await open();
  if (!r.ok) return r.errors.map((e) => e.message).join('; ');
  await r.value.close();
  return null;
}

function withParams(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

async function rounds<T>(fn: (round: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let r = 0; r < ROUNDS; r++) out.push(await fn(r));
  return out;
}

async function sqliteIngest(): Promise<Round[]> {
  return rounds(async (round) => {
    const dir = mkdtempSync(join(tmpdir(), 'flowtap-bench-broker-'));
    const b = await must(openBroker({ store: `sqlite:${join(dir, 'broker.db')}` }));
    try {
      return await timedRound(source(round), (batch) => b.store.append(batch));
    } finally {
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** The layout chunking replaces: a row per record, an index per filter, same pragmas. */
async function perRecordIngest(): Promise<Round[]> {
  return rounds(async (round) => {
    const dir = mkdtempSync(join(tmpdir(), 'flowtap-bench-broker-'));
    const db = new Database(join(dir, 'rows.db'));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('cache_size = -65536');
      db.exec(`CREATE TABLE records (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, kind TEXT NOT NULL, tenant TEXT NOT NULL, app TEXT NOT NULL,
                 node TEXT, service TEXT, instance TEXT, provenance TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL);
               CREATE INDEX r_ts ON records (ts); CREATE INDEX r_kind ON records (kind, ts); CREATE INDEX r_app ON records (tenant, app, ts);
               CREATE INDEX r_node ON records (node, ts); CREATE INDEX r_service ON records (service, ts); CREATE INDEX r_instance ON records (instance, ts);
               CREATE INDEX r_prov ON records (provenance) WHERE provenance IS NOT NULL;`);
      const ins = db.prepare(
        'INSERT INTO records (ts, kind, tenant, app, node, service, instance, provenance, data, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      const tx = db.transaction((batch: BrokerRecord[]) => {
        for (const r of batch) {
          const d = JSON.stringify(r.data);
          ins.run(r.ts, r.kind, r.tenant, r.app, r.node ?? null, r.service ?? null, r.instance ?? null, r.provenance ?? null, d, d.length);
        }
      });
      return await timedRound(source(round), async (batch) => tx(batch));
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

async function pgIngest(): Promise<Round[]> {
  return rounds(async (round) => {
    const schema = `bench_${process.pid}_${round}`;
    const b = await must(openBroker({ store: withParams(PG_URL, { schema }), bus: 'memory' }));
    try {
      return await timedRound(source(round), (batch) => b.store.append(batch));
    } finally {
      await b.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => c.end());
    }
  });
}

/** Each record a message (`whole: false`), or each batch of 1,000 one message. */
async function jetstreamIngest(whole: boolean): Promise<Round[]> {
  return rounds(async (round) => {
    const stream = `BENCH_${process.pid}_${round}`;
    const b = await must(
      openBroker({
        store: 'sqlite::memory:',
        bus: withParams(NATS_URL, { stream, prefix: `bench${process.pid}r${round}` }),
        busLimits: { maxBytes: 4 * 1024 ** 3 },
      }),
    );
    try {
      return await timedRound(source(round), async (batch) => {
        if (whole) await b.bus.publish(`records.${batch[0].tenant}.${batch[0].app}`, batch);
        else await Promise.all(batch.map((r) => b.bus.publish(`records.${r.tenant}.${r.app}.${r.kind}`, r)));
      });
    } finally {
      await b.close();
      const nc = await connect({ servers: new URL(NATS_URL).host });
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false);
      await nc.close();
    }
  });
}

/** The query dataset: ROWS records over one day, in time order, in batches as agents ship them. */
async function dataset(path: string): Promise<{ buildMs: number | null }> {
  if (existsSync(path)) {
    const b = await must(openBroker({ store: `sqlite:${path}` }));
    const s = await b.store.stats();
    await b.close();
    if (s.records === ROWS) return { buildMs: null };
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  }
  const b = await must(openBroker({ store: `sqlite:${path}` }));
  const gen = new SyntheticRecords({ seed: 99, start: START, stepMs: DAY / ROWS });
  const t0 = performance.now();
  try {
    for (let i = 0; i < ROWS; i += BATCH) await b.store.append(gen.batch(Math.min(BATCH, ROWS - i)));
  } finally {
    await b.close();
  }
  return { buildMs: performance.now() - t0 };
}

interface QueryFigures {
  perRound: number[];
  windowRecords: number;
  fullWindowMs: number;
  pages: number;
}

async function windowQueries(path: string): Promise<QueryFigures> {
  const b = await must(openBroker({ store: `sqlite:${path}` }));
  try {
    const window = (k: number) => {
      const service = SYNTHETIC_SERVICES[(k * 3) % SYNTHETIC_SERVICES.length];
      const from = START + HOUR + ((k * 7) % 22) * HOUR + ((k * 13) % 60) * 60_000;
      return { tenant: 'acme', app: 'dvd-rental', service, from, to: from + HOUR };
    };
    // One warm-up query, as any open store has served some already.
    await b.store.query(window(99));
    const perRound = await rounds(async (round) => {
      const times: number[] = [];
      for (let k = 0; k < 10; k++) {
        const q = window(round * 10 + k);
        const t0 = performance.now();
        const page = await b.store.query(q);
        times.push(performance.now() - t0);
        if (page.length === 0) throw new Error(`empty window ${JSON.stringify(q)}`);
      }
      return times.reduce((a, x) => a + x, 0) / times.length;
    });
    // The whole of one window, page by page: what a dashboard that shows everything pays.
    const q = window(0);
    let after: number | undefined;
    let windowRecords = 0;
    let pages = 0;
    const t0 = performance.now();
    for (;;) {
      const page = await b.store.query({ ...q, afterId: after });
      if (page.length === 0) break;
      pages++;
      windowRecords += page.length;
      after = page[page.length - 1].id;
    }
    return { perRound, windowRecords, fullWindowMs: performance.now() - t0, pages };
  } finally {
    await b.close();
  }
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
}

export async function run(): Promise<string[]> {
  const load0 = loadavg()[0];
  const rows: string[][] = [['backend', 'measure', 'median', 'spread (min-max)', 'per CPU-second', 'goal', 'met']];
  const notes: string[] = [];
  const rateRow = (backend: string, measure: string, rs: Round[], goal?: number) => {
    const s = stat(rs.map((r) => r.rate));
    const cpu = stat(rs.map((r) => r.cpuRate));
    rows.push([
      backend,
      measure,
      fmtRate(s.median),
      `${fmtRate(s.min)}-${fmtRate(s.max)}`,
      fmtRate(cpu.median),
      goal ? `>= ${fmtRate(goal)}` : '',
      goal ? (s.median >= goal ? 'yes' : 'NO') : '',
    ]);
    return s;
  };
  const skipRow = (backend: string, measure: string) => rows.push([backend, measure, 'skipped', '', '', '', '']);

  const sqlite = rateRow('SQLite store', 'ingest records/s', await sqliteIngest(), GOALS.sqlite);
  const perRecord = rateRow('SQLite, a row per record (baseline)', 'ingest records/s', await perRecordIngest());
  notes.push(`chunked store / per-record rows: ${(sqlite.median / perRecord.median).toFixed(1)}x`);

  const pgWhy = await unreachable(() => openBroker({ store: PG_URL, bus: 'memory', connectTimeoutMs: 2000 }));
  if (pgWhy) {
    skipRow('PostgreSQL store', 'ingest records/s');
    notes.push(`PostgreSQL skipped: ${pgWhy} (start it: scripts/broker-servers.sh start DIR)`);
  } else rateRow('PostgreSQL store', 'ingest records/s', await pgIngest());

  const natsWhy = await unreachable(() =>
    openBroker({
      store: 'sqlite::memory:',
      bus: withParams(NATS_URL, { stream: `BENCH_PROBE_${process.pid}`, prefix: `probe${process.pid}` }),
      connectTimeoutMs: 2000,
    }),
  );
  if (!natsWhy) {
    const nc = await connect({ servers: new URL(NATS_URL).host });
    await (await jetstreamManager(nc)).streams.delete(`BENCH_PROBE_${process.pid}`).catch(() => false);
    await nc.close();
  }
  if (natsWhy) {
    skipRow('JetStream bus, a message per record', 'publish records/s');
    notes.push(`JetStream skipped: ${natsWhy} (start it: scripts/broker-servers.sh start DIR)`);
  } else {
    rateRow('JetStream bus, a message per record', 'publish records/s', await jetstreamIngest(false), GOALS.jetstream);
    rateRow('JetStream bus, a message per batch', 'publish records/s', await jetstreamIngest(true));
    notes.push(
      'JetStream: every message acknowledged by the server (stored) before its publish resolves; nats-server runs on this machine too',
    );
  }

  const keep = process.env.BROKER_BENCH_DATASET;
  const dir = keep ? null : mkdtempSync(join(tmpdir(), 'flowtap-bench-broker-'));
  const path = keep ? resolve(keep) : join(dir as string, 'dataset.db');
  try {
    const { buildMs } = await dataset(path);
    const q = await windowQueries(path);
    const s = stat(q.perRound);
    rows.push([
      'SQLite store',
      'window query ms',
      fmtMs(s.median),
      `${fmtMs(s.min)}-${fmtMs(s.max)}`,
      '',
      `< ${GOALS.queryMs}`,
      s.median < GOALS.queryMs ? 'yes' : 'NO',
    ]);
    notes.push(
      `query dataset: ${ROWS.toLocaleString('en-US')} records over 24 h (${Math.round(ROWS / 24).toLocaleString('en-US')}/h, 8 services, 14 instances); ` +
        (buildMs === null ? `reused ${path}` : `built in ${(buildMs / 1000).toFixed(0)} s (${fmtRate((ROWS / buildMs) * 1000)} records/s)`),
    );
    notes.push(`window query: tenant + app + service + one hour, first page (1,000 records, by id); mean of 10 windows per round`);
    notes.push(`one whole window: ${q.windowRecords.toLocaleString('en-US')} records in ${q.pages} pages, ${q.fullWindowMs.toFixed(0)} ms`);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }

  return [
    `Broker: ${ROUNDS} rounds of ${INGEST.toLocaleString('en-US')} records in batches of ${BATCH} (ingest); query over ${ROWS.toLocaleString('en-US')} records.`,
    `Load average (1 min) at start ${load0.toFixed(2)}, at end ${loadavg()[0].toFixed(2)} on ${cpus().length} cores — other work on this machine slows every figure.`,
    'Each batch is generated just before it is appended; only the append (publish) is timed.',
    '"per CPU-second": records per second of CPU time of the thread that appends or publishes (not the servers\', nor SQLite\'s checkpoint thread).',
    '',
    ...table(rows),
    '',
    ...notes,
  ];
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const line of await run()) console.log(line);
}
