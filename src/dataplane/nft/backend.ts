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
 * report says why.
 *
 * Handles an update needs and does not know are read back chain by chain (`nft -j list chain`),
 * only for the chains it changes, and `drift` keeps every handle it reads: a table listing costs
 * a fetch of every chain and set, where a reaction touches one or two chains.
 *
 * `check` runs `nft -c` on a full replacement (and with `thoroughCheck`), but not on an
 * incremental transaction: at 1,000 instances nft's check costs about as much as the
 * update itself, since it reads the chains back too. What makes nft refuse an incremental
 * transaction is either a state the backend cannot see (a rule deleted by hand, tables
 * replaced: apply then replaces the tables whole, with the same rules nft already took) or a
 * device a new rule sends to that the node lacks, which check looks up (`ip -j link`). What is
 * left is a rule text nft would refuse, a renderer's bug; then apply fails on that node, which
 * keeps its previous rules (one `nft -f` is atomic), but the nodes the caller applied before it
 * keep their new ones: the orchestrator's all-nodes-or-none order becomes best effort for that
 * case. `thoroughCheck` restores the full guarantee at the price of one `nft -c` per node.
 *
 * What was applied last is plain JSON
 * (`NftApplied`): a caller that outlives this object (a restarted controller) can keep it and
 * hand it back in `applied`.
 */
import { randomBytes } from 'node:crypto';
import { diag, fail, ok, type Result } from '../../diagnostics/index.js';
import type { System } from '../../system/index.js';
import type { ApplyOptions, ApplyReport, DataplaneBackend, Drift, NodeDesired, RuleCounter, RuleRef } from '../backend.js';
import { applyNft, applyNftEcho, checkNft, counterOf, echoedRules, jsonRules, type EchoedRule, type NftJsonRule } from './apply.js';
import { configDevices, fullScript, NODE_TABLES, renderNodeConfig, type NftNodeConfig } from './node.js';
import type { NftTransactions } from './session.js';
import { rule } from './table.js';
import { planChain, planUpdate, type ChainPlan, type UpdatePlan } from './update.js';

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
  /** Check incremental transactions with `nft -c` too (see the file's head); default false. */
  thoroughCheck?: boolean;
  /**
   * Where incremental transactions go (session.ts): a long-lived caller passes an `NftSessions`
   * and pays no process per change. A session with echo also gives the handles and counters of
   * what was added (`ApplyReport.installed`) without a listing, but the echo makes nft fetch the
   * whole ruleset, rules included, after every commit (~35 ms of a ~40 ms quarantine at 1,000
   * instances; without it ~4 ms): the security controller's sessions go without, and learn the
   * handles from the counters it reads to confirm. Without `transactions`, each goes to a plain
   * `nft -f` with no echo.
   */
  transactions?: NftTransactions;
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
  /** The rules the script adds, in its order: an echo gives the handles of these. */
  additions?: Addition[];
  /** Handles of the new configuration, UNKNOWN where a rule is added by this script. */
  handles: NftHandles;
  report: ApplyReport;
}

export class NftBackend implements DataplaneBackend<NftNodeConfig> {
  readonly name = 'nftables';
  readonly applied: Map<string, NftApplied>;
  /** The last transaction planned, for the apply that follows its check. */
  private planned?: { node: string; config: NftNodeConfig; last: NftApplied | undefined; tx: Transaction };

  constructor(private readonly opts: NftBackendOptions) {
    this.applied = opts.applied ?? new Map();
  }

  render(desired: NodeDesired): Result<NftNodeConfig> {
    return renderNodeConfig(desired);
  }

  async check(node: string, config: NftNodeConfig, opts: ApplyOptions = {}): Promise<Result<void>> {
    if (config.node !== node) return fail(wrongNode(node, config));
    if (opts.repair) return checkNft(this.opts.system, this.opts.nsOf(node), fullScript(config));
    const tx = await this.transaction(node, config);
    if (tx.report.kind === 'unchanged') return ok(undefined);
    if (tx.report.kind === 'full' || this.opts.thoroughCheck) {
      const r = await checkNft(this.opts.system, this.opts.nsOf(node), tx.script);
      if (r.ok || tx.report.kind === 'full') return r;
      // As apply would: what the incremental script cannot do, the full replacement may.
      return checkNft(this.opts.system, this.opts.nsOf(node), fullScript(config));
    }
    return this.checkDevices(node, tx.script);
  }

