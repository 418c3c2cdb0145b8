import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededUint32 } from '../../random/index.js';
import { detectFirstBytes } from './first-bytes.js';
import { matchHttpRequest, matchHttpStatus } from './http-signature.js';
import { matchNatsConnect, matchNatsInfo } from './nats-signature.js';
import { matchPgClient } from './postgres-signature.js';
import type { Detection } from './protocol.js';
import { SNIFF_WINDOW, Sig, type SigResult } from './signature.js';
import { CLIENT_HELLO, matchTlsHello, SERVER_HELLO } from './tls-signature.js';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

/**
 * First bytes of each direction of real connections, recorded on this machine into
 * test/fixtures/pcap/detect-*.pcap (scripts/capture-detect-fixtures.sh): psql 15, nats-server
 * and the @nats-io client, openssl s_client/s_server (OpenSSL 3), curl and Python's http.server.
 */
const REAL: readonly { what: string; dir: 0 | 1; bytes: Uint8Array; want: Detection }[] = [
  { what: 'curl request', dir: 0, bytes: ascii('GET /index.txt HTTP/1.1\r\nHost: 127.0.0.1:5555\r\nUser-Agent: c'), want: 'http' },
  {
    what: 'http.server status line',
    dir: 1,
    bytes: ascii('HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.7\r\nDate:'),
    want: 'http',
  },
  {
    what: 'psql StartupMessage',
    dir: 0,
    bytes: hex(
      '0000003f000300007573657200706f73746772657300646174616261736500706f737467726573006170706c69636174696f6e5f6e616d65007073716c0000',
    ),
    want: 'postgres',
  },
  { what: 'psql SSLRequest', dir: 0, bytes: hex('0000000804d2162f'), want: 'postgres' },
  { what: 'psql CancelRequest', dir: 0, bytes: hex('0000001004d2162e0000787f8e7eb0b4'), want: 'postgres' },
  { what: 'nats-server INFO', dir: 1, bytes: hex('494e464f207b227365727665725f6964223a224e42584d41'), want: 'nats' },
  { what: 'NATS client CONNECT', dir: 0, bytes: hex('434f4e4e454354207b226e6f5f726573706f6e6465727322'), want: 'nats' },
  { what: 's_client ClientHello', dir: 0, bytes: hex('1603010139010001350303133e59e5adee76e439aca9152e'), want: 'tls' },
  { what: 's_server ServerHello', dir: 1, bytes: hex('160303007a0200007603036737ac43ed9ddb2580023b4113'), want: 'tls' },
  {
    what: 'ClientHello inside PostgreSQL after SSLRequest',
    dir: 0,
    bytes: hex('16030101200100011c030370880b6a9529c166cd37309c5f'),
    want: 'tls',
  },
];

test('real first bytes of every protocol are recognised, and every shorter prefix is undecided, never none', () => {
  for (const { what, dir, bytes, want } of REAL) {
    assert.equal(detectFirstBytes(dir, bytes, 0, bytes.length), want, what);
    let decidedAt = -1;
    for (let n = 0; n < bytes.length; n++) {
      const v = detectFirstBytes(dir, bytes, 0, n);
      assert.ok(v === 'undecided' || v === want, `${what}: ${n} bytes gave ${v}`);
      if (v === want && decidedAt < 0) decidedAt = n;
    }
    // Decided early: a handful of bytes, not a whole message.
    assert.ok(decidedAt <= 24, `${what}: decided only at ${decidedAt} bytes`);
  }
});

test('a signature reads the bytes at the offset it is given, not the start of the buffer', () => {
  const bytes = new Uint8Array([0xff, 0xff, 0xff, ...ascii('INFO {"a":1}')]);
  assert.equal(detectFirstBytes(1, bytes, 3, bytes.length - 3), 'nats');
  assert.equal(detectFirstBytes(1, bytes, 0, bytes.length), 'none');
});

test('each direction has its own signatures: a request is no server greeting, a ServerHello no client opening', () => {
  assert.equal(detectFirstBytes(1, ascii('GET / HTTP/1.1\r\n'), 0, 16), 'none');
  assert.equal(detectFirstBytes(0, ascii('HTTP/1.1 200 OK\r\n'), 0, 17), 'none');
  assert.equal(detectFirstBytes(0, ascii('INFO {"x":1}\r\n'), 0, 14), 'none');
  assert.equal(detectFirstBytes(1, ascii('CONNECT {}\r\n'), 0, 12), 'none');
  const server = REAL.find((r) => r.what === 's_server ServerHello')!.bytes;
  const client = REAL.find((r) => r.what === 's_client ClientHello')!.bytes;
  assert.equal(detectFirstBytes(0, server, 0, server.length), 'none');
  assert.equal(detectFirstBytes(1, client, 0, client.length), 'none');
});

