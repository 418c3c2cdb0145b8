/**
 * flowtap's Datalog: Congress-compatible syntax, static checks (safety, arity,
 * stratification), semi-naive evaluation with builtins, and provenance.
 */
export type {
  Atom,
  AtomLiteral,
  BuiltinLiteral,
  ConstTerm,
  Fact,
  Literal,
  Program,
  ProgramFact,
  Rule,
  SourceLoc,
  Term,
  Value,
  VarTerm,
} from './ast.js';
export { parseProgram } from './parser.js';
export {
  checkProgram,
  MAX_BODY_LITERALS,
  type CheckedProgram,
  type PredicateInfo,
} from './check.js';
export type { Stratum } from './stratify.js';
export { evaluate, type EvalOptions } from './evaluate.js';
export { validateFacts } from './facts.js';
export { Database, formatDerivation, type Derivation, type EvalStats } from './database.js';
export { formatFact, formatValue, formatRule, formatAtom, formatLiteral } from './format.js';
export { BUILTINS, isBuiltin, type BuiltinSpec } from './builtins.js';
export { runProgram } from './run.js';
