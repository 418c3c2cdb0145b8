/**
 * Executes a join plan as a chain of closures, one per step, over a shared Int32Array
 * of variable bindings. Nothing is allocated per tuple except new interned values
 * computed by arithmetic builtins. Every visited row counts down the evaluation's budget, so a
 * join that explodes without deriving anything new is stopped too.
 */
import type { Value } from './ast.js';
import type { Budget } from './budget.js';
import type { Interner } from './intern.js';
import type { AtomStep, BuiltinStep, NegStep, RulePlan, Src } from './plan.js';
import type { ColumnIndex, Relation } from './relation.js';

type Run = () => void;

export interface Sink {
  /** Called with the head tuple; `matched` holds the row of each positive atom. */
  emit(rel: Relation, tuple: Int32Array, plan: RulePlan, matched: Int32Array): void;
  /** Called when a builtin meets values outside its domain; evaluation cannot go on. */
  reject(step: BuiltinStep, args: readonly Value[]): never;
}

const WIN_FULL = 0;
const WIN_OLD = 1;
const WIN_DELTA = 2;

function fillKey(key: Int32Array, src: Int32Array, b: Int32Array): void {
  for (let j = 0; j < src.length; j++) {
    const s = src[j];
    key[j] = s >= 0 ? b[s] : ~s;
  }
}

function atomRun(step: AtomStep, rel: Relation, b: Int32Array, matched: Int32Array, budget: Budget, next: Run): Run {
  const a = rel.arity;
  const win = step.window === 'full' ? WIN_FULL : step.window === 'old' ? WIN_OLD : WIN_DELTA;
  const pos = step.pos;
  const bind = Int32Array.from(step.bind);
  const same = Int32Array.from(step.same);
  const nb = bind.length;
  const ns = same.length;
  const keySrc = Int32Array.from(step.keySrc);
  const key = new Int32Array(keySrc.length);

  // Bind the free columns of `row` and continue if repeated variables agree.
  const visit = (row: number): void => {
    const data = rel.data;
    const base = row * a;
    for (let j = 0; j < nb; j += 2) b[bind[j + 1]] = data[base + bind[j]];
    for (let j = 0; j < ns; j += 2) if (data[base + same[j]] !== b[same[j + 1]]) return;
    matched[pos] = row;
    next();
  };

  if (keySrc.length === 0) {
    return () => {
      const lo = win === WIN_DELTA ? rel.winStart : 0;
      const hi = win === WIN_OLD ? rel.winStart : rel.winEnd;
      for (let row = lo; row < hi; row++) {
        if (--budget.left <= 0) budget.check();
        visit(row);
      }
    };
  }
  if (keySrc.length === a) {
    // Every column is known: a membership test on the relation's own hash set.
    return () => {
      fillKey(key, keySrc, b);
      const row = rel.find(key);
      if (row < 0) return;
      const lo = win === WIN_DELTA ? rel.winStart : 0;
      const hi = win === WIN_OLD ? rel.winStart : rel.winEnd;
      if (row >= lo && row < hi) {
        matched[pos] = row;
        next();
      }
    };
  }
  let idx: ColumnIndex | undefined;
  const cols = step.keyCols;
  if (nb === 2 && ns === 0) {
    // The common shape (one free column), unrolled.
    const bcol = bind[0];
    const bslot = bind[1];
    return () => {
      idx ??= rel.index(cols);
      fillKey(key, keySrc, b);
      const lo = win === WIN_DELTA ? rel.winStart : 0;
      const hi = win === WIN_OLD ? rel.winStart : rel.winEnd;
      for (let row = idx.lookup(key); row >= 0; row = idx.next[row]) {
        if (row >= hi) continue;
        if (row < lo) break;
        if (--budget.left <= 0) budget.check();
        b[bslot] = rel.data[row * a + bcol];
        matched[pos] = row;
        next();
      }
    };
  }
  return () => {
    idx ??= rel.index(cols);
    fillKey(key, keySrc, b);
    const lo = win === WIN_DELTA ? rel.winStart : 0;
    const hi = win === WIN_OLD ? rel.winStart : rel.winEnd;
    for (let row = idx.lookup(key); row >= 0; row = idx.next[row]) {
      if (row >= hi) continue;
      if (row < lo) break;
      if (--budget.left <= 0) budget.check();
      visit(row);
    }
  };
}

function negRun(step: NegStep, rel: Relation, b: Int32Array, next: Run): Run {
  const keySrc = Int32Array.from(step.keySrc);
  const key = new Int32Array(keySrc.length);
  // The negated predicate belongs to a finished stratum: all of its rows count.
  if (keySrc.length === 0) return () => rel.size === 0 && next();
  if (keySrc.length === rel.arity) {
    return () => {
      fillKey(key, keySrc, b);
      if (rel.find(key) < 0) next();
    };
  }
  let idx: ColumnIndex | undefined;
  return () => {
    idx ??= rel.index(step.keyCols);
    fillKey(key, keySrc, b);
    if (idx.lookup(key) < 0) next();
  };
}

function builtinRun(step: BuiltinStep, interner: Interner, b: Int32Array, sink: Sink, next: Run): Run {
  const src = Int32Array.from(step.args);
  const spec = step.spec;
  const vals: Value[] = new Array<Value>(src.length);
  const values = interner.values;
  const id = (s: Src): number => (s >= 0 ? b[s] : ~s);
  const load = (): void => {
    for (let j = 0; j < src.length; j++) vals[j] = values[id(src[j])];
  };
  if (spec.unifies) {
    // Interned ids are equal exactly when the values are.
    if (step.out >= 0) {
      const from = src[1 - step.out];
      const to = src[step.out];
      return () => {
        b[to] = id(from);
        next();
      };
    }
    const neg = step.negated;
    return () => {
      if ((id(src[0]) === id(src[1])) !== neg) next();
    };
  }
  if (step.out >= 0) {
    const to = src[step.out];
    const compute = spec.compute as (a: readonly Value[]) => Value | undefined;
    return () => {
      load();
      const r = compute(vals);
      if (r === undefined) return;
      b[to] = interner.intern(r);
      next();
    };
  }
  const neg = step.negated;
  return () => {
    load();
    const r = spec.test(vals);
    if (r === undefined) sink.reject(step, vals);
    if (r !== neg) next();
  };
}

/** Build the closure chain for one plan; calling it runs the whole join once. */
export function compilePlan(plan: RulePlan, relOf: (pred: string) => Relation, interner: Interner, sink: Sink, budget: Budget): Run {
  const b = new Int32Array(Math.max(1, plan.slots));
  const matched = new Int32Array(Math.max(1, plan.positives.length));
  const headRel = relOf(plan.head.pred);
  const headSrc = Int32Array.from(plan.head.src);
  const tuple = new Int32Array(Math.max(1, headSrc.length));
  let run: Run = () => {
    fillKey(tuple, headSrc, b);
    sink.emit(headRel, tuple, plan, matched);
  };
  for (let i = plan.steps.length - 1; i >= 0; i--) {
    const s = plan.steps[i];
    if (s.kind === 'atom') run = atomRun(s, relOf(s.pred), b, matched, budget, run);
    else if (s.kind === 'neg') run = negRun(s, relOf(s.pred), b, run);
    else run = builtinRun(s, interner, b, sink, run);
  }
  return run;
}
