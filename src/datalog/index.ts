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
export { parseProgram, E_DL_SYNTAX } from './parser.js';
export {
  checkProgram,
  E_DL_ARITY,
  E_DL_BUILTIN_ARITY,
  E_DL_BUILTIN_HEAD,
  E_DL_RULE_SIZE,
  MAX_BODY_LITERALS,
  type CheckedProgram,
  type PredicateInfo,
} from './check.js';
export { E_DL_UNSAFE } from './safety.js';
export { E_DL_UNSTRATIFIABLE, type Stratum } from './stratify.js';
export { evaluate, tryEvaluate, E_DL_LIMIT, type EvalOptions } from './evaluate.js';
export { E_DL_FACT, validateFacts } from './facts.js';
export { Database, formatDerivation, E_DL_NO_PROVENANCE, E_DL_NOT_DERIVED, type Derivation, type EvalStats } from './database.js';
export { formatFact, formatValue, formatRule, formatAtom, formatLiteral } from './format.js';
export { BUILTINS, isBuiltin, type BuiltinSpec } from './builtins.js';
export { cidrContains, parsePrefix, type Prefix } from './cidr.js';
export { runProgram } from './run.js';
