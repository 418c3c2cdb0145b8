/**
 * The dashboard (web/) in Debian's Chromium, headless, against a stand-in for the API that lives
 * here: a node:http server serving web/ and the vendored libraries, answering the routes of the
 * API contract with a DVD-rental fixture, and an SSE stream the test pushes records into. The
 * real API and a live cloud are the subject of another test; this one pins what the page does
 * with what the contract says: login, picker, graph, live notices and reactions, verbosity,
 * charts. Needs /usr/bin/chromium (never a downloaded browser): skipped without it, failed
 * where FLOWTAP_REQUIRE_ROOT=1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { needs } from '../src/system/testing.js';
import { chromiumMissing, chromiumPage } from './testing.js';

const skip = needs(chromiumMissing());
const TOKEN = 'ftk_acme_good_token';
const APP = 'dvd-rental';
const T0 = Date.now() - 10 * 60_000;

/** The source tree above wherever this file was compiled to (web/ is not compiled). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'web', 'index.html'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('web/index.html not found above the test');
    dir = parent;
  }
}
const ROOT = findRoot();
const SHOTS = join(ROOT, 'test-results');

// ---------------------------------------------------------------- the fixture: DVD rental

type Json = Record<string, unknown>;

interface StoredRecord {
  id: number;
  ts: number;
  kind: string;
  tenant: string;
  app: string;
  node?: string;
  service?: string;
  instance?: string;
  provenance?: string;
  data: Json;
}

const SERVICES: [string, string, string, number][] = [
  // name, tier, node, port
  ['contract-update', 'front', 'node1', 8080],
  ['user-create', 'front', 'node1', 8080],
  ['dvd-return', 'front', 'node1', 8080],
  ['user-update', 'back', 'node1', 8080],
  ['dvd-update', 'back', 'node2', 8080],
  ['shipping', 'back', 'node2', 8080],
  ['db', 'data', 'node2', 5432],
  ['mq', 'data', 'node2', 4222],
];
const ip = (name: string) => `10.77.0.${10 + SERVICES.findIndex(([s]) => s === name)}`;

function fixtureGraph() {
  const port = (s: string) => SERVICES.find(([n]) => n === s)![3];
  const req = (from: string, to: string) => ({
    id: `${from}->${to}`,
    from: from === 'external' ? 'external' : `svc:${from}`,
    to: `svc:${to}`,
    port: port(to),
  });
  const obs = (from: string, to: string, rateBps: number) => ({
    id: `${from}->${to}:${port(to)}`,
    from: from === 'external' ? 'external' : `inst:${from}-0`,
    to: `inst:${to}-0`,
    port: port(to),
    packets: Math.round(rateBps / 300),
    bytes: rateBps * 60,
    rateBps,
  });
  return {
    mode: 'enforce' as const,
    nodes: ['node1', 'node2'].map((n) => ({ id: `node:${n}`, kind: 'node', label: n })),
    services: SERVICES.map(([name, tier, , p]) => ({
      id: `svc:${name}`,
      kind: 'service',
      label: name,
      tier,
      ports: [{ name: p === 8080 ? 'http' : p === 5432 ? 'pg' : 'nats', port: p, protocol: 'tcp' }],
    })),
    instances: SERVICES.map(([name, , node]) => ({
      id: `inst:${name}-0`,
      kind: 'instance',
      label: `${name}-0`,
      service: `svc:${name}`,
      node: `node:${node}`,
      ip: ip(name),
      status: 'running',
      quarantined: false,
    })),
    monitors: [
      { id: 'mon:mon-http', kind: 'monitor', label: 'mon-http', node: 'node:node1', health: 'up' },
      { id: 'mon:mon-forensics', kind: 'monitor', label: 'mon-forensics', node: 'node:node1', health: 'up' },
      { id: 'mon:mon-sql', kind: 'monitor', label: 'mon-sql', node: 'node:node2', health: 'up', lagS: 0.2 },
      { id: 'mon:mon-node2', kind: 'monitor', label: 'mon-node2', node: 'node:node2', health: 'overloaded', lagS: 4 },
      { id: 'mon:mon-honeypot', kind: 'monitor', label: 'mon-honeypot', node: 'node:node2', health: 'up' },
    ],
    required: [
      req('external', 'contract-update'),
      req('external', 'user-create'),
      req('external', 'dvd-return'),
      req('contract-update', 'user-update'),
      req('contract-update', 'mq'),
      req('dvd-update', 'mq'),
      req('dvd-update', 'shipping'),
      req('dvd-return', 'dvd-update'),
      req('user-create', 'db'),
      req('user-update', 'db'),
      req('dvd-update', 'db'),
    ],
    observed: [
      obs('external', 'contract-update', 5200),
      obs('external', 'user-create', 1800),
      obs('contract-update', 'user-update', 2400),
      obs('contract-update', 'mq', 900),
      obs('dvd-update', 'mq', 700),
      obs('user-update', 'db', 41_000),
      obs('dvd-update', 'db', 12_500),
    ],
    taps: [
      { id: 'tap-1', instance: 'inst:contract-update-0', port: 8080, action: 'forward', monitor: 'mon:mon-http' },
      { id: 'tap-2', instance: 'inst:user-create-0', port: 8080, action: 'forward', monitor: 'mon:mon-http' },
      { id: 'tap-3', instance: 'inst:db-0', port: 5432, action: 'forward', monitor: 'mon:mon-sql' },
      { id: 'tap-4', instance: 'inst:mq-0', port: 4222, action: 'forward', monitor: 'mon:mon-node2', sample: { every: 4, unit: 'flows' } },
      { id: 'tap-5', instance: 'inst:shipping-0', port: 8080, action: 'redirect', monitor: 'mon:mon-honeypot', failMode: 'closed' },
    ],
  };
}

const COLLECTORS = ['counters', 'interfaces', 'flows', 'logs', 'monitor-logs', 'syscalls'];

function costRecord(
  id: number,
  ts: number,
  node: string,
  collector: string,
  level: number,
  cpuPercent: number,
  bytesPerSec: number,
): StoredRecord {
  return {
    id,
    ts,
    kind: 'agent-cost',
    tenant: 'acme',
    app: APP,
    node,
    data: {
      collector,
      level,
      periodMs: 5000,
      windowMs: 5000,
      runs: 1,
      cpuMs: 1,
      childCpuMs: 0,
      cpuPercent,
      records: 10,
      bytes: bytesPerSec * 5,
      recordsPerSec: 2,
      bytesPerSec,
    },
  };
}

function fixtureRecords(): StoredRecord[] {
  const out: StoredRecord[] = [];
  let id = 1;
  // Ten minutes of agent cost at level 1, every 30 s, on both nodes.
  for (let t = T0; t < Date.now() - 60_000; t += 30_000)
    for (const node of ['node1', 'node2'])
      for (const c of ['counters', 'interfaces', 'agent']) out.push(costRecord(id++, t, node, c, 1, 0.05 + (c === 'agent' ? 0.1 : 0), 300));
  for (let k = 0; k < 5; k++) {
    out.push({
      id: id++,
      ts: Date.now() - 50_000 + k * 5000,
      kind: 'counter',
      tenant: 'acme',
      app: APP,
      node: 'node1',
      service: 'contract-update',
      instance: 'contract-update-0',
      data: { type: 'firewall', comment: 'allow external -> contract-update:8080', dPackets: 12 + k, dBytes: 4100 + k, packets: 300 + k },
    });
  }
  out.push({
    id: id++,
    ts: Date.now() - 20_000,
    kind: 'log',
    tenant: 'acme',
    app: APP,
    node: 'node1',
    service: 'contract-update',
    instance: 'contract-update-0',
    data: { line: 'POST /contracts 201 user=3 film=42' },
  });
  return out;
}

// ---------------------------------------------------------------- the stand-in API

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  auth: string | undefined;
  lastEventId: string | undefined;
  body: unknown;
}

class StandIn {
  readonly server: Server;
  graph = fixtureGraph();
  records = fixtureRecords();
  notices: Json[] = [];
  reactions = new Map<string, Json>();
  verbosity: Record<string, Record<string, { level: number; periodMs: number }>> = Object.fromEntries(
    ['node1', 'node2'].map((n) => [n, Object.fromEntries(COLLECTORS.map((c) => [c, { level: 1, periodMs: 5000 }]))]),
  );
  readonly seen: Seen[] = [];
  readonly streams = new Set<{ res: ServerResponse; kinds: Set<string> }>();
  readonly external: string[] = [];
  private nextId = 10_000;

  constructor() {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        res.writeHead(500).end(String(e));
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
  }

  async stop(): Promise<void> {
    for (const s of this.streams) s.res.end();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Stores a record and sends it to every stream whose kinds take it. */
  push(r: Omit<StoredRecord, 'id'> & { id?: number }): StoredRecord {
    const rec = { ...r, id: this.nextId++ };
    this.records.push(rec);
    for (const s of this.streams)
      if (s.kinds.size === 0 || s.kinds.has(rec.kind)) s.res.write(`event: record\nid: ${rec.id}\ndata: ${JSON.stringify(rec)}\n\n`);
    return rec;
  }

  /** Ends every stream with the server's `event: error`, as the API does when their token is revoked. */
  revokeStreams(message: string): void {
    for (const s of this.streams) {
      s.res.write(`event: error\ndata: ${JSON.stringify({ code: 'E_API_AUTH', message })}\n\n`);
      s.res.end();
    }
    this.streams.clear();
  }

  /** Ends every stream, as a restarted server or a proxy timeout would. */
  dropStreams(): void {
    for (const s of this.streams) s.res.end();
    this.streams.clear();
  }

  requests(method: string, path: string): Seen[] {
    return this.seen.filter((s) => s.method === method && s.path === path);
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private error(res: ServerResponse, status: number, code: string, message: string, field?: string): void {
    this.json(res, status, { error: { code, message, ...(field ? { field } : {}) } });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    const path = u.pathname;
    let body: unknown;
    if (req.method === 'PUT' || req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      body = text ? JSON.parse(text) : undefined;
    }
    const lastEventId = req.headers['last-event-id'] as string | undefined;
    this.seen.push({ method: req.method ?? '', path, query: u.searchParams, auth: req.headers.authorization, lastEventId, body });

    if (!path.startsWith('/api/')) return this.static(path, res);
    const bearer = req.headers.authorization === `Bearer ${TOKEN}` || (path.endsWith('/stream') && u.searchParams.get('token') === TOKEN);
    if (!bearer) return this.error(res, 401, 'E_API_UNAUTHORIZED', 'missing or invalid token');

    if (path === '/api/v1/whoami') return this.json(res, 200, { tenant: 'acme', operator: false, token: { id: 't1', name: 'acme-ops' } });
    if (path === '/api/v1/apps') return this.json(res, 200, { apps: [this.summary(), this.otherApp()] });
    const m = /^\/api\/v1\/apps\/([^/]+)(\/.*)?$/.exec(path);
    if (!m || !(m[1] === APP || m[1] === 'web-sql')) return this.error(res, 404, 'E_API_NOT_FOUND', `no application ${m?.[1]}`);
    if (m[1] !== APP) return this.error(res, 404, 'E_API_NOT_FOUND', 'the stand-in only serves dvd-rental');
    const rest = m[2] ?? '';
    const q = u.searchParams;
    if (rest === '/graph') return this.json(res, 200, this.graph);
    if (rest === '/notices') return this.json(res, 200, { notices: this.notices.map((n) => this.withReaction(n)) });
    if (rest === '/reactions') return this.json(res, 200, { reactions: [...this.reactions.values()] });
    if (rest === '/records') return this.json(res, 200, { records: this.query(q) });
    if (rest === '/records/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      // A short retry, so the test of a dropped stream does not wait the browser's default 3 s.
      res.write('retry: 300\n: connected\n\n');
      const kinds = new Set((q.getAll('kind').join(',') || '').split(',').filter(Boolean));
      const s = { res, kinds };
      this.streams.add(s);
      req.on('close', () => this.streams.delete(s));
      return;
    }
    if (rest === '/verbosity' && req.method === 'GET') return this.json(res, 200, { nodes: this.verbosity });
    if (rest === '/verbosity' && req.method === 'PUT') {
      const b = body as { node?: string; level?: number; periodMs?: number; collector?: string };
      if (b.level !== undefined && !(Number.isInteger(b.level) && b.level >= 1 && b.level <= 4))
        return this.error(res, 400, 'E_API_BAD_REQUEST', 'level must be 1..4', 'level');
      const nodes = b.node ? [b.node] : Object.keys(this.verbosity);
      for (const n of nodes)
        for (const c of b.collector ? [b.collector] : COLLECTORS)
          this.verbosity[n][c] = { level: b.level ?? this.verbosity[n][c].level, periodMs: b.periodMs ?? this.verbosity[n][c].periodMs };
      return this.json(res, 200, { change: `v-${this.seen.length}`, acks: nodes.map((node) => ({ node, outcome: 'applied' })) });
    }
    const op = /^\/reactions\/([^/]+)\/(approve|undo|keep)$/.exec(rest);
    if (op && req.method === 'POST') {
      const r = this.reactions.get(op[1]);
      if (!r) return this.error(res, 404, 'E_API_NOT_FOUND', `no reaction ${op[1]}`);
      if (op[2] === 'undo') {
        const undone = { ...r, state: 'undone' };
        this.reactions.set(op[1], undone);
        this.setQuarantined((r.action as { instance: string }).instance, false);
        // What the controller writes, and the stream delivers, after an undo.
        this.push({
          ts: Date.now(),
          kind: 'reaction',
          tenant: 'acme',
          app: APP,
          instance: 'contract-update-0',
          provenance: r.notice as string,
          data: { event: 'undone', reaction: undone },
        });
        return this.json(res, 200, { event: 'undone', reaction: undone });
      }
      return this.error(res, 409, 'E_REACTION_STATE', `the stand-in only undoes (${op[2]})`);
    }
    return this.error(res, 404, 'E_API_NOT_FOUND', `no route ${req.method} ${path}`);
  }

  private static(path: string, res: ServerResponse): void {
    const vendor: Record<string, string> = {
      '/vendor/cytoscape.esm.min.mjs': 'node_modules/cytoscape/dist/cytoscape.esm.min.mjs',
      '/vendor/uPlot.esm.js': 'node_modules/uplot/dist/uPlot.esm.js',
      '/vendor/uPlot.min.css': 'node_modules/uplot/dist/uPlot.min.css',
    };
    const file = vendor[path] ?? (path === '/' ? 'web/index.html' : /^\/[\w-]+\.(js|css|html)$/.test(path) ? `web${path}` : null);
    if (!file || !existsSync(join(ROOT, file))) return void res.writeHead(404).end('not found');
    const type = file.endsWith('.css') ? 'text/css' : file.endsWith('.html') ? 'text/html' : 'text/javascript';
    res.writeHead(200, { 'content-type': `${type}; charset=utf-8` }).end(readFileSync(join(ROOT, file)));
  }

  private query(q: URLSearchParams): StoredRecord[] {
    const kinds = new Set(q.getAll('kind').join(',').split(',').filter(Boolean));
    const num = (k: string) => (q.has(k) ? Number(q.get(k)) : undefined);
    const from = num('from');
    const afterId = num('afterId');
    let out = this.records.filter(
      (r) =>
        (kinds.size === 0 || kinds.has(r.kind)) &&
        (!q.has('service') || r.service === q.get('service')) &&
        (!q.has('node') || r.node === q.get('node')) &&
        (!q.has('provenance') || r.provenance === q.get('provenance')) &&
        (from === undefined || r.ts >= from) &&
        (afterId === undefined || r.id > afterId),
    );
    out = out.sort((a, b) => a.id - b.id);
    if (q.get('order') === 'desc') out.reverse();
    return out.slice(0, num('limit') ?? 1000);
  }

  private summary(): Json {
    return {
      name: APP,
      tenant: 'acme',
      since: new Date(T0).toISOString(),
      mode: this.graph.mode,
      strategy: 'per-node',
      nodes: ['node1', 'node2'],
      services: this.graph.services.length,
      instances: this.graph.instances.length,
      quarantined: this.graph.instances.filter((i) => i.quarantined).map((i) => i.label),
      controller: { running: true },
    };
  }

  private otherApp(): Json {
    return {
      ...this.summary(),
      name: 'web-sql',
      mode: 'audit',
      services: 2,
      instances: 2,
      nodes: ['node1'],
      quarantined: [],
      controller: { running: false },
    };
  }

  private withReaction(n: Json): Json {
    const r = [...this.reactions.values()].find((x) => x.notice === n.id);
    return r ? { ...n, reaction: { id: r.id, state: r.state } } : n;
  }

  setQuarantined(instance: string, q: boolean): void {
    const i = this.graph.instances.find((x) => x.label === instance)!;
    i.quarantined = q;
    i.status = q ? 'isolated' : 'running';
  }
}

