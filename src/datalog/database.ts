/**
 * The result of evaluation: every tuple of every predicate, queried by name, with
 * optional derivation trees.
 */
import { diag, fail, ok, type Result } from '../diagnostics/index.js';
import type { Fact, Program, SourceLoc, Value } from './ast.js';
import { formatFact, formatRule, formatValue } from './format.js';
import type { Interner } from './intern.js';
import { ORIGIN_INPUT, ORIGIN_PROGRAM_FACT, type ProvenanceLog } from './provenance.js';
import type { Relation } from './relation.js';

/** How a tuple first came to be. Shared premises are the same object (a DAG). */
export interface Derivation {
  fact: Fact;
  source: 'input' | 'program' | 'rule';
  /** The rule that derived it: its index in the program, location and text. */
  rule?: { index: number; loc: SourceLoc; text: string };
  /** Location of the program fact, for source 'program'. */
  loc?: SourceLoc;
  /** Tuples matched by the rule's positive body literals, in body order. */
  premises: Derivation[];
}

export interface EvalStats {
  /** Tuples added by rules (not counting input and program facts). */
  derived: number;
  /** Fixpoint iterations summed over all strata. */
  iterations: number;
}

export class Database {
  private readonly byId: Relation[] = [];
  /** textOrder's rank of each value id (-1 between calls); formatRow's text of each value id. */
  private rank = new Int32Array(0);
  private readonly texts: (string | undefined)[] = [];

  constructor(
    private readonly interner: Interner,
    private readonly relations: ReadonlyMap<string, Relation>,
    private readonly program: Program,
    readonly stats: EvalStats,
    private readonly premiseCount: readonly number[],
    private readonly provenance?: ProvenanceLog,
  ) {
    for (const r of relations.values()) this.byId[r.id] = r;
  }

  /** Names of all predicates with a relation (derived, read, or given as input), sorted. */
  predicates(): string[] {
    return [...this.relations.keys()].sort();
  }

  /** Number of tuples of one predicate, or of all predicates. */
  count(pred?: string): number {
    if (pred !== undefined) return this.relations.get(pred)?.size ?? 0;
    let n = 0;
    for (const r of this.relations.values()) n += r.size;
    return n;
  }

  private row(rel: Relation, row: number): Value[] {
    const out = new Array<Value>(rel.arity);
    const base = row * rel.arity;
    for (let j = 0; j < rel.arity; j++) out[j] = this.interner.values[rel.data[base + j]];
    return out;
  }

  /** All tuples of `pred` in derivation order ([] for an unknown predicate). */
  query(pred: string): Value[][] {
    const rel = this.relations.get(pred);
    if (!rel) return [];
    const out: Value[][] = new Array(rel.size);
    for (let r = 0; r < rel.size; r++) out[r] = this.row(rel, r);
    return out;
  }

  /**
   * Row numbers of `pred` ordered by the text (String()) of each column in turn, rows of
   * equal texts in derivation order. Each distinct value is ranked once, then the rows are
   * counting-sorted column by column (last first, stable): linear in the rows, where a
   * comparison sort of millions of tuples spent seconds building and comparing strings.
   */
  textOrder(pred: string): Int32Array {
    const rel = this.relations.get(pred);
    if (!rel) return new Int32Array(0);
    const n = rel.size;
    const a = rel.arity;
    const data = rel.data;
    let order = new Int32Array(n);
    for (let r = 0; r < n; r++) order[r] = r;
    if (a === 0 || n < 2) return order;
    const values = this.interner.values;
    // One rank table for every predicate (sized to all values), reset after use below.
    if (this.rank.length < values.length) this.rank = new Int32Array(values.length).fill(-1);
    const rank = this.rank;
    const ids: number[] = [];
    for (let k = 0; k < n * a; k++) {
      const id = data[k];
      if (rank[id] < 0) {
        rank[id] = 0;
        ids.push(id);
      }
    }
    const text = ids.map((id) => String(values[id]));
    const byText = ids.map((_, k) => k).sort((x, y) => (text[x] < text[y] ? -1 : text[x] > text[y] ? 1 : 0));
    // 1 and "1" print alike: one rank, so they keep derivation order as the comparison sort did.
    let ranks = 0;
    for (let k = 0; k < byText.length; k++) {
      if (k > 0 && text[byText[k]] !== text[byText[k - 1]]) ranks++;
      rank[ids[byText[k]]] = ranks;
    }
    let next = new Int32Array(n);
    const count = new Int32Array(ranks + 2);
    for (let col = a - 1; col >= 0; col--) {
      count.fill(0);
      for (let k = 0; k < n; k++) count[rank[data[order[k] * a + col]] + 1]++;
      for (let k = 1; k < count.length; k++) count[k] += count[k - 1];
      for (let k = 0; k < n; k++) {
        const r = order[k];
        next[count[rank[data[r * a + col]]]++] = r;
      }
      const t = order;
      order = next;
      next = t;
    }
    for (const id of ids) rank[id] = -1;
    return order;
  }

