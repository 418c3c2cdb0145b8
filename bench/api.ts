/**
 * REST API benchmark: latency and throughput of two dashboard queries under load (wrk, 2
 * threads, 32 connections, each answer read whole) and the live stream's fan-out to 100
 * clients, over a real deployment's worth of records: LocalFleet serving dvd-rental from a state
 * folder, its SQLite broker holding about 200,000 records of one hour (SyntheticRecords for the
 * monitor rows, flows, counters, interface statistics, logs and system calls; notices, the
 * controller's reactions and the agents' cost records added here). The baseline, measured in
 * the same run and timed the same way (32 callers in a closed loop, so each call waits behind
 * the others as a request waits behind the other connections' on the server's one thread), is
 * the same query issued in-process to the store and to the Fleet method: what the HTTP layer,
 * the token check, the query's validation and the JSON answer add is the difference.
 * Rounds are interleaved (the HTTP run and its baselines in turn), so a noisy neighbour slows
 * all of them alike.
 *
 *   node dist/bench/api.js       (needs wrk on PATH)
 *   API_BENCH_SECONDS=10         seconds per timed run (default 5; 5 rounds x 6 runs)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { issueToken, LocalFleet, startApiServer, tokenFile } from '../src/api/index.js';
import { openBroker, type Broker, type BrokerRecord } from '../src/broker/index.js';
import { SyntheticRecords } from '../src/broker/testing/index.js';
import { instancesByIp, noticeView, type InstancesByIp, type Reaction } from '../src/controller/index.js';
import { loadApp, planAddresses, type Addressing, type App } from '../src/model/index.js';
import type { CloudState } from '../src/orchestrator/index.js';
import { seededRng, type Rng } from '../src/random/index.js';
import { realSystem } from '../src/system/index.js';
import { fmtRate, stat, type Stat } from './stats.js';

const ROUNDS = 5;
const SECONDS = Number(process.env.API_BENCH_SECONDS ?? 5);
const THREADS = 2;
const CONNECTIONS = 32;
const HOUR = 3600_000;
/** The dataset: bulk records from SyntheticRecords, plus notices, reactions and agent costs. */
const BULK = 190_000;
const NOTICES = 3000;
/** One agent batch of bulk records; ~19 s of the hour each. */
const BATCH = 1000;
const SSE_CLIENTS = 100;
const SSE_BATCH = 100;
const SSE_TIMEOUT_MS = 30_000;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DESCRIPTOR = join(ROOT, 'examples', 'dvd-rental', 'app.yaml');
const POLICIES = ['connection-attempts', 'database', 'forensics', 'honeypot', 'message-queue', 'public-http'].map((p) =>
  join(ROOT, 'examples', 'dvd-rental', 'policies', `${p}.dl`),
);
const CREATED = '2025-03-01T10:00:00.000Z';
const COLLECTORS = ['counters', 'interfaces', 'flows', 'logs', 'monitor-logs', 'syscalls'];

// ---------------------------------------------------------------- dataset

interface Deployed {
  app: App;
  addressing: Addressing;
  byIp: InstancesByIp;
}

function deployed(): Deployed {
  const app = loadApp(DESCRIPTOR);
  if (!app.ok) throw new Error(app.errors.map((e) => e.message).join('; '));
  const planned = planAddresses(app.value);
  if (!planned.ok) throw new Error(planned.errors.map((e) => e.message).join('; '));
  return { app: app.value, addressing: planned.value, byIp: instancesByIp(app.value, planned.value) };
}

const NOTES = [
  { note: 'FlowTap::Unauthorized_Connection', monitor: 'mon-forensics', msg: 'connection outside the service graph' },
  { note: 'FlowTap::SQL_Injection', monitor: 'mon-sql', msg: 'tautology in WHERE clause' },
  { note: 'FlowTap::Identity_Mismatch', monitor: 'mon-http', msg: 'x-user-id does not match the SQL parameter' },
  { note: 'FlowTap::Honeypot_Touched', monitor: 'mon-honeypot', msg: 'connection to the honeypot' },
  { note: 'FlowTap::Connection_Attempts', monitor: 'mon-node2', msg: 'too many connection attempts' },
] as const;

