import type { SqlConstraint } from '../../model/index.js';
import { classifySqlStatements, type SqlKind } from '../sql/index.js';

/**
 * Statements that only steer the session or its transaction (classifySql's kind OTHER with one
 * of these first words). They touch no table, and a client that may run any statement at all
 * needs them (drivers wrap writes in BEGIN/COMMIT, set parameters, release savepoints), so
 * they are allowed wherever SQL is allowed, as are liveness probes (see isProbe). Every other OTHER statement (COPY, CALL, DO,
 * EXPLAIN, VACUUM, LOCK, MERGE, ...) is allowed only when the constraint lists no statement
 * kinds at all.
 */
export const SESSION_CONTROL_WORDS: ReadonlySet<string> = new Set([
  'begin',
  'start',
  'commit',
  'end',
  'rollback',
  'abort',
  'savepoint',
  'release',
  'set',
  'reset',
  'show',
  'discard',
  'deallocate',
  'close',
]);

/**
 * A liveness probe: a SELECT that names no table and calls nothing (`SELECT 1`, drivers' and
 * pools' connection checks). It reads no data, so it is allowed like session control; with a
 * parenthesis outside string literals (a function call, a subquery) it is an ordinary SELECT.
 */
export function isProbe(kind: SqlKind, tables: readonly string[], text: string): boolean {
  if (kind !== 'SELECT' || tables.length > 0 || !/^select\b/i.test(text)) return false;
  const outsideStrings = text.replace(/'(?:[^']|'')*'/g, "''");
  return !/[()]/.test(outsideStrings) && !/\b(from|into)\b/i.test(outsideStrings);
}

export interface SqlStatementInfo {
  kind: SqlKind;
  tables: string[];
  /** The statement's text (trimmed). */
  text: string;
  /** BEGIN/COMMIT/SET/... or a liveness probe (`SELECT 1`): allowed wherever SQL is. */
  control: boolean;
}

export function sqlStatements(sql: string): SqlStatementInfo[] {
  return classifySqlStatements(sql).map((s) => {
    const text = sql.slice(s.start, s.end).trim();
    const first = /^[A-Za-z_]+/.exec(text)?.[0].toLowerCase() ?? '';
    const control = (s.kind === 'OTHER' && SESSION_CONTROL_WORDS.has(first)) || isProbe(s.kind, s.tables, text);
    return { kind: s.kind, tables: s.tables, text, control };
  });
}

/** `public.users` and `users` name the same table (classifySql drops `public.`). */
function normalizeTable(t: string): string {
  const l = t.toLowerCase();
  return l.startsWith('public.') ? l.slice(7) : l;
}

/** Whether one statement fits one constraint: its kind is listed (or none are) and every table it names is (or none are). */
export function statementAllowed(c: SqlConstraint, s: SqlStatementInfo): boolean {
  if (s.control) return true;
  if (c.statements.length > 0 && !(c.statements as string[]).includes(s.kind)) return false;
  if (c.tables.length === 0) return true;
  const allowed = c.tables.map(normalizeTable);
  return s.tables.every((t) => allowed.includes(normalizeTable(t)));
}

/** Human form of a constraint for evidence: `INSERT on users`. */
export function describeSqlConstraint(c: SqlConstraint): string {
  const kinds = c.statements.length > 0 ? c.statements.join('|') : 'any statement';
  const tables = c.tables.length > 0 ? c.tables.join('|') : 'any table';
  return `${kinds} on ${tables}`;
}
