/**
 * The parser against what servers really act on: content codings measured decoded (and bounded),
 * loosely written start lines, heads cut short, and request smuggling. Every case runs whole,
 * byte by byte and in random splits (runHttp), so none of it depends on where TCP cut the stream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import type { Segment } from '../testing/index.js';
import { activeDecoders, contentCoding, CODING_DEFLATE, CODING_GZIP, CODING_NONE } from './content-coding.js';
import { c2s, gap, named, recordHttp, runHttp, s2c, weirdNames, type Event } from './testing.js';
import type { HttpOptions } from './types.js';
import { unescapeUri } from './uri.js';

const run = (segs: Segment[], opts: Partial<HttpOptions> = {}): Event[] => runHttp(segs, opts, assert.deepEqual);
const BODY = Buffer.from(Array.from({ length: 300 }, (_, i) => `line ${i}: the quick brown fox\n`).join(''), 'latin1');

function reply(coding: string, body: Buffer, chunked = false): Buffer {
  const head = `HTTP/1.1 200 OK\r\nContent-Encoding: ${coding}\r\n`;
  if (!chunked) return Buffer.concat([Buffer.from(`${head}Content-Length: ${body.length}\r\n\r\n`, 'latin1'), body]);
  const half = body.length >> 1;
  const chunk = (b: Buffer) => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
  return Buffer.concat([
    Buffer.from(`${head}Transfer-Encoding: chunked\r\n\r\n`, 'latin1'),
    chunk(body.subarray(0, half)),
    chunk(body.subarray(half)),
    Buffer.from('0\r\n\r\n'),
  ]);
}

const rawDeflate = (b: Buffer): Buffer => zlib.deflateRawSync(b);

test('Content-Encoding values: one gzip/x-gzip/deflate coding is undone, anything else is measured as sent', () => {
  assert.equal(contentCoding('gzip'), CODING_GZIP);
  assert.equal(contentCoding('X-GZIP'), CODING_GZIP);
  assert.equal(contentCoding(' deflate '), CODING_DEFLATE);
  assert.equal(contentCoding('identity, gzip'), CODING_GZIP);
  assert.equal(contentCoding('gzip, gzip'), CODING_NONE);
  assert.equal(contentCoding('br'), CODING_NONE);
  assert.equal(contentCoding('gzip, br'), CODING_NONE);
  assert.equal(contentCoding(''), CODING_NONE);
});

test('gzip, x-gzip, zlib deflate and raw deflate bodies are measured and delivered decoded', () => {
  for (const [coding, encoded] of [
    ['gzip', zlib.gzipSync(BODY)],
    ['x-gzip', zlib.gzipSync(BODY)],
    ['deflate', zlib.deflateSync(BODY)],
    ['deflate', rawDeflate(BODY)],
  ] as const) {
    for (const chunked of [false, true]) {
      const ev = run([c2s('GET /f HTTP/1.1\r\nAccept-Encoding: gzip, deflate\r\n\r\n'), s2c(reply(coding, encoded, chunked))]);
      const what = `${coding} ${encoded[0].toString(16)} chunked=${chunked}`;
      assert.deepEqual(weirdNames(ev), [], what);
      assert.deepEqual(named(ev, 'responseDone'), [['responseDone', 1, BODY.length, false, []]], what);
      assert.equal(named(ev, 'responseBody')[0][2], BODY.toString('latin1'), what);
    }
  }
});

test('a gzip request body: its length and the prefix the identity policy reads are decoded', () => {
  const json = Buffer.from(JSON.stringify({ user: 'alice', note: 'x'.repeat(500) }));
  const gz = zlib.gzipSync(json);
  const ev = run([
    c2s(Buffer.concat([Buffer.from(`POST /users HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`), gz])),
  ]);
  const done = named(ev, 'requestDone');
  assert.equal(done[0][2], json.length);
  assert.ok((done[0][3] as string).startsWith('{"user":"alice"'), String(done[0][3]));
});

/** Whole and in 1460-byte pieces; the decoded content handed on before a bomb is stopped may differ, the rest may not. */
function runPieces(segs: Segment[], opts: Partial<HttpOptions> = {}): Event[] {
  const results = [0, 1460].map((size) => {
    const { parser, events } = recordHttp(opts);
    for (const seg of segs) {
      if (!('data' in seg)) continue;
      const data = seg.data;
      const step = size || data.length;
      for (let o = 0; o < data.length; o += step) parser.data(seg.dir, data, o, Math.min(step, data.length - o), 1);
    }
    parser.end(2);
    return events.filter((e) => e[0] !== 'responseBody');
  });
  assert.deepEqual(results[1], results[0]);
  return results[0];
}

