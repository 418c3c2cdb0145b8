import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadApp, planAddresses, type App } from '../model/index.js';
import { unwrap } from '../diagnostics/index.js';
import { compileTaps } from './ftc.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
function dvd(): App {
  // The compiled test runs from dist-*/src/flowtap.
  for (const base of [root, join(root, '..')]) {
    const r = loadApp(join(base, 'examples/dvd-rental/app.yaml'));
    if (r.ok) return r.value;
  }
  throw new Error('examples/dvd-rental/app.yaml not found');
}
const app = dvd();
const addressing = unwrap(planAddresses(app));
const compile = (text: string) => compileTaps(app, addressing, [{ file: 'o.dl', text }]);

test('bad tap options name the line and column of the fact or rule that made them', () => {
  const r = compile(
    [
      'tap("db-0", "mon-sql", "tcp", "forward").',
      'tap_sample("db-0", "tcp", "ten", "packet").',
      '',
      '  tap_budget(S, "tcp", 5, "kbps") :- tap(S, _, "tcp", _).',
      'tap_direction("db-0", "tcp", "sideways").',
      'tap_failmode("db-0", "tcp", "ajar").',
    ].join('\n'),
  );
  assert.equal(r.ok, false);
  if (r.ok) return;
  const at = r.errors.map((e) => [e.code, e.message.replace(/[:(].*/, ''), e.loc]);
  assert.deepEqual(at, [
    ['E_FTC_TAP', 'tap_direction', { file: 'o.dl', line: 5, col: 1 }],
    ['E_FTC_TAP', 'tap_sample', { file: 'o.dl', line: 2, col: 1 }],
    ['E_FTC_TAP', 'tap_budget', { file: 'o.dl', line: 4, col: 3 }],
    ['E_FTC_TAP', 'tap_failmode', { file: 'o.dl', line: 6, col: 1 }],
  ]);
});

test('a runaway policy stops at the bounds ftc is given, naming its rule', () => {
  const r = compileTaps(app, addressing, [{ file: 'r.dl', text: 'n(0).\nn(Y) :- n(X), plus(X, 1, Y).\n' }], {
    limits: { maxTuples: 5000 },
  });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.errors[0].code, 'E_DL_LIMIT');
  assert.deepEqual(r.errors[0].loc, { file: 'r.dl', line: 2, col: 1 });
  assert.match(r.errors[0].message, /maxTuples.*rule 0 keeps deriving/);
});
