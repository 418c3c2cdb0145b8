/**
 * Configuration the controller pushes to a node: its data plane — as an nft script (checked,
 * then applied atomically: a rejected script leaves the rules in force), as the rendered
 * tables (applied by the nft backend, which changes only the rules that differ, so the others
 * keep their counters) or as the node's Open vSwitch configuration (applied by the ovs backend
 * to the node's bridge, one bundle of the flows that differ) — or anything else the agent's
 * owner handles (which monitors observe what). Every push is acknowledged with its
 * version and outcome. Versions only move forward: a push older than what is applied is
 * acknowledged as stale, not applied.
 *
 * A bridge lives in ovs-vswitchd, in the root namespace, not in the node's namespace where the
 * agent runs; but ovs-ofctl reaches the switch through its management socket, a file under
 * /var/run/openvswitch that a network namespace does not hide: it runs as it is, wherever the
 * agent is. The agent changes no bridge but its node's (its spec names it): a push is untrusted
 * input from the bus.
 */
import {
  applyNft,
  checkNft,
  NftBackend,
  OvsBackend,
  ovsConfigIssues,
  type ApplyReport,
  type NftApplied,
  type NftNodeConfig,
  type OvsNodeConfig,
} from '../dataplane/index.js';
import { diag, fail, ok, type Diagnostic, type Result } from '../diagnostics/index.js';
import { formatField } from '../model/index.js';
import type { NodeAccess } from './netns.js';

export interface ConfigPush {
  /** Increasing numbers, or any string (then only a repeat of the applied one is skipped). */
  version: number | string;
  /** 'dataplane' is applied by the agent; other kinds go to the agent's owner. */
  kind: string;
  /** For 'dataplane': the node's whole nft script, or */
  script?: string;
  /** the node's rendered tables (the nft backend's configuration) or its Open vSwitch configuration (a bridge's flows), */
  config?: NftNodeConfig | OvsNodeConfig;
  /**
   * with what the sender records as in force on the node (for nft, the tables with their
   * handles; for Open vSwitch, the configuration the bridge was given last): the change then
   * goes in as a difference from it (kept rules keep their counters), whatever this agent
   * remembers (it may have restarted, or the sender applied a change itself since).
   */
  since?: NftApplied | OvsNodeConfig;
  [key: string]: unknown;
}

export type ConfigOutcome = 'applied' | 'failed' | 'stale' | 'unchanged' | 'unsupported' | 'rejected';

export interface ConfigAck {
  kind: string;
  version: number | string | null;
  outcome: ConfigOutcome;
  errors?: string[];
  /** How a data-plane configuration went in: whole, or only the rules that changed. */
  report?: ApplyReport;
  /**
   * For rendered tables: what is in force now (rule handles, the tables' stamp), for the sender's
   * record. For Open vSwitch: no handles (flows are named by cookie), the bridge as the stamp;
   * what is in force is the configuration pushed.
   */
  applied?: Pick<NftApplied, 'handles' | 'stamp'>;
  durationMs: number;
}

