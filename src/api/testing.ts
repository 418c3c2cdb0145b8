/**
 * Test helpers for the API without root: a Fleet of made-up deployments whose records live in
 * a real (in-memory SQLite) broker, so queries, afterId paging and text filters behave as in
 * production; every write is recorded in `calls`. Also a server on 127.0.0.1:0 with two
 * tenants' tokens and an operator's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBroker, type Broker, type BrokerRecord, type StoredRecord } from '../broker/index.js';
import type { Reaction } from '../controller/index.js';
import type { RuleCounter } from '../dataplane/index.js';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { ApiCode } from './codes.js';
import type { Actor, AppRef, AuditEntry, Fleet, RecordFilter } from './fleet.js';
import type {
  AppDetail,
  AppSummary,
  Firewall,
  Graph,
  Notice,
  Policies,
  PoliciesChange,
  ProbeResult,
  ReactionRules,
  Reconfigured,
  Taps,
  Verbosity,
  VerbosityChange,
  VerbosityResult,
} from './schemas.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from './start.js';
import { issueToken, revokeToken, tokenFile } from './tokens.js';

export interface FakeApp {
  name: string;
  tenant: string;
  nodes: string[];
  /** Service -> its instances. */
  services: Record<string, string[]>;
}

const FAKE_APPS: FakeApp[] = [
  { name: 'shop', tenant: 'acme', nodes: ['n1', 'n2'], services: { web: ['web-0', 'web-1'], db: ['db-0'] } },
  { name: 'blog', tenant: 'globex', nodes: ['n1'], services: { www: ['www-0'] } },
];

const SINCE = '2025-01-01T00:00:00.000Z';

function reaction(id: string, state: Reaction['state']): Reaction {
  return {
    id,
    deployment: SINCE,
    notice: `n-${id}`,
    note: 'FlowTap::SQL_Injection',
    action: { kind: 'quarantine', instance: 'web-0' } as Reaction['action'],
    state,
    rule: 'react(quarantine, I) :- notice(...)',
    derivation: '',
    blastRadius: [],
    createdAt: 1,
  };
}

const notFound = (what: string) => new FlowtapError(diag(ApiCode.NOT_FOUND, `no ${what}`));

export class FakeFleet implements Fleet {
  /** Every write, in order: `reconfigure shop {...}`, `approve shop r-1`, ... */
  readonly calls: string[] = [];
  readonly reactionsOf = new Map<string, Reaction[]>();
  closed = false;

  private constructor(
    readonly broker: Broker,
    private readonly list: FakeApp[],
  ) {
    for (const a of list) this.reactionsOf.set(a.name, [reaction('r-1', 'awaiting-approval'), reaction('r-2', 'applied')]);
  }

  static async create(apps: FakeApp[] = FAKE_APPS): Promise<FakeFleet> {
    const b = await openBroker({ store: 'sqlite::memory:' });
    if (!b.ok) throw new FlowtapError(b.errors);
    return new FakeFleet(b.value, apps);
  }

  private get(app: string): FakeApp {
    const a = this.list.find((x) => x.name === app);
    if (!a) throw notFound(`application ${app}`);
    return a;
  }

  /** Appends records about an application (ts now unless given). */
  async append(app: string, records: (Partial<BrokerRecord> & Pick<BrokerRecord, 'kind'>)[]): Promise<void> {
    const a = this.get(app);
    await this.broker.store.append(records.map((r) => ({ ts: Date.now(), tenant: a.tenant, app, data: {}, ...r })));
  }

