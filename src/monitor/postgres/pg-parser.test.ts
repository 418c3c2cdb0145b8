import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Segment } from '../testing/index.js';
import { be, c2s, fe, i32, msg, named, runPg, s2c, weirdNames, type Event } from './testing.js';
import type { PgOptions } from './types.js';

const run = (segs: Segment[], opts: Partial<PgOptions> = {}): Event[] => runPg(segs, opts, assert.deepEqual);

const login: Segment[] = [
  c2s(fe.startup({ user: 'rental', database: 'dvdrental', application_name: 'svc-contract' })),
  s2c(be.authOk(), be.param('server_version', '16.2'), be.key(4242, 7), be.ready('I')),
];

test('SSLRequest refused, SASL login, simple query with rows, terminate', () => {
  const ev = run([
    c2s(fe.ssl()),
    s2c(Buffer.from('N')),
    c2s(fe.startup({ user: 'alice', database: 'shop', application_name: 'psql', options: '-c x=1' })),
    s2c(be.authSasl(['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'])),
    c2s(fe.saslInitial('SCRAM-SHA-256', 'n,,n=,r=abc')),
    s2c(
      msg('R', i32(11), Buffer.from('r=abcdef')),
      msg('R', i32(12), Buffer.from('v=xyz')),
      be.authOk(),
      be.param('client_encoding', 'UTF8'),
      be.key(99, 1234),
      be.ready('I'),
    ),
    c2s(fe.query('SELECT id, name FROM users')),
    s2c(be.rowDesc(['id', 'name']), be.dataRow(['1', 'a']), be.dataRow(['2', null]), be.complete('SELECT 2'), be.ready('I')),
    c2s(fe.terminate()),
  ]);
  assert.deepEqual(ev, [
    ['sslRequest', 'ssl'],
    ['sslResponse', 'N'],
    [
      'startup',
      {
        protocol: '3.0',
        user: 'alice',
        database: 'shop',
        app: 'psql',
        params: [
          ['user', 'alice'],
          ['database', 'shop'],
          ['application_name', 'psql'],
          ['options', '-c x=1'],
        ],
      },
    ],
    ['authentication', 10, 'sasl', ['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS']],
    ['password', 'sasl-initial', 'SCRAM-SHA-256'],
    ['authentication', 11, 'sasl-continue', []],
    ['authentication', 12, 'sasl-final', []],
    ['authentication', 0, 'ok', []],
    ['parameterStatus', 'client_encoding', 'UTF8'],
    ['backendKey', 99, '000004d2'],
    ['ready', 'I'],
    [
      'query',
      {
        id: 1,
        kind: 'simple',
        sql: 'SELECT id, name FROM users',
        statementName: '',
        portal: '',
        params: [],
        paramTypes: [],
        truncated: false,
      },
    ],
    ['result', { query: 1, tag: 'SELECT 2', rows: 2, affected: 2 }],
    ['ready', 'I'],
    ['terminate'],
  ]);
});

test('SSLRequest accepted: parsing stops, TLS bytes are not reported', () => {
  const ev = run([
    c2s(fe.ssl()),
    s2c(Buffer.from('S'), Buffer.from([0x16, 0x03, 0x03, 0x00, 0x10])),
    c2s(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])),
  ]);
  assert.deepEqual(ev, [
    ['sslRequest', 'ssl'],
    ['sslResponse', 'S'],
  ]);
});

test('TLS ClientHello after SSLRequest is recognised even before the answer', () => {
  const ev = run([c2s(fe.ssl(), Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]))]);
  assert.deepEqual(ev, [
    ['sslRequest', 'ssl'],
    ['tls', 0],
  ]);
});

test('GSSENCRequest refused then SSLRequest refused then startup', () => {
  const ev = run([c2s(fe.gss()), s2c(Buffer.from('N')), c2s(fe.ssl()), s2c(Buffer.from('N')), ...login]);
  assert.deepEqual(
    ev.slice(0, 5).map((e) => e.slice(0, 2)),
    [
      ['sslRequest', 'gss'],
      ['sslResponse', 'N'],
      ['sslRequest', 'ssl'],
      ['sslResponse', 'N'],
      ['startup', ev[4][1]],
    ],
  );
  assert.deepEqual(weirdNames(ev), []);
});