/** Notices as the agents ship them (src/agent/notices.ts): addresses of the deployment's instances, evidence in `sub`. */
class NoticeSource {
  private readonly r: Rng;
  private readonly instances: { name: string; service: string; node: string; ip: string }[];
  private k = 0;

  constructor(
    private readonly d: Deployed,
    seed: number,
  ) {
    this.r = seededRng(seed);
    this.instances = d.app.instances.map((i) => {
      const a = d.addressing.instances[i.name];
      return { name: i.name, service: i.service, node: a.node, ip: a.ip };
    });
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)];
  }

  notice(ts: number): BrokerRecord {
    const n = this.pick(NOTES);
    const dst = this.pick(this.instances);
    // A quarter from outside the application, as scans and attacks on the public services are.
    const src = this.r() < 0.25 ? `198.51.100.${1 + Math.floor(this.r() * 200)}` : this.pick(this.instances).ip;
    const uid = `C${(this.k++).toString(36).padStart(8, '0')}bench${Math.floor(this.r() * 1e6).toString(36)}`;
    const port = dst.service === 'db' ? 5432 : dst.service === 'mq' ? 4222 : 8080;
    const evidence = { port, rule: n.note.slice('FlowTap::'.length).toLowerCase(), count: 1 + Math.floor(this.r() * 50) };
    return {
      ts,
      kind: 'notice',
      tenant: this.d.app.tenant,
      app: this.d.app.name,
      node: dst.node,
      service: dst.service,
      instance: dst.name,
      provenance: uid,
      data: {
        monitor: n.monitor,
        note: n.note,
        msg: n.msg,
        sub: JSON.stringify(evidence),
        src,
        dst: dst.ip,
        p: port,
        sp: 32768 + Math.floor(this.r() * 28000),
        evidence,
        seenAt: ts + 3,
      },
    };
  }

  /** The controller's ledger records (reactionRecord in src/controller) for a reaction to the notice. */
  reaction(notice: BrokerRecord): BrokerRecord[] {
    const view = noticeView(notice, this.d.byIp);
    if (!view) throw new Error('a generated notice is no notice');
    const instance = view.src.instance ?? (notice.instance as string);
    const action: Reaction['action'] = view.src.instance
      ? { kind: 'quarantine', instance }
      : view.src.ip
        ? { kind: 'restrict', source: view.src.ip, ...(view.port !== undefined ? { port: view.port } : {}) }
        : { kind: 'verbosity', instance, level: 3 };
    const base: Reaction = {
      id: `r-${view.id.slice(2, 14)}`,
      deployment: CREATED,
      notice: view.id,
      ...(view.uid ? { uid: view.uid } : {}),
      note: view.note,
      action,
      state: 'applied',
      rule: `react(${action.kind}, X) :- notice("${view.note}", X).`,
      derivation: `notice(${view.id}) -> ${action.kind}`,
      blastRadius: [],
      createdAt: notice.ts + 20,
      appliedAt: notice.ts + 180,
      expiresAt: notice.ts + 600_000,
    };
    const rec = (ts: number, event: string, r: Reaction): BrokerRecord => ({
      ts,
      kind: 'reaction',
      tenant: notice.tenant,
      app: notice.app,
      ...('instance' in action ? { instance: action.instance } : {}),
      provenance: view.id,
      data: { event, reaction: r },
    });
    const end = this.r() < 0.5 ? 'confirmed' : 'expired';
    return [rec(notice.ts + 180, 'applied', base), rec(notice.ts + (end === 'confirmed' ? 2000 : 600_000), end, { ...base, state: end })];
  }
}

function agentCost(d: Deployed, node: string, collector: string, ts: number, r: Rng): BrokerRecord {
  const records = Math.floor(r() * 400);
  return {
    ts,
    kind: 'agent-cost',
    tenant: d.app.tenant,
    app: d.app.name,
    node,
    data: {
      collector,
      level: 3,
      periodMs: 5000,
      windowMs: 5000,
      runs: 1,
      cpuMs: Math.round(r() * 400) / 10,
      childCpuMs: 0,
      cpuPercent: Math.round(r() * 80) / 100,
      records,
      bytes: records * 420,
      recordsPerSec: records / 5,
      bytesPerSec: (records * 420) / 5,
    },
  };
}

