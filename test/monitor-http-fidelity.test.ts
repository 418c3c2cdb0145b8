/**
 * http.log as Zeek defines it, on traffic of real clients and servers recorded on this machine
 * (scripts/capture-http-fixtures.sh; test/fixtures/pcap/README.md): python3's http.server, nginx
 * with gzip, a keep-alive python3 server sending deflate, and request smuggling against both. The
 * rows are checked against what the clients sent and the servers answered (the site's files are
 * generated deterministically, so every body size is known), and against tshark's reading of the
 * same captures where tshark reads them at all.
 */
import { needsPrograms } from '../src/system/testing.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NoticeType, parseZeekTsv, runMonitor, type MonitorRunResult } from '../src/monitor/index.js';

function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'test', 'fixtures', 'pcap', 'http-python.pcap'))) return dir;
  }
  throw new Error('test/fixtures/pcap/http-python.pcap not found above this test');
}
const FIX = join(repoRoot(), 'test', 'fixtures', 'pcap');

type Row = Record<string, string>;

interface Run {
  r: MonitorRunResult;
  http: Row[];
  weird: Row[];
  conn: Row[];
}

/** `flowtap monitor` without a model: port 8080 is HTTP. */
async function monitor(name: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), `flowtap-http-${name}-`));
  try {
    const r = await runMonitor({ pcap: join(FIX, `${name}.pcap`), logDir: dir, format: 'tsv' });
    assert.equal(r.exitCode, 0, JSON.stringify(r.diagnostics));
    assert.equal(r.summary?.internalErrors, 0);
    const read = (log: string): Row[] => {
      const file = join(dir, `${log}.log`);
      if (!existsSync(file)) return [];
      const parsed = parseZeekTsv(readFileSync(file, 'utf8'), file);
      assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
      const { fields, rows } = parsed.value;
      return rows.map((row) => Object.fromEntries(fields.map((f, i) => [f, row[i]])));
    };
    return { r, http: read('http'), weird: read('weird'), conn: read('conn') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The site the capture script serves (its python generator, restated).
const SITE = {
  hello: 'hello, flowtap\n'.length,
  spaced: 'spaced name\n'.length,
  big: Array.from({ length: 400 }, (_, i) => `line ${String(i).padStart(5, '0')}: the quick brown fox jumps over the lazy dog\n`).join('')
    .length,
  json: `[${Array.from({ length: 300 }, (_, i) => `{"id":${i},"name":"item-${i}"}`).join(',')}]`.length,
  upload: 256 * 4,
};

const pick = (row: Row, ...fields: string[]): string[] => fields.map((f) => row[f]);
const rowsOf = (rows: Row[], uri: string): Row[] => rows.filter((h) => h.uri === uri);

// --- tshark as an oracle -------------------------------------------------------------------------

// The one gate: mandatory in CI (FLOWTAP_REQUIRE_ROOT=1), where a missing tshark fails the file.
const tsharkMissing = needsPrograms(['tshark', '-v']);

/** tshark prints file data with C-like escapes; their decoded length is the body length. */
function unescapedLength(s: string): number {
  return s.replace(/\\x[0-9a-fA-F]{2}|\\[0-7]{3}|\\./g, '.').length;
}

interface Oracle {
  /** source port → requests tshark parsed, in order. */
  requests: Map<string, { method: string; uri: string }[]>;
  /** source port of the client → responses, in order. */
  responses: Map<string, { version: string; code: string; len: number }[]>;
}

function tshark(name: string): Oracle {
  const out = spawnSync(
    'tshark',
    ['-r', join(FIX, `${name}.pcap`), '-d', 'tcp.port==8080,http', '-Y', 'http.request or http.response', '-T', 'fields']
      .concat(['-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'http.request.method', '-e', 'http.request.uri'])
      .concat(['-e', 'http.response.version', '-e', 'http.response.code', '-e', 'http.file_data', '-E', 'separator=|']),
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  assert.equal(out.status, 0, out.stderr);
  const o: Oracle = { requests: new Map(), responses: new Map() };
  const push = <T>(m: Map<string, T[]>, k: string, v: T) => m.set(k, [...(m.get(k) ?? []), v]);
  for (const line of out.stdout.split('\n')) {
    if (!line) continue;
    const [sport, dport, method, uri, version, code, ...data] = line.split('|');
    if (code) push(o.responses, dport, { version: version.replace(/^HTTP\//, ''), code, len: unescapedLength(data.join('|')) });
    // Several requests in one frame are printed as one list: too ambiguous to be an oracle.
    else if (method && !method.includes(',')) push(o.requests, sport, { method, uri: decodeURI(uri) });
  }
  return o;
}

/** Whatever tshark parsed, flowtap logged the same way: requests, and every reply in order per connection. */
function agreesWithTshark(name: string, http: Row[]): void {
  const o = tshark(name);
  assert.ok(o.responses.size > 0, 'tshark parsed nothing');
  for (const [port, reqs] of o.requests) {
    const ours = http.filter((h) => h['id.orig_p'] === port).map((h) => ({ method: h.method, uri: h.uri }));
    for (const req of reqs) {
      if (req.uri === '') continue; // tshark's reading of a line with extra blanks
      assert.ok(
        ours.some((h) => h.method === req.method && h.uri === req.uri),
        `${name}: tshark saw ${req.method} ${req.uri} from port ${port}; http.log has ${JSON.stringify(ours)}`,
      );
    }
  }
  for (const [port, res] of o.responses) {
    const ours = http
      .filter((h) => h['id.orig_p'] === port && h.status_code !== '-')
      .sort((a, b) => Number(a.trans_depth) - Number(b.trans_depth))
      .map((h) => ({ version: h.version, code: h.status_code, len: Number(h.response_body_len) }));
    assert.deepEqual(ours, res, `${name}: replies on port ${port}`);
  }
}

// --- the captures --------------------------------------------------------------------------------

test('python3 http.server: every request logged with Zeek meanings (reply version, decoded URI, Basic user, proxies)', async (t) => {
  const { http, weird } = await monitor('http-python');
  // The server answers HTTP/1.0 to HTTP/1.1 requests: `version` is the reply's.
  const hello = rowsOf(http, '/hello.txt').filter((h) => h.host === '127.0.0.60:8080');
  assert.deepEqual(
    hello.map((h) => pick(h, 'method', 'version', 'status_code', 'response_body_len')),
    [
      ['GET', '1.0', '200', String(SITE.hello)],
      ['HEAD', '1.0', '200', '0'],
      ['GET', '1.0', '200', String(SITE.hello)],
    ],
  );
  const auth = hello[2];
  assert.deepEqual(pick(auth, 'username', 'password', 'proxied', 'referrer'), [
    'alice',
    '-',
    'X-FORWARDED-FOR -> 203.0.113.9',
    'http://example.test/',
  ]);
  assert.deepEqual(pick(rowsOf(http, '/missing')[0], 'status_code', 'status_msg'), ['404', 'File not found']);
  assert.deepEqual(pick(rowsOf(http, '/a b.txt')[0], 'status_code', 'response_body_len'), ['200', String(SITE.spaced)]);
  assert.deepEqual(pick(rowsOf(http, '/form')[0], 'method', 'request_body_len', 'status_code'), ['POST', '16', '501']);
  // The chunked upload: its length without the chunk framing.
  assert.deepEqual(pick(rowsOf(http, '/upload')[0], 'method', 'request_body_len', 'status_code'), ['POST', String(SITE.upload), '501']);

  // Request lines the server accepted although loosely written: each logged, each answered.
  const loose = http.filter((h) => h.host === 'loose');
  assert.deepEqual(
    loose.map((h) => pick(h, 'method', 'uri', 'status_code')),
    [
      ['GET', '/hello.txt', '200'],
      ['GET', '/hello.txt', '200'],
      ['GET', '/hello.txt', '200'],
      ['PURGE', '/hello.txt', '501'],
    ],
  );
  // A head cut by the client's FIN, which the server still answered: logged with what was seen.
  const cut = http.filter((h) => h.host === 'cut');
  assert.deepEqual(
    cut.map((h) => pick(h, 'method', 'uri', 'status_code', 'trans_depth')),
    [['GET', '/dir/', '200', '1']],
  );
  const weirds = new Set(weird.map((w) => w.name));
  for (const w of ['HTTP_version_not_strict', 'HTTP_whitespace_before_start_line', 'unknown_HTTP_method', 'HTTP_truncated_header'])
    assert.ok(weirds.has(w), `no ${w} in weird.log`);
  assert.equal(http.length, 13);

  if (tsharkMissing) t.diagnostic(`no tshark oracle here: ${tsharkMissing}`);
  else agreesWithTshark('http-python', http);
});

test('nginx with gzip: response_body_len is the decompressed size, on one keep-alive connection and without gzip', async (t) => {
  const { http, weird } = await monitor('http-nginx-gzip');
  assert.deepEqual(
    http.map((h) => pick(h, 'trans_depth', 'method', 'uri', 'version', 'status_code', 'request_body_len', 'response_body_len')),
    [
      ['1', 'GET', '/big.txt', '1.1', '200', '0', String(SITE.big)],
      ['2', 'GET', '/data.json', '1.1', '200', '0', String(SITE.json)],
      ['3', 'GET', '/hello.txt', '1.1', '200', '0', String(SITE.hello)],
      ['1', 'GET', '/data.json', '1.1', '200', '0', String(SITE.json)],
      ['1', 'POST', '/upload', '1.1', '204', String(SITE.upload), '0'],
    ],
  );
  assert.equal(new Set(http.slice(0, 3).map((h) => h.uid)).size, 1, 'three requests on one connection');
  assert.deepEqual(weird, []);
  if (tsharkMissing) t.diagnostic(`no tshark oracle here: ${tsharkMissing}`);
  else agreesWithTshark('http-nginx-gzip', http);
});

test('deflate as RFC 9110 says (zlib), raw deflate and x-gzip: all measured decompressed', async (t) => {
  const { http, weird } = await monitor('http-deflate');
  assert.deepEqual(
    http.map((h) => pick(h, 'uri', 'status_code', 'response_body_len')),
    [
      ['/deflate', '200', String(SITE.big)],
      ['/rawdeflate', '200', String(SITE.big)],
      ['/gzip', '200', String(SITE.big)],
    ],
  );
  assert.deepEqual(weird, []);
  if (tsharkMissing) t.diagnostic(`no tshark oracle here: ${tsharkMissing}`);
  else agreesWithTshark('http-deflate', http);
});

test('request smuggling (Content-Length with Transfer-Encoding): a notice, and the smuggled request in http.log', async (t) => {
  const { r, http } = await monitor('http-smuggling');
  const notices = r.notices.filter((n) => n.note === NoticeType.HTTP_REQUEST_SMUGGLING);
  assert.equal(notices.length, 2, JSON.stringify(r.notices));
  for (const n of notices) {
    assert.equal(n.evidence.request, 'POST /upload');
    assert.match(String(n.evidence.seen), /^HTTP_transfer_encoding_with_content_length/);
  }
  // The python server read the body by Content-Length and served the hidden request (404);
  // nginx refused the whole connection (400). Both attempts are logged.
  const python = http.filter((h) => h['id.resp_h'] === '127.0.0.62');
  assert.deepEqual(
    python.map((h) => pick(h, 'method', 'uri', 'host', 'status_code')),
    [
      ['POST', '/upload', 'front', '200'],
      ['GET', '/admin/secret', 'back', '404'],
    ],
  );
  const nginx = http.filter((h) => h['id.resp_h'] === '127.0.0.61');
  assert.deepEqual(
    nginx.map((h) => pick(h, 'method', 'uri', 'status_code')),
    [
      ['POST', '/upload', '400'],
      ['GET', '/admin/secret', '-'],
    ],
  );
  assert.deepEqual(new Set(notices.map((n) => n.uid)), new Set([python[0].uid, nginx[0].uid]));
  if (tsharkMissing) t.diagnostic(`no tshark oracle here: ${tsharkMissing}`);
  else agreesWithTshark('http-smuggling', http);
});
