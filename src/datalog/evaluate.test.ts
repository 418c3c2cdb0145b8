import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Fact } from './ast.js';
import { formatFact } from './format.js';
import { seededRng } from '../random/index.js';
import { evaluate } from './evaluate.js';
import { runProgram } from './run.js';
import { checked, errors, rows, run } from './testing.js';

const edges = (pairs: [number, number][]): Fact[] => pairs.map(([a, b]) => ({ pred: 'edge', args: [a, b] }));

test('transitive closure of a small graph with a cycle', () => {
  const db = run(
    `path(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), edge(Y, Z).`,
    edges([
      [1, 2],
      [2, 3],
      [3, 1],
      [3, 4],
    ]),
  );
  const expected: string[] = [];
  for (const a of [1, 2, 3]) for (const b of [1, 2, 3, 4]) expected.push(JSON.stringify([a, b]));
  assert.deepEqual(rows(db, 'path'), expected.sort());
  assert.equal(db.count('path'), 12);
  assert.equal(db.count(), 12 + 4);
  assert.equal(db.has('path', [3, 3]), true);
  assert.equal(db.has('path', [4, 1]), false);
  assert.equal(db.has('path', [1, '2']), false);
  assert.equal(db.has('nothing', [1]), false);
  assert.deepEqual(db.predicates(), ['edge', 'path']);
});

test('non-linear closure gives the same result as the linear one', () => {
  const g = edges([
    [1, 2],
    [2, 3],
    [3, 4],
    [4, 5],
    [5, 2],
  ]);
  const lin = run(`path(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), edge(Y, Z).`, g);
  const non = run(`path(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), path(Y, Z).`, g);
  assert.deepEqual(rows(non, 'path'), rows(lin, 'path'));
});

test('negation across strata: unreachable pairs', () => {
  const db = run(
    `node(X) :- edge(X, _).
     node(Y) :- edge(_, Y).
     reach(X, Y) :- edge(X, Y).
     reach(X, Z) :- reach(X, Y), edge(Y, Z).
     unreach(X, Y) :- node(X), node(Y), not reach(X, Y), X != Y.
     isolated(X) :- node(X), not reach(X, _).`,
    edges([
      [1, 2],
      [2, 3],
      [4, 3],
    ]),
  );
  assert.deepEqual(rows(db, 'unreach'), ['[1,4]', '[2,1]', '[2,4]', '[3,1]', '[3,2]', '[3,4]', '[4,1]', '[4,2]'].sort());
  assert.deepEqual(rows(db, 'isolated'), ['[3]']);
});

test('program facts and input facts are combined', () => {
  const db = run(`edge(1, 2).\npath(X, Y) :- edge(X, Y).`, edges([[2, 3]]));
  assert.deepEqual(rows(db, 'path'), ['[1,2]', '[2,3]']);
});

test('input facts may seed a derived predicate and may name unknown predicates', () => {
  const db = run(`p(X) :- q(X).`, [
    { pred: 'p', args: [9] },
    { pred: 'q', args: [1] },
    { pred: 'other:table', args: ['x'] },
  ]);
  assert.deepEqual(rows(db, 'p'), ['[1]', '[9]']);
  assert.deepEqual(db.query('other:table'), [['x']]);
});

test('comparisons on numbers and on strings; mixed types never compare', () => {
  const db = run(
    `v(1). v(2). v(3). v("a"). v("b"). v("10").
     less(X, Y) :- v(X), v(Y), X < Y.
     le(X, Y) :- v(X), v(Y), lteq(X, Y), X != Y.
     ge3(X) :- v(X), X >= 3.
     eq(X) :- v(X), X = "b".`,
  );
  assert.deepEqual(rows(db, 'less'), ['["10","a"]', '["10","b"]', '["a","b"]', '[1,2]', '[1,3]', '[2,3]'].sort());
  assert.deepEqual(rows(db, 'le'), rows(db, 'less'));
  assert.deepEqual(rows(db, 'ge3'), ['[3]']);
  assert.deepEqual(rows(db, 'eq'), ['["b"]']);
});

