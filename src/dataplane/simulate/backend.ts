/**
 * The simulator as a data-plane backend: in memory, one applied configuration per node. A
 * configuration is the node's nftables tables (the very rules the nftables backend would put
 * in force, which name the counters) and the compiled simulation of the deployment, which
 * classifies packets with the same semantics. `inject` walks a packet through the nodes, each
 * with the configuration applied on it, and adds to the counter of every rule that the kernel
 * would have counted it on: a firewall step, a tap that copied, diverted or dropped it (or was
 * over budget for it), a return chain that took it back from a monitor.
 *
 * Apply follows the nftables backend exactly: the same plan (nft/update.ts) decides which rules
 * are kept, and kept rules keep their counters. A configuration that needs a device the node
 * does not have (when `devices` says which ones it has) is refused, as nft refuses it, and the
 * previous one stays in force.
 *
 * Byte counts are what nft counts: the IP packet at netdev ingress and in the inet hooks, the
 * Ethernet frame (14 bytes more) at netdev egress.
 */
import { diag, fail, ok, type Result } from '../../diagnostics/index.js';
import { ETH_TYPE_IP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, type PacketSpec } from '../../flowtap/index.js';
import type { ApplyOptions, ApplyReport, DataplaneBackend, Drift, NodeDesired, RuleCounter } from '../backend.js';
import {
  configDevices,
  FIREWALL_TABLE,
  planUpdate,
  renderNodeConfig,
  RETURNED_SKIP_RULE,
  returnChainName,
  returnComment,
  rule as nftRule,
  tapComment,
  tapDropComment,
  TAPS_TABLE,
  type NftTable,
  type UpdatePlan,
} from '../nft/index.js';
import { compileSimulation } from './compile.js';
import { runProbe } from './engine.js';
import type { Simulation } from './model.js';
import type { SimFirewallTrace, SimOptions, SimProbe, SimTrace } from './types.js';

export interface SimNodeConfig {
  node: string;
  tables: NftTable[];
  simulation: Simulation;
  /** Devices the configuration needs on the node (configDevices). */
  devices: string[];
}

export interface SimulatorOptions {
  /** The devices each node has (what the orchestrator plugged); undefined: every device a configuration names. */
  devices?: (node: string) => Iterable<string> | undefined;
}

export interface InjectOptions extends SimOptions {
  /** The packet's IP total length in bytes (what nft counts); default the bare IP and transport headers. */
  length?: number;
}

interface Count {
  packets: number;
  bytes: number;
}

interface Applied {
  config: SimNodeConfig;
  /** Rate restriction id -> new connections it still lets through (see `overRate`). */
  tokens: Map<string, number>;
  /** By `table chain`: one count per rule of the chain, counted or not. */
  counts: Map<string, Count[]>;
  /** table -> chain -> comment -> the counted rules with that comment, and their counts. */
  index: Map<string, Map<string, Map<string, Slot[]>>>;
  /** table -> chain -> the chains its rules jump to (a budgeted tap's own chain holds its counters). */
  jumps: Map<string, Map<string, string[]>>;
}

const chainKey = (table: string, chain: string) => `${table}\u0000${chain}`;

interface Slot {
  text: string;
  count: Count;
}
/** The rule a passed-back frame meets first in an egress tap chain (its comment). */
const RETURNED_SKIP_COMMENT = nftRule(RETURNED_SKIP_RULE).comment;
const ETH_HEADER = 14;

export class SimulatorBackend implements DataplaneBackend<SimNodeConfig> {
  readonly name = 'simulator';
  private readonly applied = new Map<string, Applied>();
  private memo?: { same: unknown[]; rest: string; sim: Result<Simulation> };

  constructor(private readonly opts: SimulatorOptions = {}) {}

  render(d: NodeDesired): Result<SimNodeConfig> {
    const tables = renderNodeConfig(d);
    const sim = this.simulation(d);
    if (!tables.ok) return tables;
    if (!sim.ok) return sim;
    return ok({ node: d.node, tables: tables.value.tables, simulation: sim.value, devices: configDevices(tables.value.tables) });
  }

