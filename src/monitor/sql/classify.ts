import { T_COMMA, T_DOT, T_LPAREN, T_OP, T_QUOTED, T_RPAREN, T_SEMI, T_WORD, tokenize, type Token } from './tokenizer.js';

export type SqlKind = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'DDL' | 'OTHER';

export interface SqlStatementClass {
  kind: SqlKind;
  /** Relations the statement names: `schema.table`, unquoted parts lower-cased, `public.` dropped, CTE names left out. */
  tables: string[];
  /** The statement's extent in the input, without the `;`. */
  start: number;
  end: number;
}

export interface SqlClass {
  /** The most consequential kind among the statements: DDL > DELETE > UPDATE > INSERT > SELECT > OTHER. */
  kind: SqlKind;
  tables: string[];
  statements: number;
}

const KIND_RANK: Record<SqlKind, number> = { OTHER: 0, SELECT: 1, INSERT: 2, UPDATE: 3, DELETE: 4, DDL: 5 };

const FIRST_WORD_KIND: Record<string, SqlKind> = {
  select: 'SELECT',
  values: 'SELECT',
  table: 'SELECT',
  insert: 'INSERT',
  update: 'UPDATE',
  delete: 'DELETE',
  create: 'DDL',
  alter: 'DDL',
  drop: 'DDL',
  truncate: 'DDL',
  grant: 'DDL',
  revoke: 'DDL',
  comment: 'DDL',
};

const MAIN_WORDS = new Set(['select', 'values', 'table', 'insert', 'update', 'delete', 'merge']);

/** Words that may precede a table name without being one. */
const NAME_MODIFIERS = new Set(['only', 'lateral', 'table', 'if', 'not', 'exists', 'concurrently']);

/** Keywords that end a FROM item or its alias. */
const CLAUSES = [
  'select',
  'where',
  'from',
  'join',
  'inner',
  'left',
  'right',
  'full',
  'cross',
  'natural',
  'on',
  'using',
  'group',
  'order',
  'having',
  'limit',
  'offset',
  'union',
  'intersect',
  'except',
  'window',
  'for',
  'fetch',
  'returning',
  'set',
  'values',
  'into',
  'default',
  'when',
  'then',
  'do',
];

/** Words that are never a table name where one is expected: the clause goes on without one. */
const NOT_A_NAME = new Set([
  ...CLAUSES,
  'with',
  'as',
  'and',
  'or',
  'delete',
  'update',
  'insert',
  'case',
  'else',
  'end',
  'null',
  'true',
  'false',
  'all',
  'distinct',
  'array',
  'cascade',
  'restrict',
  'nothing',
  'rows',
  'row',
]);

/** After `ON` in DDL (GRANT ... ON SCHEMA s, COMMENT ON COLUMN ...): objects that are not tables. */
const NOT_A_TABLE_AFTER_ON = new Set([
  'schema',
  'database',
  'function',
  'procedure',
  'routine',
  'sequence',
  'all',
  'language',
  'type',
  'domain',
  'foreign',
  'tablespace',
  'large',
  'column',
  'index',
  'constraint',
  'trigger',
  'policy',
  'rule',
  'role',
  'extension',
  'server',
  'view',
  'materialized',
  'conversion',
  'collation',
  'operator',
  'aggregate',
]);

/** Words that end the alias part of a FROM item. */
const CLAUSE_WORDS = new Set([...CLAUSES, 'tablesample', 'lateral']);

/** Keywords after which `TABLE` introduces a table name. */
const BEFORE_TABLE = new Set([
  'create',
  'alter',
  'drop',
  'truncate',
  'lock',
  'temp',
  'temporary',
  'unlogged',
  'global',
  'local',
  'foreign',
  'on',
]);
const BEFORE_VIEW = new Set(['create', 'replace', 'materialized', 'recursive', 'drop', 'alter', 'temp', 'temporary']);
/** Words after which DELETE/UPDATE start a statement (rather than `ON DELETE`, `FOR UPDATE`, `DO UPDATE`). */
const BEFORE_STATEMENT = new Set(['explain', 'analyze', 'analyse', 'verbose']);

const EXPECT_NONE = 0;
/** A table name may come next. */
const EXPECT_TABLE = 1;
/** After a FROM-list item: aliases, then `,` for another item. */
const EXPECT_AFTER = 2;

