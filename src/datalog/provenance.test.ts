import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Fact } from './ast.js';
import { formatDerivation, type Derivation } from './database.js';
import { evaluate } from './evaluate.js';
import { checked, errors, run, value } from './testing.js';

const TC = `edge(1, 2).
path(X, Y) :- edge(X, Y).
path(X, Z) :- path(X, Y), edge(Y, Z).`;

function leaves(d: Derivation): Derivation[] {
  return d.premises.length === 0 ? [d] : d.premises.flatMap(leaves);
}

test('explain gives the first derivation with rule, location and body tuples', () => {
  const db = run(
    TC,
    [
      { pred: 'edge', args: [2, 3] },
      { pred: 'edge', args: [3, 4] },
    ],
    { provenance: true },
  );
  const d = value(db.explain('path', [1, 4]));
  assert.deepEqual(d.fact, { pred: 'path', args: [1, 4] });
  assert.equal(d.source, 'rule');
  assert.equal(d.rule?.index, 1);
  assert.deepEqual(d.rule?.loc, { file: 't.dl', line: 3, col: 1 });
  assert.equal(d.rule?.text, 'path(X, Z) :- path(X, Y), edge(Y, Z).');
  assert.deepEqual(
    d.premises.map((p) => p.fact),
    [
      { pred: 'path', args: [1, 3] },
      { pred: 'edge', args: [3, 4] },
    ],
  );
  // The chain bottoms out in the program fact and the input facts.
  const base = leaves(d);
  assert.deepEqual(
    base.map((l) => [l.source, l.fact.args]),
    [
      ['program', [1, 2]],
      ['input', [2, 3]],
      ['input', [3, 4]],
    ],
  );
  assert.deepEqual(base[0].loc, { file: 't.dl', line: 1, col: 1 });
  const text = formatDerivation(d);
  assert.match(text, /^path\(1, 4\)\. {2}<- by rule 1 at t\.dl:3:1: path\(X, Z\) :- path\(X, Y\), edge\(Y, Z\)\./);
  assert.match(text, /\n {6}edge\(1, 2\)\. {2}<- fact at t\.dl:1:1/);
});

test('every premise of every derivation holds and matches the rule body', () => {
  const facts: Fact[] = [];
  for (let i = 0; i < 30; i++) facts.push({ pred: 'edge', args: [i, (i * 7 + 3) % 30] });
  const text = `path(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), path(Y, Z).\nnotBack(X, Y) :- path(X, Y), not path(Y, X).`;
  const db = run(text, facts, { provenance: true });
  let checkedCount = 0;
  for (const pred of ['path', 'notBack']) {
    for (const args of db.query(pred)) {
      const d = value(db.explain(pred, args));
      assert.equal(d.source, 'rule');
      for (const p of d.premises) assert.ok(db.has(p.fact.pred, p.fact.args));
      if (d.rule?.index === 1) {
        const [a, b] = d.premises.map((p) => p.fact.args);
        assert.deepEqual([a[0], a[1], b[1]], [args[0], b[0], args[1]]);
      }
      if (d.rule?.index === 2) assert.deepEqual(d.premises[0].fact.args, args);
      checkedCount++;
    }
  }
  assert.ok(checkedCount > 30);
});

test('naive evaluation records provenance too', () => {
  const p = checked(TC);
  const db = value(evaluate(p, [{ pred: 'edge', args: [2, 3] }], { naive: true, provenance: true }));
  const d = value(db.explain('path', [1, 3]));
  assert.equal(d.rule?.index, 1);
  assert.equal(d.premises.length, 2);
});

test('a long derivation chain is explained without deep recursion', () => {
  const facts: Fact[] = [];
  for (let i = 0; i < 3000; i++) facts.push({ pred: 'edge', args: [i, i + 1] });
  const db = run(`reach(X) :- start(X).\nreach(Y) :- reach(X), edge(X, Y).\nstart(0).`, facts, { provenance: true });
  let d = value(db.explain('reach', [3000]));
  let depth = 0;
  while (d.premises.length > 0) {
    d = d.premises[0];
    depth++;
  }
  assert.equal(depth, 3001);
  assert.equal(formatDerivation(value(db.explain('reach', [3000]))).split('\n').length, 3000 * 2 + 2);
});

test('explain reports a missing tuple and a run without provenance', () => {
  const withProv = run(TC, [], { provenance: true });
  assert.equal(errors(withProv.explain('path', [9, 9]))[0].code, 'E_DL_NOT_DERIVED');
  const without = run(TC);
  assert.equal(errors(without.explain('path', [1, 2]))[0].code, 'E_DL_NO_PROVENANCE');
});