test('HTTP request lines: known methods, other upper-case tokens only with the version, targets of every form', () => {
  const cases: [string, SigResult][] = [
    ['POST /users HTTP/1.1\r\n', Sig.YES],
    ['OPTIONS * HTTP/1.1\r\n', Sig.YES],
    ['CONNECT db.example:5432 HTTP/1.1\r\n', Sig.YES],
    ['GET http://example.com/ HTTP/1.0\r\n', Sig.YES],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', Sig.YES],
    ['PURGE /cache HTTP/1.1\r\n', Sig.YES],
    ['GET /a', Sig.MORE],
    ['GE', Sig.MORE],
    ['', Sig.MORE],
    ['get / HTTP/1.1\r\n', Sig.NO],
    ['GET  / HTTP/1.1\r\n', Sig.NO],
    ['GET /\r\n', Sig.NO],
    ['GET / FTP/1.1\r\n', Sig.NO],
    ['GET \x00\x01', Sig.NO],
    ['CONNECT {"verbose":false}\r\n', Sig.NO],
    ['PUB orders.created 5\r\nhello\r\n', Sig.NO],
    [`GET /${'a'.repeat(100)} HTTP/1.1\r\n`, Sig.YES],
    [`FETCH /${'a'.repeat(100)} HTTP/1.1\r\n`, Sig.NO],
    ['ABCDEFGHIJKLMNOPQRST / HTTP/1.1\r\n', Sig.NO],
  ];
  for (const [line, want] of cases) {
    const b = ascii(line);
    assert.equal(matchHttpRequest(b, 0, b.length), want, JSON.stringify(line));
  }
});

test('HTTP status lines', () => {
  const cases: [string, SigResult][] = [
    ['HTTP/1.1 404 Not Found\r\n', Sig.YES],
    ['HTTP/1.0 200', Sig.YES],
    ['HTTP/1.1 20', Sig.MORE],
    ['HTT', Sig.MORE],
    ['HTTP/1.1 2x0 OK\r\n', Sig.NO],
    ['HTTP/11 200 OK\r\n', Sig.NO],
    ['http/1.1 200 OK\r\n', Sig.NO],
    ['SSH-2.0-OpenSSH_9.2\r\n', Sig.NO],
  ];
  for (const [line, want] of cases) {
    const b = ascii(line);
    assert.equal(matchHttpStatus(b, 0, b.length), want, JSON.stringify(line));
  }
});

test('PostgreSQL first messages: startup 3.x, SSLRequest, GSSENCRequest, CancelRequest, each with its length', () => {
  const msg = (len: number, code: number, rest: number[] = []): Uint8Array => {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(len, 0);
    b.writeUInt32BE(code, 4);
    return Uint8Array.from([...b, ...rest]);
  };
  const cases: [string, Uint8Array, SigResult][] = [
    ['GSSENCRequest', msg(8, 80877104), Sig.YES],
    ['SSLRequest', msg(8, 80877103), Sig.YES],
    ['CancelRequest', msg(16, 80877102, [0, 0, 0, 1, 0, 0, 0, 2]), Sig.YES],
    ['startup 3.2', msg(20, 0x00030002, [0x75]), Sig.YES],
    ['startup, terminator only', msg(9, 0x00030000, [0]), Sig.YES],
    ['startup without its parameters yet', msg(40, 0x00030000), Sig.MORE],
    ['SSLRequest of the wrong length', msg(16, 80877103), Sig.NO],
    ['CancelRequest of the wrong length', msg(8, 80877102), Sig.NO],
    ['protocol 2.0', msg(296, 0x00020000, [0x64]), Sig.NO],
    ['startup longer than the server accepts', msg(10001, 0x00030000, [0x75]), Sig.NO],
    ['startup whose parameters are not names', msg(20, 0x00030000, [0x01]), Sig.NO],
    ['a typed message (Query)', ascii('Q\x00\x00\x00\x0dSELECT 1\x00'), Sig.NO],
    ['length beyond 16 bits', hex('00010000'), Sig.NO],
    ['four zero bytes', hex('00000000'), Sig.MORE],
  ];
  for (const [what, b, want] of cases) assert.equal(matchPgClient(b, 0, b.length), want, what);
});

