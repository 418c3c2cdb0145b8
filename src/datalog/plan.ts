/**
 * Turns a rule into a join plan: which literal runs when, which columns are looked
 * up through an index, which bind variables, and where each filter (negation,
 * comparison, builtin) can run as early as possible. Plans are plain data; the
 * executor turns them into closures.
 */
import type { Rule, SourceLoc, Term, Value } from './ast.js';
import { BUILTINS, type BuiltinSpec } from './builtins.js';

/** Where a value comes from: a variable slot (>= 0) or a constant id `c` encoded as `~c`. */
export type Src = number;

/** Which rows of a relation an atom may read (see Relation.winStart/winEnd). */
type Window = 'full' | 'old' | 'delta';

export interface AtomStep {
  kind: 'atom';
  pred: string;
  window: Window;
  /** Ordinal of this atom among the rule's positive atoms (for provenance). */
  pos: number;
  keyCols: number[];
  keySrc: Src[];
  /** Columns whose value binds a fresh variable: [col, slot] pairs. */
  bind: number[];
  /** Columns that repeat a variable bound earlier in the same atom: [col, slot] pairs. */
  same: number[];
}

export interface NegStep {
  kind: 'neg';
  pred: string;
  keyCols: number[];
  keySrc: Src[];
}

export interface BuiltinStep {
  kind: 'builtin';
  spec: BuiltinSpec;
  negated: boolean;
  args: Src[];
  /** Argument position computed by this step (its slot is args[out]), or -1. */
  out: number;
  /** Where the literal is written, for errors about the values it meets. */
  loc: SourceLoc;
}

type Step = AtomStep | NegStep | BuiltinStep;

export interface RulePlan {
  ruleIndex: number;
  slots: number;
  steps: Step[];
  head: { pred: string; src: Src[] };
  /** Predicates of the positive atoms in body order (provenance premises). */
  positives: string[];
}

/**
 * @param recursive predicates of the rule's own stratum (read through windows)
 * @param deltaPos  ordinal of the positive atom that reads only the delta, or -1
 *                  to read every atom in full (naive evaluation, non-recursive rules)
 */
export function planRule(
  rule: Rule,
  ruleIndex: number,
  intern: (v: Value) => number,
  recursive: ReadonlySet<string>,
  deltaPos: number,
): RulePlan {
  const slotOf = new Map<string, number>();
  const slot = (name: string): number => {
    let s = slotOf.get(name);
    if (s === undefined) {
      s = slotOf.size;
      slotOf.set(name, s);
    }
    return s;
  };
  const bound = new Set<number>();
  const isBound = (t: Term): boolean => t.kind === 'const' || (!t.anonymous && bound.has(slot(t.name)));
  const src = (t: Term): Src => (t.kind === 'const' ? ~intern(t.value) : slot(t.name));

  const positives: { lit: number; pos: number }[] = [];
  const filters: number[] = [];
  rule.body.forEach((l, i) => {
    if (l.kind === 'atom' && !l.negated) positives.push({ lit: i, pos: positives.length });
    else filters.push(i);
  });

  const steps: Step[] = [];

  const placeAtom = (lit: number, pos: number): void => {
    const l = rule.body[lit];
    if (l.kind !== 'atom') throw new Error('internal: not an atom');
    const step: AtomStep = { kind: 'atom', pred: l.atom.pred, window: 'full', pos, keyCols: [], keySrc: [], bind: [], same: [] };
    if (recursive.has(l.atom.pred) && deltaPos >= 0) step.window = pos < deltaPos ? 'old' : pos === deltaPos ? 'delta' : 'full';
    const fresh = new Set<number>();
    l.atom.args.forEach((t, col) => {
      if (t.kind === 'var' && t.anonymous) return;
      if (isBound(t)) {
        step.keyCols.push(col);
        step.keySrc.push(src(t));
        return;
      }
      const s = slot((t as { name: string }).name);
      if (fresh.has(s)) step.same.push(col, s);
      else {
        fresh.add(s);
        step.bind.push(col, s);
      }
    });
    for (const s of fresh) bound.add(s);
    steps.push(step);
  };

  const ready = (lit: number): boolean => {
    const l = rule.body[lit];
    if (l.kind === 'atom') return l.atom.args.every((t) => (t.kind === 'var' && t.anonymous) || isBound(t));
    const spec = BUILTINS.get(l.name) as BuiltinSpec;
    if (l.negated) return l.args.every(isBound);
    if (spec.unifies) return isBound(l.args[0]) || isBound(l.args[1]);
    return spec.inputs.every((i) => isBound(l.args[i]));
  };

  const placeFilter = (lit: number): void => {
    const l = rule.body[lit];
    if (l.kind === 'atom') {
      const step: NegStep = { kind: 'neg', pred: l.atom.pred, keyCols: [], keySrc: [] };
      l.atom.args.forEach((t, col) => {
        if (t.kind === 'var' && t.anonymous) return;
        step.keyCols.push(col);
        step.keySrc.push(src(t));
      });
      steps.push(step);
      return;
    }
    const spec = BUILTINS.get(l.name) as BuiltinSpec;
    let out = -1;
    if (!l.negated) {
      if (spec.unifies) out = !isBound(l.args[0]) ? 0 : !isBound(l.args[1]) ? 1 : -1;
      else if (spec.output !== undefined && !isBound(l.args[spec.output])) out = spec.output;
    }
    steps.push({ kind: 'builtin', spec, negated: l.negated, args: l.args.map(src), out, loc: l.loc });
    if (out >= 0) bound.add(slot((l.args[out] as { name: string }).name));
  };

  const placeReadyFilters = (): void => {
    for (let progress = true; progress; ) {
      progress = false;
      for (let i = 0; i < filters.length; i++) {
        if (!ready(filters[i])) continue;
        placeFilter(filters[i]);
        filters.splice(i, 1);
        i--;
        progress = true;
      }
    }
  };

  placeReadyFilters();
  if (deltaPos >= 0) {
    const k = positives.findIndex((p) => p.pos === deltaPos);
    placeAtom(positives[k].lit, deltaPos);
    positives.splice(k, 1);
    placeReadyFilters();
  }
  while (positives.length > 0) {
    // Greedy: the atom with the most bound arguments narrows the join the most.
    let best = 0;
    let bestScore = -1;
    positives.forEach((p, i) => {
      const l = rule.body[p.lit];
      if (l.kind !== 'atom') return;
      const score = l.atom.args.reduce((n, t) => n + (isBound(t) ? 1 : 0), 0);
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    });
    placeAtom(positives[best].lit, positives[best].pos);
    positives.splice(best, 1);
    placeReadyFilters();
  }
  if (filters.length > 0) throw new Error(`internal: rule ${ruleIndex} has literals that never become ready (unchecked program?)`);

  for (const t of rule.head.args) if (t.kind === 'var') slot(t.name);
  const head = { pred: rule.head.pred, src: rule.head.args.map(src) };
  const positivePreds = rule.body.flatMap((l) => (l.kind === 'atom' && !l.negated ? [l.atom.pred] : []));
  return { ruleIndex, slots: slotOf.size, steps, head, positives: positivePreds };
}
