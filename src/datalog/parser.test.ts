import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BuiltinLiteral, ConstTerm, Rule, VarTerm } from './ast.js';
import { formatFact, formatRule } from './format.js';
import { parseProgram } from './parser.js';
import { errors, value } from './testing.js';

const parse = (text: string) => value(parseProgram(text, 'p.dl'));

test('facts with strings, numbers and a module prefix', () => {
  const p = parse(`nova:servers("vm1", 'web', 3, -2, 1.5, -0.25, 2e3).\nflag.\nempty().`);
  assert.equal(p.rules.length, 0);
  assert.deepEqual(
    p.facts.map((f) => [f.pred, f.args]),
    [
      ['nova:servers', ['vm1', 'web', 3, -2, 1.5, -0.25, 2000]],
      ['flag', []],
      ['empty', []],
    ],
  );
  assert.deepEqual(p.facts[1].loc, { file: 'p.dl', line: 2, col: 1 });
});

test('a rule with negation, comparisons and builtins', () => {
  const p = parse(`h(X, Y) :- a(X), not b(Y), X != Y, c(Y), plus(X, 1, Z), cidr_contains("10.0.0.0/8", Y).`);
  assert.equal(p.rules.length, 1);
  const r = p.rules[0];
  assert.equal(r.head.pred, 'h');
  assert.deepEqual(
    r.body.map((l) => [l.kind, l.negated, l.kind === 'atom' ? l.atom.pred : l.name]),
    [
      ['atom', false, 'a'],
      ['atom', true, 'b'],
      ['builtin', false, 'neq'],
      ['atom', false, 'c'],
      ['builtin', false, 'plus'],
      ['builtin', false, 'cidr_contains'],
    ],
  );
  assert.equal((r.body[2] as BuiltinLiteral).infix, '!=');
  assert.deepEqual(r.body[1].loc, { file: 'p.dl', line: 1, col: 18 });
});

test('every infix operator maps to its builtin', () => {
  const p = parse(`r(A) :- s(A, B), A = B, A == B, A != B, A < B, A <= B, A > B, A >= B.`);
  assert.deepEqual(
    p.rules[0].body.slice(1).map((l) => (l as BuiltinLiteral).name),
    ['equal', 'equal', 'neq', 'lt', 'lteq', 'gt', 'gteq'],
  );
});

test('unquoted identifiers of any case are variables; each _ is anonymous', () => {
  const r = parse(`p(vm, X, _) :- q(vm, X, _, _), Y_1 = vm.`).rules[0];
  const head = r.head.args as VarTerm[];
  assert.deepEqual(
    head.map((t) => [t.kind, t.name, t.anonymous]),
    [
      ['var', 'vm', false],
      ['var', 'X', false],
      ['var', '_', true],
    ],
  );
  const q = r.body[0];
  assert.ok(q.kind === 'atom');
  assert.equal(q.atom.args.filter((t) => t.kind === 'var' && t.anonymous).length, 2);
});

test('comments with // and # are ignored', () => {
  const p = parse(`# a comment\np(1). // trailing\n// p(2).\n#p(3).\np(4).`);
  assert.deepEqual(
    p.facts.map((f) => f.args[0]),
    [1, 4],
  );
  assert.equal(p.facts[1].loc.line, 5);
});

test('the terminating dot may be left out at a line break or the end, as in Congress', () => {
  const p = parse(`p(X) :- q(X)\nq(1)\nr(X) :-\n  q(X),\n  not p(X)`);
  assert.equal(p.rules.length, 2);
  assert.equal(p.facts.length, 1);
  assert.equal(p.rules[1].body.length, 2);
  assert.deepEqual(p.rules[1].loc, { file: 'p.dl', line: 3, col: 1 });
});

test('string escapes decode', () => {
  const p = parse(`s("a\\"b", 'it\\'s', "tab\\there", "nl\\n", "\\u0041").`);
  assert.deepEqual(p.facts[0].args, ['a"b', "it's", 'tab\there', 'nl\n', 'A']);
});

test('a head with variables and no body is a rule (checked for safety later)', () => {
  const p = parse(`p(X, "a").`);
  assert.equal(p.facts.length, 0);
  assert.equal(p.rules.length, 1);
  assert.deepEqual((p.rules[0].head.args[1] as ConstTerm).value, 'a');
});

