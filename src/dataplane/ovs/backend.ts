/**
 * The Open vSwitch backend: each node is a bridge (userspace datapath) that flowtap owns whole.
 * Every change of flows is one OpenFlow bundle (`ovs-ofctl --bundle`): the switch takes all of
 * it or none of it, whether ovs-ofctl refuses a flow's text or the switch refuses a flow (a
 * meter it does not have). The first apply on a bridge replaces its flows
 * (`replace-flows`); later ones send only the flows that differ from the configuration applied
 * last (`add-flows` with `add` and `delete_strict` lines), so every other flow keeps its counter.
 * An incremental bundle the switch refuses (flows changed by hand) becomes a replacement.
 *
 * Meters and groups cannot join a bundle of flows: the new ones are added (and changed ones
 * modified) before the bundle, the unused ones deleted after it; if the bundle is refused, the
 * ones just added are deleted again. A meter the switch refuses fails the apply before any flow
 * changes.
 *
 * Before anything changes, apply checks that the bridge has every port the flows send to:
 * OpenFlow takes an output to a port that does not exist and drops silently, where nft refuses.
 *
 * Counters are read by cookie (flows.ts): one per rule, summed over its flows, named as nft
 * names the same rule; a rate restriction counts what its meter dropped. They are read after one
 * round of the switch's revalidators, which bring the datapath's counts into the flows.
 */
import { diag, fail, ok, type Result } from '../../diagnostics/index.js';
import type { System } from '../../system/index.js';
import type { ApplyOptions, ApplyReport, DataplaneBackend, Drift, NodeDesired, RuleCounter, RuleRef } from '../backend.js';
import { cookieOf, diffFlows, diffScript, flowText, ruleKey, type OvsObject } from './flows.js';
import { normCookie, parseFlowDump, parseIds, parseMeterStats, parsePortNumbers } from './read.js';
import { renderOvsNode, type OvsNodeConfig, type OvsRenderOptions } from './render.js';

export interface OvsBackendOptions extends OvsRenderOptions {
  system: System;
  /** What was applied last per node (kept up to date by apply). */
  applied?: Map<string, OvsNodeConfig>;
}

const OF = ['-O', 'OpenFlow15'];
const OF13 = ['-O', 'OpenFlow13'];

export class OvsBackend implements DataplaneBackend<OvsNodeConfig> {
  readonly name = 'openvswitch';
  readonly applied: Map<string, OvsNodeConfig>;

  constructor(private readonly opts: OvsBackendOptions) {
    this.applied = opts.applied ?? new Map();
  }

  render(desired: NodeDesired): Result<OvsNodeConfig> {
    return renderOvsNode(desired, this.opts);
  }

  private async ofctl(args: string[], input?: string): Promise<Result<string>> {
    const r = await this.opts.system.run(['ovs-ofctl', ...args], input !== undefined ? { input } : {});
    if (r.code !== 0)
      return fail(diag('E_OVS_REJECTED', `ovs-ofctl ${args.filter((a) => a !== '-').join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`));
    return ok(r.stdout);
  }

  /** ovs-ofctl parses every flow (offline), and the bridge has every port they send to. */
  async check(node: string, config: OvsNodeConfig, _opts: ApplyOptions = {}): Promise<Result<void>> {
    if (config.node !== node) return fail(wrongNode(node, config));
    const parsed = await this.ofctl([...OF, 'parse-flows', '-'], config.flows.map(flowText).join('\n') + '\n');
    if (!parsed.ok) return parsed;
    return this.checkPorts(config);
  }

  private async checkPorts(config: OvsNodeConfig): Promise<Result<void>> {
    const r = await this.opts.system.run(['ovs-ofctl', ...OF, 'dump-ports-desc', config.bridge]);
    if (r.code !== 0)
      return fail(
        diag('E_DATAPLANE_NODE', `node ${config.node}: bridge ${config.bridge} cannot be read: ${r.stderr.trim() || `exit ${r.code}`}`),
      );
    const have = new Set(parsePortNumbers(r.stdout));
    const missing = config.ports.filter((p) => !have.has(p));
    return missing.length
      ? fail(
          missing.map((p) =>
            diag('E_DATAPLANE_DEVICE', `node ${config.node} has no port ${p} on bridge ${config.bridge}: the configuration sends to it`),
          ),
        )
      : ok(undefined);
  }

