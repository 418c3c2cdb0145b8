/**
 * Bottom-up evaluation, stratum by stratum. Semi-naive by default: each iteration joins
 * only against the tuples new in the previous one. The naive evaluator re-joins
 * everything every iteration; it shares the join machinery, so it is both a baseline
 * for benchmarks and an oracle for tests of the delta logic.
 */
import { diag, fail, ok, type Result } from '../diagnostics/index.js';
import type { Fact } from './ast.js';
import { Budget, DEFAULT_MAX_MB, DEFAULT_MAX_SECONDS, DEFAULT_MAX_TUPLES, type ResourceProbe, Stop } from './budget.js';
import type { CheckedProgram } from './check.js';
import { Database, type EvalStats } from './database.js';
import { compilePlan, type Sink } from './exec.js';
import { validateFacts } from './facts.js';
import { formatValue } from './format.js';
import { Interner } from './intern.js';
import { planRule, type RulePlan } from './plan.js';
import { ORIGIN_INPUT, ORIGIN_PROGRAM_FACT, ProvenanceLog } from './provenance.js';
import { Relation } from './relation.js';
import type { Stratum } from './stratify.js';

export interface EvalOptions {
  /** Use the naive evaluator (baseline, oracle). */
  naive?: boolean;
  /** Record the first derivation of every tuple, for Database.explain. */
  provenance?: boolean;
  /** Stop with E_DL_LIMIT past this many tuples (arithmetic can derive forever). Default 50,000,000. */
  maxTuples?: number;
  /** Stop with E_DL_LIMIT past this many seconds of evaluation. Default 10. */
  maxSeconds?: number;
  /** Stop with E_DL_LIMIT once the process has grown by this many MB during evaluation. Default 512. */
  maxMb?: number;
  /** Where time and memory are read; tests pass a fake. */
  probe?: ResourceProbe;
}

/**
 * Evaluate a checked program over input facts. Fails with E_DL_FACT for invalid input facts,
 * E_DL_BUILTIN_ARG when a builtin meets a value outside its domain (a malformed address in
 * `cidr_contains`), and E_DL_LIMIT for a runaway program: past the tuple, time or memory
 * bound, or when a table outgrows what JavaScript allows, naming the rule that kept deriving
 * (or whose join was running).
 */
export function evaluate(p: CheckedProgram, facts: readonly Fact[], opts: EvalOptions = {}): Result<Database> {
  const factErrors = validateFacts(p, facts);
  if (factErrors.length > 0) return fail(factErrors);
  const budget = new Budget(
    p.program.rules,
    {
      maxTuples: opts.maxTuples ?? DEFAULT_MAX_TUPLES,
      maxSeconds: opts.maxSeconds ?? DEFAULT_MAX_SECONDS,
      maxMb: opts.maxMb ?? DEFAULT_MAX_MB,
    },
    opts.probe,
  );
  try {
    return evaluateWithin(p, facts, opts, budget);
  } catch (e) {
    if (e instanceof Stop) return fail(e.diagnostic);
    // A Map or typed array grown to JavaScript's maximum: the same runaway, met before a bound.
    if (e instanceof RangeError) return fail(budget.tooLarge(e));
    throw e;
  }
}

