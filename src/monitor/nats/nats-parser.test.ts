import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Segment } from '../testing/index.js';
import { c2s, named, runNats, s2c, weirdNames, type Event } from './testing.js';
import type { NatsOptions } from './types.js';

const run = (segs: Segment[], opts: Partial<NatsOptions> = {}): Event[] => runNats(segs, opts, assert.deepEqual);

const INFO = 'INFO {"server_id": "NABC", "version": "2.10.7", "headers": true, "max_payload": 1048576, "tls_required": false}\r\n';

test('a session: INFO, CONNECT, SUB, PUB, MSG, UNSUB, PING/PONG, +OK, -ERR', () => {
  const ev = run([
    s2c(INFO),
    c2s(
      'CONNECT {"verbose":true, "pedantic":false, "name":"svc-shipping", "lang":"node", "version":"2.19.0", "protocol":1, "headers":true, "user":"ship", "pass":"s3cret"}\r\nPING\r\n',
    ),
    s2c('+OK\r\nPONG\r\n'),
    c2s('SUB orders.* workers 7\r\nPUB orders.new _INBOX.abc 5\r\nhello\r\n'),
    s2c('MSG orders.new 7 _INBOX.abc 5\r\nhello\r\n'),
    c2s('UNSUB 7 10\r\nUNSUB 8\r\n'),
    s2c("-ERR 'Authorization Violation for a b c d e f g'\r\nPING\r\n"),
    c2s('PONG\r\n'),
  ]);
  assert.deepEqual(ev, [
    ['info', { serverId: 'NABC', version: '2.10.7', headers: true, maxPayload: 1048576, tlsRequired: false }],
    [
      'connect',
      {
        name: 'svc-shipping',
        user: 'ship',
        lang: 'node',
        version: '2.19.0',
        protocol: 1,
        verbose: true,
        pedantic: false,
        headers: true,
        echo: true,
        tlsRequired: false,
        hasPassword: true,
        hasToken: false,
        hasJwt: false,
        hasNkey: false,
      },
    ],
    ['ping', 0],
    ['ok'],
    ['pong', 1],
    ['sub', 'orders.*', 'workers', '7'],
    [
      'pub',
      { subject: 'orders.new', reply: '_INBOX.abc', size: 5, headerSize: 0, status: '', headers: [], prefix: 'hello', incomplete: false },
    ],
    [
      'msg',
      {
        subject: 'orders.new',
        sid: '7',
        reply: '_INBOX.abc',
        size: 5,
        headerSize: 0,
        status: '',
        headers: [],
        prefix: 'hello',
        incomplete: false,
      },
    ],
    ['unsub', '7', 10],
    ['unsub', '8', null],
    ['err', 'Authorization Violation for a b c d e f g'],
    ['ping', 1],
    ['pong', 0],
  ]);
  assert.ok(!JSON.stringify(ev).includes('s3cret'), 'the password is never reported');
});

test('commands are case-insensitive, fields separated by runs of spaces and tabs, bare LF accepted', () => {
  const ev = run([c2s('pub\tfoo.bar  \t 3\nabc\nsub foo 1\r\nPiNg\n')]);
  assert.deepEqual(
    ev.map((e) => e[0]),
    ['pub', 'sub', 'ping'],
  );
  assert.equal((named(ev, 'pub')[0][1] as { subject: string }).subject, 'foo.bar');
  assert.deepEqual(weirdNames(ev), []);
});

test('HPUB and HMSG: header block parsed into pairs, status kept, payload after headers', () => {
  const hdr = 'NATS/1.0\r\nTraceparent: 00-abc-01\r\nX-User:  alice \r\n\r\n';
  const body = '{"id":1}';
  const ev = run([
    c2s(`HPUB orders.new ${hdr.length} ${hdr.length + body.length}\r\n${hdr}${body}\r\n`),
    s2c(`HMSG _INBOX.x 3 16 16\r\nNATS/1.0 503\r\n\r\n\r\n`),
  ]);
  assert.deepEqual(named(ev, 'pub'), [
    [
      'pub',
      {
        subject: 'orders.new',
        reply: '',
        size: hdr.length + body.length,
        headerSize: hdr.length,
        status: '',
        headers: [
          ['Traceparent', '00-abc-01'],
          ['X-User', 'alice'],
        ],
        prefix: body,
        incomplete: false,
      },
    ],
  ]);
  assert.deepEqual(named(ev, 'msg'), [
    [
      'msg',
      { subject: '_INBOX.x', sid: '3', reply: '', size: 16, headerSize: 16, status: '503', headers: [], prefix: '', incomplete: false },
    ],
  ]);
  assert.deepEqual(weirdNames(ev), []);
});

test('large payloads are counted while only a prefix is kept', () => {
  const big = 'x'.repeat(100_000);
  const ev = run([c2s(`PUB big 100000\r\n${big}\r\nPING\r\n`)], { payloadPrefixBytes: 4 });
  assert.deepEqual(
    named(ev, 'pub').map((e) => [(e[1] as { size: number }).size, (e[1] as { prefix: string }).prefix]),
    [[100000, 'xxxx']],
  );
  assert.deepEqual(named(ev, 'ping').length, 1);
});

