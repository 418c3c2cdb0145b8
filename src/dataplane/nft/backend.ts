/**
 * The nftables backend: each node is a network namespace (given by `nsOf`) whose tables flowtap
 * owns. Apply is one `nft -f` transaction, so all of it takes effect or none of it. The first
 * apply on a node replaces the tables whole; later ones change only the rules that differ from
 * the configuration applied last (update.ts), so the kept rules keep their counters.
 *
 * The cost of an update follows the change, not the ruleset, as long as nft need not read the
 * ruleset back: anything that makes it do so (echoing what it added, `position`, listing) costs
 * a fetch and parse of the whole table. So an incremental update adds new rules at the top or
 * the bottom of their chain where it can (`insert`, `add`), uses `position` only in the middle,
 * and does not ask for the handles of what it added: those are read back (one listing) only
 * when a later update needs them, to delete such a rule or to add next to it. A full
 * replacement costs a whole ruleset anyway and learns every handle from nft's echo (`-e -a`).
 *
 * Handles are only good for the tables they were read from: every incremental transaction first
 * touches a stamp the last full replacement left in each table (NftApplied.stamp), so nft
 * refuses it if the tables were replaced by anyone since. If an incremental transaction is
 * refused (that, or a rule deleted by hand), the tables are replaced whole instead, and the
 * report says why. What was applied last is plain JSON
 * (`NftApplied`): a caller that outlives this object (a restarted controller) can keep it and
 * hand it back in `applied`.
 */
import { randomBytes } from 'node:crypto';
import { diag, fail, ok, type Result } from '../../diagnostics/index.js';
import type { System } from '../../system/index.js';
import type { ApplyReport, DataplaneBackend, NodeDesired, RuleCounter } from '../backend.js';
import { applyNft, applyNftEcho, checkNft, echoedRules, jsonRules, readCounters, type EchoedRule, type NftJsonRule } from './apply.js';
import { fullScript, NODE_TABLES, renderNodeConfig, type NftNodeConfig } from './node.js';
import { planUpdate, type UpdatePlan } from './update.js';

/** Rule handles by chain (`family table chain`), in rule order; -1 where not known yet. */
export type NftHandles = Record<string, number[]>;

export interface NftApplied {
  config: NftNodeConfig;
  handles: NftHandles;
  /**
   * An empty chain this backend put in each table when it last replaced them whole. Every
   * incremental transaction flushes it first, so nft refuses the transaction when the tables
   * were replaced since (by `flowtap up`, by hand): the handles kept here would name other
   * rules of the new tables. (Flushing an empty chain by name is the cheapest such check: it
   * makes nft read nothing back.)
   */
  stamp: string;
}

export interface NftBackendOptions {
  system: System;
  /** The node's network namespace; null = the caller's own. */
  nsOf: (node: string) => string | null;
  /** What was applied last per node (kept up to date by apply). */
  applied?: Map<string, NftApplied>;
}

const chainKey = (family: string, table: string, chain: string) => `${family} ${table} ${chain}`;
const UNKNOWN = -1;

/** Where each rule a script adds ends up in the new configuration, in the script's order. */
interface Addition {
  key: string;
  index: number;
}

interface Transaction {
  script: string;
  stamp: string;
  /** Set for a full replacement: its echo gives the handles of these. */
  additions?: Addition[];
  /** Handles of the new configuration, UNKNOWN where a rule is added by this script. */
  handles: NftHandles;
  report: ApplyReport;
}

export class NftBackend implements DataplaneBackend<NftNodeConfig> {
  readonly name = 'nftables';
  readonly applied: Map<string, NftApplied>;

  constructor(private readonly opts: NftBackendOptions) {
    this.applied = opts.applied ?? new Map();
  }

  render(desired: NodeDesired): Result<NftNodeConfig> {
    return renderNodeConfig(desired);
  }

  async check(node: string, config: NftNodeConfig): Promise<Result<void>> {
    if (config.node !== node) return fail(wrongNode(node, config));
    const tx = await this.transaction(node, config);
    if (tx.report.kind === 'unchanged') return ok(undefined);
    const r = await checkNft(this.opts.system, this.opts.nsOf(node), tx.script);
    if (r.ok || tx.report.kind === 'full') return r;
    // As apply would: what the incremental script cannot do, the full replacement may.
    return checkNft(this.opts.system, this.opts.nsOf(node), fullScript(config));
  }

  async apply(node: string, config: NftNodeConfig): Promise<Result<ApplyReport>> {
    if (config.node !== node) return fail(wrongNode(node, config));
    const tx = await this.transaction(node, config);
    if (tx.report.kind === 'unchanged') return ok(tx.report);
    const ns = this.opts.nsOf(node);
    if (tx.report.kind === 'incremental') {
      const r = await applyNft(this.opts.system, ns, tx.script);
      if (r.ok) {
        this.applied.set(node, { config, handles: tx.handles, stamp: tx.stamp });
        return ok(tx.report);
      }
      return this.replace(node, config, `the incremental update was refused (${r.errors.map((e) => e.message).join('; ')})`);
    }
    return this.replace(node, config, tx.report.reason ?? '');
  }