  async apps(): Promise<AppRef[]> {
    return this.list.map((a) => ({ name: a.name, tenant: a.tenant }));
  }
  async find(app: string): Promise<AppRef | null> {
    const a = this.list.find((x) => x.name === app);
    return a ? { name: a.name, tenant: a.tenant } : null;
  }
  async summary(app: string): Promise<AppSummary> {
    const a = this.get(app);
    return {
      name: a.name,
      tenant: a.tenant,
      since: SINCE,
      mode: 'enforce',
      strategy: 'per-node',
      nodes: a.nodes,
      services: Object.keys(a.services).length,
      instances: Object.values(a.services).flat().length,
      quarantined: [],
      controller: { running: true, dryRun: false },
    };
  }
  async detail(app: string): Promise<AppDetail> {
    const a = this.get(app);
    return {
      ...(await this.summary(app)),
      descriptor: `/apps/${app}/app.yaml`,
      spec: { descriptor: `/apps/${app}/app.yaml`, policies: [], mode: 'enforce', strategy: 'per-node', downMonitors: [] },
      instances: Object.entries(a.services).flatMap(([service, list]) =>
        list.map((name, i) => ({ name, service, node: a.nodes[i % a.nodes.length], ip: `10.0.0.${i + 2}`, status: 'running' as const })),
      ),
      monitors: [{ name: 'mon1', node: a.nodes[0], status: 'running' }],
      restrictions: [],
    };
  }
  async graph(app: string): Promise<Graph> {
    const a = this.get(app);
    return {
      mode: 'enforce',
      nodes: a.nodes.map((n) => ({ id: `node:${n}`, kind: 'node', label: n })),
      services: Object.keys(a.services).map((s) => ({
        id: `svc:${s}`,
        kind: 'service',
        label: s,
        ports: [{ name: 'http', port: 80, protocol: 'tcp' }],
      })),
      instances: [],
      monitors: [],
      required: [],
      observed: [],
      taps: [],
    };
  }
  async policies(app: string): Promise<Policies> {
    this.get(app);
    return { policies: [], mode: 'enforce', strategy: 'per-node', downMonitors: [] };
  }
  async reconfigure(app: string, change: PoliciesChange, _by: Actor): Promise<Reconfigured> {
    this.get(app);
    this.calls.push(`reconfigure ${app} ${JSON.stringify(change)}`);
    return { outcome: 'applied', via: 'orchestrator' };
  }
  async reactionRules(app: string): Promise<ReactionRules | null> {
    this.get(app);
    return app === 'shop' ? { path: '/apps/shop/reactions.dl', text: 'react(x) :- y.' } : null;
  }
  async firewall(app: string): Promise<Firewall> {
    this.get(app);
    return {
      rules: [
        {
          id: 'r1',
          direction: 'ingress',
          target: 'web-0',
          peer: { kind: 'external' },
          protocol: 'tcp',
          ports: [{ from: 80, to: 80 }],
          action: 'accept',
        },
      ],
    };
  }
  async taps(app: string): Promise<Taps> {
    this.get(app);
    return { contracts: [], placement: [] };
  }
  async records(app: string, q: RecordFilter): Promise<StoredRecord[]> {
    const a = this.get(app);
    return this.broker.store.query({ ...q, tenant: a.tenant, app });
  }
  async notices(app: string, q: { from?: number; to?: number; limit?: number }): Promise<Notice[]> {
    const recs = await this.records(app, { kinds: ['notice'], ...q, order: 'desc' });
    return recs.map((r) => ({
      id: `n-${r.id}`,
      ts: r.ts,
      note: String(r.data.note ?? ''),
      msg: String(r.data.msg ?? ''),
      monitor: 'mon1',
      evidence: {},
    }));
  }
  async reactions(app: string): Promise<Reaction[]> {
    this.get(app);
    return this.reactionsOf.get(app) ?? [];
  }
  async reactionOp(app: string, op: 'approve' | 'undo' | 'keep', id: string, _by: Actor): Promise<{ event: string; reaction: Reaction }> {
    this.get(app);
    const r = this.reactionsOf.get(app)?.find((x) => x.id === id);
    if (!r) throw new FlowtapError(diag('E_REACTION_UNKNOWN', `no reaction ${id} in ${app}`, { field: 'id' }));
    this.calls.push(`${op} ${app} ${id}`);
    if (op === 'approve' && r.state !== 'awaiting-approval')
      throw new FlowtapError(diag('E_REACTION_STATE', `reaction ${id} is ${r.state}`, { field: 'id' }));
    return { event: op === 'approve' ? 'applied' : op === 'undo' ? 'undone' : 'kept', reaction: r };
  }
  async verbosity(app: string): Promise<Verbosity> {
    const a = this.get(app);
    return { nodes: Object.fromEntries(a.nodes.map((n) => [n, { counters: { level: 1, periodMs: 5000, active: true } }])) };
  }
  async setVerbosity(app: string, change: VerbosityChange, _by: Actor): Promise<VerbosityResult> {
    const a = this.get(app);
    if (change.node !== undefined && !a.nodes.includes(change.node))
      throw new FlowtapError(diag('E_UNKNOWN_NODE', `no node named "${change.node}"`, { field: 'node' }));
    this.calls.push(`verbosity ${app} ${JSON.stringify(change)}`);
    const targets = change.node ? [change.node] : a.nodes;
    return { change: 'v1', acks: targets.map((node) => ({ node, outcome: 'applied' })) };
  }
  async probe(app: string, _by: Actor): Promise<ProbeResult> {
    this.get(app);
    this.calls.push(`probe ${app}`);
    return { probes: [], missing: [], extra: [], ok: true };
  }
  async audit(app: string, entry: AuditEntry): Promise<void> {
    const a = this.get(app);
    await this.broker.store.append([
      {
        ts: Date.now(),
        kind: 'audit',
        tenant: a.tenant,
        app,
        data: {
          via: 'api',
          method: entry.method,
          route: entry.route,
          status: entry.status,
          outcome: entry.outcome,
          token: { id: entry.by.tokenId, name: entry.by.tokenName, tenant: entry.by.tenant },
        },
      },
    ]);
  }
  async counters(app: string): Promise<Record<string, RuleCounter[]>> {
    const a = this.get(app);
    return { [a.nodes[0]]: [{ family: 'inet', table: 'flowtap', chain: 'fwd', comment: `r1 ${app}`, packets: 7, bytes: 700, handle: 4 }] };
  }
  async storeStats(app: string): Promise<{ store: string; stats: Awaited<ReturnType<Fleet['storeStats']>>['stats'] }> {
    this.get(app);
    return { store: `sqlite:/fake/${app}.db`, stats: await this.broker.store.stats() };
  }
  async close(): Promise<void> {
    this.closed = true;
    await this.broker.close();
  }
}