interface Dataset {
  records: number;
  notices: number;
  reactions: number;
  costs: number;
  buildMs: number;
}

/** One hour up to `end`, shipped as agents ship it: each slice's bulk batch, its agents' costs, its notices and reactions. */
async function buildDataset(b: Broker, d: Deployed, start: number): Promise<Dataset> {
  const bulk = new SyntheticRecords({ seed: 11, tenant: d.app.tenant, app: d.app.name, start, stepMs: HOUR / BULK });
  const notices = new NoticeSource(d, 12);
  const r = seededRng(13);
  const nodes = d.app.nodes.map((n) => n.name);
  const slices = BULK / BATCH;
  const sliceMs = HOUR / slices;
  const out: Dataset = { records: 0, notices: 0, reactions: 0, costs: 0, buildMs: 0 };
  const t0 = performance.now();
  for (let k = 0; k < slices; k++) {
    const from = start + k * sliceMs;
    const append = async (batch: BrokerRecord[]) => {
      if (batch.length) await b.store.append(batch);
      out.records += batch.length;
    };
    await append(bulk.batch(BATCH));
    const costs: BrokerRecord[] = [];
    for (let t = Math.ceil(from / 5000) * 5000; t < from + sliceMs; t += 5000)
      for (const node of nodes) for (const c of COLLECTORS) costs.push(agentCost(d, node, c, t, r));
    out.costs += costs.length;
    await append(costs);
    const count = Math.floor((NOTICES * (k + 1)) / slices) - Math.floor((NOTICES * k) / slices);
    const batch: BrokerRecord[] = [];
    for (let i = 0; i < count; i++) batch.push(notices.notice(Math.floor(from + r() * sliceMs)));
    batch.sort((x, y) => x.ts - y.ts);
    out.notices += batch.length;
    await append(batch);
    // One notice in twenty gets a reaction: the controller's guardrails and deduplication keep it to few.
    const reactions = batch.filter(() => r() < 0.05).flatMap((n) => notices.reaction(n));
    out.reactions += reactions.length / 2;
    await append(reactions);
  }
  out.buildMs = performance.now() - t0;
  return out;
}