  /**
   * The check of an incremental transaction, without `nft -c` (see the file's head): the
   * devices its new rules send to must be on the node, as nft would refuse them otherwise.
   */
  private async checkDevices(node: string, script: string): Promise<Result<void>> {
    const added = script.split('\n').filter((l) => /^(?:add|insert) rule netdev /.test(l));
    const needed = configDevices([{ family: 'netdev', name: '', sets: [], chains: [{ name: '', rules: added.map((l) => rule(l)) }] }]);
    if (!needed.length) return ok(undefined);
    const ns = this.opts.nsOf(node);
    const r = await this.opts.system.run(['ip', '-j', 'link', 'show'], ns ? { ns } : {});
    let have: Set<string>;
    try {
      if (r.code !== 0) throw new Error(r.stderr.trim() || `exit ${r.code}`);
      have = new Set((JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname));
    } catch (e) {
      return fail(diag('E_NFT_READ', `ip -j link show: ${(e as Error).message}`, ns ? { file: ns } : undefined));
    }
    const missing = needed.filter((d) => !have.has(d));
    return missing.length
      ? fail(
          missing.map((d) => diag('E_DATAPLANE_DEVICE', `node ${node} has no device ${JSON.stringify(d)}: the configuration sends to it`)),
        )
      : ok(undefined);
  }

  /** Whether `config` is exactly what this backend applied last on the node (nothing to do). */
  unchanged(node: string, config: NftNodeConfig): boolean {
    const last = this.applied.get(node);
    return last !== undefined && planUpdate(last.config.tables, config.tables).kind === 'unchanged';
  }

  async apply(node: string, config: NftNodeConfig, opts: ApplyOptions = {}): Promise<Result<ApplyReport>> {
    if (config.node !== node) return fail(wrongNode(node, config));
    // After a hand edit no recorded handle can be trusted: nothing incremental, the tables whole.
    if (opts.repair) return this.replace(node, config, 'repair: the tables are replaced whole');
    const tx = await this.transaction(node, config);
    if (tx.report.kind === 'unchanged') return ok(tx.report);
    const ns = this.opts.nsOf(node);
    if (tx.report.kind === 'incremental' && this.opts.transactions) {
      const r = await this.opts.transactions.transact(ns, tx.script);
      if (r.ok) {
        this.applied.set(node, { config, handles: assignHandles(tx, r.value), stamp: tx.stamp });
        const echoed = r.value.flatMap((x) => counterOf(x) ?? []);
        return ok({ ...tx.report, installed: echoed.length ? echoed : committed(tx, config) });
      }
      return this.replace(node, config, `the incremental update was refused (${r.errors.map((e) => e.message).join('; ')})`);
    }
    if (tx.report.kind === 'incremental') {
      const r = await applyNft(this.opts.system, ns, tx.script);
      if (r.ok) {
        this.applied.set(node, { config, handles: tx.handles, stamp: tx.stamp });
        return ok({ ...tx.report, installed: committed(tx, config) });
      }
      return this.replace(node, config, `the incremental update was refused (${r.errors.map((e) => e.message).join('; ')})`);
    }
    return this.replace(node, config, tx.report.reason ?? '');
  }

