/**
 * The result of evaluation: every tuple of every predicate, queried by name, with
 * optional derivation trees.
 */
import { diag, fail, ok, type Result } from '../diagnostics/index.js';
import type { Fact, Program, SourceLoc, Value } from './ast.js';
import { formatFact, formatRule } from './format.js';
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