  async apply(node: string, config: OvsNodeConfig, opts: ApplyOptions = {}): Promise<Result<ApplyReport>> {
    if (config.node !== node) return fail(wrongNode(node, config));
    const last = this.applied.get(node);
    const ports = await this.checkPorts(config);
    if (!ports.ok) return ports;
    if (!last || opts.repair || last.bridge !== config.bridge)
      return this.replace(
        config,
        !last ? 'nothing applied on this node yet' : opts.repair ? 'repair: the flows are replaced whole' : 'another bridge',
      );
    const d = diffFlows(last.flows, config.flows);
    const objectsSame = sameObjects(last.meters, config.meters) && sameObjects(last.groups, config.groups);
    if (!d.added.length && !d.changed.length && !d.removed.length && objectsSame)
      return ok({ kind: 'unchanged', rulesAdded: 0, rulesRemoved: 0 });
    const before = await this.putObjects(config, last);
    if (!before.ok) return before;
    const r = await this.ofctl([...OF, '--bundle', 'add-flows', config.bridge, '-'], diffScript(d));
    if (!r.ok) {
      await this.dropObjects(config, before.value);
      return this.replace(config, `the incremental bundle was refused (${r.errors.map((e) => e.message).join('; ')})`);
    }
    await this.removeUnused(config, last);
    this.applied.set(node, config);
    return ok({ kind: 'incremental', rulesAdded: d.added.length + d.changed.length, rulesRemoved: d.removed.length + d.changed.length });
  }

  /** Replaces every flow of the bridge in one bundle (the switch keeps the counters of flows it already has). */
  private async replace(config: OvsNodeConfig, reason: string): Promise<Result<ApplyReport>> {
    const existing = await this.existingObjects(config);
    if (!existing.ok) return existing;
    const added = await this.putObjects(config, existing.value);
    if (!added.ok) return added;
    // OpenFlow's default reads no transport port in any fragment; nft reads the first one's, and
    // so must the taps and rules here. The switch forgets it on restart, as it forgets the flows.
    const frags = await this.ofctl([...OF, 'set-frags', config.bridge, 'nx-match']);
    if (!frags.ok) {
      await this.dropObjects(config, added.value);
      return frags;
    }
    const r = await this.ofctl([...OF, '--bundle', 'replace-flows', config.bridge, '-'], config.flows.map(flowText).join('\n') + '\n');
    if (!r.ok) {
      await this.dropObjects(config, added.value);
      return r;
    }
    await this.removeUnused(config, existing.value);
    this.applied.set(config.node, config);
    return ok({ kind: 'full', rulesAdded: config.flows.length, rulesRemoved: 0, reason });
  }

  /** The meters and groups on the bridge now, by id (texts unknown: they are re-put). */
  private async existingObjects(config: OvsNodeConfig): Promise<Result<Pick<OvsNodeConfig, 'meters' | 'groups'>>> {
    const m = await this.ofctl([...OF13, 'dump-meters', config.bridge]);
    if (!m.ok) return m;
    const g = await this.ofctl([...OF, 'dump-groups', config.bridge]);
    if (!g.ok) return g;
    return ok({
      meters: parseIds(m.value, 'meter').map((id) => ({ id, text: '' })),
      groups: parseIds(g.value, 'group').map((id) => ({ id, text: '' })),
    });
  }

  /** Adds or modifies what the configuration needs and `have` lacks; returns the ids it added. */
  private async putObjects(
    config: OvsNodeConfig,
    have: Pick<OvsNodeConfig, 'meters' | 'groups'>,
  ): Promise<Result<{ meters: number[]; groups: number[] }>> {
    const added = { meters: [] as number[], groups: [] as number[] };
    for (const [kind, want, old] of [
      ['meter', config.meters, have.meters],
      ['group', config.groups, have.groups],
    ] as const) {
      const byId = new Map(old.map((o) => [o.id, o.text]));
      for (const o of want) {
        if (byId.get(o.id) === o.text) continue;
        const verb = byId.has(o.id) ? `mod-${kind}` : `add-${kind}`;
        const r = await this.ofctl([...(kind === 'meter' ? OF13 : OF), verb, config.bridge, o.text]);
        if (!r.ok) {
          await this.dropObjects(config, added);
          return r;
        }
        if (!byId.has(o.id)) added[kind === 'meter' ? 'meters' : 'groups'].push(o.id);
      }
    }
    return ok(added);
  }

  private async dropObjects(config: OvsNodeConfig, ids: { meters: number[]; groups: number[] }): Promise<void> {
    for (const id of ids.groups) await this.ofctl([...OF, 'del-groups', config.bridge, `group_id=${id}`]);
    for (const id of ids.meters) await this.ofctl([...OF13, 'del-meters', config.bridge, `meter=${id}`]);
  }

  /** Deletes the meters and groups of `before` the configuration no longer uses (after its flows are in). */
  private async removeUnused(config: OvsNodeConfig, before: Pick<OvsNodeConfig, 'meters' | 'groups'>): Promise<void> {
    const keep = (list: readonly OvsObject[]) => new Set(list.map((o) => o.id));
    const meters = keep(config.meters);
    const groups = keep(config.groups);
    await this.dropObjects(config, {
      meters: before.meters.filter((m) => !meters.has(m.id)).map((m) => m.id),
      groups: before.groups.filter((g) => !groups.has(g.id)).map((g) => g.id),
    });
  }

