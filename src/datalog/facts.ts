/**
 * Validation of facts that come from outside the program (model, runtime context):
 * they are data from other components and users, so each bad one is named.
 */
import { diag, type Diagnostic } from '../diagnostics/index.js';
import type { Fact } from './ast.js';
import { isBuiltin } from './builtins.js';
import type { CheckedProgram } from './check.js';

/** What the parser reads as a predicate name, so every input fact can be printed and re-read. */
const NAME = '[A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)*';
const PRED_NAME = new RegExp(`^${NAME}(?::${NAME})*$`);

export function validateFacts(p: CheckedProgram, facts: readonly Fact[]): Diagnostic[] {
  const errors: Diagnostic[] = [];
  const arity = new Map<string, { n: number; where: string }>();
  for (const [name, info] of p.predicates) arity.set(name, { n: info.arity, where: 'the program' });
  for (const [i, f] of facts.entries()) {
    const field = `facts[${i}]`;
    const bad = (message: string): void => void errors.push(diag('E_DL_FACT', message, { field }));
    if (f === null || typeof f !== 'object' || typeof f.pred !== 'string' || !Array.isArray(f.args)) {
      bad('a fact must be { pred: string, args: (string | number)[] }');
      continue;
    }
    if (!PRED_NAME.test(f.pred)) {
      bad(`invalid predicate name ${JSON.stringify(f.pred)}`);
      continue;
    }
    if (isBuiltin(f.pred)) {
      bad(`'${f.pred}' is a builtin and cannot be given as a fact`);
      continue;
    }
    const badArg = f.args.findIndex((v) => !(typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))));
    if (badArg >= 0) {
      bad(`argument ${badArg + 1} of '${f.pred}' must be a string or a finite number`);
      continue;
    }
    const known = arity.get(f.pred);
    if (!known) arity.set(f.pred, { n: f.args.length, where: field });
    else if (known.n !== f.args.length) {
      bad(`predicate '${f.pred}' given ${f.args.length} argument(s) but has ${known.n} in ${known.where}`);
    }
  }
  return errors;
}
