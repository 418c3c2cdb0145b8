/**
 * What changes between the tables applied last on a node and the new ones, rule by rule: the
 * plan of an incremental update. A rule is kept when the same text stays in the same chain in
 * the same relative order (the longest common subsequence of each chain), so a change touches
 * only its own rules and every kept rule keeps its counter. A set's elements are added and
 * removed one by one. Some changes have no incremental form that is worth it (a table added or
 * dropped, a set's type or a base chain's hook changed): the plan is then a full replacement,
 * with the reason.
 */
import type { NftChain, NftFamily, NftSetDef, NftTable } from './table.js';

export interface ChainPlan {
  name: string;
  /** For each rule of the new chain: the index of the old rule it keeps, or -1 for a rule to add. */
  kept: number[];
  /** Indexes of the old rules to delete. */
  removed: number[];
}

interface SetPlan {
  name: string;
  add: string[];
  remove: string[];
}

interface TablePlan {
  family: NftFamily;
  name: string;
  setsAdded: NftSetDef[];
  setsRemoved: string[];
  elements: SetPlan[];
  chainsAdded: NftChain[];
  chainsRemoved: NftChain[];
  /** Chains in both, in the new table's order (changed or not). */
  chains: ChainPlan[];
}

export type UpdatePlan =
  | { kind: 'full'; reason: string }
  | { kind: 'unchanged' }
  | { kind: 'incremental'; tables: TablePlan[]; rulesAdded: number; rulesRemoved: number };

/** Above this many rule pairs in the changed middle of one chain, the middle is replaced rather than matched. */
const LCS_LIMIT = 4_000_000;

const tableKey = (t: { family: string; name: string }) => `${t.family} ${t.name}`;

export function planUpdate(old: readonly NftTable[] | undefined, next: readonly NftTable[]): UpdatePlan {
  if (!old) return { kind: 'full', reason: 'nothing applied on this node yet' };
  const oldKeys = old.map(tableKey).sort().join('|');
  const newKeys = next.map(tableKey).sort().join('|');
  if (oldKeys !== newKeys) return { kind: 'full', reason: `the tables differ (${oldKeys} -> ${newKeys})` };
  const byKey = new Map(old.map((t) => [tableKey(t), t]));
  const tables: TablePlan[] = [];
  let rulesAdded = 0;
  let rulesRemoved = 0;
  let changed = false;
  for (const t of next) {
    const o = byKey.get(tableKey(t))!;
    const plan: TablePlan = {
      family: t.family,
      name: t.name,
      setsAdded: [],
      setsRemoved: [],
      elements: [],
      chainsAdded: [],
      chainsRemoved: [],
      chains: [],
    };
    const oldSets = new Map(o.sets.map((s) => [s.name, s]));
    for (const s of t.sets) {
      const p = oldSets.get(s.name);
      if (!p) plan.setsAdded.push(s);
      else if (p.spec.join('\n') !== s.spec.join('\n'))
        return { kind: 'full', reason: `set ${s.name} in ${tableKey(t)} changed its type or flags` };
      else if (!sameStrings(p.elements, s.elements)) {
        const before = new Set(p.elements);
        const after = new Set(s.elements);
        const add = s.elements.filter((e) => !before.has(e));
        const remove = p.elements.filter((e) => !after.has(e));
        if (add.length || remove.length) plan.elements.push({ name: s.name, add, remove });
      }
    }
    const newSets = new Set(t.sets.map((s) => s.name));
    plan.setsRemoved = o.sets.filter((s) => !newSets.has(s.name)).map((s) => s.name);
    const oldChains = new Map(o.chains.map((c) => [c.name, c]));
    for (const c of t.chains) {
      const p = oldChains.get(c.name);
      if (!p) {
        plan.chainsAdded.push(c);
        rulesAdded += c.rules.length;
        continue;
      }
      if (p.base !== c.base) return { kind: 'full', reason: `chain ${c.name} in ${tableKey(t)} changed its hook or policy` };
      const cp = planChain(p, c);
      rulesAdded += cp.kept.filter((k) => k < 0).length;
      rulesRemoved += cp.removed.length;
      plan.chains.push(cp);
    }
    const newChains = new Set(t.chains.map((c) => c.name));
    plan.chainsRemoved = o.chains.filter((c) => !newChains.has(c.name));
    for (const c of plan.chainsRemoved) rulesRemoved += c.rules.length;
    if (plan.setsAdded.length || plan.setsRemoved.length || plan.elements.length || plan.chainsAdded.length || plan.chainsRemoved.length)
      changed = true;
    tables.push(plan);
  }
  if (!changed && rulesAdded === 0 && rulesRemoved === 0) return { kind: 'unchanged' };
  return { kind: 'incremental', tables, rulesAdded, rulesRemoved };
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Keeps the longest common subsequence of rule texts; everything else is removed or added. */
export function planChain(old: NftChain, next: NftChain): ChainPlan {
  // Most chains of a reaction's update are untouched: known without copying anything.
  if (old.rules.length === next.rules.length && old.rules.every((r, i) => r.text === next.rules[i].text))
    return { name: next.name, kept: next.rules.map((_, i) => i), removed: [] };
  const a = old.rules.map((r) => r.text);
  const b = next.rules.map((r) => r.text);
  const kept = new Array<number>(b.length).fill(-1);
  let lo = 0;
  while (lo < a.length && lo < b.length && a[lo] === b[lo]) {
    kept[lo] = lo;
    lo++;
  }
  let ea = a.length;
  let eb = b.length;
  while (ea > lo && eb > lo && a[ea - 1] === b[eb - 1]) {
    ea--;
    eb--;
    kept[eb] = ea;
  }
  const n = ea - lo;
  const m = eb - lo;
  if (n > 0 && m > 0 && n * m <= LCS_LIMIT) {
    // lcs[i][j]: length of the LCS of a[lo+i..ea) and b[lo+j..eb), row by row in one array.
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        lcs[i * w + j] = a[lo + i] === b[lo + j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (a[lo + i] === b[lo + j]) {
        kept[lo + j] = lo + i;
        i++;
        j++;
      } else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) i++;
      else j++;
    }
  }
  const used = new Uint8Array(a.length);
  for (const k of kept) if (k >= 0) used[k] = 1;
  const removed: number[] = [];
  for (let i = 0; i < a.length; i++) if (!used[i]) removed.push(i);
  return { name: next.name, kept, removed };
}
