/**
 * Configuration the controller pushes to a node: its data plane — as an nft script (checked,
 * then applied atomically: a rejected script leaves the rules in force) or as the rendered
 * tables (applied by the nft backend, which changes only the rules that differ, so the others
 * keep their counters) — or anything else the agent's owner handles (which monitors observe
 * what). Every push is acknowledged with its
 * version and outcome. Versions only move forward: a push older than what is applied is
 * acknowledged as stale, not applied.
 */
import { applyNft, checkNft, NftBackend, type ApplyReport, type NftApplied, type NftNodeConfig } from '../dataplane/index.js';
import { diag, fail, ok, type Result } from '../diagnostics/index.js';
import type { NodeAccess } from './netns.js';

export interface ConfigPush {
  /** Increasing numbers, or any string (then only a repeat of the applied one is skipped). */
  version: number | string;
  /** 'dataplane' is applied by the agent; other kinds go to the agent's owner. */
  kind: string;
  /** For 'dataplane': the node's whole nft script, or */
  script?: string;
  /** the node's rendered tables (the nft backend's configuration), */
  config?: NftNodeConfig;
  /**
   * with what the sender records as in force on the node: the change then goes in as a
   * difference from it (kept rules keep their counters), whatever this agent remembers (it may
   * have restarted, or the sender applied a change itself since).
   */
  since?: NftApplied;
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
  /** For rendered tables: what is in force now (rule handles, the tables' stamp), for the sender's record. */
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

export class ConfigApplier {
  private readonly applied = new Map<string, number | string>();
  /** Remembers what it applied last, so the next configuration goes in as a difference. */
  private readonly backend: NftBackend;

  constructor(
    private readonly node: NodeAccess,
    /** The node's name, as rendered configurations name it. */
    private readonly nodeName: string,
    private readonly onConfig?: (push: ConfigPush) => Promise<Result<string>>,
    private readonly now: () => number = Date.now,
  ) {
    this.backend = new NftBackend({ system: node.system, nsOf: () => node.ns ?? null });
  }

  appliedVersion(kind: string): number | string | undefined {
    return this.applied.get(kind);
  }

  async apply(msg: unknown): Promise<ConfigAck> {
    const t0 = this.now();
    const done = (a: Omit<ConfigAck, 'durationMs'>): ConfigAck => ({ ...a, durationMs: this.now() - t0 });
    const parsed = parseConfigPush(msg);
    if (!parsed.ok) {
      const m = msg as Record<string, unknown> | null;
      const version = m && (typeof m.version === 'number' || typeof m.version === 'string') ? m.version : null;
      return done({
        kind: typeof m?.kind === 'string' ? m.kind : 'unknown',
        version,
        outcome: 'rejected',
        errors: parsed.errors.map((e) => e.message),
      });
    }
    const push = parsed.value;
    const last = this.applied.get(push.kind);
    if (last !== undefined) {
      if (typeof last === 'number' && typeof push.version === 'number' && push.version < last)
        return done({ kind: push.kind, version: push.version, outcome: 'stale' });
      if (last === push.version) return done({ kind: push.kind, version: push.version, outcome: 'unchanged' });
    }
    let r: Result<unknown>;
    let report: ApplyReport | undefined;
    let applied: ConfigAck['applied'];
    if (push.kind === 'dataplane' && push.config) {
      if (push.since) this.backend.applied.set(this.nodeName, push.since);
      const a = await this.backend.apply(this.nodeName, push.config);
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
}
