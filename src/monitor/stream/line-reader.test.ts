import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LINE_PARTIAL, LINE_TOO_LONG, LineReader } from './index.js';

/** Feeds `text` in pieces of `size` and returns the lines (or 'TOO_LONG'). */
function lines(text: string, size: number, max: number): string[] {
  const r = new LineReader(max);
  const out: string[] = [];
  const all = Buffer.from(text, 'latin1');
  for (let off = 0; off < all.length; off += size) {
    const piece = Buffer.from(all.subarray(off, off + size));
    let pos = 0;
    while (pos < piece.length) {
      const n = r.next(piece, pos);
      if (n === LINE_PARTIAL) break;
      if (n === LINE_TOO_LONG) {
        out.push('TOO_LONG');
        return out;
      }
      out.push(r.line.toString('latin1', r.start, r.end) + `/${r.raw}`);
      pos = n;
    }
  }
  return out;
}

test('lines across pieces, CR before LF dropped, bare LF and lone CR kept as data', () => {
  const text = 'GET / HTTP/1.1\r\nHost: a\nX: b\rc\r\n\r\n';
  const expected = ['GET / HTTP/1.1/16', 'Host: a/8', 'X: b\rc/8', '/2'];
  for (const size of [1, 2, 3, 7, 100]) assert.deepEqual(lines(text, size, 100), expected, `pieces of ${size}`);
});

test('the limit is on raw bytes before LF and gives the same verdict for any split', () => {
  for (const size of [1, 4, 100]) {
    assert.deepEqual(lines('abcd\r\n', size, 5), ['abcd/6'], `exact fit, pieces of ${size}`);
    assert.deepEqual(lines('abcde\r\n', size, 5), ['TOO_LONG'], `one over, pieces of ${size}`);
    assert.deepEqual(lines('abcdef', size, 5), ['TOO_LONG'], `no LF, pieces of ${size}`);
  }
});

test('skip discards through the next LF', () => {
  const r = new LineReader(4);
  assert.equal(r.skipLine(Buffer.from('xxxxxxx'), 0), LINE_PARTIAL);
  assert.equal(r.skipLine(Buffer.from('yy\nok\n'), 0), 3);
  assert.equal(r.next(Buffer.from('yy\nok\n'), 3), 6);
  assert.equal(r.line.toString('latin1', r.start, r.end), 'ok');
});

test('a line copied from several pieces does not alias the caller buffers', () => {
  const r = new LineReader(100);
  const a = Buffer.from('hel');
  assert.equal(r.next(a, 0), LINE_PARTIAL);
  a.fill(0x5a);
  const b = Buffer.from('lo\n');
  assert.equal(r.next(b, 0), 3);
  assert.equal(r.line.toString('latin1', r.start, r.end), 'hello');
});