test('a decompression bomb is a weird, not an outage: decoding stops at the bound, the body is measured as sent', () => {
  const zeros = zlib.gzipSync(Buffer.alloc(20 * 1024 * 1024));
  const t0 = performance.now();
  const ev = runPieces([
    c2s('GET /bomb HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n'),
    s2c(reply('gzip', zeros)),
    s2c('HTTP/1.1 204 No Content\r\n\r\n'),
  ]);
  assert.deepEqual(weirdNames(ev), ['HTTP_decompression_bomb']);
  assert.deepEqual(named(ev, 'responseDone')[0].slice(0, 4), ['responseDone', 1, zeros.length, false]);
  // The connection goes on being parsed.
  assert.deepEqual(
    named(ev, 'response').map((e) => [e[1], e[3]]),
    [
      [1, 200],
      [2, 204],
    ],
  );
  // Ratio 1000:1 judged past 1 MiB: about 1 MiB inflated, not 20.
  assert.ok(performance.now() - t0 < 10_000);
  // The absolute bound holds for bodies that compress less well than zeros, too.
  const text = zlib.gzipSync(BODY);
  const capped = runPieces([c2s('GET / HTTP/1.1\r\n\r\n'), s2c(reply('gzip', text))], { maxDecodedBytes: 1000 });
  assert.deepEqual(weirdNames(capped), ['HTTP_decompression_bomb']);
  assert.deepEqual(named(capped, 'responseDone')[0].slice(0, 3), ['responseDone', 1, text.length]);
  // Under the bound, the same body is measured decoded.
  const fine = runPieces([c2s('GET / HTTP/1.1\r\n\r\n'), s2c(reply('gzip', text))], { maxDecodedBytes: BODY.length });
  assert.deepEqual(named(fine, 'responseDone')[0].slice(0, 3), ['responseDone', 1, BODY.length]);
});

