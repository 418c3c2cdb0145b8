import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifySql, classifySqlStatements } from './index.js';
import { seededRng } from '../../random/index.js';

const c = (sql: string) => {
  const r = classifySql(sql);
  return [r.kind, r.tables, r.statements];
};

test('basic statements and their tables', () => {
  assert.deepEqual(c('SELECT * FROM users WHERE id = $1'), ['SELECT', ['users'], 1]);
  assert.deepEqual(c('insert into Rentals (a, b) values (1, 2) returning id'), ['INSERT', ['rentals'], 1]);
  assert.deepEqual(c('UPDATE dvd SET stock = stock - 1 WHERE id = 3'), ['UPDATE', ['dvd'], 1]);
  assert.deepEqual(c('DELETE FROM ONLY sessions WHERE expired'), ['DELETE', ['sessions'], 1]);
  assert.deepEqual(c('TABLE films'), ['SELECT', ['films'], 1]);
  assert.deepEqual(c('VALUES (1), (2)'), ['SELECT', [], 1]);
  assert.deepEqual(c('BEGIN'), ['OTHER', [], 1]);
});

test('joins, comma lists, aliases, subqueries', () => {
  assert.deepEqual(c('SELECT a.x FROM a JOIN b ON a.id = b.id LEFT OUTER JOIN c cc USING (id) CROSS JOIN d'), [
    'SELECT',
    ['a', 'b', 'c', 'd'],
    1,
  ]);
  assert.deepEqual(c('SELECT * FROM t1 AS x, t2 y, (SELECT 1 FROM t3) s, t4'), ['SELECT', ['t1', 't2', 't3', 't4'], 1]);
  assert.deepEqual(c('SELECT (SELECT max(v) FROM u) FROM t WHERE id IN (SELECT id FROM w) AND EXISTS (SELECT 1 FROM z)'), [
    'SELECT',
    ['u', 't', 'w', 'z'],
    1,
  ]);
  assert.deepEqual(c('SELECT * FROM a, LATERAL (SELECT * FROM b WHERE b.x = a.x) l'), ['SELECT', ['a', 'b'], 1]);
});

test('function calls in FROM and FROM inside functions are not tables', () => {
  assert.deepEqual(c('SELECT extract(year FROM created_at), substring(name FROM 1 FOR 3) FROM rentals'), ['SELECT', ['rentals'], 1]);
  assert.deepEqual(c('SELECT * FROM generate_series(1, 10) g JOIN unnest($1::int[]) u ON true'), ['SELECT', [], 1]);
  assert.deepEqual(c('SELECT a IS DISTINCT FROM b FROM t'), ['SELECT', ['t'], 1]);
});

test('schema-qualified names: lower-cased, public dropped, quoted names keep case', () => {
  assert.deepEqual(c('SELECT * FROM Public.Users JOIN billing.Invoices ON true'), ['SELECT', ['users', 'billing.invoices'], 1]);
  assert.deepEqual(c('SELECT * FROM "public"."Users", "My Schema"."T""x"'), ['SELECT', ['Users', 'My Schema.T"x'], 1]);
  assert.deepEqual(c('SELECT * FROM db.s.t'), ['SELECT', ['db.s.t'], 1]);
});

test('comments and literals hide keywords', () => {
  assert.deepEqual(c("SELECT 'DELETE FROM x; DROP TABLE y' FROM real -- FROM fake\n"), ['SELECT', ['real'], 1]);
  assert.deepEqual(c('SELECT 1 /* FROM a /* nested */ FROM b */ FROM c'), ['SELECT', ['c'], 1]);
  assert.deepEqual(c("SELECT 'it''s; fine' FROM t"), ['SELECT', ['t'], 1]);
  assert.deepEqual(c("SELECT E'it\\'s; fine' FROM t"), ['SELECT', ['t'], 1]);
  assert.deepEqual(c('SELECT $$ ; FROM x $$, $tag$ ; $$ ; $tag$ FROM t'), ['SELECT', ['t'], 1]);
  assert.deepEqual(c('SELECT "from" FROM "select"'), ['SELECT', ['select'], 1]);
});

test('multiple statements: each classified, the most consequential kind wins overall', () => {
  const sql = "SELECT * FROM users WHERE name = 'a'; DROP TABLE users; -- trailing\n";
  assert.deepEqual(c(sql), ['DDL', ['users'], 2]);
  const each = classifySqlStatements(sql);
  assert.deepEqual(
    each.map((s) => [s.kind, s.tables, sql.slice(s.start, s.end)]),
    [
      ['SELECT', ['users'], "SELECT * FROM users WHERE name = 'a'"],
      ['DDL', ['users'], 'DROP TABLE users'],
    ],
  );
  assert.deepEqual(c('BEGIN; INSERT INTO a VALUES (1); UPDATE b SET x = 1; COMMIT;'), ['UPDATE', ['a', 'b'], 4]);
  assert.deepEqual(c(' ; ;; -- only comments\n'), ['OTHER', [], 0]);
});

test('WITH queries: kind of the main statement, tables from everything, CTE names left out', () => {
  assert.deepEqual(c('WITH recent AS (SELECT * FROM rentals WHERE d > now()) SELECT * FROM recent JOIN customers USING (cid)'), [
    'SELECT',
    ['rentals', 'customers'],
    1,
  ]);
  assert.deepEqual(
    c(
      'WITH RECURSIVE a(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM a), gone AS MATERIALIZED (DELETE FROM old RETURNING *) INSERT INTO archive SELECT * FROM gone',
    ),
    ['INSERT', ['old', 'archive'], 1],
  );
  assert.deepEqual(c('WITH x AS (SELECT id FROM t) UPDATE u SET f = 1 FROM x WHERE u.id = x.id'), ['UPDATE', ['t', 'u'], 1]);
  assert.deepEqual(c('WITH x AS (SELECT 1) DELETE FROM d USING x'), ['DELETE', ['d'], 1]);
});