test('CancelRequest, and data after it is reported once', () => {
  const ev = run([c2s(fe.cancel(4242, 0x0badcafe)), c2s(fe.query('SELECT 1'), fe.query('SELECT 2'))]);
  assert.deepEqual(ev, [
    ['cancel', 4242, '0badcafe'],
    ['weird', 'pg_data_after_end', 'client sent data after the conversation ended', 0],
  ]);
});

test('simple query with several statements: one result per statement, paired with the same query', () => {
  const ev = run([
    ...login,
    c2s(fe.query("INSERT INTO rentals VALUES (1, 'x'); UPDATE dvd SET stock = 0; SELECT 1")),
    s2c(
      be.complete('INSERT 0 1'),
      be.complete('UPDATE 3'),
      be.rowDesc(['?column?']),
      be.dataRow(['1']),
      be.complete('SELECT 1'),
      be.ready('T'),
    ),
  ]);
  assert.deepEqual(named(ev, 'result'), [
    ['result', { query: 1, tag: 'INSERT 0 1', rows: 0, affected: 1 }],
    ['result', { query: 1, tag: 'UPDATE 3', rows: 0, affected: 3 }],
    ['result', { query: 1, tag: 'SELECT 1', rows: 1, affected: 1 }],
  ]);
  assert.deepEqual(
    named(ev, 'ready').map((e) => e[1]),
    ['I', 'T'],
  );
});

test('extended protocol: one query event per Execute with Parse SQL and Bind parameters', () => {
  const ev = run([
    ...login,
    c2s(
      fe.parse('find_user', 'SELECT * FROM users WHERE name = $1 AND org = $2 AND flags = $3', [25, 23, 17]),
      fe.bind('', 'find_user', [0, 0, 1], ['alice', null, Buffer.from([0xde, 0xad])]),
      fe.describe('P', ''),
      fe.execute('', 0),
      fe.sync(),
    ),
    s2c(be.parseComplete(), be.bindComplete(), be.rowDesc(['id']), be.dataRow(['7']), be.complete('SELECT 1'), be.ready('I')),
  ]);
  assert.deepEqual(named(ev, 'query'), [
    [
      'query',
      {
        id: 1,
        kind: 'extended',
        sql: 'SELECT * FROM users WHERE name = $1 AND org = $2 AND flags = $3',
        statementName: 'find_user',
        portal: '',
        params: ['alice', null, '\\xdead'],
        paramTypes: [25, 23, 17],
        truncated: false,
      },
    ],
  ]);
  assert.deepEqual(named(ev, 'result'), [['result', { query: 1, tag: 'SELECT 1', rows: 1, affected: 1 }]]);
  assert.deepEqual(weirdNames(ev), []);
});

test('one format code applies to every parameter; prepared statements are reused across batches', () => {
  const ev = run([
    ...login,
    c2s(fe.parse('ins', 'INSERT INTO t VALUES ($1, $2)'), fe.sync()),
    s2c(be.parseComplete(), be.ready()),
    c2s(
      fe.bind('', 'ins', [1], [Buffer.from([0, 0, 0, 5]), Buffer.from('hi')]),
      fe.execute(''),
      fe.bind('', 'ins', [], ['6', 'ho']),
      fe.execute(''),
      fe.sync(),
    ),
    s2c(be.bindComplete(), be.complete('INSERT 0 1'), be.bindComplete(), be.complete('INSERT 0 1'), be.ready()),
  ]);
  assert.deepEqual(
    named(ev, 'query').map((e) => (e[1] as { params: unknown }).params),
    [
      ['\\x00000005', '\\x6869'],
      ['6', 'ho'],
    ],
  );
  assert.deepEqual(
    named(ev, 'result').map((e) => (e[1] as { query: number }).query),
    [1, 2],
  );
});

