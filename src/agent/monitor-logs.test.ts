import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONN_LOG, formatJsonRow, NOTICE_LOG, STATS_LOG, statsRow } from '../monitor/index.js';
import { monitorLogsCollector, monitorRowDrafts } from './monitor-logs.js';

const WEB = { name: 'web-0', service: 'web', ns: 'ft-x-i-web-0', ip: '10.77.1.2' };
const DB = { name: 'db-0', service: 'db', ns: 'ft-x-i-db-0', ip: '10.77.1.4' };
const byIp = new Map([WEB, DB].map((i) => [i.ip, i]));

function row(schema: typeof CONN_LOG, values: Record<string, unknown>): string {
  return formatJsonRow(
    schema,
    schema.fields.map((f) => values[f] as never),
  ).trimEnd();
}

const CONN = row(CONN_LOG, {
  ts: 1700000000.25,
  uid: 'CAbc123',
  'id.orig_h': '10.77.1.2',
  'id.orig_p': 40000,
  'id.resp_h': '10.77.1.4',
  'id.resp_p': 5432,
  proto: 'tcp',
  service: 'postgresql',
  conn_state: 'SF',
});
const NOTICE = row(NOTICE_LOG, {
  ts: 1700000001.5,
  uid: 'CAbc123',
  'id.orig_h': '10.77.1.2',
  'id.orig_p': 40000,
  'id.resp_h': '10.77.1.4',
  'id.resp_p': 5432,
  proto: 'tcp',
  note: 'FlowTap::Disallowed_SQL',
  msg: 'web-0 ran SELECT on users',
  src: '10.77.1.2',
  dst: '10.77.1.4',
  p: 5432,
});

describe('monitor log rows', () => {
  test('a conn row keeps its uid as provenance, its time, and is about the instance that opened it', () => {
    const [d, ...rest] = monitorRowDrafts('mon-sql', 'conn', CONN, byIp, 0);
    assert.equal(rest.length, 0);
    assert.deepEqual([d.kind, d.ts, d.provenance, d.instance, d.service], ['monitor-log', 1700000000250, 'CAbc123', 'web-0', 'web']);
    assert.equal((d.data.row as Record<string, unknown>).service, 'postgresql');
    assert.equal(d.data.log, 'conn');
    assert.equal(d.data.monitor, 'mon-sql');
  });

  test('a notice row is a monitor-log record only: its notice record comes from the notices path', () => {
    const ds = monitorRowDrafts('mon-sql', 'notice', NOTICE, byIp, 0);
    assert.deepEqual(
      ds.map((d) => [d.kind, d.provenance, d.instance, d.data.log]),
      [['monitor-log', 'CAbc123', 'web-0', 'notice']],
    );
  });

  test('a stats row is about no instance nor connection, and keeps its time and run', () => {
    const line = formatJsonRow(
      STATS_LOG,
      statsRow(
        {
          ts: 1700000002,
          run: '4242-1700000000000',
          total: { captured: 90, received: 95, dropped: 5 },
          interval: { captured: 30, received: 31, dropped: 1 },
          bytes: 4000,
          lagSeconds: 0.02,
        },
        'any',
        64 * 1024 * 1024,
      ),
    ).trimEnd();
    const [d, ...rest] = monitorRowDrafts('mon-sql', 'stats', line, byIp, 0);
    assert.equal(rest.length, 0);
    assert.deepEqual(
      [d.kind, d.ts, d.provenance, d.instance, d.data.log, d.data.monitor],
      ['monitor-log', 1700000002000, undefined, undefined, 'stats', 'mon-sql'],
    );
    assert.deepEqual(d.data.row, {
      ts: 1700000002,
      peer: 'any',
      mem: 64,
      pkts_proc: 30,
      bytes_recv: 4000,
      pkts_dropped: 1,
      pkts_link: 31,
      pkt_lag: 0.02,
      run: '4242-1700000000000',
      run_pkts_proc: 90,
      run_pkts_dropped: 5,
      run_pkts_link: 95,
    });
  });

  test('comment lines are skipped, anything else that is not a row is shipped marked, not lost', () => {
    assert.deepEqual(monitorRowDrafts('m', 'conn', '#fields\tts\tuid', byIp, 5), []);
    const [d] = monitorRowDrafts('m', 'weird', 'not json', byIp, 5);
    assert.deepEqual([d.kind, d.ts, d.data.unparsed], ['monitor-log', 5, 'not json']);
  });

  test('the collector follows every log of every monitor from the moment it starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowtap-monlogs-'));
    const m1 = join(dir, 'mon-sql');
    mkdirSync(m1);
    writeFileSync(join(m1, 'conn.log'), CONN + '\n');
    const c = monitorLogsCollector([{ name: 'mon-sql', logDir: m1 }], [WEB, DB]);
    await c.start?.({ level: 3, periodMs: 1000 });
    assert.deepEqual((await c.collect({ level: 3, periodMs: 1000 }, 0)).records, [], 'rows from before the start are not shipped');
    appendFileSync(join(m1, 'conn.log'), CONN + '\n');
    writeFileSync(join(m1, 'notice.log'), NOTICE + '\n');
    writeFileSync(join(m1, 'stats.log'), '{"ts":1700000003,"peer":"any","run":"1-2","run_pkts_proc":3,"run_pkts_dropped":0}\n');
    const r = await c.collect({ level: 3, periodMs: 1000 }, 0);
    assert.deepEqual(
      r.records.map((d) => `${d.kind}:${d.data.log ?? d.data.note}`),
      ['monitor-log:conn', 'monitor-log:notice'],
      "stats rows are the level-1 collector's (counters)",
    );
  });
});
