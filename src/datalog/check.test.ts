import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checked, problems } from './testing.js';

function only(text: string, code: string) {
  const e = problems(text);
  assert.ok(e.length >= 1 && e.every((d) => d.code === code), `expected only ${code}, got ${JSON.stringify(e)}`);
  return e;
}

test('unsafe head variable: names the variable, points at it and at the rule', () => {
  const [d, ...rest] = only(`ok(1).\np(X, Y) :- q(X).`, 'E_DL_UNSAFE');
  assert.equal(rest.length, 0);
  assert.deepEqual(d.loc, { file: 't.dl', line: 2, col: 6 });
  assert.match(d.message, /rule at t\.dl:2:1: variable 'Y' in the head is not bound/);
});

test('unsafe variable in a negated literal', () => {
  const [d] = only(`p(X) :- q(X), not r(X, Y).`, 'E_DL_UNSAFE');
  assert.deepEqual(d.loc, { file: 't.dl', line: 1, col: 24 });
  assert.match(d.message, /variable 'Y' in negated literal 'r'/);
});

test('anonymous variables are allowed in negated literals', () => {
  assert.equal(checked(`p(X) :- q(X), not r(X, _).`).program.rules.length, 1);
});

test('unsafe variable in a comparison and in a builtin input', () => {
  const [d] = only(`p(X) :- q(X), X < Y.`, 'E_DL_UNSAFE');
  assert.deepEqual(d.loc, { file: 't.dl', line: 1, col: 19 });
  assert.match(d.message, /variable 'Y' in comparison '<'/);
  const [b] = only(`p(X) :- q(X), cidr_contains(N, X).`, 'E_DL_UNSAFE');
  assert.match(b.message, /variable 'N' in builtin 'cidr_contains'/);
  const c = only(`p(Z) :- q(X), plus(X, Y, Z).`, 'E_DL_UNSAFE').map((d) => d.message);
  assert.equal(c.length, 2);
  assert.ok(c.some((m) => /variable 'Y' in builtin 'plus'/.test(m)));
  assert.ok(c.some((m) => /variable 'Z' in the head/.test(m)));
});

test('a variable bound only by a negated literal is unsafe in the head', () => {
  const e = only(`p(X) :- not q(X).`, 'E_DL_UNSAFE');
  assert.equal(e.length, 2);
});

test('builtin outputs and equality bind variables', () => {
  const c = checked(`p(Z) :- q(X), plus(X, 1, Y), mul(Y, 2, Z).\nr(Y) :- q(X), Y = X.\ns(Y) :- Y = 3.`);
  assert.equal(c.program.rules.length, 3);
});

test('anonymous variable in a head or a builtin is rejected', () => {
  assert.match(only(`p(_) :- q(_).`, 'E_DL_UNSAFE')[0].message, /anonymous variable '_' cannot appear in the head/);
  assert.match(only(`p(X) :- q(X), X < _.`, 'E_DL_UNSAFE')[0].message, /anonymous variable '_' cannot appear in comparison/);
});

test('a fact-like statement with a variable is unsafe', () => {
  const [d] = only(`p(X).`, 'E_DL_UNSAFE');
  assert.deepEqual(d.loc, { file: 't.dl', line: 1, col: 3 });
});

test('arity mismatch names both uses', () => {
  const [d] = only(`q(1, 2).\np(X) :- q(X).`, 'E_DL_ARITY');
  assert.deepEqual(d.loc, { file: 't.dl', line: 2, col: 9 });
  assert.match(d.message, /predicate 'q' used with 1 argument\(s\) here but with 2 at t\.dl:1:1/);
  const [h] = only(`p(X) :- q(X).\np(X, Y) :- q(X), q(Y).`, 'E_DL_ARITY');
  assert.deepEqual(h.loc, { file: 't.dl', line: 2, col: 1 });
});

test('unstratifiable program: negation through recursion names the cycle', () => {
  const [d] = only(`p(X) :- r(X), not q(X).\nq(X) :- r(X), p(X).`, 'E_DL_UNSTRATIFIABLE');
  assert.deepEqual(d.loc, { file: 't.dl', line: 1, col: 15 });
  assert.match(d.message, /p -> not q -> p/);
});

