import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingSystem, type SpawnOptions, type Spawned } from '../../system/index.js';
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

/** Keeps the children the recording system hands out, to read what was written to them. */
class KeepingSystem extends RecordingSystem {
  readonly children: Spawned[] = [];
  override spawn(argv: string[], opts?: SpawnOptions): Spawned {
    const c = super.spawn(argv, opts);
    this.children.push(c);
    return c;
  }
}

test('the session is `nft -i` through the system driver, in the namespace it is given', async () => {
  const system = new KeepingSystem();
  const s = new NftSession({ system, ns: 'ft-app-m-mon1' });
  assert.deepEqual(system.commandLines(), ['ip netns exec ft-app-m-mon1 nft -i']);
  let written = '';
  system.children[0].stdin!.on('data', (d: Buffer) => (written += d.toString()));
  s.write('flush set netdev flowtap_inline alive');
  const closed = s.close();
  system.children[0].kill();
  await closed;
  assert.equal(written, 'flush set netdev flowtap_inline alive\n');
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(s.running, false);
  assert.equal(system.commandLines().length, 1, 'a closed session is not restarted');
});

test('a program that cannot be started is reported once, not restarted', async () => {
  const errors: string[] = [];
  const s = new NftSession({ argv: ['/nonexistent/nft', '-i'], onError: (m) => errors.push(m) });
  for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(errors.length, 1);
  assert.match(errors[0], /^cannot run \/nonexistent\/nft: /);
  assert.equal(s.running, false);
});
