/**
 * The Open vSwitch backend: each node is a bridge (userspace datapath) that flowtap owns whole.
 * Every change of flows is one OpenFlow bundle: the switch takes all of it or none of it,
 * whether ovs-ofctl refuses a flow's text or the switch refuses a flow (a meter it does not
 * have).
 *
 * When the backend knows what is installed (what it applied last on the node, `applied`), it
 * sends only what differs (update.ts): one `ovs-ofctl bundle` of flow deletions, strict
 * modifications and additions, with the group changes, so every other flow keeps its counter
 * and a quarantine costs a few flows, not the bridge. When it does not know (nothing applied
 * by this process or handed back in `applied`, another bridge, `repair`, drift seen by `drift`,
 * or a bridge whose flow count is not the count applied: restarted, edited by hand), it
 * replaces every flow (`replace-flows`, which also keeps the counters of flows already there).
 * An incremental bundle the switch refuses becomes a replacement (which fails the same way if
 * a flow itself is bad: then nothing changed).
 *
 * The count check (`dump-aggregate`, one reply) is what makes a strict modification safe: on a
 * flow that is not there it does nothing, silently. It does not see a flow changed by hand
 * under the same count; `drift` and `repair` are for that.
 *
 * Meters cannot join a bundle: the new ones are added (and changed ones modified) before it,
 * the unused ones deleted after it; if it is refused, those added are deleted again and those
 * modified put back. A meter the switch refuses fails the apply before any flow changes.
 *
 * Before anything changes, apply checks that the bridge has every port the flows send to:
 * OpenFlow takes an output to a port that does not exist and drops silently, where nft refuses.
 * An incremental change checks only the ports the configuration applied last did not send to
 * (reading a bridge's ports costs about as much as the change itself).
 *
 * Counters are read by cookie (flows.ts): one per rule, summed over its flows, named as nft
 * names the same rule; a rate restriction counts what its meter dropped. They are read after one
 * round of the switch's revalidators, which bring the datapath's counts into the flows.
 *
 * Per-packet sampling has no OpenFlow form (no random choice per packet; the `sample` action
 * feeds IPFIX/sFlow collectors, not a monitor port): taps.ts refuses it and says to sample by flow.
 */