const CTE_NONE = 0;
const CTE_NAME = 1;
const CTE_AFTER_NAME = 2;
const CTE_AFTER_BODY = 3;

/** What is known about one parenthesis level while scanning. */
interface Level {
  /** The statement verb at this level, which decides what FROM/INTO/USING mean. */
  verb: string;
  expect: number;
  /** Items separated by commas (FROM a, b; DROP TABLE a, b). */
  list: boolean;
  /** `name(` is a function call here, not a table with a column list. */
  funcs: boolean;
  /** The expected name follows `ON` in DDL. */
  afterOn: boolean;
  cte: number;
  /** This level is the body of a CTE. */
  cteBody: boolean;
}

const newLevel = (cteBody: boolean): Level => ({
  verb: '',
  expect: EXPECT_NONE,
  list: false,
  funcs: false,
  afterOn: false,
  cte: CTE_NONE,
  cteBody,
});

function expectTable(l: Level, list: boolean, funcs: boolean, afterOn = false): void {
  l.expect = EXPECT_TABLE;
  l.list = list;
  l.funcs = funcs;
  l.afterOn = afterOn;
}

const isName = (t: Token | undefined): boolean => t !== undefined && (t.type === T_WORD || t.type === T_QUOTED);

/** Classifies `tokens[from, to)`, one statement without its `;`. */
function classifyTokens(tokens: Token[], from: number, to: number): { kind: SqlKind; tables: string[] } {
  const stack: Level[] = [newLevel(false)];
  const tables: string[] = [];
  const ctes = new Set<string>();
  let first = '';
  let main = '';
  let analyze = false;
  for (let i = from; i < to; i++) {
    const tok = tokens[i];
    const top = stack[stack.length - 1];
    const prev = i > from ? tokens[i - 1] : undefined;
    switch (tok.type) {
      case T_LPAREN: {
        const isBody = top.cte === CTE_AFTER_NAME && prev?.type === T_WORD && (prev.value === 'as' || prev.value === 'materialized');
        if (top.expect === EXPECT_TABLE) {
          top.expect = EXPECT_AFTER;
          top.list = true;
        }
        stack.push(newLevel(isBody));
        continue;
      }
      case T_RPAREN:
        if (stack.length > 1) {
          const done = stack.pop() as Level;
          if (done.cteBody) stack[stack.length - 1].cte = CTE_AFTER_BODY;
        }
        continue;
      case T_COMMA:
        if (top.expect === EXPECT_AFTER && top.list) top.expect = EXPECT_TABLE;
        else if (top.cte === CTE_AFTER_BODY) top.cte = CTE_NAME;
        continue;
      case T_WORD:
      case T_QUOTED:
        break;
      default:
        if (top.expect === EXPECT_TABLE || !(tok.type === T_OP && tok.value === '*')) top.expect = EXPECT_NONE;
        continue;
    }
    const word = tok.type === T_WORD ? tok.value : '';
    if (!first && word) first = word;
    if (stack.length === 1 && !main && MAIN_WORDS.has(word) && (first === 'with' || first === 'explain')) main = word;
    if (word === 'analyze' || word === 'analyse') analyze = true;

    if (top.cte === CTE_NAME && word !== 'recursive') {
      ctes.add(tok.value);
      top.cte = CTE_AFTER_NAME;
      continue;
    }
    if (top.expect === EXPECT_TABLE) {
      if (NAME_MODIFIERS.has(word)) continue;
      if (top.afterOn && NOT_A_TABLE_AFTER_ON.has(word)) top.expect = EXPECT_NONE;
      else if (!NOT_A_NAME.has(word)) {
        const parts = [tok.value];
        let j = i;
        while (tokens[j + 1]?.type === T_DOT && j + 2 < to && isName(tokens[j + 2])) {
          parts.push(tokens[j + 2].value);
          j += 2;
        }
        const isCall = top.funcs && j + 1 < to && tokens[j + 1].type === T_LPAREN;
        if (!isCall) tables.push(parts.length === 2 && parts[0] === 'public' ? parts[1] : parts.join('.'));
        i = j;
        top.expect = top.list ? EXPECT_AFTER : EXPECT_NONE;
        continue;
      } else top.expect = EXPECT_NONE;
    } else if (top.expect === EXPECT_AFTER) {
      if (!CLAUSE_WORDS.has(word)) continue;
      top.expect = EXPECT_NONE;
    }
    if (!word) continue;

    const prevWord = prev?.type === T_WORD ? prev.value : '';
    const atStart = prev === undefined || prev.type === T_LPAREN || prev.type === T_RPAREN || BEFORE_STATEMENT.has(prevWord);
    switch (word) {
      case 'with':
        top.cte = CTE_NAME;
        break;
      case 'select':
      case 'insert':
      case 'merge':
        // In GRANT/REVOKE these name privileges, and `FROM role` is not a table.
        if (first !== 'grant' && first !== 'revoke') top.verb = word;
        break;
      case 'delete':
        if (atStart) top.verb = word;
        break;
      case 'update':
        if (atStart) {
          top.verb = word;
          expectTable(top, false, false);
        }
        break;
      case 'from':
        if (prevWord !== 'distinct' && (top.verb === 'select' || top.verb === 'delete' || top.verb === 'update')) {
          expectTable(top, true, true);
        }
        break;
      case 'join':
        expectTable(top, true, true);
        break;
      case 'into':
        if (top.verb === 'insert' || top.verb === 'merge') expectTable(top, false, false);
        break;
      case 'using':
        if (top.verb === 'delete' || top.verb === 'merge') expectTable(top, true, true);
        break;
      case 'table':
        if (prev === undefined || BEFORE_TABLE.has(prevWord)) expectTable(top, true, false);
        break;
      case 'view':
        if (BEFORE_VIEW.has(prevWord)) expectTable(top, true, false);
        break;
      case 'truncate':
      case 'lock':
        if (prev === undefined) expectTable(top, true, false);
        break;
      case 'copy':
        if (prev === undefined) {
          top.verb = word;
          expectTable(top, false, false);
        }
        break;
      case 'references':
        expectTable(top, false, false);
        break;
      case 'on':
        if (FIRST_WORD_KIND[first] === 'DDL') expectTable(top, false, false, true);
        break;
    }
  }
  let kind: SqlKind = FIRST_WORD_KIND[first] ?? 'OTHER';
  if (first === 'with') kind = FIRST_WORD_KIND[main] ?? 'OTHER';
  if (first === 'explain') kind = analyze ? (FIRST_WORD_KIND[main] ?? 'OTHER') : 'OTHER';
  const unique = new Set<string>();
  for (const t of tables) if (!ctes.has(t)) unique.add(t);
  return { kind, tables: [...unique] };
}

