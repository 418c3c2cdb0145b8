/**
 * Static checks that make a parsed program safe to evaluate: builtin usage,
 * consistent arity per predicate, range restriction, and stratification.
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../diagnostics/index.js';
import type { Program, SourceLoc } from './ast.js';
import { BUILTINS } from './builtins.js';
import { checkSafety } from './safety.js';
import { stratify, type Stratum } from './stratify.js';

/** Joins run one nested call per literal; far beyond any real policy, well within the stack. */
const MAX_BODY_LITERALS = 1000;

interface PredicateInfo {
  name: string;
  arity: number;
  /** True when some rule derives it (an IDB predicate). */
  derived: boolean;
  /** Where the arity was first fixed. */
  loc: SourceLoc;
}

export interface CheckedProgram {
  program: Program;
  predicates: ReadonlyMap<string, PredicateInfo>;
  /** Dependency-ordered groups of derived predicates. */
  strata: Stratum[];
}

function at(loc: SourceLoc): string {
  return `${loc.file !== undefined ? loc.file + ':' : 'line '}${loc.line}:${loc.col}`;
}

export function checkProgram(program: Program): Result<CheckedProgram> {
  const errors: Diagnostic[] = [];
  const preds = new Map<string, PredicateInfo>();

  const use = (pred: string, arity: number, loc: SourceLoc, derived: boolean): void => {
    const known = preds.get(pred);
    if (!known) {
      preds.set(pred, { name: pred, arity, derived, loc });
      return;
    }
    known.derived ||= derived;
    if (known.arity !== arity) {
      errors.push(
        diag('E_DL_ARITY', `predicate '${pred}' used with ${arity} argument(s) here but with ${known.arity} at ${at(known.loc)}`, loc),
      );
    }
  };
  const notBuiltinHead = (pred: string, loc: SourceLoc): boolean => {
    if (!BUILTINS.has(pred)) return true;
    errors.push(diag('E_DL_BUILTIN_HEAD', `'${pred}' is a builtin and cannot be defined by a rule or fact`, loc));
    return false;
  };

  for (const f of program.facts) if (notBuiltinHead(f.pred, f.loc)) use(f.pred, f.args.length, f.loc, false);
  program.rules.forEach((r) => {
    if (r.body.length > MAX_BODY_LITERALS) {
      errors.push(diag('E_DL_RULE_SIZE', `rule has ${r.body.length} body literals; at most ${MAX_BODY_LITERALS} are supported`, r.loc));
    }
    if (notBuiltinHead(r.head.pred, r.head.loc)) use(r.head.pred, r.head.args.length, r.head.loc, true);
    for (const l of r.body) {
      if (l.kind === 'atom') {
        use(l.atom.pred, l.atom.args.length, l.atom.loc, false);
        continue;
      }
      const spec = BUILTINS.get(l.name);
      if (!spec) continue;
      if (spec.arity !== l.args.length) {
        errors.push(
          diag('E_DL_BUILTIN_ARITY', `builtin '${l.name}' takes ${spec.arity} argument(s) but was given ${l.args.length}`, l.loc),
        );
      }
      // A constant the builtin cannot take is wrong on every run: say so before any runs.
      for (const [i, t] of l.args.entries()) {
        const problem = t.kind === 'const' ? spec.argProblem?.(t.value, i) : undefined;
        if (problem !== undefined) errors.push(diag('E_DL_BUILTIN_ARG', `builtin '${l.name}': ${problem}`, t.loc));
      }
    }
  });
  for (const r of program.rules) errors.push(...checkSafety(r));
  const { strata, errors: strataErrors } = stratify(program.rules.filter((r) => !BUILTINS.has(r.head.pred)));
  errors.push(...strataErrors);
  if (errors.length > 0) return fail(errors);
  return ok({ program, predicates: preds, strata });
}