test('formatFact round-trips through the parser', () => {
  const facts = [
    { pred: 'nova:servers', args: ['vm "1"', 'back\\slash', 'new\nline', '\u0001ctl', 42, -7, 1.25, 1e21, -3e-7] },
    { pred: 'flag', args: [] },
    { pred: 'p', args: [''] },
  ];
  for (const f of facts) {
    const text = formatFact(f);
    const back = parse(text).facts;
    assert.equal(back.length, 1, text);
    assert.deepEqual({ pred: back[0].pred, args: back[0].args }, f, text);
  }
});

test('formatRule prints a rule that parses back to the same rule', () => {
  const src = `h(X, "c") :- a(X, _), not b(X), X != 3, lt(X, 9), plus(X, 1, Y), Y > 0.`;
  const r: Rule = parse(src).rules[0];
  const again = parse(formatRule(r)).rules[0];
  assert.equal(formatRule(again), formatRule(r));
  assert.equal(formatRule(r), src);
});

// --- errors ------------------------------------------------------------------

function firstError(text: string) {
  const e = errors(parseProgram(text, 'bad.dl'));
  assert.ok(e.length >= 1);
  assert.equal(e[0].code, 'E_DL_SYNTAX');
  return e[0];
}

test('missing separator on the same line: line, column, expected and found', () => {
  const d = firstError(`p(1).\nh(X) :- a(X) b(X).`);
  assert.deepEqual(d.loc, { file: 'bad.dl', line: 2, col: 14 });
  assert.match(d.message, /expected ',' or '\.' after a body literal but found identifier 'b'/);
});

test('unclosed argument list', () => {
  const d = firstError(`p(X :- q(X).`);
  assert.deepEqual(d.loc, { file: 'bad.dl', line: 1, col: 5 });
  assert.match(d.message, /expected ',' or '\)' in the argument list but found ':-'/);
});