test('"1" and 1 are different constants', () => {
  const db = run(`a(1). b("1"). same(X) :- a(X), b(X).`);
  assert.equal(db.count('same'), 0);
});

test('arithmetic builtins compute and check their result', () => {
  const db = run(`
    n(2). n(5). n(-1.5).
    inc(X, Y) :- n(X), plus(X, 1, Y).
    dec(X, Y) :- n(X), minus(X, 3, Y).
    sq(X, Y) :- n(X), mul(X, X, Y).
    isSeven(X) :- n(X), plus(X, 2, 7).
    s("a").
    bad(Y) :- s(X), plus(X, 1, Y).`);
  assert.deepEqual(rows(db, 'inc'), ['[-1.5,-0.5]', '[2,3]', '[5,6]']);
  assert.deepEqual(rows(db, 'dec'), ['[-1.5,-4.5]', '[2,-1]', '[5,2]']);
  assert.deepEqual(rows(db, 'sq'), ['[-1.5,2.25]', '[2,4]', '[5,25]']);
  assert.deepEqual(rows(db, 'isSeven'), ['[5]']);
  assert.equal(db.count('bad'), 0);
});

test('equality binds a variable; negated builtins filter', () => {
  const db = run(`
    n(1). n(2). n(3).
    copy(X, Y) :- n(X), Y = X.
    konst(Y) :- Y = "k".
    notTwo(X) :- n(X), not equal(X, 2).
    notLess(X) :- n(X), not X < 2.`);
  assert.deepEqual(rows(db, 'copy'), ['[1,1]', '[2,2]', '[3,3]']);
  assert.deepEqual(rows(db, 'konst'), ['["k"]']);
  assert.deepEqual(rows(db, 'notTwo'), ['[1]', '[3]']);
  assert.deepEqual(rows(db, 'notLess'), ['[2]', '[3]']);
});

test('cidr_contains in rules, for IPv4 and IPv6', () => {
  const db = run(`
    net("internal", "10.0.0.0/8"). net("internal", "fd00::/8"). net("dmz", "192.168.1.0/24").
    addr("web", "10.2.3.4"). addr("web", "fd12:3456::1"). addr("db", "192.168.1.20"). addr("ext", "8.8.8.8"). addr("ext6", "2001:4860::8888").
    zone(H, Z) :- addr(H, A), net(Z, C), cidr_contains(C, A).
    outside(H) :- addr(H, _), not inside(H).
    inside(H) :- zone(H, _).`);
  assert.deepEqual(rows(db, 'zone'), ['["db","dmz"]', '["web","internal"]']);
  assert.deepEqual(rows(db, 'outside'), ['["ext"]', '["ext6"]']);
  assert.equal(run(`a("fd00::/8", "fd12:3456::1"). ok(X) :- a(C, X), cidr_contains(C, X).`).count('ok'), 1);
  assert.equal(run(`a("fd00::/8", "fe12::1"). ok(X) :- a(C, X), cidr_contains(C, X).`).count('ok'), 0);
  assert.equal(run(`a("10.0.0.0/8", "10.1.0.0/16"). ok(X) :- a(C, X), cidr_contains(C, X).`).count('ok'), 1, 'a block in a block');
  assert.equal(
    run(`a("0.0.0.0/0", "::1"). a("::/0", "10.0.0.1"). ok(X) :- a(C, X), cidr_contains(C, X).`).count('ok'),
    0,
    'families never mix',
  );
});

