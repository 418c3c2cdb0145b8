import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamParser } from '../stream/index.js';
import { ProtocolSniffer } from './protocol-sniffer.js';
import { SNIFF_WINDOW } from './signature.js';

const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

/** What a parser was handed, one string per call. */
function recorder(): StreamParser & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    data: (dir, buf, off, len, ts) => calls.push(`${dir}@${ts}:${Buffer.from(buf.subarray(off, off + len)).toString('latin1')}`),
    gap: (dir, len) => calls.push(`${dir}:gap ${len}`),
    end: () => calls.push('end'),
  };
}

test('a first piece that decides is not held: nothing to replay, nothing copied', () => {
  const s = new ProtocolSniffer(false);
  assert.equal(s.feed(0, ascii('GET / HTTP/1.1\r\n\r\n'), 0, 18, 1), 'http');
  const r = recorder();
  s.replay(r);
  assert.deepEqual(r.calls, []);
  // Decided: later pieces change nothing.
  assert.equal(s.feed(1, ascii('SSH-2.0-x\r\n'), 0, 11, 2), 'http');
});

test('split at every point, each protocol is decided by the same bytes and the held ones replay exactly', () => {
  const streams: [string, 0 | 1, string][] = [
    ['http', 0, 'POST /users/7/bill HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['http', 1, 'HTTP/1.1 200 OK\r\n\r\n'],
    ['nats', 1, 'INFO {"server_id":"NB"}\r\n'],
    ['nats', 0, 'CONNECT {"verbose":false}\r\n'],
    ['postgres', 0, '\x00\x00\x00\x08\x04\xd2\x16\x2f'],
    ['postgres', 0, '\x00\x00\x00\x11\x00\x03\x00\x00user\x00u\x00\x00'],
    ['tls', 0, '\x16\x03\x01\x01\x39\x01\x00\x01\x35\x03\x03\x13\x3e'],
  ];
  for (const [want, dir, text] of streams) {
    const bytes = ascii(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      const s = new ProtocolSniffer(false);
      const first = s.feed(dir, bytes, 0, cut, 1);
      const r = recorder();
      if (first === 'undecided') {
        assert.equal(s.feed(dir, bytes, cut, bytes.length - cut, 2), want, `${want} split at ${cut}`);
        s.replay(r);
        assert.deepEqual(r.calls, [`${dir}@1:${text.slice(0, cut)}`], `${want} split at ${cut}`);
      } else assert.equal(first, want, `${want}: ${cut} bytes`);
    }
  }
});

test('byte by byte from both sides: the held pieces replay in the order they came', () => {
  const s = new ProtocolSniffer(false);
  const client = ascii('CONNECT {}\r\n');
  const server = ascii('INFO {}\r\n');
  // Interleaved single bytes: neither side has enough until the server's `{`.
  let v = s.feed(1, server, 0, 1, 1);
  v = s.feed(0, client, 0, 1, 2);
  v = s.feed(1, server, 1, 4, 3);
  assert.equal(v, 'undecided');
  v = s.feed(1, server, 5, 1, 4);
  assert.equal(v, 'nats');
  const r = recorder();
  s.replay(r);
  assert.deepEqual(r.calls, ['1@1:I', '0@2:C', '1@3:NFO ']);
});

test('without a port promise a side that matches nothing waits for the other; bytes past the window replay as a gap', () => {
  const s = new ProtocolSniffer(false);
  const junk = ascii('x'.repeat(1000));
  assert.equal(s.feed(0, junk, 0, 600, 1), 'undecided');
  assert.equal(s.feed(0, junk, 600, 400, 2), 'undecided');
  assert.equal(s.feed(1, ascii('HTTP/1.1 400 Bad Request\r\n'), 0, 26, 3), 'http');
  const r = recorder();
  s.replay(r);
  assert.deepEqual(r.calls, [`0@1:${'x'.repeat(SNIFF_WINDOW)}`, `0:gap ${1000 - SNIFF_WINDOW}`]);
  assert.equal(s.blind, false);
});

test('both sides matching nothing is none; with a port promise, one side is enough', () => {
  const lazy = new ProtocolSniffer(false);
  assert.equal(lazy.feed(1, ascii('SSH-2.0-OpenSSH_9.2\r\n'), 0, 21, 1), 'undecided');
  assert.equal(lazy.feed(0, ascii('SSH-2.0-libssh\r\n'), 0, 16, 2), 'none');
  const r = recorder();
  lazy.replay(r);
  assert.deepEqual(r.calls, ['1@1:SSH-2.0-OpenSSH_9.2\r\n']);

  const eager = new ProtocolSniffer(true);
  assert.equal(eager.feed(0, ascii('SSH-2.0-libssh\r\n'), 0, 16, 1), 'none');
  assert.equal(eager.detection, 'none');

  // A port promise, and the responder's bytes first (a tap's copies can arrive so): a PostgreSQL
  // server's authentication request matches nothing, and must not decide before the client speaks.
  const answerFirst = new ProtocolSniffer(true);
  const authSasl = Uint8Array.from([0x52, 0, 0, 0, 0x17, 0, 0, 0, 0x0a, ...ascii('SCRAM-SHA-256'), 0, 0]);
  assert.equal(answerFirst.feed(1, authSasl, 0, authSasl.length, 1), 'undecided');
  const startup = Uint8Array.from([0, 0, 0, 0x25, 0, 3, 0, 0, ...ascii('user\0dvdrental\0database\0dvdrental\0\0')]);
  assert.equal(answerFirst.feed(0, startup, 0, startup.length, 2), 'postgres');
});

test('too few bytes stay undecided; at most the window is held', () => {
  const s = new ProtocolSniffer(true);
  assert.equal(s.feed(0, ascii('GE'), 0, 2, 1), 'undecided');
  assert.equal(s.feed(0, ascii('T /'), 0, 3, 2), 'undecided');
  assert.equal(s.detection, 'undecided');
  const r = recorder();
  s.replay(r);
  assert.deepEqual(r.calls, ['0@1:GE', '0@2:T /']);
});

test('a gap before the verdict blinds the sniffer: its none says nothing about the first bytes', () => {
  const s = new ProtocolSniffer(true);
  assert.equal(s.gap(0, 1460, 1), 'none');
  assert.equal(s.blind, true);
  const r = recorder();
  s.replay(r);
  assert.deepEqual(r.calls, ['0:gap 1460']);

  const lazy = new ProtocolSniffer(false);
  assert.equal(lazy.gap(0, 10, 1), 'undecided');
  assert.equal(lazy.gap(0, 10, 2), 'undecided');
  assert.equal(lazy.feed(1, ascii('INFO {}'), 0, 7, 3), 'nats');
  const r2 = recorder();
  lazy.replay(r2);
  assert.deepEqual(r2.calls, ['0:gap 20'], 'consecutive gaps merge');
});