  /** One row as formatFact prints it; each distinct value is formatted once per database. */
  formatRow(pred: string, row: number): string {
    const rel = this.relations.get(pred);
    if (!rel || row < 0 || row >= rel.size) return '';
    if (rel.arity === 0) return `${pred}.`;
    const base = row * rel.arity;
    let out = `${pred}(${this.valueText(rel.data[base])}`;
    for (let j = 1; j < rel.arity; j++) out += `, ${this.valueText(rel.data[base + j])}`;
    return `${out}).`;
  }

  private valueText(id: number): string {
    let t = this.texts[id];
    if (t === undefined) {
      t = formatValue(this.interner.values[id]);
      this.texts[id] = t;
    }
    return t;
  }

  /** Every tuple as a Fact, predicates in name order. */
  facts(): Fact[] {
    return this.predicates().flatMap((pred) => this.query(pred).map((args) => ({ pred, args })));
  }

  private find(pred: string, args: readonly Value[]): { rel: Relation; row: number } | undefined {
    const rel = this.relations.get(pred);
    if (!rel || rel.arity !== args.length) return undefined;
    const key = new Int32Array(args.length);
    for (let j = 0; j < args.length; j++) {
      const id = this.interner.lookup(args[j]);
      if (id < 0) return undefined;
      key[j] = id;
    }
    const row = rel.find(key);
    return row < 0 ? undefined : { rel, row };
  }

  has(pred: string, args: readonly Value[]): boolean {
    return this.find(pred, args) !== undefined;
  }

  /** The first derivation of a tuple; needs `evaluate(..., { provenance: true })`. */
  explain(pred: string, args: readonly Value[]): Result<Derivation> {
    const fact = { pred, args: [...args] };
    if (!this.provenance) {
      return fail(diag('E_DL_NO_PROVENANCE', `cannot explain ${formatFact(fact)}: evaluation ran without provenance`));
    }
    const found = this.find(pred, args);
    if (!found) return fail(diag('E_DL_NOT_DERIVED', `${formatFact(fact)} does not hold`));
    const prov = this.provenance;
    const memo = new Map<number, Derivation>();
    // One key per (relation, row); rows fit in 2^31 and relation ids are small.
    const keyOf = (rel: number, row: number): number => rel * 2 ** 31 + row;
    const work: { rel: Relation; row: number; node: Derivation }[] = [];
    const node = (rel: Relation, row: number): Derivation => {
      const k = keyOf(rel.id, row);
      let d = memo.get(k);
      if (!d) {
        d = { fact: { pred: rel.name, args: this.row(rel, row) }, source: 'input', premises: [] };
        memo.set(k, d);
        work.push({ rel, row, node: d });
      }
      return d;
    };
    const root = node(found.rel, found.row);
    // Iterative so that long derivation chains cannot overflow the stack.
    while (work.length > 0) {
      const { rel, row, node: d } = work.pop() as { rel: Relation; row: number; node: Derivation };
      const origin = prov.originOf(rel.id, row);
      if (origin === ORIGIN_INPUT) continue;
      if (origin <= ORIGIN_PROGRAM_FACT) {
        d.source = 'program';
        d.loc = this.program.facts[ORIGIN_PROGRAM_FACT - origin].loc;
        continue;
      }
      const rule = this.program.rules[origin];
      d.source = 'rule';
      d.rule = { index: origin, loc: rule.loc, text: formatRule(rule) };
      const preds = rule.body.flatMap((l) => (l.kind === 'atom' && !l.negated ? [l.atom.pred] : []));
      const rows = prov.premisesOf(rel.id, row, this.premiseCount[origin]);
      for (const [i, p] of preds.entries()) d.premises.push(node(this.relations.get(p) as Relation, rows[i]));
    }
    return ok(root);
  }
}

/** An indented tree; a premise shown earlier is referred to instead of repeated. */
export function formatDerivation(d: Derivation): string {
  const lines: string[] = [];
  const shown = new Set<Derivation>();
  const stack: { d: Derivation; depth: number }[] = [{ d, depth: 0 }];
  while (stack.length > 0) {
    const { d: n, depth } = stack.pop() as { d: Derivation; depth: number };
    const pad = '  '.repeat(depth);
    const text = formatFact(n.fact);
    if (shown.has(n)) {
      lines.push(`${pad}${text}  (derived above)`);
      continue;
    }
    shown.add(n);
    const at = (l: SourceLoc): string => `${l.file !== undefined ? l.file + ':' : 'line '}${l.line}:${l.col}`;
    const why =
      n.source === 'rule' && n.rule
        ? `by rule ${n.rule.index} at ${at(n.rule.loc)}: ${n.rule.text}`
        : n.source === 'program' && n.loc
          ? `fact at ${at(n.loc)}`
          : 'input fact';
    lines.push(`${pad}${text}  <- ${why}`);
    for (let i = n.premises.length - 1; i >= 0; i--) stack.push({ d: n.premises[i], depth: depth + 1 });
  }
  return lines.join('\n');
}