  /**
   * Every counting rule of flowtap's tables on the node, from one listing of the namespace's
   * ruleset (flowtap owns every table there). A reaction reads counters right after it applied:
   * the same listing gives the handles of the rules it added, so the next update (its undo, the
   * next reaction) needs no listing of its own.
   */
  async counters(node: string): Promise<Result<RuleCounter[]>> {
    const ns = this.opts.nsOf(node);
    const last = this.applied.get(node);
    const tables = last?.config.tables ?? NODE_TABLES;
    const r = await this.opts.system.run(['nft', '-j', 'list', 'ruleset'], ns ? { ns } : {});
    if (r.code !== 0) return fail(diag('E_NFT_READ', r.stderr.trim() || 'nft list failed', ns ? { file: ns } : undefined));
    let listed: NftJsonRule[];
    try {
      listed = jsonRules(r.stdout);
    } catch (e) {
      return fail(diag('E_NFT_READ', `nft -j list ruleset: ${(e as Error).message}`, ns ? { file: ns } : undefined));
    }
    const owned = new Set(tables.map((t) => `${t.family} ${t.name}`));
    const out: RuleCounter[] = [];
    for (const rule of listed) {
      if (!owned.has(`${rule.family} ${rule.table}`)) continue;
      const c = counterOf(rule);
      if (c) out.push(c);
    }
    if (last) this.learnHandles(node, last, listed);
    return ok(out);
  }

  /** Handles of every applied chain that lists back exactly as applied (same comments, same order). */
  private learnHandles(node: string, last: NftApplied, listed: readonly NftJsonRule[]): void {
    const handles: NftHandles = { ...last.handles };
    let learnt = false;
    for (const t of last.config.tables)
      for (const c of t.chains) {
        const key = chainKey(t.family, t.name, c.name);
        if ((handles[key] ?? []).every((h) => h >= 0) && handles[key]?.length === c.rules.length) continue;
        const got = listed.filter((x) => x.family === t.family && x.table === t.name && x.chain === c.name);
        if (got.length !== c.rules.length || got.some((x, i) => (x.comment ?? '') !== c.rules[i].comment)) continue;
        handles[key] = got.map((x) => x.handle);
        learnt = true;
      }
    if (learnt) this.applied.set(node, { ...last, handles });
  }

  /**
   * The rules in force, read back (one `nft -j list table` per table), against the
   * configuration applied last, chain by chain. Comments are the rules' identity: per chain the
   * comments in force are matched in order to the comments applied (their longest common
   * subsequence, as an update plans it), and what is left over on either side is missing or
   * extra; a rule changed by hand under the same comment is not seen. A table that is gone has
   * every rule missing. Tables replaced by another writer (the stamp chain gone) are not in force
   * either, even with the same rules: the handles recorded for them name nothing.
   * When everything lines up, the handles just read are kept: the next update needs no listing.
   */
  async drift(node: string): Promise<Result<Drift>> {
    const last = this.applied.get(node);
    if (!last) return ok({ node, inForce: false, missing: [], extra: [], reason: 'nothing applied on this node yet' });
    const ns = this.opts.nsOf(node);
    const missing: RuleRef[] = [];
    const extra: RuleRef[] = [];
    const reasons: string[] = [];
    const handles: NftHandles = {};
    for (const t of last.config.tables) {
      const r = await this.opts.system.run(['nft', '-j', 'list', 'table', t.family, t.name], ns ? { ns } : {});
      if (r.code !== 0) {
        if (!/No such file or directory/.test(r.stderr))
          return fail(diag('E_NFT_READ', r.stderr.trim() || 'nft list failed', ns ? { file: ns } : undefined));
        reasons.push(`table ${t.family} ${t.name} is not in force`);
        for (const c of t.chains) for (const rule of c.rules) missing.push({ table: t.name, chain: c.name, comment: rule.comment });
        continue;
      }
      let listed: ListedTable;
      try {
        listed = listedTable(r.stdout);
      } catch (e) {
        return fail(diag('E_NFT_READ', `nft -j list table ${t.family} ${t.name}: ${(e as Error).message}`, ns ? { file: ns } : undefined));
      }
      if (!listed.chains.has(last.stamp)) reasons.push(`table ${t.family} ${t.name} was replaced since this backend applied it`);
      const applied = new Set(t.chains.map((c) => c.name));
      for (const c of t.chains) {
        const got = listed.rules.get(c.name) ?? [];
        const d = diffComments(
          c.rules.map((x) => x.comment),
          got.map((x) => x.comment ?? ''),
        );
        for (const i of d.missing) missing.push({ table: t.name, chain: c.name, comment: c.rules[i].comment });
        for (const i of d.extra) extra.push({ table: t.name, chain: c.name, comment: got[i].comment ?? '' });
        if (!d.missing.length && !d.extra.length) handles[chainKey(t.family, t.name, c.name)] = got.map((x) => x.handle);
      }
      for (const [chain, rules] of listed.rules)
        if (!applied.has(chain)) for (const x of rules) extra.push({ table: t.name, chain, comment: x.comment ?? '' });
    }
    const inForce = !missing.length && !extra.length && !reasons.length;
    if (inForce) this.applied.set(node, { ...last, handles });
    const d: Drift = { node, inForce, missing, extra };
    if (reasons.length) d.reason = reasons.join('; ');
    return ok(d);
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
    // check then apply with the same configuration: plan once (at 1,000 instances planning is a good part of an update).
    const memo = this.planned;
    if (memo && memo.node === node && memo.config === config && memo.last === last) return memo.tx;
    const tx = await this.plan(node, config);
    this.planned = { node, config, last: this.applied.get(node), tx };
    return tx;
  }