  async counters(node: string): Promise<Result<RuleCounter[]>> {
    const ns = this.opts.nsOf(node);
    const tables = this.applied.get(node)?.config.tables ?? NODE_TABLES;
    const out: RuleCounter[] = [];
    for (const t of tables) {
      const r = await readCounters(this.opts.system, ns, { family: t.family, name: t.name });
      if (!r.ok) return r;
      out.push(...r.value);
    }
    return ok(out);
  }

  private async replace(node: string, config: NftNodeConfig, reason: string): Promise<Result<ApplyReport>> {
    const tx = fullTransaction(config, reason);
    const r = await applyNftEcho(this.opts.system, this.opts.nsOf(node), tx.script);
    if (!r.ok) return r;
    // Handles the echo does not give stay unknown: a later update reads them back if it needs them.
    this.applied.set(node, { config, handles: assignHandles(tx, echoedRules(r.value)), stamp: tx.stamp });
    return ok(tx.report);
  }

  private async transaction(node: string, config: NftNodeConfig): Promise<Transaction> {
    const last = this.applied.get(node);
    const plan = planUpdate(last?.config.tables, config.tables);
    if (plan.kind === 'full') return fullTransaction(config, plan.reason);
    if (plan.kind === 'unchanged')
      return { script: '', stamp: last!.stamp, handles: last!.handles, report: { kind: 'unchanged', rulesAdded: 0, rulesRemoved: 0 } };
    const tx = incrementalTransaction(last!, config, plan);
    if (tx) return tx;
    // The update deletes or adds next to rules whose handles were never read: read them now.
    const listed = await this.listHandles(this.opts.nsOf(node), last!.config);
    if (!listed) return fullTransaction(config, 'the rules in force do not list back as they were applied');
    const known = { ...last!, handles: listed };
    this.applied.set(node, known);
    return incrementalTransaction(known, config, plan) ?? fullTransaction(config, 'internal: handles missing after a listing');
  }

  /** Every rule's handle, by chain in order; null when the tables in force are not the ones applied. */
  private async listHandles(ns: string | null, config: NftNodeConfig): Promise<NftHandles | null> {
    const handles: NftHandles = {};
    for (const t of config.tables) {
      const r = await this.opts.system.run(['nft', '-j', 'list', 'table', t.family, t.name], ns ? { ns } : {});
      if (r.code !== 0) return null;
      let listed: NftJsonRule[];
      try {
        listed = jsonRules(r.stdout);
      } catch {
        return null;
      }
      for (const c of t.chains) {
        const got = listed.filter((x) => x.chain === c.name);
        if (got.length !== c.rules.length || got.some((x, i) => (x.comment ?? '') !== c.rules[i].comment)) return null;
        handles[chainKey(t.family, t.name, c.name)] = got.map((x) => x.handle);
      }
    }
    return handles;
  }
}

export function nftBackend(opts: NftBackendOptions): NftBackend {
  return new NftBackend(opts);
}

function wrongNode(node: string, config: NftNodeConfig) {
  return diag('E_DATAPLANE_WRONG_NODE', `the configuration was rendered for node ${config.node}, not ${node}`);
}

function newStamp(): string {
  return `ft_applied_${randomBytes(6).toString('hex')}`;
}

function fullTransaction(config: NftNodeConfig, reason: string): Transaction {
  const stamp = newStamp();
  const additions: Addition[] = [];
  const handles: NftHandles = {};
  let rules = 0;
  for (const t of config.tables)
    for (const c of t.chains) {
      const key = chainKey(t.family, t.name, c.name);
      handles[key] = c.rules.map(() => UNKNOWN);
      for (let index = 0; index < c.rules.length; index++) additions.push({ key, index });
      rules += c.rules.length;
    }
  const stamps = config.tables.map((t) => `add chain ${t.family} ${t.name} ${stamp}\n`).join('');
  return {
    script: fullScript(config) + stamps,
    stamp,
    additions,
    handles,
    report: { kind: 'full', rulesAdded: rules, rulesRemoved: 0, reason },
  };
}

/** Echoed rules matched to the additions chain by chain, in order; a chain whose echo does not line up stays unknown. */
function assignHandles(tx: Transaction, echoed: EchoedRule[]): NftHandles {
  const byChain = new Map<string, number[]>();
  for (const r of echoed) {
    const key = chainKey(r.family, r.table, r.chain);
    let list = byChain.get(key);
    if (!list) {
      list = [];
      byChain.set(key, list);
    }
    list.push(r.handle);
  }
  const handles: NftHandles = Object.fromEntries(Object.entries(tx.handles).map(([k, v]) => [k, [...v]]));
  const added = new Map<string, number[]>();
  for (const a of tx.additions ?? []) {
    let list = added.get(a.key);
    if (!list) {
      list = [];
      added.set(a.key, list);
    }
    list.push(a.index);
  }
  for (const [key, indexes] of added) {
    const got = byChain.get(key) ?? [];
    if (got.length !== indexes.length) continue;
    for (const [i, index] of indexes.entries()) handles[key][index] = got[i];
  }
  return handles;
}