  async check(node: string, config: SimNodeConfig): Promise<Result<void>> {
    if (config.node !== node)
      return fail(diag('E_DATAPLANE_WRONG_NODE', `the configuration was rendered for node ${config.node}, not ${node}`));
    const has = this.opts.devices?.(node);
    if (has === undefined) return ok(undefined);
    const present = new Set(has);
    const missing = config.devices.filter((d) => !present.has(d));
    return missing.length
      ? fail(
          missing.map((d) => diag('E_DATAPLANE_DEVICE', `node ${node} has no device ${JSON.stringify(d)}: the configuration sends to it`)),
        )
      : ok(undefined);
  }

  async apply(node: string, config: SimNodeConfig, opts: ApplyOptions = {}): Promise<Result<ApplyReport>> {
    const checked = await this.check(node, config);
    if (!checked.ok) return checked;
    // A repair replaces everything, as nft's does: no rule, counter or bucket carries over.
    const last = opts.repair ? undefined : this.applied.get(node);
    const plan: UpdatePlan = opts.repair
      ? { kind: 'full', reason: 'repair: the tables are replaced whole' }
      : planUpdate(last?.config.tables, config.tables);
    const counts = carryCounts(last, config.tables, plan);
    this.applied.set(node, {
      config,
      tokens: carryTokens(last, config),
      counts,
      index: indexRules(config.tables, counts),
      jumps: indexJumps(config.tables),
    });
    return ok(report(plan, config.tables));
  }

  /**
   * Nothing but this backend changes what it applied (there is no hand to edit it), so what is
   * in force is what was applied: in force once anything was, with nothing missing or extra.
   */
  async drift(node: string): Promise<Result<Drift>> {
    return ok(
      this.applied.has(node)
        ? { node, inForce: true, missing: [], extra: [] }
        : { node, inForce: false, missing: [], extra: [], reason: 'nothing applied on this node yet' },
    );
  }

  async counters(node: string): Promise<Result<RuleCounter[]>> {
    const a = this.applied.get(node);
    if (!a) return fail(diag('E_DATAPLANE_NOT_APPLIED', `nothing is applied on node ${node}`));
    const out: RuleCounter[] = [];
    for (const t of a.config.tables)
      for (const c of t.chains) {
        const counts = a.counts.get(chainKey(t.name, c.name))!;
        c.rules.forEach((r, i) => {
          if (r.counted)
            out.push({
              family: t.family,
              table: t.name,
              chain: c.name,
              comment: r.comment,
              packets: counts[i].packets,
              bytes: counts[i].bytes,
            });
        });
      }
    return ok(out);
  }

  /**
   * The deployment's compiled simulation: the same for every node of one desired state, so the
   * last one is kept for the next node's render (compiling is the expensive part).
   */
  private simulation(d: NodeDesired): Result<Simulation> {
    const same = [d.app, d.context.addressing, d.ruleset, d.contracts];
    const rest = JSON.stringify([d.context.status, d.mode, d.downMonitors ?? [], d.inline ?? true, d.context.restrictions ?? []]);
    const m = this.memo;
    if (m && m.rest === rest && m.same.every((x, i) => x === same[i])) return m.sim;
    const sim = compileSimulation({
      app: d.app,
      addressing: d.context.addressing,
      ruleset: d.ruleset,
      contracts: d.contracts,
      status: d.context.status,
      mode: d.mode,
      downMonitors: d.downMonitors,
      inline: d.inline ?? true,
      restrictions: d.context.restrictions ?? [],
    });
    this.memo = { same, rest, sim };
    return sim;
  }

  /** The configuration in force on a node, if any. */
  configOf(node: string): SimNodeConfig | undefined {
    return this.applied.get(node)?.config;
  }