import { diag, fail, ok, type Result } from '../../diagnostics/index.js';
import type { System } from '../../system/index.js';
import type { ApplyOptions, ApplyReport, DataplaneBackend, Drift, NodeDesired, RuleCounter, RuleRef } from '../backend.js';
import { cookieOf, flowText, ruleKey, type OvsFlow, type OvsObject } from './flows.js';
import { normCookie, parseFlowCount, parseFlowDump, parseIds, parseMeterStats, parsePortNumbers } from './read.js';
import { renderOvsNode, type OvsNodeConfig, type OvsRenderOptions } from './render.js';
import { planOvsUpdate, type ObjectPlan, type OvsUpdatePlan } from './update.js';

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
  /** The plan `check` made, for the `apply` of the same configuration that follows it. */
  private planned?: { node: string; config: OvsNodeConfig; last: OvsNodeConfig | undefined; plan: OvsUpdatePlan };
  /** Nodes whose flows `drift` found not to be what was applied, and why: their next apply replaces. */
  private readonly drifted = new Map<string, string>();

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

  /**
   * ovs-ofctl parses the flows apply would send (offline), and the bridge has the ports they
   * send to. An incremental change sends only the flows that differ and checks only the ports
   * the flows applied last did not send to: the rest were checked when they were applied.
   */
  async check(node: string, config: OvsNodeConfig, opts: ApplyOptions = {}): Promise<Result<void>> {
    if (config.node !== node) return fail(wrongNode(node, config));
    const last = this.applied.get(node);
    const plan = this.whole(node, opts) === undefined ? this.plan(node, config, last) : undefined;
    const flows: readonly OvsFlow[] = !plan || plan.kind === 'full' ? config.flows : plan.kind === 'incremental' ? plan.sent : [];
    if (flows.length) {
      const parsed = await this.ofctl([...OF, 'parse-flows', '-'], flows.map(flowText).join('\n') + '\n');
      if (!parsed.ok) return parsed;
    }
    return this.checkPorts(config, !plan || plan.kind === 'full' ? config.ports : newPorts(config, last!));
  }

  /** Whether the node has this configuration in force already, as far as this backend knows (what it applied last, no drift seen). */
  unchanged(node: string, config: OvsNodeConfig): boolean {
    const last = this.applied.get(node);
    return last !== undefined && !this.drifted.has(node) && planOvsUpdate(last, config).kind === 'unchanged';
  }

  /** Why the node's flows must be replaced whole whatever differs (repair, drift seen), if they must. */
  private whole(node: string, opts: ApplyOptions): string | undefined {
    if (opts.repair) return 'repair: the flows are replaced whole';
    const drifted = this.drifted.get(node);
    return drifted === undefined ? undefined : `drift: ${drifted}`;
  }

  /** The plan from `last` to `config`; check then apply with the same configuration plan once. */
  private plan(node: string, config: OvsNodeConfig, last: OvsNodeConfig | undefined): OvsUpdatePlan {
    const p = this.planned;
    if (p && p.node === node && p.config === config && p.last === last) return p.plan;
    const plan = planOvsUpdate(last, config);
    this.planned = { node, config, last, plan };
    return plan;
  }

  private async checkPorts(config: OvsNodeConfig, wanted: readonly number[]): Promise<Result<void>> {
    if (!wanted.length) return ok(undefined);
    const r = await this.opts.system.run(['ovs-ofctl', ...OF, 'dump-ports-desc', config.bridge]);
    if (r.code !== 0)
      return fail(
        diag('E_DATAPLANE_NODE', `node ${config.node}: bridge ${config.bridge} cannot be read: ${r.stderr.trim() || `exit ${r.code}`}`),
      );
    const have = new Set(parsePortNumbers(r.stdout));
    const missing = wanted.filter((p) => !have.has(p));
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
    const whole = this.whole(node, opts);
    const plan = whole === undefined ? this.plan(node, config, last) : { kind: 'full' as const, reason: whole };
    this.planned = undefined;
    if (plan.kind === 'full') return this.replace(config, plan.reason);
    if (plan.kind === 'unchanged') return ok({ kind: 'unchanged', rulesAdded: 0, rulesRemoved: 0 });
    const [ports, count] = await Promise.all([this.checkPorts(config, newPorts(config, last!)), this.flowCount(config.bridge)]);
    if (!ports.ok) return ports;
    if (count !== last!.flows.length)
      return this.replace(
        config,
        count === undefined
          ? `the flows of bridge ${config.bridge} cannot be counted`
          : `drift: bridge ${config.bridge} has ${count} flows, ${last!.flows.length} were applied`,
      );
    const meters = await this.putMeters(config.bridge, plan.meters);
    if (!meters.ok) return meters;
    if (plan.bundle) {
      const r = await this.ofctl([...OF, 'bundle', config.bridge, '-'], plan.bundle);
      if (!r.ok) {
        await this.undoMeters(config.bridge, plan.meters);
        return this.replace(config, `the incremental bundle was refused (${r.errors.map((e) => e.message).join('; ')})`);
      }
    }
    for (const id of plan.meters.remove) await this.ofctl([...OF13, 'del-meters', config.bridge, `meter=${id}`]);
    this.applied.set(node, config);
    // A strict modification replaces a flow's actions: one rule out, one in, as nft would count it.
    return ok({ kind: 'incremental', rulesAdded: plan.added + plan.modified, rulesRemoved: plan.removed + plan.modified });
  }

  /** The number of flows on the bridge (one aggregate reply), or undefined if it cannot be read. */
  private async flowCount(bridge: string): Promise<number | undefined> {
    const r = await this.ofctl([...OF, 'dump-aggregate', bridge]);
    return r.ok ? parseFlowCount(r.value) : undefined;
  }

  /** Adds and modifies the meters of an incremental change; on a refusal undoes what it did and fails. */
  private async putMeters(bridge: string, plan: ObjectPlan): Promise<Result<void>> {
    const done: ObjectPlan = { add: [], modify: [], remove: [] };
    for (const [verb, o, from] of [
      ...plan.add.map((m) => ['add-meter', m, undefined] as const),
      ...plan.modify.map((m) => ['mod-meter', m.to, m.from] as const),
    ]) {
      const r = await this.ofctl([...OF13, verb, bridge, o.text]);
      if (!r.ok) {
        await this.undoMeters(bridge, done);
        return r;
      }
      if (from) done.modify.push({ from, to: o });
      else done.add.push(o);
    }
    return ok(undefined);
  }

  private async undoMeters(bridge: string, done: ObjectPlan): Promise<void> {
    for (const m of done.modify) await this.ofctl([...OF13, 'mod-meter', bridge, m.from.text]);
    for (const m of done.add) await this.ofctl([...OF13, 'del-meters', bridge, `meter=${m.id}`]);
  }

  /**
   * Replaces every flow of the bridge in one bundle (the switch keeps the counters of flows it
   * already has), once the bridge is seen to have every port they send to.
   */
  private async replace(config: OvsNodeConfig, reason: string): Promise<Result<ApplyReport>> {
    const ports = await this.checkPorts(config, config.ports);
    if (!ports.ok) return ports;
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
    this.drifted.delete(config.node);
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
    if (r.code !== 0) {
      const reason = `bridge ${config.bridge} cannot be read: ${r.stderr.trim()}`;
      this.drifted.set(node, reason);
      return ok({ node, inForce: false, missing: [], extra: [], reason });
    }
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
    const same = !missing.length && !extra.length;
    if (!same) this.drifted.set(node, `${missing.length} flows missing and ${extra.length} extra on bridge ${config.bridge}`);
    return ok({ node, inForce: same, missing, extra });
  }
}

/** The ports `config` sends to that the configuration applied last did not. */
function newPorts(config: OvsNodeConfig, last: OvsNodeConfig): number[] {
  const had = new Set(last.ports);
  return config.ports.filter((p) => !had.has(p));
}

function wrongNode(node: string, config: OvsNodeConfig) {
  return diag('E_DATAPLANE_WRONG_NODE', `a configuration rendered for node ${config.node} cannot be applied to node ${node}`);
}
