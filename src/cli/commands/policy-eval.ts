import { readFileSync } from 'node:fs';
import { diag, FlowtapError } from '../../diagnostics/index.js';
import { modelFacts } from '../../model/index.js';
import { checkProgram, evaluate, formatFact, parseProgram, type Fact } from '../../datalog/index.js';
import { CliCode } from '../codes.js';
import { EXIT_OK, EXIT_VIOLATIONS, need, type Io } from '../exit.js';
import { loadAppArg } from '../load.js';

export interface PolicyEvalOptions {
  /** Add the facts of this application (descriptor or folder). */
  facts?: string;
  /** Print only this predicate. */
  query?: string;
  json?: boolean;
}

/** Congress convention: tuples of `error` or `violation` are policy violations. */
const VIOLATION_PREDICATES = ['error', 'violation'];

export function cmdPolicyEval(io: Io, file: string, o: PolicyEvalOptions): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FlowtapError(diag(CliCode.NO_FILE, `cannot read ${file}: ${(e as Error).message}`, { file }));
  }
  const program = need(checkProgram(need(parseProgram(text, file))));
  let facts: Fact[] = [];
  if (o.facts) {
    const { app, addressing } = loadAppArg(o.facts);
    facts = modelFacts(app, addressing);
  }
  const db = need(evaluate(program, facts));
  const preds = o.query
    ? [o.query]
    : db
        .predicates()
        .filter((p) => !facts.some((f) => f.pred === p))
        .sort();
  const result: Record<string, (string | number)[][]> = {};
  for (const p of preds)
    result[p] = db
      .query(p)
      .map((t) => [...t])
      .sort(compareTuples);
  if (o.json) io.out(JSON.stringify(result, null, 2));
  else for (const p of preds) for (const t of result[p]) io.out(formatFact({ pred: p, args: t }));
  const violations = VIOLATION_PREDICATES.some((p) => db.query(p).length > 0);
  return violations ? EXIT_VIOLATIONS : EXIT_OK;
}

function compareTuples(a: (string | number)[], b: (string | number)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = String(a[i]);
    const y = String(b[i]);
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