test('unterminated string points at its opening quote', () => {
  const d = firstError(`ok(1).\n  p("abc) :- q(1).\n`);
  assert.deepEqual(d.loc, { file: 'bad.dl', line: 2, col: 5 });
  assert.match(d.message, /unterminated string: expected closing " before end of line/);
});

test('unexpected character', () => {
  const d = firstError(`p(X) :- q(X), X @ 3.`);
  assert.deepEqual(d.loc, { file: 'bad.dl', line: 1, col: 17 });
  assert.match(d.message, /unexpected character "@"/);
});

test('missing term after a comparison operator', () => {
  const d = firstError(`p(X) :- q(X), X < .`);
  assert.deepEqual(d.loc, { file: 'bad.dl', line: 1, col: 19 });
  assert.match(d.message, /expected a term \(variable, string or number\) but found '\.'/);
});

test('a statement cannot start with a number or not', () => {
  assert.match(firstError(`3(x).`).message, /expected a fact or rule head \(a predicate name\) but found number 3/);
  assert.match(firstError(`not p(1).`).message, /but found identifier 'not'/);
});

test('missing table name after a module prefix', () => {
  const d = firstError(`nova:(1).`);
  assert.deepEqual(d.loc, { file: 'bad.dl', line: 1, col: 6 });
  assert.match(d.message, /expected a table name after module 'nova:' but found '\('/);
});

test('end of input inside a rule body', () => {
  const d = firstError(`p(X) :- q(X),`);
  assert.match(d.message, /expected a body literal .* but found end of input/);
  assert.deepEqual(d.loc, { file: 'bad.dl', line: 1, col: 14 });
});

test('malformed number and unknown escape', () => {
  assert.match(firstError(`p(12ab).`).message, /malformed number '12ab'/);
  assert.match(firstError(`p("a\\qb").`).message, /unknown escape '\\q'/);
});

test('several errors are reported, each at its own line', () => {
  const e = errors(parseProgram(`p(1) q(2).\nok(1).\nr(X) :- s(X) t.\nfine(2).\nu("x`, 'bad.dl'));
  assert.deepEqual(
    e.map((d) => d.loc?.line),
    [1, 3, 5],
  );
});

test('hostile input does not crash the parser', () => {
  const junk = ['(((((', ':-:-:-', '"'.repeat(1000), 'p('.repeat(5000), '\u0000\uffff', 'a:b:c(1).', ''];
  for (const j of junk) {
    const r = parseProgram(j);
    assert.ok(r.ok || r.errors.every((d) => d.code === 'E_DL_SYNTAX' && typeof d.loc?.line === 'number'));
  }
});

test('Congress forms: ; terminator, ! negation, block comments, dotted and nested module names, hex ints', () => {
  const p = parse(
    `/* a block\n comment */ a(0x1F, 0o17, 0b101, -0x10);\nneutronv2:ports.fixed_ips("p1", "10.0.0.1")\nx:y:z(1).\nh(X) :- a(X, _, _, _), ! b(X)`,
  );
  assert.deepEqual(p.facts[0].args, [31, 15, 5, -16]);
  assert.equal(p.facts[1].pred, 'neutronv2:ports.fixed_ips');
  assert.deepEqual(p.facts[1].loc, { file: 'p.dl', line: 3, col: 1 });
  assert.equal(p.facts[2].pred, 'x:y:z');
  assert.equal(p.rules[0].body[1].negated, true);
  assert.equal(formatFact(p.facts[1]), 'neutronv2:ports.fixed_ips("p1", "10.0.0.1").');
});

test('several heads share one body', () => {
  const p = parse(`p(X), q(X, 1) :- r(X).`);
  assert.deepEqual(
    p.rules.map((r) => [r.head.pred, r.body.length]),
    [
      ['p', 1],
      ['q', 1],
    ],
  );
  assert.match(firstError(`p(1), q(2).`).message, /expected ':-' after several heads but found '\.'/);
});

test('unterminated block comment and malformed hex', () => {
  const d = firstError(`p(1).\n/* never closed`);
  assert.deepEqual(d.loc, { file: 'bad.dl', line: 2, col: 1 });
  assert.match(d.message, /unterminated comment/);
  assert.match(firstError(`p(0xZZ).`).message, /malformed number '0xZZ'/);
});

test('runs of generated facts read the same as any other facts, with their own positions', () => {
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) lines.push(i % 2 ? `edge("n${i}", "n${i + 1}").` : `edge(${i},-${i});`);
  lines.push(
    `edge("a\\"b", 'c').`, // an escape: read by the tokens
    `m:t(1, 2).`, // a module prefix
    `big(12345678901234567, 1e3, 0x1f, -0, 007, 1.5).`, // past 15 digits, exponent, hex, -0, leading zeros, fraction
    `eol(1, 2)\r`, // no terminator, CRLF
    `tab(\t1 ,\t"x" ) .`,
    `x(1) :- y(1).`,
    `e(3, 4).`,
    `bad(1,, 2).`,
    `after(1).`,
  );
  const r = parseProgram(lines.join('\n'), 'g.dl');
  const e = errors(r);
  assert.equal(e.length, 1);
  assert.deepEqual(e[0].loc, { file: 'g.dl', line: 3008, col: 7 });
  const ok = parse(lines.filter((l) => !l.startsWith('bad')).join('\n'));
  assert.equal(ok.facts.length, 3000 + 7);
  assert.deepEqual(ok.facts[0], { pred: 'edge', args: [0, -0], loc: { file: 'p.dl', line: 1, col: 1 } });
  assert.ok(Object.is(ok.facts[0].args[1], -0));
  assert.deepEqual(ok.facts[2999], { pred: 'edge', args: ['n2999', 'n3000'], loc: { file: 'p.dl', line: 3000, col: 1 } });
  assert.deepEqual(
    ok.facts.slice(3000).map((f) => [f.pred, f.args, f.loc.line, f.loc.col]),
    [
      ['edge', ['a"b', 'c'], 3001, 1],
      ['m:t', [1, 2], 3002, 1],
      ['big', [Number('12345678901234567'), 1000, 31, -0, 7, 1.5], 3003, 1],
      ['eol', [1, 2], 3004, 1],
      ['tab', [1, 'x'], 3005, 1],
      ['e', [3, 4], 3007, 1],
      ['after', [1], 3008, 1],
    ],
  );
  assert.equal(ok.rules.length, 1);
  assert.equal(ok.rules[0].loc.line, 3006);
});
