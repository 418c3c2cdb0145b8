/** http.log rows and the smuggling notice, from crafted packets through the whole engine (no model). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import type { PcapRecord } from '../capture/index.js';
import { MemoryLogTarget, parseZeekTsv, ZeekLogWriter } from '../logs/index.js';
import { NoticeType, type Notice } from '../policy/index.js';
import { Clock, TcpFlow } from '../testing/index.js';
import { MonitorEngine } from './monitor-engine.js';

function run(build: (flow: () => TcpFlow) => void) {
  const out: PcapRecord[] = [];
  const clock = new Clock();
  let port = 41000;
  build(() => new TcpFlow(out, clock, '192.0.2.10', port++, '192.0.2.80', 8080).handshake());
  const target = new MemoryLogTarget();
  const notices: Notice[] = [];
  const engine = new MonitorEngine({
    logs: new ZeekLogWriter(target, { now: () => 1_700_000_000 }),
    onNotice: (n) => notices.push(n),
    tracker: { seed: 1 },
  });
  for (const r of out) engine.frame(1, r.data, r.ts);
  const summary = engine.finish();
  assert.equal(summary.internalErrors, 0);
  const rows = (path: string): Record<string, string>[] => {
    const text = target.text(path);
    if (text === '') return [];
    const p = parseZeekTsv(text);
    assert.ok(p.ok);
    return p.value.rows.map((r) => Object.fromEntries(p.value.fields.map((f, i) => [f, r[i]])));
  };
  return { http: rows('http'), weird: rows('weird'), conn: rows('conn'), notices };
}

test('http.log fields mean what Zeek says: reply version, decoded URI and body, Basic user, proxy headers', () => {
  const body = Buffer.from('x'.repeat(5000));
  const gz = zlib.gzipSync(body);
  const { http, conn } = run((flow) => {
    const f = flow();
    f.client2server(
      'GET /files/a%20b%2Fc HTTP/1.1\r\nHost: decoy\r\nHost: api\r\nAuthorization: Basic ' +
        Buffer.from('bob:pw').toString('base64') +
        '\r\nVia: 1.1 proxy\r\nX-Forwarded-For: 10.0.0.1\r\nOrigin: http://o.test\r\n\r\n',
    );
    f.server2client(Buffer.concat([Buffer.from(`HTTP/1.0 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`), gz]));
    f.close();
  });
  assert.equal(http.length, 1);
  const h = http[0];
  assert.deepEqual(
    [h.host, h.uri, h.version, h.response_body_len, h.username, h.password, h.origin, h.proxied],
    ['api', '/files/a b/c', '1.0', String(body.length), 'bob', '-', 'http://o.test', 'VIA -> 1.1 proxy,X-FORWARDED-FOR -> 10.0.0.1'],
  );
  // conn.log counts what was sent on the wire, not the decoded body.
  assert.ok(Number(conn[0].resp_bytes) < body.length);
});

test('a request that never got a reply has no version (the field is the reply version)', () => {
  const { http } = run((flow) => {
    const f = flow();
    f.client2server('GET /lonely HTTP/1.1\r\nHost: h\r\n\r\n');
    f.close();
  });
  assert.deepEqual(
    http.map((h) => [h.uri, h.version, h.status_code]),
    [['/lonely', '-', '-']],
  );
});

test('smuggling through a bad chunk size: a notice, and the request behind it logged and answered', () => {
  const { http, notices, weird } = run((flow) => {
    const f = flow();
    f.client2server(
      'POST /api HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;\x00\r\nhello\r\nzz\r\n\r\nDELETE /users/1 HTTP/1.1\r\nHost: h\r\n\r\n',
    );
    f.server2client('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n');
    f.close();
  });
  assert.deepEqual(
    notices.map((n) => [n.note, n.evidence.request]),
    [[NoticeType.HTTP_REQUEST_SMUGGLING, 'POST /api']],
  );
  assert.deepEqual(
    http.map((h) => [h.method, h.uri, h.status_code]),
    [
      ['POST', '/api', '200'],
      ['DELETE', '/users/1', '204'],
    ],
  );
  assert.ok(weird.some((w) => w.name === 'HTTP_bad_chunk_size'));
});