test('error in an extended batch: the failing Execute gets the error, later ones are skipped', () => {
  const ev = run([
    ...login,
    c2s(
      fe.parse('', 'SELECT 1/0'),
      fe.bind('', '', [], []),
      fe.execute(''),
      fe.parse('', 'SELECT 2'),
      fe.bind('', '', [], []),
      fe.execute(''),
      fe.sync(),
    ),
    s2c(be.parseComplete(), be.bindComplete(), be.error('ERROR', '22012', 'division by zero'), be.ready('I')),
    c2s(fe.query('SELECT 3')),
    s2c(be.complete('SELECT 1'), be.ready('I')),
  ]);
  assert.deepEqual(named(ev, 'result'), [
    [
      'result',
      { query: 1, tag: '', rows: 0, affected: null, error: { severity: 'ERROR', code: '22012', message: 'division by zero', detail: '' } },
    ],
    ['result', { query: 2, tag: '', rows: 0, affected: null, skipped: true }],
    ['result', { query: 3, tag: 'SELECT 1', rows: 0, affected: 1 }],
  ]);
});

test('a Parse error with no Execute is reported as an error, not paired with a later query', () => {
  const ev = run([
    ...login,
    c2s(fe.parse('bad', 'SELEC 1'), fe.sync()),
    s2c(be.error('ERROR', '42601', 'syntax error at or near "SELEC"'), be.ready('I')),
    c2s(fe.query('SELECT 1')),
    s2c(be.complete('SELECT 1'), be.ready('I')),
  ]);
  assert.deepEqual(
    named(ev, 'error').map((e) => (e[1] as { code: string }).code),
    ['42601'],
  );
  assert.deepEqual(named(ev, 'result'), [['result', { query: 1, tag: 'SELECT 1', rows: 0, affected: 1 }]]);
});

test('error in a simple query and a failed login', () => {
  const ev = run([
    c2s(fe.startup({ user: 'mallory', database: 'x' })),
    s2c(be.authCleartext()),
    c2s(fe.password('hunter2')),
    s2c(be.error('FATAL', '28P01', 'password authentication failed for user "mallory"')),
  ]);
  assert.deepEqual(named(ev, 'password'), [['password', 'cleartext', '']]);
  assert.ok(!JSON.stringify(ev).includes('hunter2'), 'the secret is never reported');
  assert.deepEqual(
    named(ev, 'error').map((e) => [(e[1] as { severity: string }).severity, (e[1] as { code: string }).code]),
    [['FATAL', '28P01']],
  );
  const ev2 = run([
    ...login,
    c2s(fe.query('SELECT * FROM nope')),
    s2c(be.error('ERROR', '42P01', 'relation "nope" does not exist', 'd'), be.ready('I')),
  ]);
  assert.deepEqual(named(ev2, 'result'), [
    [
      'result',
      {
        query: 1,
        tag: '',
        rows: 0,
        affected: null,
        error: { severity: 'ERROR', code: '42P01', message: 'relation "nope" does not exist', detail: 'd' },
      },
    ],
  ]);
});

test('portal suspended by a row limit, then resumed; empty query', () => {
  const ev = run([
    ...login,
    c2s(fe.parse('', 'SELECT * FROM big'), fe.bind('cur', '', [], []), fe.execute('cur', 2), fe.execute('cur', 2), fe.sync()),
    s2c(
      be.parseComplete(),
      be.bindComplete(),
      be.dataRow(['1']),
      be.dataRow(['2']),
      be.suspended(),
      be.dataRow(['3']),
      be.complete('SELECT 1'),
      be.ready(),
    ),
    c2s(fe.query('')),
    s2c(be.emptyQuery(), be.ready()),
  ]);
  assert.deepEqual(named(ev, 'result'), [
    ['result', { query: 1, tag: '', rows: 2, affected: null, suspended: true }],
    ['result', { query: 2, tag: 'SELECT 1', rows: 1, affected: 1 }],
    ['result', { query: 3, tag: '', rows: 0, affected: null }],
  ]);
});