export interface TestServer {
  server: ApiServer;
  fleet: FakeFleet;
  /** Tokens: acme's, globex's, an operator's, and a revoked one of acme. */
  tokens: { acme: string; globex: string; operator: string; revoked: string };
  stateDir: string;
  close(): Promise<void>;
}

/** A server over a FakeFleet on 127.0.0.1:0, its tokens in a temporary state folder. */
export async function testServer(o: Partial<ApiServerOptions> = {}): Promise<TestServer> {
  const stateDir = mkdtempSync(join(tmpdir(), 'flowtap-api-'));
  const file = tokenFile(stateDir);
  const issue = (name: string, tenant: string | null) => {
    const r = issueToken(file, { name, tenant });
    if (!r.ok) throw new FlowtapError(r.errors);
    return r.value.token;
  };
  const tokens = {
    acme: issue('acme-ci', 'acme'),
    globex: issue('globex-ci', 'globex'),
    operator: issue('ops', null),
    revoked: issue('old', 'acme'),
  };
  revokeToken(file, 'old');
  const fleet = await FakeFleet.create();
  const server = await startApiServer({ fleet, tokens: file, listen: '127.0.0.1:0', log: () => {}, ...o });
  return {
    server,
    fleet,
    tokens,
    stateDir,
    close: async () => {
      await server.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export interface Called {
  status: number;
  /** Parsed when the answer is JSON. */
  json: unknown;
  text: string;
  type: string;
}

/** One request; an event stream is read only to its headers, then dropped. */
export async function call(
  base: string,
  method: string,
  path: string,
  o: { token?: string; body?: string | object; headers?: Record<string, string> } = {},
): Promise<Called> {
  const ac = new AbortController();
  const r = await fetch(base + path, {
    method: method.toUpperCase(),
    signal: ac.signal,
    headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers },
    ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}),
  });
  const type = r.headers.get('content-type') ?? '';
  if (type.startsWith('text/event-stream')) {
    ac.abort();
    return { status: r.status, json: null, text: '', type };
  }
  const text = await r.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: r.status, json, text, type };
}

/** A route's path with its parameters filled in (`:app`, `:id`, `:file`, `:path{...}`). */
export function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, (_m, name: string) => encodeURIComponent(values[name] ?? 'x'));
}