  private async plan(node: string, config: NftNodeConfig): Promise<Transaction> {
    const last = this.applied.get(node);
    const plan = planUpdate(last?.config.tables, config.tables);
    if (plan.kind === 'full') return fullTransaction(config, plan.reason);
    if (plan.kind === 'unchanged')
      return { script: '', stamp: last!.stamp, handles: last!.handles, report: { kind: 'unchanged', rulesAdded: 0, rulesRemoved: 0 } };
    const tx = incrementalTransaction(last!, config, plan);
    if (tx) return tx;
    // The update deletes or adds next to rules whose handles were never read: read those chains now.
    const listed = await this.listHandles(this.opts.nsOf(node), last!, unknownChains(last!, plan));
    if (!listed) return fullTransaction(config, 'the rules in force do not list back as they were applied');
    const known = { ...last!, handles: listed };
    this.applied.set(node, known);
    return incrementalTransaction(known, config, plan) ?? fullTransaction(config, 'internal: handles missing after a listing');
  }

  /**
   * The handles of these chains read back (`nft -j list chain`, one per chain: a chain costs a
   * fraction of its table), the others as they were; null when a chain in force does not list
   * back as it was applied.
   */
  private async listHandles(ns: string | null, last: NftApplied, chains: ChainRef[]): Promise<NftHandles | null> {
    const handles: NftHandles = { ...last.handles };
    for (const c of chains) {
      const r = await this.opts.system.run(['nft', '-j', 'list', 'chain', c.family, c.table, c.chain], ns ? { ns } : {});
      if (r.code !== 0) return null;
      let got: NftJsonRule[];
      try {
        got = jsonRules(r.stdout).filter((x) => x.chain === c.chain);
      } catch {
        return null;
      }
      const want = last.config.tables.find((t) => t.family === c.family && t.name === c.table)?.chains.find((x) => x.name === c.chain);
      if (!want || got.length !== want.rules.length || got.some((x, i) => (x.comment ?? '') !== want.rules[i].comment)) return null;
      handles[chainKey(c.family, c.table, c.chain)] = got.map((x) => x.handle);
    }
    return handles;
  }
}

/**
 * A chain that keeps none of its rules is flushed and filled again: that needs no handle, where
 * deleting its rules one by one would need them all (a listing when they are not known).
 */
function rewrittenWhole(cp: ChainPlan): boolean {
  return cp.removed.length > 0 && cp.kept.every((k) => k < 0);
}

interface ChainRef {
  family: string;
  table: string;
  chain: string;
}

/** The changed chains of a plan that hold a rule whose handle is not known. */
function unknownChains(last: NftApplied, plan: Extract<UpdatePlan, { kind: 'incremental' }>): ChainRef[] {
  const out: ChainRef[] = [];
  for (const tp of plan.tables)
    for (const cp of tp.chains) {
      if ((!cp.removed.length && cp.kept.every((k) => k >= 0)) || rewrittenWhole(cp)) continue;
      const was = last.handles[chainKey(tp.family, tp.name, cp.name)] ?? [];
      const old = last.config.tables.find((t) => t.family === tp.family && t.name === tp.name)?.chains.find((c) => c.name === cp.name);
      if ((old?.rules.length ?? 0) !== was.length || was.some((h) => !(h >= 0)))
        out.push({ family: tp.family, table: tp.name, chain: cp.name });
    }
  return out;
}