function evaluateWithin(p: CheckedProgram, facts: readonly Fact[], opts: EvalOptions, budget: Budget): Result<Database> {
  const interner = new Interner();
  const relations = new Map<string, Relation>();
  const relFor = (pred: string, arity: number): Relation => {
    let rel = relations.get(pred);
    if (!rel) {
      rel = new Relation(pred, arity, relations.size);
      relations.set(pred, rel);
    }
    return rel;
  };
  for (const info of p.predicates.values()) relFor(info.name, info.arity);
  const relOf = (pred: string): Relation => relations.get(pred) as Relation;

  const prov = opts.provenance ? new ProvenanceLog() : undefined;
  const stats: EvalStats = { derived: 0, iterations: 0 };
  const scratch = new Int32Array(64);
  const addFact = (f: Fact, origin: number): void => {
    const rel = relFor(f.pred, f.args.length);
    const t = f.args.length <= scratch.length ? scratch : new Int32Array(f.args.length);
    for (let j = 0; j < f.args.length; j++) t[j] = interner.intern(f.args[j]);
    const row = rel.insert(t);
    if (row >= 0) {
      budget.stored();
      prov?.record(rel.id, row, origin);
    }
  };
  for (const [k, f] of p.program.facts.entries()) addFact(f, ORIGIN_PROGRAM_FACT - k);
  for (const f of facts) addFact(f, ORIGIN_INPUT);

  const premiseCount = p.program.rules.map((r) => r.body.filter((l) => l.kind === 'atom' && !l.negated).length);
  const sink: Sink = {
    emit(rel, tuple, plan, matched) {
      const row = rel.insert(tuple);
      if (row < 0) return;
      stats.derived++;
      budget.derived(plan.ruleIndex);
      if (prov) prov.record(rel.id, row, plan.ruleIndex, matched, premiseCount[plan.ruleIndex]);
    },
    reject(step, args) {
      const problem = args.map((v, i) => step.spec.argProblem?.(v, i)).find((x) => x !== undefined) ?? 'an argument is outside its domain';
      const call = `${step.spec.name}(${args.map(formatValue).join(', ')})`;
      throw new Stop(diag('E_DL_BUILTIN_ARG', `${call}: ${problem}`, step.loc));
    },
  };
  const intern = (v: Fact['args'][number]): number => interner.intern(v);

  const evalStratum = (s: Stratum): void => {
    const members = new Set(s.preds);
    const rels = s.preds.map(relOf);
    const build = (plan: RulePlan): (() => void) => compilePlan(plan, relOf, interner, sink, budget);
    const reads = (i: number): boolean => p.program.rules[i].body.some((l) => l.kind === 'atom' && !l.negated && members.has(l.atom.pred));
    for (const r of relations.values()) {
      r.winStart = 0;
      r.winEnd = r.size;
    }
    const full = s.rules.map((i) => ({ i, run: build(planRule(p.program.rules[i], i, intern, members, -1)) }));
    const runRule = (f: { i: number; run: () => void }): void => {
      budget.running = f.i;
      f.run();
    };

    budget.round();
    if (!s.recursive) {
      stats.iterations++;
      for (const f of full) runRule(f);
      return;
    }
    if (opts.naive) {
      for (;;) {
        stats.iterations++;
        budget.round();
        const before = rels.map((r) => r.size);
        for (const r of rels) r.winEnd = r.size;
        for (const f of full) runRule(f);
        if (rels.every((r, k) => r.size === before[k])) return;
      }
    }
    // Rules that read nothing of this stratum run once; the rest run once per delta atom.
    for (const f of full) if (!reads(f.i)) runRule(f);
    const variants: { i: number; run: () => void }[] = [];
    for (const i of s.rules) {
      const rule = p.program.rules[i];
      let pos = 0;
      for (const l of rule.body) {
        if (l.kind !== 'atom' || l.negated) continue;
        if (members.has(l.atom.pred)) variants.push({ i, run: build(planRule(rule, i, intern, members, pos)) });
        pos++;
      }
    }
    for (const r of rels) {
      r.winStart = 0;
      r.winEnd = r.size;
    }
    for (;;) {
      stats.iterations++;
      budget.round();
      for (const v of variants) runRule(v);
      let grew = false;
      for (const r of rels) {
        r.winStart = r.winEnd;
        r.winEnd = r.size;
        if (r.winStart < r.winEnd) grew = true;
      }
      if (!grew) return;
    }
  };

  for (const s of p.strata) evalStratum(s);
  return ok(new Database(interner, relations, p.program, stats, premiseCount, prov));
}