test('absurd lengths stop the direction: 2, 2^31-1, a startup packet of 3', () => {
  const two = run([...login, c2s(Buffer.from('Q'), i32(2), Buffer.from('junkjunk'))]);
  assert.deepEqual(weirdNames(two), ['pg_bad_length']);
  assert.match(named(two, 'weird')[0][2] as string, /'Q' with length 2/);
  const huge = run([...login, c2s(Buffer.from('Q'), i32(0x7fffffff), Buffer.from('SELECT'))]);
  assert.deepEqual(weirdNames(huge), ['pg_bad_length']);
  const twoPow31 = run([...login, c2s(Buffer.from('P'), i32(2 ** 31), Buffer.from('x'))]);
  assert.deepEqual(weirdNames(twoPow31), ['pg_bad_length']);
  const neg = run([...login, s2c(Buffer.from('D'), i32(-5))]);
  assert.deepEqual(weirdNames(neg), ['pg_bad_length']);
  const tiny = run([c2s(i32(3), Buffer.from('xxxxxxxx'))]);
  assert.deepEqual(weirdNames(tiny), ['pg_bad_startup']);
});

test('COPY data is skipped by length without being kept', () => {
  const big = Buffer.alloc(200_000, 0x41);
  const ev = run(
    [
      ...login,
      c2s(fe.query('COPY t FROM STDIN')),
      s2c(be.copyIn()),
      c2s(fe.copyData(big), fe.copyData(big), fe.copyDone()),
      s2c(be.complete('COPY 2'), be.ready()),
    ],
    { maxDecodeBytes: 1024 },
  );
  assert.deepEqual(named(ev, 'result'), [['result', { query: 1, tag: 'COPY 2', rows: 0, affected: 2 }]]);
  assert.deepEqual(weirdNames(ev), []);
});

test('query above the decode limit: SQL prefix kept, flagged truncated', () => {
  const sql = 'SELECT ' + "'x', ".repeat(1000) + '1';
  const ev = run([...login, c2s(fe.query(sql)), s2c(be.complete('SELECT 1'), be.ready())], { maxDecodeBytes: 100 });
  const q = named(ev, 'query')[0][1] as { sql: string; truncated: boolean };
  assert.equal(q.sql, sql.slice(0, 100));
  assert.equal(q.truncated, true);
  assert.deepEqual(weirdNames(ev), ['pg_message_truncated']);
  assert.equal(named(ev, 'result').length, 1);
});

test('long parameter values are cut at maxParamBytes and flagged', () => {
  const ev = run([...login, c2s(fe.parse('', 'SELECT $1'), fe.bind('', '', [], ['y'.repeat(50)]), fe.execute(''), fe.sync())], {
    maxParamBytes: 8,
  });
  const q = named(ev, 'query')[0][1] as { params: string[]; truncated: boolean };
  assert.deepEqual(q.params, ['yyyyyyyy']);
  assert.equal(q.truncated, true);
});

test('gap inside a message keeps framing; gap across a header stops the direction', () => {
  const rows = be.dataRow(['abcdefghijklmnop']);
  const ev = run([
    ...login,
    c2s(fe.query('SELECT x')),
    s2c(rows.subarray(0, 8)),
    { dir: 1, gap: rows.length - 8 },
    s2c(be.complete('SELECT 1'), be.ready()),
  ]);
  assert.deepEqual(weirdNames(ev), ['pg_content_gap']);
  assert.deepEqual(named(ev, 'result'), [['result', { query: 1, tag: 'SELECT 1', rows: 1, affected: 1 }]]);
  const ev2 = run([...login, c2s(fe.query('SELECT 1')), { dir: 0, gap: 10 }, c2s(fe.query('SELECT 2'))]);
  assert.deepEqual(weirdNames(ev2), ['pg_gap_lost_sync']);
  assert.equal(named(ev2, 'query').length, 1);
});

