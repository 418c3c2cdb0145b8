import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CHUNK_INVALID,
  CHUNK_TOO_LARGE,
  CL_CONFLICT,
  CL_INVALID,
  CL_NONE,
  chunkedIsFinal,
  foldContentLength,
  parseChunkSize,
} from './framing.js';
import { LOOSE_LEADING_WS, LOOSE_VERSION, parseRequestLine, parseStatusLine } from './start-line.js';

const max = 2 ** 40;

test('Content-Length folding', () => {
  assert.equal(foldContentLength(CL_NONE, '42', max), 42);
  assert.equal(foldContentLength(CL_NONE, ' 7 , 7', max), 7);
  assert.equal(foldContentLength(7, '7', max), 7);
  assert.equal(foldContentLength(7, '8', max), CL_CONFLICT);
  assert.equal(foldContentLength(CL_NONE, '1, 2', max), CL_CONFLICT);
  assert.equal(foldContentLength(CL_CONFLICT, 'x', max), CL_INVALID);
  for (const bad of ['', ' ', '-1', '+1', '1.0', '0x1', '1 2', '5,', ',5', '99999999999999999999']) {
    assert.equal(foldContentLength(CL_NONE, bad, max), CL_INVALID, JSON.stringify(bad));
  }
  assert.equal(foldContentLength(CL_NONE, String(max), max), max);
  assert.equal(foldContentLength(CL_NONE, String(max + 1), max), CL_INVALID);
});

test('chunked must be the final transfer coding', () => {
  assert.equal(chunkedIsFinal('chunked'), true);
  assert.equal(chunkedIsFinal('gzip, Chunked '), true);
  assert.equal(chunkedIsFinal('chunked,'), true);
  assert.equal(chunkedIsFinal('chunked, gzip'), false);
  assert.equal(chunkedIsFinal('xchunked'), false);
  assert.equal(chunkedIsFinal('chunked\x0b'), false);
  assert.equal(chunkedIsFinal(''), false);
});

test('chunk sizes', () => {
  const p = (s: string) => parseChunkSize(Buffer.from(s, 'latin1'), 0, s.length, max);
  assert.equal(p('1a'), 26);
  assert.equal(p('FF ; name=v'), 255);
  assert.equal(p('000000000000000000001'), 1);
  assert.equal(p('0'), 0);
  for (const bad of ['', 'zz', ' 5', '5x', '-1', ';x']) assert.equal(p(bad), CHUNK_INVALID, JSON.stringify(bad));
  assert.equal(p('FFFFFFFFFFFFFFFFFFFF'), CHUNK_TOO_LARGE);
});

test('start lines', () => {
  const text = (b: Buffer) => (s: number, e: number) => b.toString('latin1', s, e);
  const req = (s: string) => {
    const b = Buffer.from(s, 'latin1');
    return parseRequestLine(b, 0, b.length, text(b));
  };
  const st = (s: string) => {
    const b = Buffer.from(s, 'latin1');
    return parseStatusLine(b, 0, b.length, text(b));
  };
  const ok = (method: string, uri: string, version: string, loose = 0) => ({ method, uri, version, uriHasWhitespace: false, loose });
  assert.deepEqual(req('GET /a?b HTTP/1.1'), ok('GET', '/a?b', '1.1'));
  assert.deepEqual(req('OPTIONS  *\tHTTP/1.0  '), ok('OPTIONS', '*', '1.0'));
  assert.deepEqual(req('GET /x'), ok('GET', '/x', '0.9'));
  // What real servers accept is parsed (flagged as loose), since they would act on it.
  assert.deepEqual(req(' GET / HTTP/1.1'), ok('GET', '/', '1.1', LOOSE_LEADING_WS));
  assert.deepEqual(req('GET / http/1.1'), ok('GET', '/', '1.1', LOOSE_VERSION));
  assert.deepEqual(req('GET / HTTP/1.'), ok('GET', '/', '1.0', LOOSE_VERSION));
  assert.deepEqual(req('GET / HTTP/1'), ok('GET', '/', '1.0', LOOSE_VERSION));
  assert.deepEqual(req('GET / HTTP/01.10'), ok('GET', '/', '1.10', LOOSE_VERSION));
  assert.deepEqual(req('PURGE /cache HTTP/1.1'), ok('PURGE', '/cache', '1.1'));
  assert.deepEqual(req('get /lower HTTP/1.1'), ok('get', '/lower', '1.1'));
  for (const bad of [
    'POST /x',
    'GET',
    'GET HTTP/1.1',
    'G(T / HTTP/1.1',
    'GET / HTTP/1.1 x',
    'GET /\x01 HTTP/1.1',
    'GET / HTTP/',
    'GET / HTTP/1.1.1',
    'GET / HTTPS/1.1',
    'GET / HTTP/1234.1',
  ]) {
    assert.equal(req(bad), null, JSON.stringify(bad));
  }
  // A line cut by the end of the connection keeps its method and URI.
  const cut = Buffer.from('POST /admin/delete HTT', 'latin1');
  assert.deepEqual(parseRequestLine(cut, 0, cut.length, text(cut), true), ok('POST', '/admin/delete', ''));
  assert.deepEqual(st('HTTP/1.1 404 Not Found'), { version: '1.1', status: 404, reason: 'Not Found', loose: 0 });
  assert.deepEqual(st('HTTP/1.0 200'), { version: '1.0', status: 200, reason: '', loose: 0 });
  assert.deepEqual(st('http/1.1 200 OK'), { version: '1.1', status: 200, reason: 'OK', loose: LOOSE_VERSION });
  for (const bad of ['HTTP/1.1 20', 'HTTP/1.1 2000 x', 'HTTP/1.1 099 x', 'HTTP/1.1200 OK', 'ICY 200 OK', 'HTTP/1.1 OK'])
    assert.equal(st(bad), null, bad);
});