test('cidr_contains rejects leading zeros, host bits and malformed addresses with a clear error', () => {
  // Constants are checked before evaluation, at their position.
  const zero = errors(runProgram(`ok(X) :- a(X), cidr_contains("10.0.0.0/8", "010.0.0.1").`, [], 't.dl'));
  assert.deepEqual(
    zero.map((d) => [d.code, d.loc?.line, d.loc?.col]),
    [['E_DL_BUILTIN_ARG', 1, 44]],
  );
  assert.match(
    zero[0].message,
    /builtin 'cidr_contains': "010\.0\.0\.1" is not an IP address or block: "010\.0\.0\.1" is not an IPv4 address: leading zeros are not allowed/,
  );
  const hostBits = errors(runProgram(`ok(X) :- a(X), cidr_contains("10.1.2.3/8", X).`, [], 't.dl'));
  assert.match(hostBits[0].message, /host bits are set; did you mean 10\.0\.0\.0\/8\?/);
  // Values met during evaluation fail it, naming the call, its values and the rule's literal.
  const db = runProgram(`ok(X) :- a(C, X), cidr_contains(C, X).`, [{ pred: 'a', args: ['10.0.0.0/8', '10.0.0.01'] }], 't.dl');
  const e = errors(db);
  assert.deepEqual(
    e.map((d) => [d.code, d.loc?.line, d.loc?.col]),
    [['E_DL_BUILTIN_ARG', 1, 19]],
  );
  assert.match(
    e[0].message,
    /^cidr_contains\("10\.0\.0\.0\/8", "10\.0\.0\.01"\): "10\.0\.0\.01" is not an IP address or block: .*leading zeros are not allowed \("01"/,
  );
  for (const bad of ['10.0.0', '10.0.0.256', '1::2::3', 'fe80::1%eth0', 'web', 7]) {
    const r = runProgram(`ok(X) :- a(X), cidr_contains("10.0.0.0/8", X).`, [{ pred: 'a', args: [bad] }], 't.dl');
    assert.equal(errors(r)[0].code, 'E_DL_BUILTIN_ARG', String(bad));
  }
  // Under negation too: a malformed address is not "outside".
  const neg = runProgram(`out(X) :- a(X), not cidr_contains("10.0.0.0/8", X).`, [{ pred: 'a', args: ['010.1.1.1'] }], 't.dl');
  assert.equal(errors(neg)[0].code, 'E_DL_BUILTIN_ARG');
});

test('port_in_range', () => {
  const db = run(`
    conn("a", 80). conn("b", 8080). conn("c", 1024). conn("d", 22). conn("e", "80").
    allowed(H) :- conn(H, P), port_in_range(P, 80, 1024).`);
  assert.deepEqual(rows(db, 'allowed'), ['["a"]', '["c"]']);
});

test('repeated variables and constants inside one atom', () => {
  const db = run(`
    e(1, 1). e(1, 2). e(2, 2). e(3, 1).
    loop(X) :- e(X, X).
    toOne(X) :- e(X, 1).
    fromOneTwo :- e(1, 2).
    fromTwoOne :- e(2, 1).`);
  assert.deepEqual(rows(db, 'loop'), ['[1]', '[2]']);
  assert.deepEqual(rows(db, 'toOne'), ['[1]', '[3]']);
  assert.deepEqual(db.query('fromOneTwo'), [[]]);
  assert.equal(db.count('fromTwoOne'), 0);
});

test('module-prefixed predicates', () => {
  const db = run(`vulnerable(VM) :- nova:servers(VM, Img), glance:images(Img, "old").`, [
    { pred: 'nova:servers', args: ['vm1', 'img1'] },
    { pred: 'nova:servers', args: ['vm2', 'img2'] },
    { pred: 'glance:images', args: ['img1', 'old'] },
    { pred: 'glance:images', args: ['img2', 'new'] },
  ]);
  assert.deepEqual(db.query('vulnerable'), [['vm1']]);
});

test('mutual recursion', () => {
  const facts: Fact[] = [{ pred: 'zero', args: [0] }];
  for (let i = 0; i < 10; i++) facts.push({ pred: 'succ', args: [i, i + 1] });
  const db = run(`even(X) :- zero(X).\neven(Y) :- odd(X), succ(X, Y).\nodd(Y) :- even(X), succ(X, Y).`, facts);
  assert.deepEqual(rows(db, 'even'), ['[0]', '[10]', '[2]', '[4]', '[6]', '[8]']);
  assert.deepEqual(rows(db, 'odd'), ['[1]', '[3]', '[5]', '[7]', '[9]']);
});

test('bad input facts come back as diagnostics, every one of them', () => {
  const p = checked(`p(X) :- q(X, Y).`);
  const bad = [
    { pred: 'q', args: [1] },
    { pred: 'q', args: [1, Number.NaN] },
    { pred: 'lt', args: [1, 2] },
    { pred: 'bad name', args: [] },
    { pred: 'r', args: [1] },
    { pred: 'r', args: [1, 2] },
  ] as Fact[];
  const e = errors(evaluate(p, bad));
  assert.deepEqual(
    e.map((d) => [d.code, d.loc?.field]),
    [
      ['E_DL_FACT', 'facts[0]'],
      ['E_DL_FACT', 'facts[1]'],
      ['E_DL_FACT', 'facts[2]'],
      ['E_DL_FACT', 'facts[3]'],
      ['E_DL_FACT', 'facts[5]'],
    ],
  );
  assert.match(e[0].message, /predicate 'q' given 1 argument\(s\) but has 2 in the program/);
});

const RUNAWAY = `base(1).\nn(0).\nn(Y) :- n(X), plus(X, 1, Y).\nm(X) :- base(X).`;

test('a program that derives without bound stops at maxTuples, naming the rule', () => {
  const r = runProgram(RUNAWAY, [], 't.dl', { maxTuples: 1000 });
  const e = errors(r);
  assert.equal(e[0].code, 'E_DL_LIMIT');
  assert.match(e[0].message, /after 1000 tuples \(maxTuples\): rule 0 keeps deriving .*n\(Y\) :- n\(X\), plus\(X, 1, Y\)\./);
  assert.deepEqual(e[0].loc, { file: 't.dl', line: 3, col: 1 });
});

test('a runaway program stops within its time bound, naming the rule', () => {
  const t0 = performance.now();
  const e = errors(runProgram(RUNAWAY, [], 't.dl', { maxSeconds: 0.3, maxTuples: 1e12, maxMb: 1e6 }));
  const ms = performance.now() - t0;
  assert.equal(e[0].code, 'E_DL_LIMIT');
  assert.match(e[0].message, /after 0\.3 s \(maxSeconds\): rule 0 keeps deriving/);
  assert.equal(e[0].loc?.line, 3);
  // The deadline is read every few thousand rows: the overrun is small.
  assert.ok(ms >= 300 && ms < 1500, `stopped after ${ms.toFixed(0)} ms`);
});

test('a runaway program stops within its memory bound, naming the rule', () => {
  const e = errors(runProgram(RUNAWAY, [], 't.dl', { maxMb: 40, maxTuples: 1e12, maxSeconds: 1e6 }));
  assert.equal(e[0].code, 'E_DL_LIMIT');
  assert.match(e[0].message, /past 40 MB of memory \(maxMb\): rule 0 keeps deriving/);
});

test('a join that explodes without deriving anything new is stopped, naming its rule', () => {
  const facts: Fact[] = [];
  for (let i = 0; i < 400; i++) facts.push({ pred: 'e', args: [i] });
  // 400^3 = 64M combinations, all deriving the one tuple q(0) again and again.
  const program = `q(0) :- e(_), e(_), e(_).`;
  // A fake clock that jumps an hour at the third reading: deterministic whatever the machine.
  let reads = 0;
  const probe = { now: () => (reads++ >= 2 ? 3.6e6 : 0), memoryBytes: () => 0 };
  const e = errors(runProgram(program, facts, 't.dl', { maxSeconds: 60, probe }));
  assert.equal(e[0].code, 'E_DL_LIMIT');
  assert.match(e[0].message, /after 60 s \(maxSeconds\): .*rule 0/);
  assert.ok(reads >= 3);
});

test('the memory bound reads the probe: growth past maxMb stops, growth below does not', () => {
  let bytes = 100 * 2 ** 20;
  const probe = { now: () => 0, memoryBytes: () => (bytes += 16 * 2 ** 20) };
  const e = errors(runProgram(RUNAWAY, [], 't.dl', { maxMb: 64, maxTuples: 1e12, probe }));
  assert.match(e[0].message, /past 64 MB of memory \(maxMb\): rule 0 keeps deriving/);
  // A program that ends, under a bound it never reaches.
  const g: Fact[] = [];
  for (let i = 0; i < 300; i++) g.push({ pred: 'edge', args: [i, i + 1] });
  bytes = 0;
  const db = run(`path(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), edge(Y, Z).`, g, { maxMb: 1e6, probe });
  assert.equal(db.count('path'), (300 * 301) / 2);
});

test('a table outgrowing JavaScript (RangeError) ends in the same E_DL_LIMIT, naming the rule', () => {
  // A real Map reaches its maximum size only after ~16M entries and a gigabyte; a probe that
  // throws V8's RangeError mid-evaluation takes the same path out.
  let calls = 0;
  const probe = {
    now: () => 0,
    memoryBytes: (): number => {
      if (calls++ === 0) return 0;
      throw new RangeError('Map maximum size exceeded');
    },
  };
  const e = errors(runProgram(RUNAWAY, [], 't.dl', { maxTuples: 1e12, probe }));
  assert.equal(e[0].code, 'E_DL_LIMIT');
  assert.match(e[0].message, /outgrew JavaScript's limits \(Map maximum size exceeded\): rule 0 keeps deriving/);
  assert.equal(e[0].loc?.line, 3);
});

test('runProgram returns parse and check errors as results', () => {
  assert.equal(errors(runProgram(`p(`))[0].code, 'E_DL_SYNTAX');
  assert.equal(errors(runProgram(`p(X) :- q(Y).`))[0].code, 'E_DL_UNSAFE');
});

test('indexes are built lazily, one per bound-column set', async () => {
  const { Relation } = await import('./relation.js');
  const r = new Relation('t', 3, 0);
  for (let i = 0; i < 1000; i++) assert.equal(r.insert([i % 7, i % 11, i]), i);
  assert.equal(r.insert([3, 3, 3]), -1);
  assert.equal(r.size, 1000);
  assert.equal(r.find([999 % 7, 999 % 11, 999]), 999);
  assert.equal(r.find([0, 0, 1]), -1);
  assert.equal(r.indexCount(), 0);
  const idx = r.index([0, 1]);
  assert.equal(r.indexCount(), 1);
  assert.equal(r.index([0, 1]), idx);
  const got: number[] = [];
  for (let row = idx.lookup([2, 5]); row >= 0; row = idx.next[row]) got.push(row);
  const want: number[] = [];
  for (let i = 999; i >= 0; i--) if (i % 7 === 2 && i % 11 === 5) want.push(i);
  assert.deepEqual(got, want);
  // Rows appended after the index exists are found too (newest first).
  r.insert([2, 5, 5000]);
  assert.equal(idx.lookup([2, 5]), 1000);
  assert.equal(idx.lookup([6, 6]), 930);
  assert.equal(idx.lookup([7, 0]), -1);
});

test('textOrder orders rows by the text of each column, ties (1 and "1") in derivation order, as a comparison sort would', () => {
  const rand = seededRng(5);
  const pool: (string | number)[] = [1, '1', 2, '10', 10, 'a', 'a\u0000', 'B', -1, '-1', 0.5, '', 'é', 'z'];
  const facts: Fact[] = [];
  for (let i = 0; i < 2000; i++) {
    facts.push({ pred: 't', args: [0, 1, 2].map(() => pool[Math.floor(rand() * pool.length)]) });
  }
  facts.push({ pred: 't', args: [1, 1, 1] });
  const db = run(`u(A, B, C) :- t(A, B, C).\nw :- t(1, 1, 1).`, facts);
  const rows = db.query('u');
  const text = (t: (string | number)[]) => t.map(String);
  const expected = rows
    .map((t, i) => ({ t, i }))
    .sort((x, y) => {
      const a = text(x.t);
      const b = text(y.t);
      for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
      return 0;
    })
    .map((e) => e.i);
  assert.deepEqual([...db.textOrder('u')], expected);
  assert.equal(db.formatRow('u', expected[0]), formatFact({ pred: 'u', args: rows[expected[0]] }));
  assert.deepEqual([...db.textOrder('nothing')], []);
  assert.equal(db.formatRow('w', 0), 'w.');
});