test('FOR UPDATE, ON CONFLICT DO UPDATE and UPDATE privileges are not UPDATE statements', () => {
  assert.deepEqual(c('SELECT * FROM accounts WHERE id = 1 FOR UPDATE OF accounts SKIP LOCKED'), ['SELECT', ['accounts'], 1]);
  assert.deepEqual(c('SELECT * FROM a FOR NO KEY UPDATE'), ['SELECT', ['a'], 1]);
  assert.deepEqual(c('INSERT INTO t (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET v = excluded.v'), ['INSERT', ['t'], 1]);
  assert.deepEqual(c('GRANT SELECT, UPDATE ON customers TO app'), ['DDL', ['customers'], 1]);
  assert.deepEqual(c('REVOKE SELECT ON TABLE customers FROM app'), ['DDL', ['customers'], 1]);
});

test('DDL statements and the relations they name', () => {
  assert.deepEqual(
    c('CREATE TABLE IF NOT EXISTS public.rentals (id int PRIMARY KEY, cid int REFERENCES customers(id) ON DELETE CASCADE)'),
    ['DDL', ['rentals', 'customers'], 1],
  );
  assert.deepEqual(c('ALTER TABLE ONLY dvd ADD COLUMN x int'), ['DDL', ['dvd'], 1]);
  assert.deepEqual(c('DROP TABLE IF EXISTS a, s.b CASCADE'), ['DDL', ['a', 's.b'], 1]);
  assert.deepEqual(c('TRUNCATE TABLE a, b RESTART IDENTITY'), ['DDL', ['a', 'b'], 1]);
  assert.deepEqual(c('TRUNCATE a'), ['DDL', ['a'], 1]);
  assert.deepEqual(c('CREATE INDEX CONCURRENTLY IF NOT EXISTS idx ON rentals (cid)'), ['DDL', ['rentals'], 1]);
  assert.deepEqual(c('CREATE OR REPLACE VIEW v AS SELECT * FROM t JOIN u ON true'), ['DDL', ['v', 't', 'u'], 1]);
  assert.deepEqual(c('GRANT ALL ON SCHEMA public TO app'), ['DDL', [], 1]);
  assert.deepEqual(c('CREATE TRIGGER trg AFTER INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION f()'), ['DDL', ['orders'], 1]);
});

test('BEGIN ATOMIC function bodies do not split at their semicolons', () => {
  const sql = 'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END; SELECT 3';
  assert.deepEqual(
    classifySqlStatements(sql).map((s) => s.kind),
    ['DDL', 'SELECT'],
  );
});

test('EXPLAIN is OTHER unless ANALYZE runs the statement', () => {
  assert.deepEqual(c('EXPLAIN SELECT * FROM t'), ['OTHER', ['t'], 1]);
  assert.deepEqual(c('EXPLAIN ANALYZE DELETE FROM t'), ['DELETE', ['t'], 1]);
  assert.deepEqual(c('EXPLAIN (ANALYZE, FORMAT JSON) UPDATE t SET a = 1'), ['UPDATE', ['t'], 1]);
});

test('COPY and parenthesised selects', () => {
  assert.deepEqual(c('COPY rentals (id, cid) FROM STDIN'), ['OTHER', ['rentals'], 1]);
  assert.deepEqual(c('COPY (SELECT * FROM t) TO STDOUT'), ['OTHER', ['t'], 1]);
  assert.deepEqual(c('(SELECT a FROM x) UNION (SELECT a FROM y)'), ['SELECT', ['x', 'y'], 1]);
});

test('unterminated literals and comments run to the end without error', () => {
  assert.deepEqual(c("SELECT * FROM t WHERE a = 'open"), ['SELECT', ['t'], 1]);
  assert.deepEqual(c('SELECT * FROM t /* open'), ['SELECT', ['t'], 1]);
  assert.deepEqual(c('SELECT * FROM "open'), ['SELECT', ['open'], 1]);
  assert.deepEqual(c('SELECT $x$ open'), ['SELECT', [], 1]);
});

test('fuzz: random and spliced SQL never throws and stays consistent', () => {
  const rnd = seededRng(42);
  const words = [
    'SELECT',
    'FROM',
    'JOIN',
    'WITH',
    'AS',
    '(',
    ')',
    ',',
    ';',
    "'",
    '"',
    '$$',
    '$a$',
    '--',
    '/*',
    '*/',
    'UPDATE',
    'DELETE',
    'INSERT',
    'INTO',
    'ON',
    'CREATE',
    'TABLE',
    'BEGIN',
    'ATOMIC',
    'END',
    'CASE',
    '.',
    'public',
    't',
    'x',
    "E'",
    '\\',
    '\n',
    ' ',
    '$1',
    '1e-3',
  ];
  for (let i = 0; i < 5000; i++) {
    let sql = '';
    const n = Math.floor(rnd() * 40);
    for (let k = 0; k < n; k++)
      sql += rnd() < 0.85 ? words[Math.floor(rnd() * words.length)] + ' ' : String.fromCharCode(Math.floor(rnd() * 0x3000));
    const all = classifySql(sql);
    const each = classifySqlStatements(sql);
    assert.equal(all.statements, each.length);
    for (const s of each) assert.ok(s.start >= 0 && s.end <= sql.length && s.start < s.end);
  }
});