// ---------------------------------------------------------------- reading the page

interface GraphView {
  nodes: string[];
  services: string[];
  instances: { id: string; parent: string; quarantined: boolean; cls: boolean; service: string }[];
  monitors: { id: string; parent: string; health: string }[];
  required: number;
  observed: { id: string; width: number; label: string }[];
  taps: { id: string; forward: boolean; redirect: boolean; label: string }[];
}

/** What cytoscape holds, as plain values (window.__flowtap.cy: no canvas scraping). */
function readGraph(page: Page): Promise<GraphView> {
  return page.evaluate(() => {
    interface El {
      id(): string;
      data(k: string): unknown;
      hasClass(c: string): boolean;
    }
    interface Coll {
      map<T>(f: (e: El) => T): T[];
      length: number;
    }
    const cy = (window as unknown as { __flowtap: { cy: { nodes(s: string): Coll; edges(s: string): Coll } } }).__flowtap.cy;
    return {
      nodes: cy.nodes('.node').map((n) => n.id()),
      services: cy.nodes('.service').map((n) => n.id()),
      instances: cy.nodes('.instance').map((n) => ({
        id: n.id(),
        parent: String(n.data('parent')),
        quarantined: n.data('quarantined') === true,
        cls: n.hasClass('quarantined'),
        service: String(n.data('service')),
      })),
      monitors: cy.nodes('.monitor').map((n) => ({ id: n.id(), parent: String(n.data('parent')), health: String(n.data('health')) })),
      required: cy.edges('.required').length,
      observed: cy.edges('.observed').map((e) => ({ id: e.id(), width: Number(e.data('width')), label: String(e.data('label')) })),
      taps: cy
        .edges('.tap')
        .map((e) => ({ id: e.id(), forward: e.hasClass('forward'), redirect: e.hasClass('redirect'), label: String(e.data('label')) })),
    };
  });
}

