/** Issue 14 at the command line: bounded policy evaluation, its printing, and simulate's arguments. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/index.js';

const dir = mkdtempSync(join(tmpdir(), 'flowtap-bounds-'));
const DVD = 'examples/dvd-rental/app.yaml';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string; writes: number }> {
  let out = '';
  let err = '';
  let writes = 0;
  const code = await main(argv, {
    out: (s) => {
      writes++;
      out += s.endsWith('\n') ? s : `${s}\n`;
    },
    err: (s) => (err += `${s}\n`),
  });
  return { code, out, err, writes };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('policy eval stops a runaway program at --max-seconds, exit 2, naming the rule and where it is', async () => {
  const p = file('runaway.dl', 'n(0).\nn(Y) :- n(X), plus(X, 1, Y).\n');
  const t0 = performance.now();
  const r = await cli('policy', 'eval', p, '--max-seconds', '0.5');
  const s = (performance.now() - t0) / 1000;
  assert.equal(r.code, 2, r.err);
  assert.match(
    r.err,
    /runaway\.dl:2:1.*E_DL_LIMIT.*after 0\.5 s \(maxSeconds\): rule 0 keeps deriving .*n\(Y\) :- n\(X\), plus\(X, 1, Y\)/,
  );
  assert.ok(s < 5, `took ${s.toFixed(1)} s`);
  const mem = await cli('policy', 'eval', p, '--max-mb', '30');
  assert.equal(mem.code, 2);
  assert.match(mem.err, /E_DL_LIMIT.*past 30 MB of memory \(maxMb\): rule 0 keeps deriving/);
  const json = await cli('policy', 'eval', p, '--max-seconds', '0.2', '--json');
  assert.equal(json.code, 2);
  assert.equal(JSON.parse(json.out).errors[0].code, 'E_DL_LIMIT');
});

test('--max-seconds and --max-mb take positive numbers', async () => {
  const p = file('ok.dl', 'p(1).\n');
  for (const bad of [
    ['--max-seconds', '0'],
    ['--max-seconds', 'x'],
    ['--max-mb', '0'],
    ['--max-mb', '1.5'],
  ]) {
    const r = await cli('policy', 'eval', p, ...bad);
    assert.equal(r.code, 2, bad.join(' '));
    assert.match(r.err + r.out, new RegExp(bad[0]));
  }
  assert.equal((await cli('policy', 'eval', p, '--max-seconds', '2.5', '--max-mb', '100')).code, 0);
});

test('policy eval prints a large result in text order, in a few large writes', async () => {
  const lines = ['path(X, Y) :- edge(X, Y).', 'path(X, Z) :- path(X, Y), edge(Y, Z).'];
  for (let i = 0; i < 300; i++) lines.push(`edge(${i}, ${i + 1}).`);
  lines.push('edge("x", 1).', 'edge(\'1\', "q\\tr").');
  const r = await cli('policy', 'eval', file('chain.dl', lines.join('\n')));
  assert.equal(r.code, 0, r.err);
  const got = r.out.trimEnd().split('\n');
  // 301 edges and 45,150 + 302 + ... paths: every tuple, each once.
  assert.equal(new Set(got).size, got.length);
  assert.ok(got.length > 45_000);
  assert.ok(r.writes < 5, `${r.writes} writes`);
  // Ordered by predicate, then by the text of each column: 10 before 9.
  const i10 = got.indexOf('edge(10, 11).');
  assert.ok(i10 >= 0 && i10 < got.indexOf('edge(9, 10).'));
  assert.equal(got[0], 'edge(0, 1).');
  assert.ok(got.includes('edge("1", "q\\tr").'));
  assert.ok(got.includes('path("x", 300).'));
  assert.equal(got.at(-1), 'path("x", 99).');
});

test('simulate names --packet or --from in every packet error, and refuses an empty --packet', async () => {
  for (const empty of [['--packet='], ['--packet', ''], ['--packet', ' , ']]) {
    const r = await cli('simulate', DVD, ...empty);
    assert.equal(r.code, 2, empty.join(' '));
    assert.match(r.err, /\(--packet\).*E_CLI_OPTION.*--packet is empty/);
  }
  const arp = await cli('simulate', DVD, '--packet', 'arp');
  assert.equal(arp.code, 2);
  assert.match(arp.err, /\(--packet\).*E_SIM_ENTRY: --packet 'arp' --from external: /);
  const from = await cli('simulate', DVD, '--packet', 'tcp', '--from', 'nobody-0');
  assert.equal(from.code, 2);
  assert.match(from.err, /\(--from\).*--from must be an instance/);
  const json = await cli('simulate', DVD, '--packet=', '--json');
  assert.equal(json.code, 2);
  assert.equal(JSON.parse(json.out).errors[0].loc.field, '--packet');
});