test('NATS: INFO and CONNECT in any case, blanks before the JSON, nothing else', () => {
  const info: [string, SigResult][] = [
    ['INFO {"server_id":"x"}\r\n', Sig.YES],
    ['info\t {"server_id":"x"}\r\n', Sig.YES],
    ['INFO', Sig.MORE],
    ['INFO   ', Sig.MORE],
    ['INFO{}', Sig.NO],
    ['INFO x', Sig.NO],
    ['INFORMATION {', Sig.NO],
    [`INFO${' '.repeat(SNIFF_WINDOW)}{}`, Sig.NO],
  ];
  for (const [s, want] of info) {
    const b = ascii(s);
    assert.equal(matchNatsInfo(b, 0, b.length), want, JSON.stringify(s));
  }
  const connect: [string, SigResult][] = [
    ['CONNECT {"verbose":false}\r\n', Sig.YES],
    ['connect {}', Sig.YES],
    ['CONNECT example.com:443 HTTP/1.1\r\n', Sig.NO],
    ['CONN', Sig.MORE],
  ];
  for (const [s, want] of connect) {
    const b = ascii(s);
    assert.equal(matchNatsConnect(b, 0, b.length), want, JSON.stringify(s));
  }
});

test('TLS: handshake records opening with a hello of the right kind', () => {
  const hello = (type: number, patch: Record<number, number> = {}): Uint8Array => {
    const b = hex('16030100c8010000c40303');
    b[5] = type;
    for (const [i, v] of Object.entries(patch)) b[Number(i)] = v;
    return b;
  };
  assert.equal(matchTlsHello(hello(CLIENT_HELLO), 0, 11, CLIENT_HELLO), Sig.YES);
  assert.equal(matchTlsHello(hello(SERVER_HELLO), 0, 11, SERVER_HELLO), Sig.YES);
  assert.equal(matchTlsHello(hello(SERVER_HELLO), 0, 11, CLIENT_HELLO), Sig.NO);
  assert.equal(matchTlsHello(hello(CLIENT_HELLO), 0, 6, CLIENT_HELLO), Sig.MORE);
  assert.equal(matchTlsHello(hello(CLIENT_HELLO, { 0: 21 }), 0, 11, CLIENT_HELLO), Sig.NO, 'an alert record');
  assert.equal(matchTlsHello(hello(CLIENT_HELLO, { 0: 23 }), 0, 11, CLIENT_HELLO), Sig.NO, 'application data');
  assert.equal(matchTlsHello(hello(CLIENT_HELLO, { 1: 2 }), 0, 11, CLIENT_HELLO), Sig.NO, 'version 2.x');
  assert.equal(matchTlsHello(hello(CLIENT_HELLO, { 2: 9 }), 0, 11, CLIENT_HELLO), Sig.NO, 'version 3.9');
  assert.equal(matchTlsHello(hello(CLIENT_HELLO, { 3: 0xff }), 0, 11, CLIENT_HELLO), Sig.NO, 'a record too long');
  assert.equal(matchTlsHello(hello(CLIENT_HELLO, { 4: 0 }), 0, 11, CLIENT_HELLO), Sig.NO, 'an empty record');
  assert.equal(matchTlsHello(hello(CLIENT_HELLO, { 8: 4 }), 0, 11, CLIENT_HELLO), Sig.NO, 'a hello too short');
  assert.equal(matchTlsHello(hello(CLIENT_HELLO, { 9: 1 }), 0, 11, CLIENT_HELLO), Sig.NO, 'hello version 1.x');
});

test('other protocols and random bytes are none, and never after more than the window', () => {
  for (const s of ['SSH-2.0-OpenSSH_9.2p1\r\n', '220 smtp.example ESMTP\r\n', '*1\r\n$4\r\nPING\r\n', '\r\n\r\n']) {
    const b = ascii(s);
    assert.equal(detectFirstBytes(0, b, 0, b.length), 'none', JSON.stringify(s));
    assert.equal(detectFirstBytes(1, b, 0, b.length), 'none', JSON.stringify(s));
  }
  const next = seededUint32(14);
  const counts = { none: 0, undecided: 0, other: 0 };
  for (let i = 0; i < 5000; i++) {
    const b = new Uint8Array(1 + (next() % 100));
    for (let k = 0; k < b.length; k++) b[k] = next() & 0xff;
    for (const dir of [0, 1] as const) {
      const v = detectFirstBytes(dir, b, 0, b.length);
      if (b.length >= SNIFF_WINDOW) assert.notEqual(v, 'undecided', `${b.length} random bytes are still undecided`);
      if (v === 'none' || v === 'undecided') counts[v]++;
      else counts.other++;
    }
  }
  // Random bytes start like PostgreSQL's 0x00 0x00 or TLS's 0x16 0x03 now and then; they hardly ever pass the rest.
  assert.ok(counts.other <= 2, JSON.stringify(counts));
  assert.ok(counts.none > 9900, JSON.stringify(counts));
});