test('sizes that are negative, not numbers or absurd stop the direction', () => {
  for (const [line, weird] of [
    ['PUB foo -1', 'nats_bad_size'],
    ['PUB foo abc', 'nats_bad_size'],
    ['PUB foo 1e3', 'nats_bad_size'],
    ['PUB foo 99999999999999999999', 'nats_payload_too_large'],
    ['HPUB foo 10 5', 'nats_bad_arguments'],
    ['PUB foo', 'nats_bad_arguments'],
    ['PUB a b c d e f g h', 'nats_bad_arguments'],
  ]) {
    const ev = run([c2s(`${line}\r\nhello\r\nPING\r\n`)]);
    assert.deepEqual(weirdNames(ev), [weird], line);
    assert.deepEqual(named(ev, 'ping'), [], `${line}: nothing parsed after`);
  }
});

test('invalid subjects are reported but the message is still framed', () => {
  const ev = run([
    c2s(
      'PUB foo..bar 1\r\na\r\nPUB .foo 0\r\n\r\nPUB foo.* 0\r\n\r\nSUB foo.>.bar 1\r\nSUB foo.> 2\r\nSUB *.x 3\r\nPUB ok.reply bad..reply 0\r\n\r\n',
    ),
  ]);
  assert.deepEqual(weirdNames(ev), [
    'nats_bad_subject',
    'nats_bad_subject',
    'nats_wildcard_in_publish',
    'nats_bad_subject',
    'nats_bad_subject',
  ]);
  assert.equal(named(ev, 'pub').length, 4);
  assert.equal(named(ev, 'sub').length, 3);
});

test('control line above the limit stops the direction', () => {
  const ev = run([c2s(`PUB ${'a'.repeat(300)} 0\r\n\r\nPING\r\n`)], { maxControlLine: 128 });
  assert.deepEqual(weirdNames(ev), ['nats_line_too_long']);
  assert.deepEqual(named(ev, 'ping'), []);
});

test('payload not followed by CRLF stops the direction', () => {
  const ev = run([c2s('PUB foo 3\r\nabcdPING\r\n')]);
  assert.deepEqual(weirdNames(ev), ['nats_missing_payload_terminator']);
  assert.equal(named(ev, 'pub').length, 1);
});

test('unknown operations and operations of the other side stop the direction', () => {
  assert.deepEqual(weirdNames(run([c2s('FOO bar\r\nPING\r\n')])), ['nats_unknown_operation']);
  assert.deepEqual(weirdNames(run([c2s('MSG foo 1 0\r\n\r\n')])), ['nats_operation_wrong_direction']);
  assert.deepEqual(weirdNames(run([s2c('PUB foo 0\r\n\r\n')])), ['nats_operation_wrong_direction']);
});

test('bad CONNECT/INFO JSON is reported and parsing goes on', () => {
  const ev = run([c2s('CONNECT {"name":\r\nCONNECT [1,2]\r\nCONNECT {"name":5,"__proto__":{"x":1}}\r\nPING\r\n')]);
  assert.deepEqual(weirdNames(ev), ['nats_bad_json', 'nats_bad_json']);
  assert.equal((named(ev, 'connect')[0][1] as { name: string }).name, '');
  assert.equal(named(ev, 'ping').length, 1);
});

test('TLS after INFO: a TLS record where a line was due stops parsing', () => {
  const ev = run([
    s2c(INFO.replace('"tls_required": false', '"tls_required": true')),
    c2s(new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x05, 0x01])),
    s2c('PING\r\n'),
  ]);
  assert.deepEqual(
    ev.map((e) => e[0]),
    ['info', 'tls'],
  );
  assert.equal((ev[0][1] as { tlsRequired: boolean }).tlsRequired, true);
});

test('gap inside a payload keeps framing; gap outside stops the direction', () => {
  const ev = run([c2s('PUB foo 10\r\nab'), { dir: 0, gap: 4 }, c2s('cdef\r\nPING\r\n')]);
  assert.deepEqual(weirdNames(ev), ['nats_content_gap']);
  assert.deepEqual(
    named(ev, 'pub').map((e) => [(e[1] as { prefix: string }).prefix, (e[1] as { incomplete: boolean }).incomplete]),
    [['ab', true]],
  );
  assert.equal(named(ev, 'ping').length, 1);
  const ev2 = run([c2s('PING\r\nPI'), { dir: 0, gap: 4 }, c2s('PING\r\n')]);
  assert.deepEqual(weirdNames(ev2), ['nats_gap_lost_sync']);
});

test('end inside a payload or a line is reported', () => {
  assert.deepEqual(weirdNames(run([c2s('PUB foo 10\r\nabc')])), ['nats_truncated_at_end']);
  assert.deepEqual(weirdNames(run([c2s('PUB fo')])), ['nats_truncated_at_end']);
});

test('malformed header blocks are reported, the message still delivered', () => {
  const bad = 'HTTP/1.1\r\n\r\n';
  const ev = run([c2s(`HPUB foo ${bad.length} ${bad.length}\r\n${bad}\r\n`), c2s('HPUB foo 12 12\r\nNATS/1.0\r\nA:\r\n')]);
  assert.deepEqual(weirdNames(ev).slice(0, 1), ['nats_bad_headers']);
  assert.equal(named(ev, 'pub').length, 2);
});

test('NUL bytes in a control line are invalid subject characters, not a crash', () => {
  const ev = run([c2s('PUB fo\x00o 1\r\nx\r\n')]);
  assert.deepEqual(weirdNames(ev), ['nats_bad_subject']);
});