/**
 * One transaction that turns the old tables into the new: new sets and chains first (rules may
 * refer to them), set elements, then per kept chain its deletions and additions, then the
 * chains and sets nothing refers to any more. Null when it needs a handle that is not known.
 */
function incrementalTransaction(
  last: NftApplied,
  config: NftNodeConfig,
  plan: Extract<UpdatePlan, { kind: 'incremental' }>,
): Transaction | null {
  const oldHandles = last.handles;
  const lines: string[] = [];
  const handles: NftHandles = {};
  // Fails the whole transaction unless these are still the tables this backend replaced.
  for (const tp of plan.tables) lines.push(`flush chain ${tp.family} ${tp.name} ${last.stamp}`);
  for (const tp of plan.tables) {
    const t = `${tp.family} ${tp.name}`;
    for (const s of tp.setsAdded) {
      lines.push(`add set ${t} ${s.name} { ${s.spec.map((l) => `${l};`).join(' ')} }`);
      if (s.elements.length) lines.push(`add element ${t} ${s.name} { ${s.elements.join(', ')} }`);
    }
    for (const c of tp.chainsAdded)
      lines.push(c.base === undefined ? `add chain ${t} ${c.name}` : `add chain ${t} ${c.name} { ${c.base} }`);
    for (const e of tp.elements) {
      if (e.remove.length) lines.push(`delete element ${t} ${e.name} { ${e.remove.join(', ')} }`);
      if (e.add.length) lines.push(`add element ${t} ${e.name} { ${e.add.join(', ')} }`);
    }
  }
  for (const tp of plan.tables) {
    const t = `${tp.family} ${tp.name}`;
    const newTable = config.tables.find((x) => x.family === tp.family && x.name === tp.name)!;
    for (const cp of tp.chains) {
      const key = chainKey(tp.family, tp.name, cp.name);
      const was = oldHandles[key] ?? [];
      const chain = newTable.chains.find((c) => c.name === cp.name)!;
      handles[key] = cp.kept.map((k) => (k >= 0 ? (was[k] ?? UNKNOWN) : UNKNOWN));
      for (const i of cp.removed) {
        if (!(was[i] >= 0)) return null;
        lines.push(`delete rule ${t} ${cp.name} handle ${was[i]}`);
      }
      let i = 0;
      while (i < cp.kept.length) {
        if (cp.kept[i] >= 0) {
          i++;
          continue;
        }
        let e = i;
        while (e + 1 < cp.kept.length && cp.kept[e + 1] < 0) e++;
        const rules = chain.rules.slice(i, e + 1).map((r) => r.text);
        if (e + 1 === cp.kept.length) {
          // At the bottom (or the whole chain): appended in order.
          for (const r of rules) lines.push(`add rule ${t} ${cp.name} ${r}`);
        } else if (i === 0) {
          // At the top: each insert goes first, so the run is inserted last rule first.
          for (const r of [...rules].reverse()) lines.push(`insert rule ${t} ${cp.name} ${r}`);
        } else {
          // In the middle: after the kept rule before the run; each lands right after it, so last rule first.
          const anchor = was[cp.kept[i - 1]];
          if (!(anchor >= 0)) return null;
          for (const r of [...rules].reverse()) lines.push(`add rule ${t} ${cp.name} position ${anchor} ${r}`);
        }
        i = e + 1;
      }
    }
    for (const c of tp.chainsAdded) {
      handles[chainKey(tp.family, tp.name, c.name)] = c.rules.map(() => UNKNOWN);
      for (const r of c.rules) lines.push(`add rule ${t} ${c.name} ${r.text}`);
    }
  }
  // Emptied first, then deleted: one removed chain may still jump to another.
  for (const tp of plan.tables) for (const c of tp.chainsRemoved) lines.push(`flush chain ${tp.family} ${tp.name} ${c.name}`);
  for (const tp of plan.tables) {
    const t = `${tp.family} ${tp.name}`;
    for (const c of tp.chainsRemoved) lines.push(`delete chain ${t} ${c.name}`);
    for (const s of tp.setsRemoved) lines.push(`delete set ${t} ${s}`);
  }
  return {
    script: lines.join('\n') + '\n',
    stamp: last.stamp,
    handles,
    report: { kind: 'incremental', rulesAdded: plan.rulesAdded, rulesRemoved: plan.rulesRemoved },
  };
}
