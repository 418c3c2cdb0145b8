/** Parse, check and evaluate in one call, with every problem returned as a diagnostic. */
import type { Result } from '../diagnostics/index.js';
import type { Fact } from './ast.js';
import { checkProgram } from './check.js';
import type { Database } from './database.js';
import { evaluate, type EvalOptions } from './evaluate.js';
import { parseProgram } from './parser.js';

export function runProgram(text: string, facts: readonly Fact[] = [], file?: string, opts: EvalOptions = {}): Result<Database> {
  const parsed = parseProgram(text, file);
  if (!parsed.ok) return parsed;
  const checked = checkProgram(parsed.value);
  if (!checked.ok) return checked;
  return evaluate(checked.value, facts, opts);
}