/** A state folder as `flowtap up` leaves it for dvd-rental, its broker in the folder. */
function stateFolder(dir: string, d: Deployed, store: string): void {
  const state: CloudState = {
    version: 2,
    app: d.app.name,
    tenant: d.app.tenant,
    createdAt: CREATED,
    phase: 'running',
    spec: {
      descriptor: DESCRIPTOR,
      policies: POLICIES,
      mode: 'enforce',
      strategy: 'per-node',
      downMonitors: [],
      broker: { store, bus: 'memory' },
      agents: { level: 3, periodMs: 5000 },
    },
    addressing: d.addressing,
    namespaces: [],
    processes: [],
    isolated: [],
    terminated: [],
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${d.app.name}.json`), JSON.stringify(state));
}

// ---------------------------------------------------------------- measurement

interface Figures {
  /** requests (calls) per second */
  rate: number;
  p50: number;
  p99: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function wrkTime(out: string, pct: string): number {
  const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
  if (!m) throw new Error(`wrk printed no ${pct}% latency:\n${out}`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** wrk's own figures; an answer that is not 2xx, or a socket error, spoils the run. */
function parseWrk(out: string): Figures & { requests: number } {
  const rate = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  const requests = /(\d+) requests in/.exec(out);
  if (!rate || !requests) throw new Error(`wrk printed no rate:\n${out}`);
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (bad) throw new Error(`wrk: ${bad[1]} answers were not 2xx:\n${out}`);
  const sock = /Socket errors: (.*)/.exec(out);
  if (sock) throw new Error(`wrk: socket errors (${sock[1]}):\n${out}`);
  return { rate: Number(rate[1]), requests: Number(requests[1]), p50: wrkTime(out, '50'), p99: wrkTime(out, '99') };
}

async function wrk(url: string, token: string, seconds: number): Promise<Figures & { requests: number }> {
  const argv = [
    'wrk',
    `-t${THREADS}`,
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    '--timeout',
    '30s',
    '--latency',
    '-H',
    `Authorization: Bearer ${token}`,
    url,
  ];
  // Asynchronous: the server answering wrk runs on this process's event loop.
  const r = await realSystem.run(argv, { timeoutMs: (seconds + 30) * 1000 });
  if (r.code !== 0) throw new Error(`wrk failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return parseWrk(r.stdout);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** CONNECTIONS callers, each issuing the next call when its last one answered, for `seconds`. */
async function closedLoop(seconds: number, call: () => Promise<unknown>): Promise<Figures> {
  const times: number[] = [];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const caller = async () => {
    while (performance.now() < end) {
      const s = performance.now();
      await call();
      times.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, caller));
  const elapsed = performance.now() - t0;
  times.sort((a, b) => a - b);
  return { rate: (times.length / elapsed) * 1000, p50: pct(times, 50), p99: pct(times, 99) };
}

const fmtMs = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const spread = (s: Stat, f: (x: number) => string) => `${f(s.min)}-${f(s.max)}`;

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
}

// ---------------------------------------------------------------- SSE clients (a worker thread)

interface ClientsData {
  role: 'sse-clients';
  url: string;
  token: string;
  clients: number;
  batch: number;
}

type ToClients = { type: 'arm' } | { type: 'close' };
type FromClients =
  | { type: 'ready' }
  | { type: 'armed' }
  /** When each client had the whole batch: performance.timeOrigin + performance.now(), ms. */
  | { type: 'done'; arrivals: number[]; extra: number }
  | { type: 'error'; message: string };

/**
 * The stream's clients, in a thread of their own so that parsing a hundred streams does not
 * run on the server's event loop (clients are other machines' browsers). Each counts the notices
 * that come after it was armed; when every client has the whole batch the arrival times go back.
 */
function sseClients(o: ClientsData): void {
  const port = parentPort!;
  const post = (m: FromClients) => port.postMessage(m);
  const now = () => performance.timeOrigin + performance.now();
  let armed = false;
  const seen: Set<number>[] = [];
  const arrivals: number[] = [];
  let done = 0;
  let extra = 0;
  let open = 0;
  const reqs: ReturnType<typeof request>[] = [];
  for (let c = 0; c < o.clients; c++) {
    seen.push(new Set());
    const req = request(o.url, { agent: false, headers: { authorization: `Bearer ${o.token}` } }, (res) => {
      if (res.statusCode !== 200) return post({ type: 'error', message: `stream answered ${res.statusCode}` });
      if (++open === o.clients) post({ type: 'ready' });
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        buf += chunk;
        let end = buf.indexOf('\n\n');
        while (end >= 0) {
          const event = buf.slice(0, end);
          buf = buf.slice(end + 2);
          end = buf.indexOf('\n\n');
          if (!armed) continue;
          for (const line of event.split('\n')) {
            if (!line.startsWith('data: ')) continue;
            const r = JSON.parse(line.slice(6)) as { id: number; kind: string };
            if (r.kind !== 'notice') continue;
            if (seen[c].size === o.batch || seen[c].has(r.id)) {
              extra++;
              continue;
            }
            seen[c].add(r.id);
            if (seen[c].size === o.batch) {
              arrivals[c] = now();
              if (++done === o.clients) post({ type: 'done', arrivals: [...arrivals], extra });
            }
          }
        }
      });
    });
    req.on('error', (e) => post({ type: 'error', message: e.message }));
    req.end();
    reqs.push(req);
  }
  port.on('message', (m: ToClients) => {
    if (m.type === 'arm') {
      for (const s of seen) s.clear();
      arrivals.length = 0;
      done = 0;
      extra = 0;
      armed = true;
      post({ type: 'armed' });
    } else {
      for (const r of reqs) r.destroy();
      port.close();
    }
  });
}

