export { parseProgram, E_DL_SYNTAX } from './parser.js';
export { checkProgram, E_DL_ARITY, E_DL_BUILTIN_ARITY, E_DL_BUILTIN_HEAD } from './check.js';
export { E_DL_UNSAFE } from './safety.js';
export { E_DL_UNSTRATIFIABLE } from './stratify.js';
export { evaluate, tryEvaluate, E_DL_LIMIT } from './evaluate.js';
export { E_DL_FACT, validateFacts } from './facts.js';
export { Database, formatDerivation, E_DL_NO_PROVENANCE, E_DL_NOT_DERIVED } from './database.js';
export { formatFact, formatValue, formatRule, formatAtom, formatLiteral } from './format.js';
export { BUILTINS, isBuiltin } from './builtins.js';
export { cidrContains, parsePrefix } from './cidr.js';
export { runProgram } from './run.js';
//# sourceMappingURL=index.js.map