export function parseConfigPush(msg: unknown): Result<ConfigPush> {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
    return fail(diag('E_AGENT_CONFIG', 'a configuration push must be an object'));
  const m = msg as Record<string, unknown>;
  if (typeof m.version !== 'number' && typeof m.version !== 'string')
    return fail(diag('E_AGENT_CONFIG', 'a configuration push needs a version (number or string)', { field: 'version' }));
  if (typeof m.kind !== 'string' || !m.kind) return fail(diag('E_AGENT_CONFIG', 'a configuration push needs a kind', { field: 'kind' }));
  if (m.kind === 'dataplane' && isOvsShaped(m.config)) return parseOvsPush(m);
  if (m.kind === 'dataplane') {
    const hasScript = typeof m.script === 'string';
    const cfg = m.config as { node?: unknown; tables?: unknown } | undefined;
    const hasConfig = typeof cfg === 'object' && cfg !== null && typeof cfg.node === 'string' && Array.isArray(cfg.tables);
    if (hasScript === hasConfig)
      return fail(
        diag('E_AGENT_CONFIG', 'a dataplane push has either its nft script or its rendered tables ({node, tables})', { field: 'script' }),
      );
  }
  if (m.since !== undefined) {
    const since = m.since as { config?: { node?: unknown; tables?: unknown }; handles?: unknown; stamp?: unknown } | null;
    // The stamp and handles go back into nft scripts: nothing but a name and numbers.
    const fine =
      typeof since === 'object' &&
      since !== null &&
      typeof since.config?.node === 'string' &&
      Array.isArray(since.config.tables) &&
      typeof since.stamp === 'string' &&
      /^[A-Za-z0-9_.-]+$/.test(since.stamp) &&
      typeof since.handles === 'object' &&
      since.handles !== null &&
      Object.values(since.handles).every((h) => Array.isArray(h) && h.every((x) => Number.isInteger(x)));
    if (!fine)
      return fail(
        diag('E_AGENT_CONFIG', 'since must be what the nft backend applied: {config: {node, tables}, handles, stamp}', { field: 'since' }),
      );
  }
  return ok(m as ConfigPush);
}

const MAX_REPORTED = 20;

/** An Open vSwitch configuration names its bridge; nft's tables do not. */
const isOvsShaped = (c: unknown): boolean => typeof c === 'object' && c !== null && 'bridge' in c;

/**
 * An Open vSwitch push, held to what the state file holds a bridge's record to (every flow one
 * line of the bundle it goes into, a bridge name flowtap could have given): the configuration,
 * and what the sender records as in force on the same bridge. No script beside it.
 */
function parseOvsPush(m: Record<string, unknown>): Result<ConfigPush> {
  const errors: Diagnostic[] = [];
  const check = (value: unknown, field: string) => {
    const issues = ovsConfigIssues(value);
    // The answer is a record on the bus: a push of thousands of bad flows gets a bounded one.
    for (const i of issues.slice(0, MAX_REPORTED)) {
      const at = formatField([field, ...i.path]);
      errors.push(diag('E_AGENT_CONFIG', `invalid Open vSwitch configuration at ${at}: ${i.message}`, { field: at }));
    }
    if (issues.length > MAX_REPORTED)
      errors.push(diag('E_AGENT_CONFIG', `and ${issues.length - MAX_REPORTED} more problems in ${field}`, { field }));
  };
  if (m.script !== undefined)
    errors.push(diag('E_AGENT_CONFIG', 'a dataplane push has either its nft script or its configuration, not both', { field: 'script' }));
  check(m.config, 'config');
  if (m.since !== undefined) {
    if (!isOvsShaped(m.since))
      errors.push(
        diag('E_AGENT_CONFIG', 'since must be what the bridge was given last: {node, bridge, flows, meters, groups, ports}', {
          field: 'since',
        }),
      );
    else check(m.since, 'since');
  }
  if (errors.length) return fail(errors);
  const config = m.config as OvsNodeConfig;
  const since = m.since as OvsNodeConfig | undefined;
  if (since && (since.node !== config.node || since.bridge !== config.bridge))
    return fail(
      diag(
        'E_AGENT_CONFIG',
        `since is for node ${since.node} (bridge ${since.bridge}), the configuration for node ${config.node} (bridge ${config.bridge})`,
        { field: 'since' },
      ),
    );
  return ok(m as ConfigPush);
}

export interface ConfigApplierOptions {
  /**
   * The node's Open vSwitch bridge: the one bridge a push may change. Without it the agent
   * applies no Open vSwitch configuration.
   */
  ovsBridge?: string;
}

export class ConfigApplier {
  private readonly applied = new Map<string, number | string>();
  /** Remembers what it applied last, so the next configuration goes in as a difference. */
  private readonly backend: NftBackend;
  /** The same for the node's bridge; made at the first Open vSwitch push. */
  private ovs?: OvsBackend;

