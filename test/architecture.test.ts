/**
 * The layout rules, checked on the sources: a file imports another folder only through that
 * folder's index.ts, and test helpers (testing.ts) only from tests, other helpers and benches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g;

function imports(file: string): string[] {
  const out: string[] = [];
  for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) out.push(m[1]);
  return out;
}

/** Test tooling: a folder's testing.ts, or a testing/ folder when there is much of it. */
const isTooling = (f: string) => /(^|\/)testing(\.ts$|\/)/.test(f);
const isTestSide = (f: string) => f.endsWith('.test.ts') || isTooling(f) || f.startsWith('bench/') || f.startsWith('test/');

test('no file imports another folder’s internals; testing.ts only from tests and benches', () => {
  const files = ['src', 'test', 'bench'].flatMap((d) => walk(join(ROOT, d))).map((f) => relative(ROOT, f));
  const problems: string[] = [];
  for (const f of files) {
    for (const spec of imports(join(ROOT, f))) {
      const target = posix.normalize(posix.join(posix.dirname(f), spec)).replace(/\.js$/, '.ts');
      const from = posix.dirname(f);
      const to = posix.dirname(target);
      const base = posix.basename(target);
      if (isTooling(target)) {
        if (!isTestSide(f)) problems.push(`${f} imports test tooling ${target}`);
        continue;
      }
      if (to === from || base === 'index.ts') continue;
      // A subfolder belongs to its parent: it may use the parent's files (not the reverse).
      if (from.startsWith(`${to}/`) && to.split('/').length > 1 && to !== 'src') continue;
      problems.push(`${f} imports ${target}, an internal file of ${to}/ (use ${to}/index.ts)`);
    }
  }
  assert.deepEqual(problems, []);
});

test('no production index.ts exports test tooling', () => {
  const indexes = walk(join(ROOT, 'src')).filter((f) => f.endsWith('/index.ts'));
  const problems = indexes.flatMap((f) =>
    imports(f)
      .filter((s) => /(^|\/)testing(\.js$|\/)/.test(s))
      .map((s) => `${relative(ROOT, f)} re-exports ${s}`),
  );
  assert.deepEqual(problems, []);
  assert.ok(indexes.length > 20, `found only ${indexes.length} index.ts files: is the walk right?`);
});

test('one test-helper convention: no test-util, fixtures or support helpers', () => {
  const files = ['src', 'test', 'bench'].flatMap((d) => walk(join(ROOT, d))).map((f) => relative(ROOT, f));
  const odd = files.filter((f) => /(test-util|fixtures?)\.ts$|\/support\//.test(f) && !f.endsWith('.test.ts'));
  assert.deepEqual(odd, []);
  assert.ok(dirname(files[0]).length > 0);
});

test('a group of files sharing a prefix is a folder: no folder keeps five files of one prefix', () => {
  const dirs = ['src', 'test', 'bench'].flatMap((d) => walk(join(ROOT, d))).map((f) => relative(ROOT, f));
  const groups = new Map<string, number>();
  for (const f of dirs) {
    const base = posix.basename(f);
    if (base.endsWith('.test.ts') || !base.includes('-')) continue;
    const key = `${posix.dirname(f)}/${base.slice(0, base.indexOf('-'))}-*`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  assert.deepEqual(
    [...groups].filter(([, n]) => n > 4).map(([k, n]) => `${k}: ${n} files`),
    [],
  );
});