test('a body that is not what its Content-Encoding says: weird, measured as sent, parsing goes on', () => {
  const junk = Buffer.from('this is not gzip at all, just text');
  const ev = run([
    c2s('GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n'),
    s2c(reply('gzip', junk)),
    s2c('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
  ]);
  assert.deepEqual(weirdNames(ev), ['HTTP_decompression_failed']);
  assert.deepEqual(
    named(ev, 'responseDone').map((e) => [e[1], e[2], e[3]]),
    [
      [1, junk.length, false],
      [2, 2, false],
    ],
  );
  // A gzip stream cut short by a gap: measured as sent too.
  const gz = zlib.gzipSync(BODY);
  const gapped = run([
    c2s('GET / HTTP/1.1\r\n\r\n'),
    s2c(
      Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`), gz.subarray(0, 20)]),
    ),
    gap(1, 30),
    s2c(gz.subarray(50)),
  ]);
  assert.deepEqual(named(gapped, 'responseDone'), [['responseDone', 1, gz.length, true, []]]);
  const br = run([c2s('GET / HTTP/1.1\r\n\r\n'), s2c(reply('br', junk))]);
  assert.deepEqual(named(br, 'responseDone'), [['responseDone', 1, junk.length, false, []]]);
});

test('request lines real servers accept are parsed and flagged, not dropped', () => {
  const cases: [string, string, string, string, string[]][] = [
    ['GET  /a   HTTP/1.1', 'GET', '/a', '1.1', []],
    ['GET /a HTTP/1.', 'GET', '/a', '1.0', ['HTTP_version_not_strict']],
    ['GET /a http/1.1', 'GET', '/a', '1.1', ['HTTP_version_not_strict']],
    ['GET /a HTTP/01.1', 'GET', '/a', '1.1', ['HTTP_version_not_strict']],
    [' GET /a HTTP/1.1', 'GET', '/a', '1.1', ['HTTP_whitespace_before_start_line']],
    ['PURGE /cache HTTP/1.1', 'PURGE', '/cache', '1.1', ['unknown_HTTP_method']],
    ['M-SEARCH * HTTP/1.1', 'M-SEARCH', '*', '1.1', ['unknown_HTTP_method']],
    ['PATCH /users/1 HTTP/1.1', 'PATCH', '/users/1', '1.1', []],
  ];
  for (const [line, method, uri, version, weirds] of cases) {
    const ev = run([c2s(`${line}\r\nHost: h\r\n\r\n`), s2c('http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')]);
    const req = named(ev, 'request')[0]?.[1] as { method: string; uri: string; version: string } | undefined;
    assert.deepEqual(req && [req.method, req.uri, req.version], [method, uri, version], line);
    assert.deepEqual(weirdNames(ev), [...weirds, 'HTTP_version_not_strict'], line);
    assert.deepEqual(
      named(ev, 'response').map((e) => e[3]),
      [200],
      line,
    );
  }
});

test('a head cut by the end of the connection is reported with what was seen', () => {
  const ev = run([c2s('DELETE /users/7 HTTP/1.1\r\nHost: api\r\nX-Partial: abc')]);
  assert.deepEqual(weirdNames(ev), ['HTTP_truncated_header']);
  const req = named(ev, 'request')[0][1] as { method: string; uri: string; headers: unknown };
  assert.deepEqual([req.method, req.uri], ['DELETE', '/users/7']);
  assert.deepEqual(req.headers, [
    ['host', 'api'],
    ['x-partial', 'abc'],
  ]);
  assert.deepEqual(named(ev, 'requestDone'), [['requestDone', 1, 0, '', true, []]]);
  // Even a start line cut before its version keeps the method and the URI.
  const line = run([c2s('POST /admin/drop HTT')]);
  assert.deepEqual(
    named(line, 'request').map((e) => [
      (e[1] as { method: string }).method,
      (e[1] as { uri: string }).uri,
      (e[1] as { version: string }).version,
    ]),
    [['POST', '/admin/drop', '']],
  );
  // Too little to name a request: only the weird.
  assert.deepEqual(named(run([c2s('GE')]), 'request'), []);
});

test('a reply to a head that never completed answers that request (the server acted on it)', () => {
  const ev = run([c2s('GET /dir/ HTTP/1.1\r\nHost: cut\r\nX-Trace: abc'), s2c('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok')]);
  assert.deepEqual(weirdNames(ev), ['HTTP_truncated_header']);
  assert.deepEqual(
    named(ev, 'response').map((e) => [e[1], e[2], e[3]]),
    [[1, 'GET', 200]],
  );
  assert.deepEqual((named(ev, 'request')[0][1] as { headers: unknown }).headers, [
    ['host', 'cut'],
    ['x-trace', 'abc'],
  ]);
});

test('CL.TE smuggling: the request after the chunked body is parsed and the desync reported', () => {
  const smuggled = 'GET /admin HTTP/1.1\r\nHost: back\r\n\r\n';
  const body = `0\r\n\r\n${smuggled}`;
  const ev = run([
    c2s(`POST /search HTTP/1.1\r\nHost: front\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n${body}`),
    s2c('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'),
  ]);
  assert.deepEqual(named(ev, 'desync'), [['desync', 1, 'HTTP_transfer_encoding_with_content_length']]);
  assert.deepEqual(
    named(ev, 'request').map((e) => [(e[1] as { depth: number }).depth, (e[1] as { uri: string }).uri]),
    [
      [1, '/search'],
      [2, '/admin'],
    ],
  );
  assert.deepEqual(
    named(ev, 'response').map((e) => [e[1], e[3]]),
    [
      [1, 200],
      [2, 403],
    ],
  );
});

test('TE.CL smuggling: the request hidden inside a chunk is parsed too', () => {
  const hidden = 'POST /users/1/delete HTTP/1.1\r\nContent-Length: 5\r\n\r\nx=1\r\n';
  const ev = run([
    c2s(
      `POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n${hidden.length.toString(16)}\r\n${hidden}\r\n0\r\n\r\n`,
    ),
  ]);
  assert.equal(named(ev, 'desync').length, 1);
  assert.deepEqual(
    named(ev, 'request').map((e) => (e[1] as { uri: string }).uri),
    ['/', '/users/1/delete'],
  );
});

test('obfuscated Transfer-Encoding and duplicate lengths are desyncs too; the next request is found', () => {
  for (const head of [
    'Transfer-Encoding: xchunked',
    'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity',
    'Content-Length: 3\r\nContent-Length: 40',
  ]) {
    const ev = run([c2s(`POST /a HTTP/1.1\r\n${head}\r\n\r\nabc\r\nGET /hidden HTTP/1.1\r\n\r\n`)]);
    assert.equal(named(ev, 'desync').length, 1, head);
    assert.deepEqual(
      named(ev, 'request').map((e) => (e[1] as { uri: string }).uri),
      ['/a', '/hidden'],
      head,
    );
  }
});

test('a framing error in a reply: replies resume at the next status line', () => {
  const ev = run([
    c2s('GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n'),
    s2c('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\njunk\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'),
  ]);
  assert.deepEqual(weirdNames(ev), ['HTTP_bad_chunk_size', 'HTTP_reply_resync']);
  assert.deepEqual(named(ev, 'desync'), [], 'replies do not smuggle requests');
  assert.deepEqual(
    named(ev, 'responseDone').map((e) => [e[1], e[3]]),
    [
      [1, true],
      [2, false],
    ],
  );
});

test('the parser keeps no decoder alive after a message, and nothing it is fed makes it throw', () => {
  const { parser, events } = recordHttp();
  const gz = zlib.gzipSync(BODY);
  for (let i = 0; i < 50; i++) {
    parser.data(0, Buffer.from(`GET /${i} HTTP/1.1\r\n\r\n`), 0, 18 + String(i).length, i);
    const r = reply('gzip', i % 2 ? gz : gz.subarray(0, 10));
    parser.data(1, r, 0, r.length, i);
  }
  assert.equal(activeDecoders(), 0, 'each body releases its decoder when it ends');
  // Streams are reused after a reset: a body cut short leaves nothing behind for the next one.
  assert.deepEqual(
    named(events, 'responseDone')
      .filter((e) => (e[1] as number) % 2 === 0)
      .map((e) => e[2]),
    Array(25).fill(BODY.length),
  );
  // A body cut by the end of the connection releases it too.
  parser.data(0, Buffer.from('GET /last HTTP/1.1\r\n\r\n'), 0, 22, 59);
  const cut = reply('gzip', gz).subarray(0, 80);
  parser.data(1, cut, 0, cut.length, 59);
  assert.equal(activeDecoders(), 1);
  parser.end(60);
  assert.equal(activeDecoders(), 0);
  assert.equal(named(events, 'request').length, 51);
});

test('URIs are logged with their %XX escapes decoded, as Zeek does', () => {
  assert.equal(unescapeUri('/a%20b.txt'), '/a b.txt');
  assert.equal(unescapeUri('/%2e%2E/etc%2Fpasswd'), '/../etc/passwd');
  assert.equal(unescapeUri('/100%'), '/100%');
  assert.equal(unescapeUri('/%zz%4'), '/%zz%4');
  assert.equal(unescapeUri('/%41%42c'), '/ABc');
  const plain = '/no/escapes';
  assert.equal(unescapeUri(plain), plain);
});
