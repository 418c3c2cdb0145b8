import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatJsonRow } from './json-format.js';
import { DirLogTarget, MemoryLogTarget } from './log-target.js';
import { ZeekLogWriter } from './log-writer.js';
import { CONN_LOG, HTTP_LOG, LOG_SCHEMAS, NOTICE_LOG, SQL_LOG } from './schema.js';
import { escapeTsv, formatLogStamp, formatTsvHeader, formatTsvValue } from './tsv-format.js';
import { parseZeekTsv } from './tsv-parse.js';

test('TSV escaping keeps every row on one line and every marker unambiguous', () => {
  assert.equal(escapeTsv('plain text/with:stuff'), 'plain text/with:stuff');
  assert.equal(escapeTsv('a\tb\nc\r'), 'a\\x09b\\x0ac\\x0d');
  assert.equal(escapeTsv('back\\slash'), 'back\\x5cslash');
  assert.equal(escapeTsv('-'), '\\x2d');
  assert.equal(escapeTsv('(empty)'), '\\x28empty)');
  assert.equal(escapeTsv('é€'), '\\xc3\\xa9\\xe2\\x82\\xac');
  assert.equal(escapeTsv('a,b', true), 'a\\x2cb');
  assert.equal(escapeTsv('a,b', false), 'a,b');
});

test('TSV values follow Zeek types', () => {
  assert.equal(formatTsvValue('time', 1700000000.1234567), '1700000000.123457');
  assert.equal(formatTsvValue('interval', 0), '0.000000');
  assert.equal(formatTsvValue('count', 42), '42');
  assert.equal(formatTsvValue('port', 8080), '8080');
  assert.equal(formatTsvValue('bool', true), 'T');
  assert.equal(formatTsvValue('bool', false), 'F');
  assert.equal(formatTsvValue('string', ''), '(empty)');
  assert.equal(formatTsvValue('string', null), '-');
  assert.equal(formatTsvValue('count', undefined), '-');
  assert.equal(formatTsvValue('count', Number.NaN), '-');
  assert.equal(formatTsvValue('set[string]', []), '(empty)');
  assert.equal(formatTsvValue('set[string]', ['users', 'a,b']), 'users,a\\x2cb');
  assert.equal(formatLogStamp(0), '1970-01-01-00-00-00');
});

test("the TSV header is Zeek's, line for line", () => {
  const lines = formatTsvHeader(SQL_LOG, 86400 * 365).split('\n');
  assert.deepEqual(lines.slice(0, 6), [
    '#separator \\x09',
    '#set_separator\t,',
    '#empty_field\t(empty)',
    '#unset_field\t-',
    '#path\tsql',
    '#open\t1971-01-01-00-00-00',
  ]);
  assert.equal(
    lines[6],
    '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tuser\tdatabase\tquery\tkind\ttables\tsuccess\trows\terror',
  );
  assert.equal(lines[7].split('\t').length, SQL_LOG.fields.length + 1);
});

test('schemas: Zeek field lists, as many types as fields', () => {
  for (const s of LOG_SCHEMAS) assert.equal(s.fields.length, s.types.length, s.path);
  assert.equal(
    CONN_LOG.fields.join(' '),
    'ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents',
  );
  assert.equal(HTTP_LOG.fields.length, 30);
  assert.equal(NOTICE_LOG.fields.length, 26);
  assert.equal(NOTICE_LOG.types[NOTICE_LOG.fields.indexOf('actions')], 'set[enum]');
});

test('writer: header once, rows, #close; the result parses strictly; hostile strings stay in their field', () => {
  const t = new MemoryLogTarget();
  const w = new ZeekLogWriter(t, { now: () => 1_700_000_000 });
  const row = (q: string) => [1.5, 'Cabc', '10.0.0.1', 40000, '10.0.0.2', 5432, 'u', 'd', q, 'SELECT', ['users'], true, 3, null];
  w.write(SQL_LOG, row('SELECT 1'));
  w.write(SQL_LOG, row('SELECT\t"x"\nFROM users -- \\'));
  w.close();
  w.write(SQL_LOG, row('after close'));
  const parsed = parseZeekTsv(t.text('sql'));
  assert.ok(parsed.ok);
  assert.equal(parsed.value.rows.length, 2);
  assert.equal(parsed.value.rows[1][8], 'SELECT\\x09"x"\\x0aFROM users -- \\x5c');
  assert.equal(parsed.value.rows[0][13], '-');
  assert.equal(parsed.value.close, '2023-11-14-22-13-20');
  assert.deepEqual(w.rowCounts(), { sql: 2 });
  assert.deepEqual([...t.texts.keys()], ['sql']);
});