/**
 * Splits `sql` at top-level `;` and classifies each statement. Semicolons inside literals,
 * comments, parentheses and `BEGIN ATOMIC ... END` function bodies do not split.
 */
export function classifySqlStatements(sql: string): SqlStatementClass[] {
  const tokens = tokenize(sql);
  const out: SqlStatementClass[] = [];
  let from = 0;
  let depth = 0;
  let atomic = 0;
  let cases = 0;
  for (let i = 0; i <= tokens.length; i++) {
    const t = tokens[i];
    if (t !== undefined && t.type !== T_SEMI) {
      if (t.type === T_LPAREN) depth++;
      else if (t.type === T_RPAREN) depth = Math.max(0, depth - 1);
      else if (t.type === T_WORD) {
        if (t.value === 'atomic' && tokens[i - 1]?.value === 'begin') atomic++;
        else if (t.value === 'case' && atomic > 0) cases++;
        else if (t.value === 'end' && atomic > 0) {
          if (cases > 0) cases--;
          else atomic--;
        }
      }
      continue;
    }
    if (t !== undefined && (depth > 0 || atomic > 0)) continue;
    if (i > from) {
      const { kind, tables } = classifyTokens(tokens, from, i);
      out.push({ kind, tables, start: tokens[from].start, end: tokens[i - 1].end });
    }
    from = i + 1;
    depth = 0;
  }
  return out;
}

export function classifySql(sql: string): SqlClass {
  const statements = classifySqlStatements(sql);
  let kind: SqlKind = 'OTHER';
  const tables = new Set<string>();
  for (const s of statements) {
    if (KIND_RANK[s.kind] > KIND_RANK[kind]) kind = s.kind;
    for (const t of s.tables) tables.add(t);
  }
  return { kind, tables: [...tables], statements: statements.length };
}
