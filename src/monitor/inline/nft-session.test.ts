import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NftSession } from './nft-session.js';

test('lines reach the program in order; its error lines are reported; close waits for it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nftsession-'));
  const file = join(dir, 'lines');
  const errors: string[] = [];
  // Stands in for `nft -i`: records each line, complains about the bad ones like nft does.
  const script = `while IFS= read -r l; do echo "$l" >> ${file}; case "$l" in bad*) printf 'Error: no such set\\n%s\\n  ^^^\\n' "$l" >&2;; esac; done`;
  const s = new NftSession({ argv: ['sh', '-c', script], onError: (m) => errors.push(m) });
  s.write('add element a');
  s.write('bad element');
  s.write('add element b');
  await s.close();
  assert.deepEqual(readFileSync(file, 'utf8').split('\n').filter(Boolean), ['add element a', 'bad element', 'add element b']);
  assert.deepEqual(errors, ['Error: no such set']);
  assert.equal(s.errors, 1);
  assert.equal(s.lines, 3);
  assert.throws(() => s.write('two\nlines'));
});

test('a session whose program dies is restarted, a limited number of times', async () => {
  const errors: string[] = [];
  const s = new NftSession({ argv: ['sh', '-c', 'exit 3'], onError: (m) => errors.push(m), restarts: 2 });
  for (let i = 0; i < 50 && errors.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(errors, ['nft exited (code 3)', 'nft exited (code 3)', 'nft exited (code 3)']);
  assert.equal(s.running, false);
  await s.close();
});