interface ListedTable {
  chains: Set<string>;
  /** Rules by chain, in the order nft lists them (rule order). */
  rules: Map<string, NftJsonRule[]>;
}

/** A table as `nft -j list table` gives it: its chains (empty ones too) and their rules. */
function listedTable(json: string): ListedTable {
  const chains = new Set<string>();
  const rules = new Map<string, NftJsonRule[]>();
  for (const doc of json.split('\n').filter((l) => l.trim())) {
    const items = (JSON.parse(doc) as { nftables?: Array<{ chain?: { name: string } }> }).nftables ?? [];
    for (const item of items) if (item.chain) chains.add(item.chain.name);
  }
  for (const r of jsonRules(json)) {
    let list = rules.get(r.chain);
    if (!list) {
      list = [];
      rules.set(r.chain, list);
    }
    list.push(r);
  }
  return { chains, rules };
}

/** Indexes of `want` not matched in `got` (missing) and of `got` not matched in `want` (extra), matched in order. */
function diffComments(want: readonly string[], got: readonly string[]): { missing: number[]; extra: number[] } {
  const plan = planChain(
    { name: '', rules: want.map((comment) => ({ text: comment, comment, counted: false })) },
    { name: '', rules: got.map((comment) => ({ text: comment, comment, counted: false })) },
  );
  return {
    missing: plan.removed,
    extra: plan.kept.flatMap((k, i) => (k < 0 ? [i] : [])),
  };
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
/**
 * The counting rules a transaction added, as the configuration has them: what nft committed when
 * it accepted the transaction (one batch: all of it or none). No handle (nothing was read back)
 * and counters at zero, where they start.
 */
function committed(tx: Transaction, config: NftNodeConfig): RuleCounter[] {
  const out: RuleCounter[] = [];
  for (const a of tx.additions ?? []) {
    const [family, table, chain] = a.key.split(' ');
    const rule = config.tables.find((t) => t.family === family && t.name === table)?.chains.find((c) => c.name === chain)?.rules[a.index];
    if (rule?.counted) out.push({ family, table, chain, comment: rule.comment, packets: 0, bytes: 0 });
  }
  return out;
}

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
  const additions: Addition[] = [];
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
      if (rewrittenWhole(cp)) lines.push(`flush chain ${t} ${cp.name}`);
      else
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
        const run = chain.rules.slice(i, e + 1).map((r, k) => ({ text: r.text, index: i + k }));
        if (e + 1 === cp.kept.length) {
          // At the bottom (or the whole chain): appended in order.
          for (const r of run) {
            lines.push(`add rule ${t} ${cp.name} ${r.text}`);
            additions.push({ key, index: r.index });
          }
        } else if (i === 0) {
          // At the top: each insert goes first, so the run is inserted last rule first.
          for (const r of [...run].reverse()) {
            lines.push(`insert rule ${t} ${cp.name} ${r.text}`);
            additions.push({ key, index: r.index });
          }
        } else {
          // In the middle: after the kept rule before the run; each lands right after it, so last rule first.
          const anchor = was[cp.kept[i - 1]];
          if (!(anchor >= 0)) return null;
          for (const r of [...run].reverse()) {
            lines.push(`add rule ${t} ${cp.name} position ${anchor} ${r.text}`);
            additions.push({ key, index: r.index });
          }
        }
        i = e + 1;
      }
    }
    for (const c of tp.chainsAdded) {
      const key = chainKey(tp.family, tp.name, c.name);
      handles[key] = c.rules.map(() => UNKNOWN);
      for (const [index, r] of c.rules.entries()) {
        lines.push(`add rule ${t} ${c.name} ${r.text}`);
        additions.push({ key, index });
      }
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
    additions,
    handles,
    report: { kind: 'incremental', rulesAdded: plan.rulesAdded, rulesRemoved: plan.rulesRemoved },
  };
}
