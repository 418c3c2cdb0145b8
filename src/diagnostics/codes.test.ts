import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIAG_CODES, type DiagCode } from './index.js';

/** The repository root (the tests run from a build output folder below it). */
function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'diagnostics', 'codes.ts'))) return dir;
    if (dirname(dir) === dir) throw new Error('repository root not found');
  }
}

const ROOT = repoRoot();
const CODES = Object.keys(DIAG_CODES) as DiagCode[];

function filesUnder(dir: string, keep: (path: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? filesUnder(path, keep) : keep(path) ? [path] : [];
  });
}

test('every code is E_ or W_ in capitals and has a one-line meaning', () => {
  for (const code of CODES) {
    assert.match(code, /^[EW]_[A-Z0-9]+(?:_[A-Z0-9]+)*$/);
    const meaning = DIAG_CODES[code];
    assert.ok(meaning.length >= 10 && !meaning.includes('\n') && !meaning.endsWith('.'), `${code}: ${JSON.stringify(meaning)}`);
  }
  assert.ok(Object.isFrozen(DIAG_CODES));
});

test('every registered code is emitted somewhere in the source (tests aside)', () => {
  const registry = join(ROOT, 'src', 'diagnostics', 'codes.ts');
  const text = filesUnder(join(ROOT, 'src'), (p) => p.endsWith('.ts') && !p.endsWith('.test.ts') && p !== registry)
    .map((p) => readFileSync(p, 'utf8'))
    .join('\n');
  const used = new Set([...text.matchAll(/['"`]([EW]_[A-Z0-9_]+)['"`]/g)].map((m) => m[1]));
  assert.deepEqual(
    CODES.filter((c) => !used.has(c)),
    [],
    'codes nobody emits: remove them from the registry',
  );
});

test('docs/diagnostics.md lists every code with its meaning, and no other', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'diagnostics.md'), 'utf8');
  const rows = new Map([...doc.matchAll(/^\| `([EW]_[A-Z0-9_]+)` \| (.*) \|$/gm)].map((m) => [m[1], m[2].replace(/\\\|/g, '|')]));
  const missing = CODES.filter((c) => rows.get(c) !== DIAG_CODES[c]).map((c) => `| \`${c}\` | ${DIAG_CODES[c]} |`);
  assert.deepEqual(missing, [], 'rows to add to (or correct in) docs/diagnostics.md');
  assert.deepEqual(
    [...rows.keys()].filter((c) => !(c in DIAG_CODES)),
    [],
    'rows of codes that do not exist',
  );
});

test('every code the documentation names exists', () => {
  const docs = [join(ROOT, 'README.md'), ...filesUnder(join(ROOT, 'docs'), (p) => p.endsWith('.md'))];
  for (const file of docs) {
    const named = [...readFileSync(file, 'utf8').matchAll(/\b([EW]_[A-Z0-9]+(?:_[A-Z0-9]+)*)\b/g)].map((m) => m[1]);
    assert.deepEqual(
      named.filter((c) => !(c in DIAG_CODES)),
      [],
      file,
    );
  }
});
