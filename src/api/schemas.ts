/**
 * The API's shapes, once: the zod schemas that validate every request and describe every
 * answer. The route table (routes.ts) names them, the server validates with them, and the
 * OpenAPI document is generated from them (openapi.ts), so the document cannot drift from
 * what the server accepts. Named schemas are registered and become `components/schemas`.
 */
import { z } from 'zod';
import { COLLECTORS, MAX_PERIOD_MS, MIN_PERIOD_MS } from '../agent/index.js';
import { MAX_QUERY_LIMIT, RECORD_KINDS } from '../broker/index.js';

/** Schemas that get a name in the document. */
export const apiSchemas = z.registry<{ id: string; description?: string }>();

function named<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  apiSchemas.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
}

// --- request parts -------------------------------------------------------------------------

/** A name as deployments and their parts have them: what may sit in a subject or a file name. */
const label = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'expected a name (letters, digits, _ . -)');

/** Query values arrive as text: a whole number, checked as text first so `?limit=` or `?limit=1e3` is refused. */
const whole = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,16}$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const AppParams = z.strictObject({ app: label });
export const ReactionParams = z.strictObject({ app: label, id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected a reaction id') });

const recordFilter = {
  from: whole(0, Number.MAX_SAFE_INTEGER).optional(),
  to: whole(0, Number.MAX_SAFE_INTEGER).optional(),
  /** Repeatable, or a comma list. */
  kind: z.array(z.enum(RECORD_KINDS)).optional(),
  node: z.string().min(1).max(1024).optional(),
  service: z.string().min(1).max(1024).optional(),
  instance: z.string().min(1).max(1024).optional(),
  provenance: z.string().min(1).max(1024).optional(),
  text: z.string().min(1).max(1024).optional(),
  afterId: whole(0, Number.MAX_SAFE_INTEGER).optional(),
};

const fromBeforeTo = (q: { from?: number; to?: number }) => q.from === undefined || q.to === undefined || q.from <= q.to;

export const RecordsQuery = z
  .strictObject({ ...recordFilter, limit: whole(1, MAX_QUERY_LIMIT).optional(), order: z.enum(['asc', 'desc']).optional() })
  .refine(fromBeforeTo, { message: 'from is after to', path: ['from'] });

export const StreamQuery = z.strictObject(recordFilter).refine(fromBeforeTo, { message: 'from is after to', path: ['from'] });

export const NoticesQuery = z
  .strictObject({
    from: recordFilter.from,
    to: recordFilter.to,
    limit: whole(1, MAX_QUERY_LIMIT).optional(),
  })
  .refine(fromBeforeTo, { message: 'from is after to', path: ['from'] });

/** A policy's name is its file's name: no path, nothing a shell or nft would read twice. */
const policyName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'expected a policy name (a-z, 0-9, _ -, at most 64)');

export const PoliciesChange = z
  .strictObject({
    policies: z
      .array(z.strictObject({ name: policyName, text: z.string().max(1_000_000) }))
      .max(64)
      .refine((l) => new Set(l.map((p) => p.name)).size === l.length, 'two policies with the same name')
      .optional(),
    mode: z.enum(['enforce', 'audit']).optional(),
    strategy: z.enum(['per-node', 'per-app']).optional(),
    downMonitors: z.array(label).max(1024).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change: give policies, mode, strategy or downMonitors');

export const VerbosityChange = z
  .strictObject({
    node: label.optional(),
    level: z.number().int().min(1).max(4).optional(),
    periodMs: z.number().int().min(MIN_PERIOD_MS).max(MAX_PERIOD_MS).optional(),
    collector: z.enum([...COLLECTORS, '*']).optional(),
    kinds: z.array(z.enum(RECORD_KINDS)).min(1).max(RECORD_KINDS.length).optional(),
    services: z.array(label).min(1).max(1024).optional(),
    instances: z.array(label).min(1).max(4096).optional(),
  })
  .refine(
    (b) =>
      b.level !== undefined || b.periodMs !== undefined || b.kinds !== undefined || b.services !== undefined || b.instances !== undefined,
    'nothing to change: give level, periodMs, kinds, services or instances',
  );

// --- answers ------------------------------------------------------------------------------

named(
  'Error',
  z.object({ error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }) }),
  'Every error: a stable code (E_...), a message, and the offending field for a 400.',
);

export const Whoami = named(
  'Whoami',
  z.object({ tenant: z.string().nullable(), operator: z.boolean(), token: z.object({ id: z.string(), name: z.string() }) }),
);

const mode = z.enum(['enforce', 'audit']);
const strategy = z.enum(['per-app', 'per-node']);

export const AppSummary = named(
  'AppSummary',
  z.object({
    name: z.string(),
    tenant: z.string(),
    since: z.string(),
    mode,
    strategy,
    nodes: z.array(z.string()),
    services: z.number().int(),
    instances: z.number().int(),
    quarantined: z.array(z.string()),
    controller: z.object({ running: z.boolean(), dryRun: z.boolean().optional() }),
  }),
);

const DeploymentSpec = named(
  'DeploymentSpec',
  z.object({
    descriptor: z.string(),
    policies: z.array(z.string()),
    mode,
    strategy,
    downMonitors: z.array(z.string()),
    sampledMonitors: z.record(z.string(), z.number().int()).optional(),
    broker: z.object({ store: z.string(), bus: z.string() }).optional(),
    agents: z.object({ level: z.number().int(), periodMs: z.number().int() }).optional(),
    controller: z.object({ rules: z.string(), dryRun: z.boolean() }).optional(),
  }),
  'What the deployment runs with (paths on the server); broker passwords are masked.',
);

const SourceRestriction = named(
  'SourceRestriction',
  z.object({
    id: z.string(),
    source: z.string(),
    port: z.number().int().optional(),
    protocol: z.enum(['tcp', 'udp']).optional(),
    rate: z.object({ perSecond: z.number(), burst: z.number() }).optional(),
  }),
);

const instanceStatus = z.enum(['running', 'isolated', 'terminated']);

export const AppDetail = named(
  'AppDetail',
  AppSummary.extend({
    descriptor: z.string(),
    spec: DeploymentSpec,
    instances: z.array(z.object({ name: z.string(), service: z.string(), node: z.string(), ip: z.string(), status: instanceStatus })),
    monitors: z.array(z.object({ name: z.string(), node: z.string(), status: z.enum(['running', 'down']) })),
    restrictions: z.array(SourceRestriction),
  }),
);

export const Graph = named(
  'Graph',
  z.object({
    mode,
    nodes: z.array(z.object({ id: z.string(), kind: z.literal('node'), label: z.string() })),
    services: z.array(
      z.object({
        id: z.string(),
        kind: z.literal('service'),
        label: z.string(),
        tier: z.string().optional(),
        ports: z.array(z.object({ name: z.string(), port: z.number().int(), protocol: z.string() })),
      }),
    ),
    instances: z.array(
      z.object({
        id: z.string(),
        kind: z.literal('instance'),
        label: z.string(),
        service: z.string(),
        node: z.string(),
        ip: z.string(),
        status: instanceStatus,
        quarantined: z.boolean(),
      }),
    ),
    monitors: z.array(
      z.object({
        id: z.string(),
        kind: z.literal('monitor'),
        label: z.string(),
        node: z.string(),
        health: z.enum(['up', 'down', 'overloaded']),
        lagS: z.number().optional(),
      }),
    ),
    required: z.array(z.object({ id: z.string(), from: z.string(), to: z.string(), port: z.number().int() })),
    observed: z.array(
      z.object({
        id: z.string(),
        from: z.string(),
        to: z.string(),
        port: z.number().int(),
        packets: z.number(),
        bytes: z.number(),
        rateBps: z.number(),
      }),
    ),
    taps: z.array(
      z.object({
        id: z.string(),
        instance: z.string(),
        port: z.number().int().nullable(),
        action: z.enum(['forward', 'redirect']),
        monitor: z.string(),
        failMode: z.enum(['open', 'closed']).optional(),
        sample: z.object({ every: z.number().int(), unit: z.string() }).optional(),
      }),
    ),
  }),
  'Ids are prefixed: node:, svc:, inst:, mon:; `external` stands for clients outside the application.',
);

export const Policies = named(
  'Policies',
  z.object({
    policies: z.array(z.object({ name: z.string(), path: z.string(), text: z.string() })),
    mode,
    strategy,
    downMonitors: z.array(z.string()),
  }),
);

const Diagnostic = z.object({ code: z.string(), message: z.string(), field: z.string().optional() });

export const Reconfigured = named(
  'Reconfigured',
  z.object({
    outcome: z.enum(['applied', 'failed']),
    via: z.enum(['controller', 'orchestrator']),
    errors: z.array(Diagnostic).optional(),
  }),
);

export const ReactionRules = named('ReactionRules', z.object({ path: z.string(), text: z.string() }));

const FirewallRule = named(
  'FirewallRule',
  z.object({
    id: z.string(),
    direction: z.enum(['ingress', 'egress']),
    target: z.string(),
    peer: z.looseObject({ kind: z.enum(['service', 'instances', 'cidr', 'external', 'any']) }),
    protocol: z.enum(['tcp', 'udp', 'any']),
    ports: z.array(z.object({ from: z.number().int(), to: z.number().int() })).nullable(),
    action: z.enum(['accept', 'drop']),
    requirement: z.number().int().optional(),
    comment: z.string().optional(),
  }),
);

const RuleCounter = named(
  'RuleCounter',
  z.object({
    family: z.string(),
    table: z.string(),
    chain: z.string(),
    comment: z.string(),
    packets: z.number(),
    bytes: z.number(),
    handle: z.number().int().optional(),
  }),
);

export const Firewall = named(
  'Firewall',
  z.object({ rules: z.array(FirewallRule), counters: z.record(z.string(), z.array(RuleCounter)).optional() }),
  'The inferred rules with the quarantines in force; counters per node when the data plane can be read.',
);

export const Taps = named(
  'Taps',
  z.object({
    contracts: z.array(
      z.object({
        id: z.string(),
        src: z.string(),
        dst: z.string(),
        flow: z.string(),
        action: z.enum(['forward', 'redirect']),
        direction: z.string(),
        options: z.object({
          sample: z.object({ every: z.number().int(), unit: z.string() }).optional(),
          budget: z.object({ rate: z.number(), unit: z.string() }).optional(),
          failMode: z.enum(['open', 'closed']).optional(),
        }),
        policy: z.string().optional(),
      }),
    ),
    placement: z.array(
      z.object({
        contract: z.string(),
        instance: z.string(),
        srcNode: z.string().nullable(),
        monitor: z.string(),
        dstNode: z.string().nullable(),
        crossNode: z.boolean(),
      }),
    ),
  }),
);

const StoredRecord = named(
  'StoredRecord',
  z.object({
    id: z.number().int(),
    ts: z.number().int(),
    kind: z.enum(RECORD_KINDS),
    tenant: z.string(),
    app: z.string(),
    node: z.string().optional(),
    service: z.string().optional(),
    instance: z.string().optional(),
    provenance: z.string().optional(),
    data: z.record(z.string(), z.unknown()),
  }),
);

export const RecordList = named('RecordList', z.object({ records: z.array(StoredRecord) }));

const Endpoint = z.object({
  ip: z.string().optional(),
  port: z.number().int().optional(),
  instance: z.string().optional(),
  service: z.string().optional(),
});

export const Notice = named(
  'Notice',
  z.object({
    id: z.string(),
    ts: z.number(),
    note: z.string(),
    msg: z.string(),
    monitor: z.string(),
    uid: z.string().optional(),
    src: Endpoint.optional(),
    dst: Endpoint.optional(),
    evidence: z.record(z.string(), z.union([z.string(), z.number()])),
    reaction: z.object({ id: z.string(), state: z.string() }).optional(),
    probe: z.boolean().optional(),
  }),
  "A notice record read as the controller reads it; `reaction` is the one taken about it, when there is one; `probe`: the controller took it for flowtap's own probe matrix (no reaction).",
);

export const NoticeList = named('NoticeList', z.object({ notices: z.array(Notice) }));

const Reaction = named(
  'Reaction',
  z.looseObject({
    id: z.string(),
    notice: z.string(),
    note: z.string(),
    action: z.looseObject({ kind: z.string() }),
    state: z.string(),
    rule: z.string(),
    createdAt: z.number(),
  }),
  "The security controller's Reaction (src/controller/reaction/ledger.ts), as its last record left it.",
);

export const ReactionList = named('ReactionList', z.object({ reactions: z.array(Reaction) }));

export const ReactionOpResult = named('ReactionOpResult', z.object({ event: z.string(), reaction: Reaction }));

const CollectorSetting = z.object({
  level: z.number().int(),
  periodMs: z.number().int(),
  active: z.boolean().optional(),
  filters: z.object({ instances: z.array(z.string()).optional(), kinds: z.array(z.string()).optional() }).optional(),
});

export const Verbosity = named(
  'Verbosity',
  z.object({ nodes: z.record(z.string(), z.record(z.string(), CollectorSetting)) }),
  "Each node's collectors as its agent last reported them (a node whose agent never reported is absent).",
);

export const VerbosityResult = named(
  'VerbosityResult',
  z.object({
    change: z.string(),
    acks: z.array(z.object({ node: z.string(), outcome: z.string(), errors: z.array(z.string()).optional() })),
  }),
  "outcome is the agent's (applied, rejected) or `no-answer` when it did not acknowledge in time.",
);

const Probe = z.object({
  from: z.string(),
  fromService: z.string(),
  to: z.string(),
  toService: z.string(),
  port: z.number().int(),
  portName: z.string(),
  open: z.boolean(),
  expected: z.boolean(),
  error: z.string().optional(),
});

export const ProbeResult = named(
  'ProbeResult',
  z.object({ probes: z.array(Probe), missing: z.array(Probe), extra: z.array(Probe), ok: z.boolean() }),
  'missing: required but closed; extra: open but not required.',
);

export const AppList = named('AppList', z.object({ apps: z.array(AppSummary) }));

export type AppSummary = z.infer<typeof AppSummary>;
export type AppDetail = z.infer<typeof AppDetail>;
export type Graph = z.infer<typeof Graph>;
export type Policies = z.infer<typeof Policies>;
export type PoliciesChange = z.infer<typeof PoliciesChange>;
export type Reconfigured = z.infer<typeof Reconfigured>;
export type ReactionRules = z.infer<typeof ReactionRules>;
export type Firewall = z.infer<typeof Firewall>;
export type Taps = z.infer<typeof Taps>;
export type Notice = z.infer<typeof Notice>;
export type Verbosity = z.infer<typeof Verbosity>;
export type VerbosityChange = z.infer<typeof VerbosityChange>;
export type VerbosityResult = z.infer<typeof VerbosityResult>;
export type ProbeResult = z.infer<typeof ProbeResult>;
export type RecordsQuery = z.infer<typeof RecordsQuery>;
export type StreamQuery = z.infer<typeof StreamQuery>;
export type NoticesQuery = z.infer<typeof NoticesQuery>;