const isQuarantined = (page: Page, id: string) =>
  page.waitForFunction(
    (id) => {
      const cy = (
        window as unknown as {
          __flowtap: { cy: { getElementById(id: string): { hasClass(c: string): boolean; data(k: string): unknown } } };
        }
      ).__flowtap.cy;
      const n = cy.getElementById(id);
      return n.hasClass('quarantined') && n.data('quarantined') === true;
    },
    id,
    { timeout: 10_000 },
  );

const dataPoints = async (page: Page, testid: string) => Number(await page.getAttribute(`[data-testid=${testid}]`, 'data-points'));

// ---------------------------------------------------------------- the tests

describe('dashboard page (Chromium against a stand-in API)', { skip }, () => {
  const api = new StandIn();
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const failed: string[] = [];

  before(async () => {
    await api.start();
    mkdirSync(SHOTS, { recursive: true });
    ({ browser, page } = await chromiumPage(pageErrors));
    page.on('console', (m) => {
      // A refused request is logged by the browser too: those are checked one by one below.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
    // Offline: anything not asked of the stand-in is refused, and remembered.
    await page.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(api.url)) return route.continue();
      api.external.push(u);
      return route.abort();
    });
  });

  after(async () => {
    await browser?.close();
    await api.stop();
  });

  it('refuses a wrong token with the 401 message, and lists the applications for a good one', async () => {
    await page.goto(api.url);
    await page.waitForSelector('[data-testid=login-form]', { state: 'visible' });
    await page.fill('[data-testid=login-token]', 'ftk_wrong');
    await page.click('[data-testid=login-submit]');
    const error = await page.waitForSelector('[data-testid=login-error]', { state: 'visible' });
    const text = (await error.textContent()) ?? '';
    assert.match(text, /401/);
    assert.match(text, /missing or invalid token/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('flowtap.token')), null);
    await page.screenshot({ path: join(SHOTS, 'dashboard-login-refused.png') });

    await page.fill('[data-testid=login-token]', TOKEN);
    await page.click('[data-testid=login-submit]');
    await page.waitForSelector('[data-testid=app-picker] [data-app=dvd-rental]', { state: 'visible' });
    const apps = await page.$$eval('[data-testid=app-option]', (els) => els.map((e) => (e as HTMLElement).dataset.app));
    assert.deepEqual(apps, ['dvd-rental', 'web-sql']);
    assert.equal(await page.isVisible('[data-testid=login-form]'), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('flowtap.token')), TOKEN);
    await page.screenshot({ path: join(SHOTS, 'dashboard-picker.png') });
  });

  it('draws every node, service, instance, monitor, required and observed edge and tap of the application', async () => {
    await page.click('[data-testid=app-picker] [data-app=dvd-rental]');
    await page.waitForFunction(
      () =>
        (window as unknown as { __flowtap?: { cy: { nodes(s: string): { length: number } } } }).__flowtap?.cy.nodes('.instance').length ===
        8,
    );
    const g = await readGraph(page);
    const want = fixtureGraph();
    assert.deepEqual(g.nodes.sort(), want.nodes.map((n) => n.id).sort());
    assert.deepEqual(g.services.sort(), want.services.map((s) => s.id).sort());
    assert.deepEqual(
      g.instances.map((i) => [i.id, i.parent, i.service]).sort(),
      want.instances.map((i) => [i.id, i.node, i.service]).sort(),
      'each instance inside its node, with its service',
    );
    assert.deepEqual(g.monitors.map((m) => [m.id, m.parent, m.health]).sort(), want.monitors.map((m) => [m.id, m.node, m.health]).sort());
    assert.equal(g.required, want.required.length);
    assert.equal(g.observed.length, want.observed.length);
    const thick = g.observed.find((e) => e.id.includes('user-update->db'))!;
    const thin = g.observed.find((e) => e.id.includes('dvd-update->mq'))!;
    assert.ok(thick.width > thin.width, `width follows the rate: ${thick.width} > ${thin.width}`);
    assert.equal(thick.label, '41.0 kB/s');
    assert.equal(g.taps.length, want.taps.length);
    const redirect = g.taps.find((t) => t.id === 'tap|tap-5')!;
    assert.ok(redirect.redirect && !redirect.forward);
    assert.match(redirect.label, /:8080 redirect → mon-honeypot \(up\)/);
    assert.match(g.taps.find((t) => t.id === 'tap|tap-4')!.label, /:4222 forward → mon-node2 \(overloaded\) 1\/4 flows/);
    assert.ok(g.instances.every((i) => !i.quarantined && !i.cls));
    assert.equal(await page.getAttribute('[data-testid=mode]', 'data-mode'), 'enforce');
    // The page asked for nothing outside the stand-in: the libraries are vendored.
    assert.deepEqual(api.external, []);
    await page.waitForFunction(() => document.querySelector('[data-testid=stream-status]')?.getAttribute('data-status') === 'live');
    assert.equal(api.streams.size, 1);
    const stream = api.requests('GET', `/api/v1/apps/${APP}/records/stream`)[0];
    assert.equal(stream.query.get('token'), TOKEN);
    assert.deepEqual(stream.query.get('kind')?.split(',').sort(), ['agent-cost', 'lifecycle', 'notice', 'reaction']);
  });

  it('shows the records of the selected service', async () => {
    await page.waitForSelector('[data-testid=records-table] tr[data-kind=counter]');
    const rows = await page.$$eval('[data-testid=records-table] tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.kind));
    assert.deepEqual(rows, ['log', 'counter', 'counter', 'counter', 'counter', 'counter'], 'newest first');
    assert.equal(await page.inputValue('[data-testid=service-select]'), 'svc:contract-update');
    const q = api.requests('GET', `/api/v1/apps/${APP}/records`).find((s) => s.query.get('service'))!;
    assert.equal(q.query.get('service'), 'contract-update');
    assert.match((await page.textContent('[data-testid=records-table]')) ?? '', /POST \/contracts 201/);
  });

  const NOTICE_ID = 'n-5f1c2a9e0b7d4c31';
  const UID = 'CkZ3pq1YbWv8aXh2';

  it('a notice and its reaction pushed on the stream appear, and the instance turns quarantined, without a reload', async () => {
    await page.evaluate(() => {
      (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    const documents = api.requests('GET', '/').length;
    const ts = Date.now();
    const evidence = {
      uids: [UID],
      src: 'contract-update',
      dst: 'user-update',
      port: 8080,
      request: 'POST /users/7/bill',
      expected: 'user 3 (x-user-id)',
      seen: 'user 7 (path segment 1)',
    };
    // As the real API would: stored first, so the notice list has it with its id (and its
    // evidence as scalars, lists joined).
    api.notices.push({
      id: NOTICE_ID,
      ts,
      note: 'FlowTap::Identity_Mismatch',
      msg: 'identity in the path differs from the x-user-id header',
      monitor: 'mon-http',
      uid: UID,
      src: { ip: ip('contract-update'), port: 51234, instance: 'contract-update-0', service: 'contract-update' },
      dst: { ip: ip('user-update'), port: 8080, instance: 'user-update-0', service: 'user-update' },
      evidence: { ...evidence, uids: evidence.uids.join(',') },
    });
    api.push({
      ts,
      kind: 'notice',
      tenant: 'acme',
      app: APP,
      node: 'node1',
      instance: 'contract-update-0',
      provenance: UID,
      data: {
        monitor: 'mon-http',
        note: 'FlowTap::Identity_Mismatch',
        msg: 'identity in the path differs from the x-user-id header',
        sub: JSON.stringify(evidence),
        src: ip('contract-update'),
        dst: ip('user-update'),
        p: 8080,
        seenAt: ts + 40,
      },
    });
    const li = `[data-testid=notice][data-notice-id="${NOTICE_ID}"]`;
    await page.waitForSelector(li);
    const ev = (await page.textContent(`${li} [data-testid=notice-evidence]`)) ?? '';
    assert.match(ev, /POST \/users\/7\/bill/);
    assert.match(ev, /user 7 \(path segment 1\)/);
    assert.equal(await page.textContent(`${li} [data-testid=notice-request]`), 'POST /users/7/bill');
    assert.match((await page.textContent(li)) ?? '', new RegExp(UID));
    assert.equal(await page.getAttribute(li, 'data-reaction-state'), 'none');

    const reaction = {
      id: 'r-1',
      deployment: 'd-1',
      notice: NOTICE_ID,
      uid: UID,
      note: 'FlowTap::Identity_Mismatch',
      action: { kind: 'quarantine', instance: 'contract-update-0' },
      description: 'quarantine contract-update-0',
      state: 'applied',
      rule: 'quarantine_on_identity_mismatch',
      derivation: '',
      blastRadius: [],
      createdAt: ts + 200,
      appliedAt: ts + 900,
      expiresAt: ts + 15 * 60_000,
      inverse: { kind: 'release', instance: 'contract-update-0' },
    };
    api.reactions.set('r-1', reaction);
    api.setQuarantined('contract-update-0', true);
    api.push({
      ts: ts + 900,
      kind: 'reaction',
      tenant: 'acme',
      app: APP,
      instance: 'contract-update-0',
      provenance: NOTICE_ID,
      data: { event: 'applied', reaction },
    });

    await page.waitForSelector(`${li}[data-reaction-state=applied]`);
    await isQuarantined(page, 'inst:contract-update-0');
    assert.match((await page.textContent(`${li} [data-testid=reaction]`)) ?? '', /quarantine contract-update-0/);
    assert.equal(await page.isEnabled(`${li} [data-testid=reaction-undo]`), true);
    assert.equal(await page.isEnabled(`${li} [data-testid=reaction-approve]`), false);
    assert.equal(
      await page.textContent('[data-testid=quarantined-list] [data-instance=contract-update-0]'),
      'contract-update-0 quarantined',
    );
    // One notice only: the one from the stream was replaced by the API's, not shown twice.
    assert.equal(await page.locator('[data-testid=notice]').count(), 1);
    // No reload: the same document, and the page itself was fetched once.
    assert.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true);
    assert.equal(api.requests('GET', '/').length, documents);
    await page.screenshot({ path: join(SHOTS, 'dashboard-quarantined.png') });
  });

  it('Undo posts to the API and the instance is released', async () => {
    const li = `[data-testid=notice][data-notice-id="${NOTICE_ID}"]`;
    await page.click(`${li} [data-testid=reaction-undo]`);
    await page.waitForSelector(`${li}[data-reaction-state=undone]`);
    const posts = api.requests('POST', `/api/v1/apps/${APP}/reactions/r-1/undo`);
    assert.equal(posts.length, 1);
    assert.equal(posts[0].auth, `Bearer ${TOKEN}`);
    await page.waitForFunction(
      () =>
        !(window as unknown as { __flowtap: { cy: { getElementById(id: string): { hasClass(c: string): boolean } } } }).__flowtap.cy
          .getElementById('inst:contract-update-0')
          .hasClass('quarantined'),
      undefined,
      { timeout: 10_000 },
    );
    assert.equal(await page.isEnabled(`${li} [data-testid=reaction-undo]`), false);
  });

  it('a verbosity change sends the PUT with the chosen level and period', async () => {
    await page.selectOption('[data-testid=verbosity-level]', '3');
    await page.fill('[data-testid=verbosity-period]', '2');
    await page.click('[data-testid=verbosity-apply]');
    await page.waitForFunction(() => /applied/.test(document.querySelector('[data-testid=verbosity-result]')?.textContent ?? ''));
    const puts = api.requests('PUT', `/api/v1/apps/${APP}/verbosity`);
    assert.equal(puts.length, 1);
    assert.deepEqual(puts[0].body, { level: 3, periodMs: 2000 });

    await page.selectOption('[data-testid=verbosity-node]', 'node2');
    await page.selectOption('[data-testid=verbosity-collector]', 'syscalls');
    await page.selectOption('[data-testid=verbosity-level]', '4');
    await page.fill('[data-testid=verbosity-period]', '0.5');
    await page.click('[data-testid=verbosity-apply]');
    await waitFor(() => api.requests('PUT', `/api/v1/apps/${APP}/verbosity`).length === 2);
    assert.deepEqual(api.requests('PUT', `/api/v1/apps/${APP}/verbosity`)[1].body, {
      level: 4,
      periodMs: 500,
      node: 'node2',
      collector: 'syscalls',
    });
    // The table of what the agents run is read again after the change.
    await page.waitForFunction(() =>
      document.querySelector('[data-testid=verbosity-current] tr[data-node=node2]')?.textContent?.includes('L4 · 0.5s'),
    );
  });

  it('the stream resumes after a dropped connection from the last record seen, and a notice the list lacks still shows', async () => {
    const streamPath = `/api/v1/apps/${APP}/records/stream`;
    const opened = api.requests('GET', streamPath).length;
    const last = api.records.filter((r) => ['notice', 'reaction', 'lifecycle', 'agent-cost'].includes(r.kind)).at(-1)!;
    api.dropStreams();
    await waitFor(() => api.streams.size === 1 && api.requests('GET', streamPath).length === opened + 1);
    assert.equal(api.requests('GET', streamPath).at(-1)!.lastEventId, String(last.id));
    const rec = api.push({
      ts: Date.now(),
      kind: 'notice',
      tenant: 'acme',
      app: APP,
      node: 'node2',
      provenance: 'CaaaBBBcccDDD',
      data: {
        monitor: 'mon-sql',
        note: 'FlowTap::Disallowed_SQL',
        msg: 'DROP TABLE from user-update',
        evidence: { request: 'DROP TABLE rentals' },
        src: ip('user-update'),
        dst: ip('db'),
        p: 5432,
      },
    });
    const li = `[data-testid=notice][data-notice-id="rec-${rec.id}"]`;
    await page.waitForSelector(li);
    assert.equal(await page.textContent(`${li} [data-testid=notice-request]`), 'DROP TABLE rentals');
    assert.match((await page.textContent(li)) ?? '', /user-update-0 \(user-update\) → db-0 \(db\) :5432/);
    assert.equal(await page.locator('[data-testid=notice]').count(), 2);
  });

  it('the overhead chart gets new points as agent-cost records arrive', async () => {
    await waitFor(async () => (await dataPoints(page, 'overhead-chart')) > 0);
    const before = await dataPoints(page, 'overhead-chart');
    const now = Date.now();
    for (let k = 0; k < 3; k++)
      for (const c of ['counters', 'flows', 'monitor-logs', 'agent'])
        api.push(costRecord(0, now + k * 1000, 'node1', c, 3, 0.4 + k * 0.1, 2500 + k * 500));
    await waitFor(async () => (await dataPoints(page, 'overhead-chart')) >= before + 3);
    const last = await page.evaluate(() => {
      const u = (window as unknown as { __flowtap: { state: { charts: { overhead: { data: number[][] } } } } }).__flowtap.state.charts
        .overhead;
      return u.data.map((s) => s[s.length - 1]);
    });
    // The four collectors' latest reports summed (the level-1 history is minutes old: stopped),
    // and the level they run at.
    assert.ok(Math.abs(last[1] - 4 * 0.6) < 1e-9, `cpu ${last[1]}`);
    assert.equal(last[2], 4 * 3500);
    assert.equal(last[3], 3);
    // Traffic per edge: one sample per graph refresh, a series per edge of the selected service.
    assert.ok((await dataPoints(page, 'traffic-chart')) >= 2);
    assert.ok(Number(await page.getAttribute('[data-testid=traffic-chart]', 'data-series')) >= 3);
    await page.locator('.service-panel').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'dashboard-service.png'), fullPage: true });
  });

  it('back to the picker and into the application again: the graph is laid out anew, one stream only', async () => {
    await page.click('[data-testid=switch-app]');
    await page.waitForSelector('[data-testid=app-picker] [data-app=dvd-rental]', { state: 'visible' });
    assert.equal(await page.isVisible('#dash'), false);
    await waitFor(() => api.streams.size === 0);
    await page.click('[data-testid=app-picker] [data-app=dvd-rental]');
    await page.waitForFunction(
      () =>
        (window as unknown as { __flowtap: { cy: { nodes(s: string): { length: number } } } }).__flowtap.cy.nodes('.instance').length === 8,
    );
    const spots = await page.evaluate(() => {
      const cy = (
        window as unknown as {
          __flowtap: { cy: { nodes(s: string): { map<T>(f: (n: { position(): { x: number; y: number } }) => T): T[] } } };
        }
      ).__flowtap.cy;
      return cy.nodes('.instance, .service, .monitor').map((n) => `${Math.round(n.position().x)},${Math.round(n.position().y)}`);
    });
    assert.equal(new Set(spots).size, spots.length, 'no two nodes at the same place');
    await waitFor(() => api.streams.size === 1);
    assert.deepEqual(pageErrors, [], 'no error in the page');
    assert.deepEqual(failed, ['401 /api/v1/whoami'], 'the wrong token was the only request refused');
  });

  it('a stream the server ends with its error event (a revoked token) says why and is not reopened', async () => {
    const opened = api.requests('GET', `/api/v1/apps/${APP}/records/stream`).length;
    api.revokeStreams('the token was revoked at 2026-12-07T05:00:00Z');
    await page.waitForFunction(() =>
      document.querySelector('[data-testid=stream-status]')?.getAttribute('data-status')?.startsWith('ended'),
    );
    assert.match((await page.textContent('[data-testid=stream-status]')) ?? '', /token was revoked/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(api.requests('GET', `/api/v1/apps/${APP}/records/stream`).length, opened, 'no new stream after the retry delay');
  });
});

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms: ${cond.toString()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