  /**
   * Walks one packet through the nodes as their applied configurations would, counts it on
   * every rule that would count it, and returns its trace.
   */
  inject(probe: SimProbe, opts: InjectOptions = {}): Result<SimTrace> {
    const entry = this.entrySimulation(probe);
    if (!entry.ok) return entry;
    const trace = runProbe(
      entry.value,
      probe,
      opts,
      (n) => this.applied.get(n)?.config.simulation,
      (n, id) => this.overRate(n, id),
    );
    if (trace.ok) this.count(trace.value, opts.length ?? defaultLength(probe.packet));
    return trace;
  }

  /**
   * The simulator has no clock, so time stands still: each rate restriction's bucket starts
   * with `burst` new connections on the node (as nft's limit starts with its burst) and is
   * never refilled, so the first `burst` new connections pass and every later one is dropped:
   * what nft does to connections that come faster than the rate refills the bucket. A bucket
   * lasts as long as its restriction stays the same on the node (nft keeps a kept rule's state).
   */
  private overRate(node: string, id: string): boolean {
    const tokens = this.applied.get(node)?.tokens;
    const left = tokens?.get(id);
    if (tokens === undefined || left === undefined) return false;
    if (left <= 0) return true;
    tokens.set(id, left - 1);
    return false;
  }

  private entrySimulation(probe: SimProbe): Result<Simulation> {
    const from = probe.from;
    const any = this.applied.values().next().value;
    if (!any) return fail(diag('E_DATAPLANE_NOT_APPLIED', 'nothing is applied on any node'));
    let node: string | undefined;
    if (from.kind === 'instance') {
      for (const a of this.applied.values()) {
        node = a.config.simulation.instances.get(from.instance)?.node.name;
        if (node !== undefined) break;
      }
      // An instance no configuration knows: the engine says so.
      if (node === undefined) return ok(any.config.simulation);
    } else node = from.node;
    if (node === undefined) return ok(any.config.simulation);
    const at = this.applied.get(node);
    if (!at) return fail(diag('E_DATAPLANE_NOT_APPLIED', `nothing is applied on node ${node}, where the packet enters`));
    return ok(at.config.simulation);
  }

  private count(t: SimTrace, length: number): void {
    for (const hop of t.hops) {
      const a = this.applied.get(hop.node);
      if (!a) continue;
      const add = (table: string, chain: string, comment: string, bytes: number, pick?: (c: string) => boolean) => {
        const chains = a.index.get(table);
        // A budgeted tap counts in the chain its port chain jumps to.
        const list = [chain, ...(a.jumps.get(table)?.get(chain) ?? [])].map((x) => chains?.get(x)?.get(comment)).find((x) => x);
        if (!list) return;
        const c = (list.length > 1 && pick && list.find((x) => pick(x.text))) || list[0];
        c.count.packets++;
        c.count.bytes += bytes;
      };
      if (hop.passedBack) {
        const d = t.diversions.find((v) => v.contract === hop.passedBack!.contract && v.result === 'passed' && v.returnPort === hop.iif);
        if (d) add(TAPS_TABLE, returnChainName(hop.iif), returnComment(d.monitor, d.hook === 'egress' ? 'delivered' : 'sent'), length);
      }
      for (const [tap, bytes] of [
        [hop.ingressTap, length],
        [hop.egressTap, length + ETH_HEADER],
      ] as const) {
        if (!tap) continue;
        if (tap.passedBack) add(TAPS_TABLE, tap.chain, RETURNED_SKIP_COMMENT, bytes);
        for (const m of tap.matches) {
          // nft counts what is over a budget (and passes it on untouched); other skips match no rule.
          if (m.effect === 'skip') {
            if (m.why === 'over budget') add(TAPS_TABLE, tap.chain, tapDropComment(m.contract, 'over-budget'), bytes);
          } else
            add(TAPS_TABLE, tap.chain, m.effect === 'drop' ? tapDropComment(m.contract, 'monitor-down') : tapComment(m.contract), bytes);
        }
      }
      const fw = hop.firewall;
      if (fw) for (const s of fw.steps) add(FIREWALL_TABLE, s.chain, s.comment, length, byInterface(fw));
    }
  }
}

export function simulatorBackend(opts?: SimulatorOptions): SimulatorBackend {
  return new SimulatorBackend(opts);
}

