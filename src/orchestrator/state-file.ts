/**
 * What `up` made, on disk, so `status`, `down` and every operation work from another shell.
 * Written after every step that creates something, so a crash mid-`up` still leaves an
 * accurate record. It keeps the whole deployment spec (policies, mode, strategy, monitors
 * down): an operation re-renders from it, never from defaults. It also keeps, per node, what
 * the data-plane backend applied last (its tables, rule handles and stamp), so the next
 * operation, from whatever process, changes only the rules it needs. Validated on load, since a
 * person or a crash may have damaged it.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { diag, fail, ok, type Result } from '../diagnostics/index.js';
import { OrchestratorCode } from './codes.js';
import { ovsNodeConfigSchema, type NftApplied, type OvsNodeConfig, type SourceRestriction } from '../dataplane/index.js';
import { formatField, type Addressing } from '../model/index.js';
import type { DeploymentSpec } from './lifecycle.js';
import { checkRestriction } from './restriction.js';

export interface ProcessRecord {
  /** Instance name, `monitor:NAME`, `agent:NODE` or `relay`. */
  owner: string;
  /** None: the host's namespace (the relay to the broker's servers). */
  ns?: string;
  pid: number;
  argv: string[];
  log: string;
}

export const STATE_VERSION = 2;

export interface CloudState {
  version: typeof STATE_VERSION;
  app: string;
  tenant: string;
  createdAt: string;
  phase: 'creating' | 'running' | 'failed' | 'stopping';
  spec: DeploymentSpec;
  addressing: Addressing;
  namespaces: string[];
  processes: ProcessRecord[];
  /** Instances currently quarantined. */
  isolated: string[];
  /** Instances terminated (namespace removed, not redeployed yet). */
  terminated: string[];
  /**
   * What the nftables backend applied last, per node. Absent (a record written before there
   * was one, or lost): the next apply replaces the node's tables whole. A stale one is safe:
   * the backend's stamp check turns it into a full replacement too.
   */
  dataplane?: Record<string, NftApplied>;
  /** The same for a deployment on Open vSwitch (spec.dataplane `ovs`): what each bridge was given last. */
  ovsApplied?: Record<string, OvsNodeConfig>;
  /** Sources restricted on every node, in the order they were added. Absent in a record written before there were any. */
  restrictions?: SourceRestriction[];
  /**
   * Counts the saves: a process holding this deployment (a controller, an API server) sees that
   * another one (a shell's `flowtap isolate`) changed it, and reads it again before acting.
   */
  revision?: number;
  /** The last configuration version pushed to the nodes' agents (they refuse an older one). */
  configVersion?: number;
}

const name = z.string().min(1);
const attachment = z.strictObject({ instance: name, node: name, port: name, ip: name, mac: name });
const monitorAttachment = z.strictObject({ monitor: name, node: name, port: name, ip: name, mac: name });
const nodeAddress = z.strictObject({ ip: name, index: z.number().int().nonnegative(), subnet: name, gateway: name });

/*
 * Parts of the applied record go back into nft scripts (the stamp, the names of chains and
 * sets to remove, set elements to delete): a damaged file must not be able to smuggle a
 * statement into one. The rest is only compared with what is rendered anew.
 */
const nftName = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected an nft identifier');
const nftText = z.string().regex(/^[^\n\r;]*$/, 'expected one nft expression (no line break or ";")');
const nftLine = z.string().regex(/^[^\n\r]*$/, 'expected one line');
const nftRule = z.strictObject({ text: nftLine, comment: nftLine, counted: z.boolean(), notes: z.array(z.string()).optional() });
const nftTable = z.strictObject({
  family: z.enum(['inet', 'ip', 'netdev', 'bridge']),
  name: nftName,
  sets: z.array(z.strictObject({ name: nftName, spec: z.array(nftLine), elements: z.array(nftText) })),
  chains: z.array(
    z.strictObject({ name: nftName, base: nftLine.optional(), rules: z.array(nftRule), trailing: z.array(z.string()).optional() }),
  ),
});
const nftApplied = z.strictObject({
  config: z.strictObject({ node: name, tables: z.array(nftTable) }),
  handles: z.record(z.string(), z.array(z.number().int().min(-1))),
  stamp: nftName,
});

/*
 * A restriction's id and source go into nft scripts as they are read: the same check as for a
 * new restriction, each problem reported at its field.
 */
const restriction = z
  .strictObject({
    id: z.string(),
    source: z.string(),
    port: z.number().optional(),
    protocol: z.enum(['tcp', 'udp']).optional(),
    rate: z.strictObject({ perSecond: z.number(), burst: z.number() }).optional(),
  })
  .superRefine((r, ctx) => {
    const checked = checkRestriction(r);
    if (!checked.ok)
      for (const e of checked.errors)
        ctx.addIssue({ code: 'custom', message: e.message, path: (e.loc?.field ?? '').split('.').filter(Boolean) });
  });

