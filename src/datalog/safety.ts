/**
 * Range restriction: a rule may only use a variable where its value is known.
 * Positive ordinary atoms bind variables; builtins bind their output (or, for
 * `equal`, the unbound side) once their inputs are bound. Everything else — the
 * head, negated literals, builtin inputs — must only use bound variables.
 */
import { diag, type Diagnostic } from '../diagnostics/index.js';
import type { Rule, SourceLoc, Term } from './ast.js';
import { BUILTINS } from './builtins.js';

function where(loc: SourceLoc): string {
  return `${loc.file !== undefined ? loc.file + ':' : 'line '}${loc.line}:${loc.col}`;
}

const isBoundIn =
  (bound: ReadonlySet<string>) =>
  (t: Term): boolean =>
    t.kind === 'const' || (!t.anonymous && bound.has(t.name));

/** Variables that the body binds, in the order a left-to-right fixpoint finds them. */
function boundVariables(rule: Rule): Set<string> {
  const bound = new Set<string>();
  for (const l of rule.body) {
    if (l.kind === 'atom' && !l.negated) for (const t of l.atom.args) if (t.kind === 'var' && !t.anonymous) bound.add(t.name);
  }
  const isBound = isBoundIn(bound);
  let changed = true;
  while (changed) {
    changed = false;
    for (const l of rule.body) {
      if (l.kind !== 'builtin' || l.negated) continue;
      const spec = BUILTINS.get(l.name);
      if (!spec || spec.arity !== l.args.length) continue;
      const bind = (t: Term): void => {
        if (t.kind === 'var' && !t.anonymous && !bound.has(t.name)) {
          bound.add(t.name);
          changed = true;
        }
      };
      if (spec.unifies) {
        const [a, b] = l.args;
        if (isBound(a)) bind(b);
        else if (isBound(b)) bind(a);
      } else if (spec.output !== undefined && spec.inputs.every((i) => isBound(l.args[i]))) {
        bind(l.args[spec.output]);
      }
    }
  }
  return bound;
}

export function checkSafety(rule: Rule): Diagnostic[] {
  const errors: Diagnostic[] = [];
  const bound = boundVariables(rule);
  const isBound = isBoundIn(bound);
  const ruleAt = `rule at ${where(rule.loc)}`;
  const unsafe = (t: Term, what: string): void => {
    if (t.kind !== 'var') return;
    const message = t.anonymous
      ? `unsafe ${ruleAt}: anonymous variable '_' cannot appear ${what}`
      : `unsafe ${ruleAt}: variable '${t.name}' ${what} is not bound by a positive body literal`;
    errors.push(diag('E_DL_UNSAFE', message, t.loc));
  };
  for (const t of rule.head.args) if (!isBound(t)) unsafe(t, 'in the head');
  for (const l of rule.body) {
    if (l.kind === 'atom') {
      if (!l.negated) continue;
      // `_` in a negated atom means "no tuple with any value here", which is well defined.
      for (const t of l.atom.args)
        if (t.kind === 'var' && !t.anonymous && !bound.has(t.name)) unsafe(t, `in negated literal '${l.atom.pred}'`);
      continue;
    }
    const spec = BUILTINS.get(l.name);
    if (!spec || spec.arity !== l.args.length) continue; // reported by the builtin check
    const label = l.infix !== undefined ? `comparison '${l.infix}'` : `builtin '${l.name}'`;
    const anonymous = l.args.filter((t) => t.kind === 'var' && t.anonymous);
    if (anonymous.length > 0) {
      for (const t of anonymous) unsafe(t, `in ${label}`);
      continue;
    }
    if (l.negated) {
      for (const t of l.args) if (!isBound(t)) unsafe(t, `in negated ${label}`);
      continue;
    }
    if (spec.unifies) {
      if (!isBound(l.args[0]) && !isBound(l.args[1])) for (const t of l.args) unsafe(t, `in ${label}`);
      continue;
    }
    for (const i of spec.inputs) if (!isBound(l.args[i])) unsafe(l.args[i], `in ${label}`);
  }
  return errors;
}