test('strict TSV reading rejects a row with a missing field, a wrong header and a misplaced #close', () => {
  const t = new MemoryLogTarget();
  const w = new ZeekLogWriter(t, { now: () => 0 });
  w.write(CONN_LOG, [0, 'C1', '1.1.1.1', 1, '2.2.2.2', 2, 'tcp', null, null, null, null, 'S0', null, null, 0, 'S', 1, 40, 0, 0, null]);
  w.close();
  const good = t.text('conn');
  assert.ok(parseZeekTsv(good).ok);
  const lines = good.split('\n');
  const short = [...lines.slice(0, 8), lines[8].split('\t').slice(1).join('\t'), ...lines.slice(9)].join('\n');
  const r1 = parseZeekTsv(short);
  assert.ok(!r1.ok && /row has 20 fields, #fields has 21/.test(r1.errors[0].message) && r1.errors[0].loc?.line === 9);
  assert.ok(!parseZeekTsv(good.replace('#separator \\x09', '#separator ,')).ok);
  assert.ok(!parseZeekTsv(good.replace('#unset_field\t-', '#unset_field\tNA')).ok);
  assert.ok(!parseZeekTsv(lines.slice(0, 8).join('\n') + '\n#close\tx\n' + lines[8] + '\n').ok);
});

test('JSON rows: flat dotted keys in schema order, unset left out, sets as arrays, strings escaped', () => {
  const line = formatJsonRow(HTTP_LOG, [
    1.25,
    'C1',
    '10.0.0.1',
    1234,
    '10.0.0.2',
    80,
    1,
    'GET',
    null,
    '/a"b\\c\n',
    null,
    '1.1',
    null,
    null,
    0,
    5,
    200,
    'OK',
    null,
    null,
    [],
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
  ]);
  assert.ok(line.endsWith('}\n'));
  const o = JSON.parse(line);
  assert.deepEqual(Object.keys(o), [
    'ts',
    'uid',
    'id.orig_h',
    'id.orig_p',
    'id.resp_h',
    'id.resp_p',
    'trans_depth',
    'method',
    'uri',
    'version',
    'request_body_len',
    'response_body_len',
    'status_code',
    'status_msg',
    'tags',
  ]);
  assert.equal(o.uri, '/a"b\\c\n');
  assert.equal(o['id.resp_p'], 80);
  assert.deepEqual(o.tags, []);
});

test('a log directory gets one file per log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-logs-'));
  try {
    const w = new ZeekLogWriter(new DirLogTarget(join(dir, 'out')), { format: 'json' });
    for (let i = 0; i < 3000; i++)
      w.write(SQL_LOG, [i, `C${i}`, '10.0.0.1', 1, '10.0.0.2', 2, null, null, 'x'.repeat(50), null, null, null, null, null]);
    w.close();
    const lines = readFileSync(join(dir, 'out', 'sql.log'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(lines.length, 3000);
    assert.equal(JSON.parse(lines[2999]).uid, 'C2999');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JSON rows: every string, hostile ones included, is quoted exactly as JSON.stringify would', () => {
  const uriAt = HTTP_LOG.fields.indexOf('uri');
  const tagsAt = HTTP_LOG.fields.indexOf('tags');
  const pieces = ['a', '/x?y=1', '"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '\u2028', '😀', '\ud800', '\udfff', ' ', '{}'];
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let n = 0; n < 2000; n++) {
    let s = '';
    for (let k = next() % 6; k > 0; k--) s += pieces[next() % pieces.length];
    const row = HTTP_LOG.fields.map(() => null as string | null);
    row[uriAt] = s;
    (row as unknown[])[tagsAt] = [s, 'x'];
    const line = formatJsonRow(HTTP_LOG, row);
    assert.ok(line.includes(`"uri":${JSON.stringify(s)}`), JSON.stringify(s));
    assert.ok(line.includes(`"tags":${JSON.stringify([s, 'x'])}`), JSON.stringify(s));
    assert.equal((JSON.parse(line) as { uri: string }).uri, s);
  }
});
