import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTail, MAX_LINE } from './tail.js';

const dir = mkdtempSync(join(tmpdir(), 'flowtap-tail-'));
const texts = async (t: FileTail) => (await t.read()).map((l) => l.text);

describe('file tail', () => {
  test('only lines written after following began; a partial line waits for its newline', async () => {
    const f = join(dir, 'a.log');
    writeFileSync(f, 'old 1\nold 2\n');
    const t = new FileTail(f);
    await t.begin();
    assert.deepEqual(await texts(t), []);
    appendFileSync(f, 'new 1\nnew ');
    assert.deepEqual(await texts(t), ['new 1']);
    appendFileSync(f, '2\r\n\n');
    assert.deepEqual(await texts(t), ['new 2'], 'CR stripped, empty lines skipped');
  });

  test('a truncated file is read from its start; a replaced one from the start of the new file', async () => {
    const f = join(dir, 'b.log');
    writeFileSync(f, 'one\ntwo\n');
    const t = new FileTail(f);
    await t.begin();
    writeFileSync(f, 'x\n');
    assert.deepEqual(await texts(t), ['x']);
    const g = join(dir, 'b.new');
    writeFileSync(g, 'fresh 1\nfresh 2\nfresh 3\n');
    renameSync(g, f);
    assert.deepEqual(await texts(t), ['fresh 1', 'fresh 2', 'fresh 3']);
  });

  test('a file that does not exist yet is read whole once it appears', async () => {
    const f = join(dir, 'c.log');
    const t = new FileTail(f);
    await t.begin();
    assert.deepEqual(await texts(t), []);
    writeFileSync(f, 'first\n');
    assert.deepEqual(await texts(t), ['first']);
    rmSync(f);
    assert.deepEqual(await texts(t), []);
  });

  test('a burst is read in pieces, characters split between pieces kept whole; overlong lines are cut and marked', async () => {
    const f = join(dir, 'd.log');
    writeFileSync(f, '');
    const t = new FileTail(f, 5);
    await t.begin();
    appendFileSync(f, 'ab€cd\nzz\n');
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push(...(await texts(t)));
    assert.deepEqual(got, ['ab€cd', 'zz']);
    const u = new FileTail(f);
    await u.begin();
    appendFileSync(f, 'y'.repeat(MAX_LINE + 10) + '\n');
    const long = await u.read();
    assert.equal(long[0].text.length, MAX_LINE);
    assert.equal(long[0].truncated, true);
  });
});