test('capture starting mid-stream: first client message is typed', () => {
  const ev = run([c2s(fe.query('SELECT 1')), s2c(be.complete('SELECT 1'), be.ready('I'))]);
  assert.deepEqual(weirdNames(ev), ['pg_midstream']);
  assert.deepEqual(named(ev, 'result'), [['result', { query: 1, tag: 'SELECT 1', rows: 0, affected: 1 }]]);
});

test('unknown message types are reported and skipped by length', () => {
  const ev = run([...login, c2s(msg('~', Buffer.from('zzz')), fe.query('SELECT 1')), s2c(msg('~'), be.complete('SELECT 1'), be.ready())]);
  assert.deepEqual(weirdNames(ev), ['pg_unknown_message', 'pg_unknown_message']);
  assert.equal(named(ev, 'result').length, 1);
});

test('notices, notifications and unpaired results', () => {
  const ev = run([...login, s2c(be.notice('hello'), msg('A', i32(7), Buffer.from('chan\0payload\0')), be.complete('SELECT 0'))]);
  assert.deepEqual(named(ev, 'notice'), [['notice', 'hello']]);
  assert.deepEqual(named(ev, 'notification'), [['notification', 7, 'chan', 'payload']]);
  assert.deepEqual(weirdNames(ev), ['pg_unmatched_result']);
});

test('unsupported protocol version and non-startup first bytes', () => {
  assert.deepEqual(weirdNames(run([c2s(fe.startup({ user: 'a' }, 2 << 16))])), ['pg_unsupported_protocol']);
  assert.deepEqual(weirdNames(run([c2s(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x39]))])), ['pg_bad_startup']);
  assert.deepEqual(weirdNames(run([c2s(Buffer.from('GET / HTTP/1.1\r\n\r\n'))])), ['pg_bad_startup']);
});

test('protocol 3.2 startup and a longer cancel key', () => {
  const ev = run([c2s(fe.startup({ user: 'u' }, (3 << 16) | 2))]);
  assert.deepEqual(named(ev, 'startup')[0][1], { protocol: '3.2', user: 'u', database: 'u', app: '', params: [['user', 'u']] });
});

test('connection ending inside a message is reported', () => {
  const m = fe.query('SELECT 1');
  const ev = run([...login, c2s(m.subarray(0, 7))]);
  assert.deepEqual(weirdNames(ev), ['pg_truncated_at_end']);
});

test('malformed Bind is reported, not thrown', () => {
  const bad = msg('B', Buffer.from('\0\0'), Buffer.from([0, 2, 0, 0]), Buffer.from([0, 1]), i32(-7));
  const ev = run([...login, c2s(fe.parse('', 'SELECT $1'), bad, fe.execute(''), fe.sync())]);
  assert.deepEqual(weirdNames(ev), ['pg_malformed_message']);
  assert.equal(named(ev, 'query').length, 1);
});

test('queries awaiting results are bounded (one-way tap): oldest forgotten, reported once', () => {
  const qs = [1, 2, 3, 4, 5].map((i) => fe.query(`SELECT ${i}`));
  const ev = run([...login, c2s(...qs), s2c(be.complete('SELECT 1'), be.ready())], { maxPendingQueries: 2 });
  assert.deepEqual(weirdNames(ev), ['pg_too_many_pending_queries']);
  assert.equal(named(ev, 'query').length, 5);
  assert.deepEqual(
    named(ev, 'result').map((e) => (e[1] as { query: number }).query),
    [4],
  );
});

test('prepared statements are bounded by bytes: the oldest is forgotten', () => {
  const ev = run(
    [
      ...login,
      c2s(
        fe.parse('a', 'SELECT ' + 'x'.repeat(300)),
        fe.parse('b', 'SELECT ' + 'y'.repeat(300)),
        fe.bind('', 'a', [], []),
        fe.bind('', 'b', [], []),
        fe.sync(),
      ),
    ],
    { maxPreparedBytes: 500 },
  );
  assert.deepEqual(weirdNames(ev), ['pg_too_many_prepared', 'pg_unknown_statement']);
});