class Clients {
  private readonly w: Worker;
  private waiting: { type: FromClients['type']; resolve: (m: FromClients) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(data: Omit<ClientsData, 'role'>) {
    this.w = new Worker(new URL(import.meta.url), { workerData: { role: 'sse-clients', ...data } satisfies ClientsData });
    this.w.on('message', (m: FromClients) => {
      if (m.type === 'error') return this.fail(new Error(`SSE client: ${m.message}`));
      if (this.waiting?.type === m.type) {
        const w = this.waiting;
        this.waiting = null;
        w.resolve(m);
      }
    });
    this.w.on('error', (e) => this.fail(e));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.waiting?.reject(e);
    this.waiting = null;
  }

  next<T extends FromClients['type']>(type: T): Promise<Extract<FromClients, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`SSE clients: no "${type}" within ${SSE_TIMEOUT_MS / 1000} s`)), SSE_TIMEOUT_MS);
      this.waiting = {
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<FromClients, { type: T }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  send(m: ToClients): void {
    this.w.postMessage(m);
  }

  async close(): Promise<void> {
    this.send({ type: 'close' });
    await this.w.terminate();
  }
}

// ---------------------------------------------------------------- the bench

async function must(p: ReturnType<typeof openBroker>): Promise<Broker> {
  const r = await p;
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.code}: ${e.message}`).join('; '));
  return r.value;
}

interface Target {
  name: string;
  path: string;
  http: (Figures & { requests: number })[];
  /** The server's longest event-loop stall during each wrk run (ms). */
  stalls: number[];
  store: Figures[];
  fleet: Figures[];
  storeCall: () => Promise<unknown>;
  fleetCall: () => Promise<unknown>;
  bytes: number;
}

/** The share of the last minute some task waited for a CPU (Linux PSI), or null where the kernel does not say. */
function cpuPressure(): number | null {
  try {
    const m = /^some .*avg60=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export async function run(): Promise<string[]> {
  const load0 = loadavg()[0];
  const pressure0 = cpuPressure();
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-bench-api-'));
  const d = deployed();
  const app = d.app.name;
  const tenant = d.app.tenant;
  const store = `sqlite:${join(dir, 'broker.db')}`;
  const broker = await must(openBroker({ store, bus: 'memory' }));
  const serverLog: string[] = [];
  let server: Awaited<ReturnType<typeof startApiServer>> | null = null;
  let clients: Clients | null = null;
  try {
    const end = Math.floor(Date.now() / 60_000) * 60_000;
    const start = end - HOUR;
    const data = await buildDataset(broker, d, start);
    stateFolder(dir, d, store);
    const issued = issueToken(tokenFile(dir), { name: 'bench', tenant });
    if (!issued.ok) throw new Error(issued.errors.map((e) => e.message).join('; '));
    const token = issued.value.token;
    const fleet = new LocalFleet({
      stateDir: dir,
      // The routes measured read only the state file and the broker: no orchestrator is reached.
      attach: async () => {
        throw new Error('the API bench attaches no orchestrator');
      },
    });
    server = await startApiServer({ fleet, tokens: tokenFile(dir), listen: '127.0.0.1:0', log: (l) => serverLog.push(l) });
    const base = server.url;

    const service = 'dvd-update';
    const window = { from: start, to: end };
    const recordsQuery = { service, kinds: ['monitor-log' as const], limit: 100, order: 'desc' as const, ...window };
    const targets: Target[] = [
      {
        name: 'records',
        path: `/api/v1/apps/${app}/records?service=${service}&kind=monitor-log&limit=100&order=desc&from=${start}&to=${end}`,
        storeCall: () => broker.store.query({ tenant, app, ...recordsQuery }),
        fleetCall: () => fleet.records(app, recordsQuery),
        http: [],
        stalls: [],
        store: [],
        fleet: [],
        bytes: 0,
      },
      {
        name: 'notices',
        path: `/api/v1/apps/${app}/notices?limit=100`,
        storeCall: () => broker.store.query({ tenant, app, kinds: ['notice'], limit: 100, order: 'desc' }),
        fleetCall: () => fleet.notices(app, { limit: 100 }),
        http: [],
        stalls: [],
        store: [],
        fleet: [],
        bytes: 0,
      },
    ];

    // Each answer checked once, and everything warmed up (page cache, statements, JIT) before timing.
    for (const t of targets) {
      const res = await fetch(base + t.path, { headers: { authorization: `Bearer ${token}` } });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`GET ${t.path}: ${res.status} ${text.slice(0, 300)}`);
      const body = JSON.parse(text) as Record<string, unknown[]>;
      const n = body[t.name]?.length;
      if (n !== 100) throw new Error(`GET ${t.path}: ${n} ${t.name}, expected 100`);
      t.bytes = Buffer.byteLength(text);
      await wrk(base + t.path, token, 1);
      await closedLoop(0.5, t.storeCall);
      await closedLoop(0.5, t.fleetCall);
    }
    for (let round = 0; round < ROUNDS; round++)
      for (const t of targets) {
        const loop = monitorEventLoopDelay({ resolution: 10 });
        loop.enable();
        t.http.push(await wrk(base + t.path, token, SECONDS));
        loop.disable();
        t.stalls.push(loop.max / 1e6);
        t.store.push(await closedLoop(SECONDS, t.storeCall));
        t.fleet.push(await closedLoop(SECONDS, t.fleetCall));
      }

    // Fan-out: the clients join, then each round a batch of notices lands in the store at once.
    clients = new Clients({
      url: `${base}/api/v1/apps/${app}/records/stream?kind=notice`,
      token,
      clients: SSE_CLIENTS,
      batch: SSE_BATCH,
    });
    await clients.next('ready');
    const joined = server.stats().streams;
    if (joined.clients !== SSE_CLIENTS || joined.pollers !== 1)
      throw new Error(`after the clients joined the server has ${joined.clients} clients and ${joined.pollers} pollers`);
    const live = new NoticeSource(d, 14);
    const p50s: number[] = [];
    const maxes: number[] = [];
    const appendMs: number[] = [];
    let extra = 0;
    for (let round = 0; round < ROUNDS; round++) {
      clients.send({ type: 'arm' });
      await clients.next('armed');
      const batch = Array.from({ length: SSE_BATCH }, () => live.notice(Date.now()));
      const done = clients.next('done');
      const t0 = performance.timeOrigin + performance.now();
      await broker.store.append(batch);
      appendMs.push(performance.timeOrigin + performance.now() - t0);
      const m = await done;
      const lat = m.arrivals.map((a) => a - t0).sort((a, b) => a - b);
      p50s.push(pct(lat, 50));
      maxes.push(lat[lat.length - 1]);
      extra += m.extra;
      // A pause of no particular length, so rounds do not fall in step with the poller's tick.
      await new Promise((r) => setTimeout(r, 137 + round * 61));
    }
    const hub = server.stats();
    await clients.close();
    clients = null;

    const rows: string[][] = [['what (32 at a time)', 'per s', 'spread', 'p50 ms', 'spread', 'p99 ms', 'spread']];
    const row = (label: string, fs: Figures[]) => {
      const r = stat(fs.map((f) => f.rate));
      const p50 = stat(fs.map((f) => f.p50));
      const p99 = stat(fs.map((f) => f.p99));
      rows.push([
        label,
        fmtRate(r.median),
        spread(r, fmtRate),
        fmtMs(p50.median),
        spread(p50, fmtMs),
        fmtMs(p99.median),
        spread(p99, fmtMs),
      ]);
      return r.median;
    };
    const perCall: string[] = [];
    for (const t of targets) {
      const http = row(`GET ${t.name} over HTTP (wrk)`, t.http);
      const viaFleet = row(`  baseline: LocalFleet.${t.name}() in-process`, t.fleet);
      const viaStore = row('  baseline: store.query() in-process', t.store);
      const added = 1000 / http - 1000 / viaFleet;
      perCall.push(
        `${t.name}: 1 / rate = ${fmtMs(1000 / http)} ms a request over HTTP, ${fmtMs(1000 / viaFleet)} ms a Fleet call, ${fmtMs(1000 / viaStore)} ms a store query; ` +
          (added > 0
            ? `HTTP, token, validation and JSON add ${fmtMs(added)} ms a request (${(viaFleet / http).toFixed(1)}x the Fleet call)`
            : `HTTP adds nothing measurable (${fmtMs(added)} ms: within the noise)`) +
          `; answer ${(t.bytes / 1024).toFixed(0)} KiB; ${fmtRate(stat(t.http.map((f) => f.requests)).median)} requests a wrk run; ` +
          `the server's longest event-loop stall in a run ${fmtMs(stat(t.stalls).median)} ms (${spread(stat(t.stalls), fmtMs)})`,
      );
    }
    const sseRows: string[][] = [['SSE fan-out', 'median ms', 'spread']];
    const sseRow = (label: string, xs: number[]) => {
      const s = stat(xs);
      sseRows.push([label, fmtMs(s.median), spread(s, fmtMs)]);
    };
    sseRow(`every client has all ${SSE_BATCH}: p50 over ${SSE_CLIENTS} clients`, p50s);
    sseRow(`every client has all ${SSE_BATCH}: slowest client`, maxes);
    sseRow('  (the append itself)', appendMs);
    const s = hub.streams;
    const total = data.records;
    return [
      `REST API: ${ROUNDS} rounds, interleaved; wrk ${THREADS} threads x ${CONNECTIONS} connections, ${SECONDS} s a run, keep-alive, bearer token; node ${process.version}.`,
      `Load average (1 min) at start ${load0.toFixed(2)}, at end ${loadavg()[0].toFixed(2)} on ${cpus().length} cores` +
        (pressure0 !== null ? `; tasks waiting for a CPU (PSI some, 1 min) ${pressure0}% at start, ${cpuPressure()}% at end` : '') +
        '; wrk runs on this machine too (its threads take CPU from the server, and its latencies include its own waits for a CPU).',
      `Fleet: LocalFleet (the real one) over a state folder for examples/dvd-rental (hand-written state file, its six policies), no orchestrator attached (these routes read only the state file and the broker).`,
      `Store: SQLite (${store.replace(dir, 'TMP')}), ${total.toLocaleString('en-US')} records over one hour, built in ${(data.buildMs / 1000).toFixed(1)} s: ` +
        `${BULK.toLocaleString('en-US')} SyntheticRecords (monitor rows, flows, counters, interfaces, logs, syscalls), ${data.costs.toLocaleString('en-US')} agent-cost, ` +
        `${data.notices.toLocaleString('en-US')} notices, ${data.reactions} reactions (${data.reactions * 2} ledger records).`,
      `records: GET /api/v1/apps/${app}/records?service=${service}&kind=monitor-log&limit=100&order=desc over the hour.`,
      `notices: GET /api/v1/apps/${app}/notices?limit=100 (the Fleet resolves addresses and folds the reactions' ledger for each).`,
      'Baselines: the same query in this process, by 32 callers in a closed loop for as long (each waits behind the others, as requests queue on the server), timed per call.',
      '',
      ...table(rows),
      '',
      ...perCall,
      '',
      `SSE: ${SSE_CLIENTS} clients (a worker thread, node http, parsing data: lines) on /records/stream?kind=notice; each round ${SSE_BATCH} notices appended in one batch; ` +
        `time from the append to each client's last record. The server polls the store every 250 ms: that alone makes 0-250 ms.`,
      ...table(sseRows),
      `server's streams after the rounds: clients ${s.clients}, pollers ${s.pollers}, polls ${s.polls.toLocaleString('en-US')}, delivered ${s.delivered.toLocaleString('en-US')} ` +
        `(${(SSE_CLIENTS * SSE_BATCH * ROUNDS).toLocaleString('en-US')} expected), dropped ${s.dropped}, poll errors ${s.pollErrors}; records received twice or past the batch: ${extra}.`,
      ...(serverLog.length ? [`server log (${serverLog.length} lines): ${serverLog.slice(0, 3).join(' | ')}`] : []),
      'No goals: issue 11 gives none for the API.',
    ];
  } finally {
    await clients?.close().catch(() => undefined);
    await server?.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!isMainThread && (workerData as ClientsData | null)?.role === 'sse-clients') sseClients(workerData as ClientsData);
else if (isMainThread && process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  for (const line of await run()) console.log(line);