test('longer cycle through several predicates', () => {
  const [d] = only(`a(X) :- e(X), not b(X).\nb(X) :- c(X).\nc(X) :- e(X), a(X).`, 'E_DL_UNSTRATIFIABLE');
  assert.match(d.message, /a -> not b -> c -> a/);
});

test('a predicate negating itself', () => {
  const [d] = only(`p(X) :- e(X), not p(X).`, 'E_DL_UNSTRATIFIABLE');
  assert.match(d.message, /p -> not p/);
});

test('builtin with the wrong number of arguments', () => {
  const [d] = only(`p(X) :- q(X), lt(X).`, 'E_DL_BUILTIN_ARITY');
  assert.deepEqual(d.loc, { file: 't.dl', line: 1, col: 15 });
  assert.match(d.message, /builtin 'lt' takes 2 argument\(s\) but was given 1/);
  only(`p(X) :- q(X), port_in_range(X, 1).`, 'E_DL_BUILTIN_ARITY');
});

test('a builtin cannot be defined', () => {
  only(`lt(1, 2).`, 'E_DL_BUILTIN_HEAD');
  only(`plus(X, Y, Z) :- q(X, Y, Z).`, 'E_DL_BUILTIN_HEAD');
});

test('every problem is reported, not just the first', () => {
  const e = problems(`p(X, Y) :- q(X).\nq(1, 2).\nr(X) :- e(X), not r(X).`);
  assert.deepEqual(e.map((d) => d.code).sort(), ['E_DL_ARITY', 'E_DL_UNSAFE', 'E_DL_UNSTRATIFIABLE']);
});

test('strata come in dependency order with negation levels', () => {
  const c = checked(`
    reach(X, Y) :- edge(X, Y).
    reach(X, Z) :- reach(X, Y), edge(Y, Z).
    unreach(X, Y) :- node(X), node(Y), not reach(X, Y).
    lonely(X) :- node(X), not linked(X).
    linked(X) :- unreach(X, _).
    even(X) :- zero(X).
    even(Y) :- odd(X), succ(X, Y).
    odd(Y) :- even(X), succ(X, Y).`);
  const order = c.strata.map((s) => s.preds.join('+'));
  const at = (p: string) => order.findIndex((o) => o.split('+').includes(p));
  assert.ok(at('reach') < at('unreach'));
  assert.ok(at('unreach') < at('linked'));
  assert.ok(at('linked') < at('lonely'));
  const evenOdd = c.strata.find((s) => s.preds.includes('even'));
  assert.deepEqual(evenOdd?.preds, ['even', 'odd']);
  assert.equal(evenOdd?.recursive, true);
  const level = (p: string) => c.strata.find((s) => s.preds.includes(p))?.level;
  assert.equal(level('reach'), 0);
  assert.equal(level('unreach'), 1);
  assert.equal(level('lonely'), 2);
  assert.equal(c.strata.find((s) => s.preds.includes('unreach'))?.recursive, false);
  assert.equal(c.predicates.get('edge')?.derived, false);
  assert.equal(c.predicates.get('reach')?.derived, true);
});

test('a long chain of dependencies does not overflow the stack', () => {
  const lines = ['p0(X) :- e(X).'];
  for (let i = 1; i < 20000; i++) lines.push(`p${i}(X) :- p${i - 1}(X).`);
  lines.push('p0(X) :- p19999(X).');
  const c = checked(lines.join('\n'));
  assert.equal(c.strata.length, 1);
  assert.equal(c.strata[0].preds.length, 20000);
});

test('an absurdly long rule body is refused instead of overflowing the stack', () => {
  const body = Array.from({ length: 1001 }, (_, i) => `q(X${i})`).join(', ');
  const e = problems(`p(X0) :- ${body}.`);
  assert.deepEqual(
    e.map((d) => d.code),
    ['E_DL_RULE_SIZE'],
  );
  const ok = Array.from({ length: 300 }, (_, i) => `q(X${i})`).join(', ');
  assert.equal(checked(`p(X0) :- ${ok}.`).program.rules[0].body.length, 300);
});