  /** Every rule's counter: its flows' counts summed by cookie; a rate restriction's, its meter's drops. */
  async counters(node: string): Promise<Result<RuleCounter[]>> {
    const config = this.applied.get(node);
    if (!config) return fail(diag('E_DATAPLANE_NOT_APPLIED', `nothing applied on node ${node} yet: no rule to name a counter by`));
    // The switch learns its flows' counts from the datapath's when its revalidators run (about
    // every 500 ms): wait for one round, or a packet just sent may not be counted yet. Where it
    // cannot wait (several datapaths), the counts are at most one round old.
    await this.opts.system.run(['ovs-appctl', 'revalidator/wait'], { timeoutMs: 5000 });
    const r = await this.ofctl([...OF, 'dump-flows', config.bridge]);
    if (!r.ok) return r;
    let dumped: ReturnType<typeof parseFlowDump>;
    try {
      dumped = parseFlowDump(r.value);
    } catch (e) {
      return fail(diag('E_OVS_READ', `ovs-ofctl dump-flows ${config.bridge}: ${(e as Error).message}`));
    }
    const byCookie = new Map<string, { packets: number; bytes: number }>();
    for (const f of dumped) {
      const c = byCookie.get(f.cookie) ?? { packets: 0, bytes: 0 };
      byCookie.set(f.cookie, { packets: c.packets + f.packets, bytes: c.bytes + f.bytes });
    }
    const out: RuleCounter[] = [];
    const seen = new Set<string>();
    const push = (rule: RuleRef, n: { packets: number; bytes: number }) =>
      out.push({ family: 'openflow', table: rule.table, chain: rule.chain, comment: rule.comment, packets: n.packets, bytes: n.bytes });
    for (const f of config.flows) {
      if (!f.rule || seen.has(ruleKey(f.rule))) continue;
      seen.add(ruleKey(f.rule));
      push(f.rule, byCookie.get(normCookie(cookieOf(f.rule))) ?? { packets: 0, bytes: 0 });
    }
    const metered = config.meters.filter((m) => m.rule);
    if (metered.length) {
      const s = await this.ofctl([...OF13, 'meter-stats', config.bridge]);
      if (!s.ok) return s;
      const stats = parseMeterStats(s.value);
      for (const m of metered) push(m.rule!, stats.get(m.id) ?? { packets: 0, bytes: 0 });
    }
    return ok(out);
  }

  /**
   * The flows in force against those applied last, by cookie, table and priority: a flow
   * deleted by hand is missing, one nobody applied extra; a flow changed by hand under the same
   * cookie, table and priority is not seen.
   */
  async drift(node: string): Promise<Result<Drift>> {
    const config = this.applied.get(node);
    if (!config) return ok({ node, inForce: false, missing: [], extra: [], reason: 'nothing applied on this node yet' });
    const r = await this.opts.system.run(['ovs-ofctl', ...OF, '--no-stats', 'dump-flows', config.bridge]);
    if (r.code !== 0)
      return ok({ node, inForce: false, missing: [], extra: [], reason: `bridge ${config.bridge} cannot be read: ${r.stderr.trim()}` });
    let dumped: ReturnType<typeof parseFlowDump>;
    try {
      dumped = parseFlowDump(r.stdout);
    } catch (e) {
      return fail(diag('E_OVS_READ', `ovs-ofctl dump-flows ${config.bridge}: ${(e as Error).message}`));
    }
    const key = (cookie: string, table: number, priority: number) => `${cookie}|${table}|${priority}`;
    const inForce = new Map<string, number>();
    for (const f of dumped) inForce.set(key(f.cookie, f.table, f.priority), (inForce.get(key(f.cookie, f.table, f.priority)) ?? 0) + 1);
    const missing: RuleRef[] = [];
    for (const f of config.flows) {
      const k = key(normCookie(cookieOf(f.rule)), f.table, f.priority);
      const n = inForce.get(k) ?? 0;
      if (n > 0) inForce.set(k, n - 1);
      else missing.push(f.rule ?? { table: 'pipeline', chain: `table ${f.table}`, comment: f.match || 'any' });
    }
    const names = new Map(config.flows.filter((f) => f.rule).map((f) => [normCookie(cookieOf(f.rule)), f.rule!]));
    const extra: RuleRef[] = [];
    for (const [k, n] of inForce) {
      const [cookie, table] = k.split('|');
      for (let i = 0; i < n; i++)
        extra.push(names.get(cookie) ?? { table: 'unknown', chain: `table ${table}`, comment: `cookie ${cookie}` });
    }
    return ok({ node, inForce: !missing.length && !extra.length, missing, extra });
  }
}

function sameObjects(a: readonly OvsObject[], b: readonly OvsObject[]): boolean {
  return a.length === b.length && a.every((o, i) => o.id === b[i].id && o.text === b[i].text);
}

function wrongNode(node: string, config: OvsNodeConfig) {
  return diag('E_DATAPLANE_WRONG_NODE', `a configuration rendered for node ${config.node} cannot be applied to node ${node}`);
}