/** Of two rules with one comment (quarantine by input and by output port), the one that matched this packet. */
function byInterface(fw: SimFirewallTrace): (text: string) => boolean {
  return (text) =>
    text.startsWith('iifname')
      ? text.includes(`"${fw.iif}"`)
      : text.startsWith('oifname')
        ? fw.oif !== undefined && text.includes(`"${fw.oif}"`)
        : false;
}

function defaultLength(p: PacketSpec): number {
  if (p.dl_type !== ETH_TYPE_IP) return 0;
  return 20 + (p.nw_proto === IPPROTO_TCP ? 20 : p.nw_proto === IPPROTO_UDP || p.nw_proto === IPPROTO_ICMP ? 8 : 0);
}

function indexRules(tables: readonly NftTable[], counts: Map<string, Count[]>): Applied['index'] {
  const index: Applied['index'] = new Map();
  for (const t of tables) {
    const chains = new Map<string, Map<string, Slot[]>>();
    index.set(t.name, chains);
    for (const c of t.chains) {
      const byComment = new Map<string, Slot[]>();
      chains.set(c.name, byComment);
      const chainCounts = counts.get(chainKey(t.name, c.name))!;
      c.rules.forEach((r, i) => {
        if (!r.counted) return;
        let list = byComment.get(r.comment);
        if (!list) {
          list = [];
          byComment.set(r.comment, list);
        }
        list.push({ text: r.text, count: chainCounts[i] });
      });
    }
  }
  return index;
}

function indexJumps(tables: readonly NftTable[]): Applied['jumps'] {
  const out: Applied['jumps'] = new Map();
  for (const t of tables)
    out.set(
      t.name,
      new Map(t.chains.map((c) => [c.name, c.rules.flatMap((r) => [...r.text.matchAll(/\bjump ([A-Za-z0-9_]+)/g)].map((m) => m[1]))])),
    );
  return out;
}

/** Buckets of the restrictions that stay the same carry over; new or changed ones start full. */
function carryTokens(last: Applied | undefined, config: SimNodeConfig): Map<string, number> {
  const out = new Map<string, number>();
  const before = new Map((last?.config.simulation.restrictions ?? []).map((r) => [r.id, r]));
  for (const r of config.simulation.restrictions) {
    if (!r.rate) continue;
    const was = before.get(r.id);
    const same = was !== undefined && JSON.stringify(was) === JSON.stringify(r);
    out.set(r.id, same ? (last!.tokens.get(r.id) ?? r.rate.burst) : r.rate.burst);
  }
  return out;
}

/** The new configuration's counts: kept rules keep theirs (as nft keeps them), the rest start at zero. */
function carryCounts(last: Applied | undefined, tables: readonly NftTable[], plan: UpdatePlan): Map<string, Count[]> {
  const counts = new Map<string, Count[]>();
  const kept = new Map<string, number[]>();
  if (plan.kind === 'incremental') for (const tp of plan.tables) for (const cp of tp.chains) kept.set(chainKey(tp.name, cp.name), cp.kept);
  for (const t of tables)
    for (const c of t.chains) {
      const key = chainKey(t.name, c.name);
      const before = last?.counts.get(key);
      const map = plan.kind === 'unchanged' ? c.rules.map((_, i) => i) : kept.get(key);
      counts.set(
        key,
        c.rules.map((_, i) => {
          const j = map?.[i] ?? -1;
          return j >= 0 && before ? { ...before[j] } : { packets: 0, bytes: 0 };
        }),
      );
    }
  return counts;
}

function report(plan: UpdatePlan, tables: readonly NftTable[]): ApplyReport {
  if (plan.kind === 'unchanged') return { kind: 'unchanged', rulesAdded: 0, rulesRemoved: 0 };
  if (plan.kind === 'incremental') return { kind: 'incremental', rulesAdded: plan.rulesAdded, rulesRemoved: plan.rulesRemoved };
  const rules = tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0), 0);
  return { kind: 'full', rulesAdded: rules, rulesRemoved: 0, reason: plan.reason };
}