const stateSchema: z.ZodType<CloudState> = z.strictObject({
  version: z.literal(STATE_VERSION),
  app: name,
  tenant: name,
  createdAt: z.string(),
  phase: z.enum(['creating', 'running', 'failed', 'stopping']),
  spec: z.strictObject({
    descriptor: name,
    policies: z.array(name),
    mode: z.enum(['enforce', 'audit']),
    strategy: z.enum(['per-app', 'per-node']),
    downMonitors: z.array(name),
    sampledMonitors: z.record(z.string(), z.number().int().min(2).max(1_000_000)).optional(),
    broker: z.strictObject({ store: name, bus: name }).optional(),
    agents: z.strictObject({ level: z.number().int().min(0).max(4), periodMs: z.number().int().positive() }).optional(),
    controller: z.strictObject({ rules: name, dryRun: z.boolean() }).optional(),
    inlineMode: z.literal('queue').optional(),
    inlineWorkers: z.number().int().min(2).max(32).optional(),
    dataplane: z.literal('ovs').optional(),
  }),
  addressing: z.strictObject({
    instances: z.record(z.string(), attachment),
    monitors: z.record(z.string(), monitorAttachment),
    nodes: z.record(z.string(), nodeAddress),
  }),
  namespaces: z.array(name),
  processes: z.array(
    z.strictObject({ owner: name, ns: name.optional(), pid: z.number().int().positive(), argv: z.array(z.string()), log: z.string() }),
  ),
  isolated: z.array(name),
  terminated: z.array(name),
  dataplane: z.record(z.string(), nftApplied).optional(),
  // Each flow goes back to ovs-ofctl as one line of a bundle: the schema holds it to one line.
  ovsApplied: z.record(z.string(), ovsNodeConfigSchema).optional(),
  restrictions: z
    .array(restriction)
    .refine((list) => new Set(list.map((r) => r.id)).size === list.length, 'two restrictions with the same id')
    .optional(),
  revision: z.number().int().nonnegative().optional(),
  configVersion: z.number().int().nonnegative().optional(),
});

/** Where state lives unless told otherwise: FLOWTAP_STATE_DIR, else /var/lib/flowtap. */
export function stateDirOf(dir?: string): string {
  return dir ?? process.env.FLOWTAP_STATE_DIR ?? '/var/lib/flowtap';
}

/** The state files of one folder: `APP.json` per deployment, `APP/` for its run files. */
export class StateStore {
  readonly dir: string;

  constructor(dir?: string) {
    this.dir = stateDirOf(dir);
  }

  file(app: string): string {
    return join(this.dir, `${app}.json`);
  }

  /** Run files of one deployment: logs, data folders, the addressing monitors read. */
  runDir(app: string): string {
    return join(this.dir, app);
  }

  /** Saves with the next revision. */
  save(s: CloudState): void {
    s.revision = (s.revision ?? 0) + 1;
    mkdirSync(this.dir, { recursive: true });
    const file = this.file(s.app);
    writeFileSync(file + '.tmp', JSON.stringify(s, null, 2));
    renameSync(file + '.tmp', file);
  }

  /** Changes whenever the file is written (by any process); '' when there is none. */
  fingerprint(app: string): string {
    try {
      const st = statSync(this.file(app), { bigint: true });
      return `${st.mtimeNs}:${st.size}:${st.ino}`;
    } catch {
      return '';
    }
  }

  /** The state of a deployment; null when there is none; errors naming the file and field when it is damaged. */
  load(app: string): Result<CloudState | null> {
    const file = this.file(app);
    if (!existsSync(file)) return ok(null);
    return parseState(readFileSync(file, 'utf8'), file);
  }

  remove(app: string): void {
    rmSync(this.file(app), { force: true });
  }
}

export function parseState(text: string, file: string): Result<CloudState> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail(
      diag(
        OrchestratorCode.STATE_FILE,
        `the state file is not JSON (${(e as Error).message}); \`flowtap down\` still removes what it can find`,
        { file },
      ),
    );
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (raw && typeof raw === 'object' && version !== STATE_VERSION)
    return fail(
      diag(
        OrchestratorCode.STATE_FILE,
        `state file version ${JSON.stringify(version ?? null)}, this flowtap reads version ${STATE_VERSION}; \`flowtap down\` still removes what it can find`,
        {
          file,
          field: 'version',
        },
      ),
    );
  const r = stateSchema.safeParse(raw);
  if (r.success) return ok(r.data);
  return fail(
    r.error.issues.map((i) =>
      diag(OrchestratorCode.STATE_FILE, `invalid state: ${i.message}`, {
        file,
        field: formatField(i.path as (string | number)[]) || '(top)',
      }),
    ),
  );
}
