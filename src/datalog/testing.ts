/** Helpers shared by this folder's tests. */
import assert from 'node:assert/strict';
import { formatDiagnostic, type Diagnostic, type Result } from '../diagnostics/index.js';
import type { Fact, Value } from './ast.js';
import { checkProgram, type CheckedProgram } from './check.js';
import type { Database } from './database.js';
import type { EvalOptions } from './evaluate.js';
import { parseProgram } from './parser.js';
import { runProgram } from './run.js';

export function value<T>(r: Result<T>): T {
  if (!r.ok) assert.fail(`expected success, got:\n${r.errors.map(formatDiagnostic).join('\n')}`);
  return r.value;
}

export function errors<T>(r: Result<T>): Diagnostic[] {
  if (r.ok) assert.fail('expected errors, got success');
  return r.errors;
}

export function checked(text: string): CheckedProgram {
  return value(checkProgram(value(parseProgram(text, 't.dl'))));
}

/** Errors of parse + check, whichever stage fails. */
export function problems(text: string): Diagnostic[] {
  const parsed = parseProgram(text, 't.dl');
  if (!parsed.ok) return parsed.errors;
  return errors(checkProgram(parsed.value));
}

export function run(text: string, facts: Fact[] = [], opts: EvalOptions = {}): Database {
  return value(runProgram(text, facts, 't.dl', opts));
}

/** Tuples of a predicate as sorted JSON strings, for order-independent comparison. */
export function rows(db: Database, pred: string): string[] {
  return db
    .query(pred)
    .map((t: Value[]) => JSON.stringify(t))
    .sort();
}
