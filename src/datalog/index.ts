/**
 * flowtap's Datalog: Congress-compatible syntax, static checks (safety, arity,
 * stratification), semi-naive evaluation with builtins, and provenance.
 */
export type { Fact, Value } from './ast.js';
export { parseProgram } from './parser.js';
export { checkProgram, type CheckedProgram } from './check.js';
export { evaluate, type EvalOptions } from './evaluate.js';
export { Database, formatDerivation } from './database.js';
export { formatFact } from './format.js';