  constructor(
    private readonly node: NodeAccess,
    /** The node's name, as rendered configurations name it. */
    private readonly nodeName: string,
    private readonly onConfig?: (push: ConfigPush) => Promise<Result<string>>,
    private readonly now: () => number = Date.now,
    private readonly opts: ConfigApplierOptions = {},
  ) {
    this.backend = new NftBackend({ system: node.system, nsOf: () => node.ns ?? null });
  }

  appliedVersion(kind: string): number | string | undefined {
    return this.applied.get(kind);
  }

  async apply(msg: unknown): Promise<ConfigAck> {
    const t0 = this.now();
    const done = (a: Omit<ConfigAck, 'durationMs'>): ConfigAck => ({ ...a, durationMs: this.now() - t0 });
    const rejected = (m: Record<string, unknown> | null, errors: string[]) => {
      const version = m && (typeof m.version === 'number' || typeof m.version === 'string') ? m.version : null;
      return done({ kind: typeof m?.kind === 'string' ? m.kind : 'unknown', version, outcome: 'rejected', errors });
    };
    const parsed = parseConfigPush(msg);
    if (!parsed.ok)
      return rejected(
        msg as Record<string, unknown> | null,
        parsed.errors.map((e) => e.message),
      );
    const push = parsed.value;
    const ovsConfig = push.kind === 'dataplane' && push.config && 'bridge' in push.config ? push.config : undefined;
    if (ovsConfig) {
      const wrong = this.wrongBridge(ovsConfig);
      if (wrong) return rejected(push, [wrong]);
    }
    const last = this.applied.get(push.kind);
    if (last !== undefined) {
      if (typeof last === 'number' && typeof push.version === 'number' && push.version < last)
        return done({ kind: push.kind, version: push.version, outcome: 'stale' });
      if (last === push.version) return done({ kind: push.kind, version: push.version, outcome: 'unchanged' });
    }
    let r: Result<unknown>;
    let report: ApplyReport | undefined;
    let applied: ConfigAck['applied'];
    if (ovsConfig) {
      this.ovs ??= new OvsBackend({ system: this.node.system });
      if (push.since) this.ovs.applied.set(this.nodeName, push.since as OvsNodeConfig);
      const a = await this.ovs.apply(this.nodeName, ovsConfig);
      if (a.ok) {
        report = a.value;
        applied = { handles: {}, stamp: ovsConfig.bridge };
      }
      r = a;
    } else if (push.kind === 'dataplane' && push.config) {
      if (push.since) this.backend.applied.set(this.nodeName, push.since as NftApplied);
      const a = await this.backend.apply(this.nodeName, push.config as NftNodeConfig);
      if (a.ok) {
        report = a.value;
        const now = this.backend.applied.get(this.nodeName);
        if (now) applied = { handles: now.handles, stamp: now.stamp };
      }
      r = a;
    } else if (push.kind === 'dataplane') {
      const ns = this.node.ns ?? null;
      r = await checkNft(this.node.system, ns, push.script!);
      if (r.ok) r = await applyNft(this.node.system, ns, push.script!);
    } else if (this.onConfig) {
      r = await this.onConfig(push);
    } else {
      return done({
        kind: push.kind,
        version: push.version,
        outcome: 'unsupported',
        errors: [`this agent applies dataplane pushes only, not ${push.kind}`],
      });
    }
    if (!r.ok) return done({ kind: push.kind, version: push.version, outcome: 'failed', errors: r.errors.map((e) => e.message) });
    this.applied.set(push.kind, push.version);
    return done({
      kind: push.kind,
      version: push.version,
      outcome: 'applied',
      ...(report ? { report } : {}),
      ...(applied ? { applied } : {}),
    });
  }

  /** Why this agent must not apply an Open vSwitch configuration to the bridge it names, if it must not. */
  private wrongBridge(config: OvsNodeConfig): string | undefined {
    const mine = this.opts.ovsBridge;
    if (mine === undefined) return `this agent was given no Open vSwitch bridge: it cannot apply flows for bridge ${config.bridge}`;
    if (config.bridge !== mine) return `the configuration is for bridge ${config.bridge}; this node's bridge is ${mine}`;
    return undefined;
  }
}
