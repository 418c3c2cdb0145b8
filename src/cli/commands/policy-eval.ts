import { readFileSync } from 'node:fs';
import { diag, FlowtapError } from '../../diagnostics/index.js';
import { modelFacts } from '../../model/index.js';
import { checkProgram, evaluate, parseProgram, type Database, type Fact, type Value } from '../../datalog/index.js';
import { CliCode } from '../codes.js';
import { EXIT_OK, EXIT_VIOLATIONS, need, type Io } from '../exit.js';
import { loadAppArg } from '../load.js';

export interface PolicyEvalOptions {
  /** Add the facts of this application (descriptor or folder). */
  facts?: string;
  /** Print only this predicate. */
  query?: string;
  json?: boolean;
  /** Stop a runaway program after this many seconds (default: the engine's). */
  maxSeconds?: number;
  /** Stop a runaway program once evaluation has grown the process by this many MB (default: the engine's). */
  maxMb?: number;
}

/** Output is written in blocks of about this many characters. */
const BLOCK_CHARS = 1 << 20;

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
  const db = need(evaluate(program, facts, { maxSeconds: o.maxSeconds, maxMb: o.maxMb }));
  const given = new Set(facts.map((f) => f.pred));
  const preds = o.query
    ? [o.query]
    : db
        .predicates()
        .filter((p) => !given.has(p))
        .sort();
  if (o.json) {
    const result: Record<string, Value[][]> = {};
    for (const p of preds) {
      const rows = db.query(p);
      result[p] = Array.from(db.textOrder(p), (r) => rows[r]);
    }
    io.out(JSON.stringify(result, null, 2));
  } else writeBlocks(io, db, preds);
  const violations = VIOLATION_PREDICATES.some((p) => db.count(p) > 0);
  return violations ? EXIT_VIOLATIONS : EXIT_OK;
}

/** Tuples in text order, written in blocks: one write per tuple made large results slow to print. */
function writeBlocks(io: Io, db: Database, preds: readonly string[]): void {
  let block = '';
  for (const p of preds) {
    for (const r of db.textOrder(p)) {
      block += `${db.formatRow(p, r)}\n`;
      if (block.length >= BLOCK_CHARS) {
        io.out(block);
        block = '';
      }
    }
  }
  if (block.length > 0) io.out(block);
}
