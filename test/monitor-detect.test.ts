/**
 * Protocols recognised by their first bytes, whatever the port, on real traffic: captures of
 * psql/PostgreSQL, the NATS client/nats-server, openssl s_client/s_server and curl/python's
 * http.server on ports that promise nothing (test/fixtures/pcap/README.md, "Protocol detection").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NoticeType, parseZeekTsv, runMonitor, type MonitorRunResult } from '../src/monitor/index.js';

function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'test', 'fixtures', 'pcap', 'detect-http.pcap'))) return dir;
  }
  throw new Error('test/fixtures/pcap/detect-*.pcap not found above this test');
}
const ROOT = repoRoot();
const FIX = join(ROOT, 'test', 'fixtures', 'pcap');
const MODEL = { app: join(ROOT, 'examples', 'dvd-rental', 'app.yaml'), addressing: join(FIX, 'addressing.json') };

type Rows = Record<string, string>[];
interface Ran {
  r: MonitorRunResult;
  logs: Map<string, Rows>;
}

async function monitor(name: string, withModel = false): Promise<Ran> {
  const dir = mkdtempSync(join(tmpdir(), `flowtap-detect-${name}-`));
  try {
    const r = await runMonitor({ pcap: join(FIX, `${name}.pcap`), logDir: dir, ...(withModel ? MODEL : {}) });
    assert.equal(r.exitCode, 0, JSON.stringify(r.diagnostics));
    assert.equal(r.summary?.internalErrors, 0);
    const logs = new Map<string, Rows>();
    for (const file of readdirSync(dir)) {
      const parsed = parseZeekTsv(readFileSync(join(dir, file), 'utf8'), file);
      assert.ok(parsed.ok, file);
      const { fields, rows } = parsed.value;
      logs.set(
        parsed.value.path,
        rows.map((row) => Object.fromEntries(fields.map((f, i) => [f, row[i]]))),
      );
    }
    return { r, logs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const col = (rows: Rows | undefined, field: string): string[] => (rows ?? []).map((row) => row[field]);

test('curl to http.server on port 5555: http.log has both requests, conn.log says http', async () => {
  const { logs } = await monitor('detect-http');
  assert.deepEqual(col(logs.get('conn'), 'service'), ['http', 'http']);
  assert.deepEqual(col(logs.get('conn'), 'id.resp_p'), ['5555', '5555']);
  const http = logs.get('http') ?? [];
  assert.deepEqual(
    http.map((h) => [h.method, h.uri, h.status_code]),
    [
      ['GET', '/index.txt', '200'],
      ['GET', '/missing', '404'],
    ],
  );
  assert.match(http[0].user_agent, /^curl\//);
  assert.equal(http[1].user_agent, 'flowtap-detect');
  assert.equal(logs.has('weird'), false);
});

test('psql on port 6000: plain startup (sql.log), SSLRequest then TLS, and a CancelRequest are all postgresql', async () => {
  const { logs } = await monitor('detect-postgres');
  const conn = logs.get('conn') ?? [];
  assert.equal(conn.length, 4);
  assert.deepEqual(col(conn, 'service'), ['postgresql', 'postgresql', 'postgresql', 'postgresql']);
  const sql = logs.get('sql') ?? [];
  assert.deepEqual(
    sql.map((q) => [q.user, q.query, q.success]),
    [
      ['postgres', 'SELECT 1', 'T'],
      ['postgres', 'SELECT count(*) FROM pg_class WHERE relkind = $$r$$', 'T'],
      ['postgres', 'SELECT pg_sleep(5)', 'F'],
    ],
  );
  assert.match(sql[2].error, /^57014 canceling statement/);
  // The encrypted session (sslmode=require) logs no SQL and no parser complaint.
  const encrypted = conn.find((c) => !sql.some((q) => q.uid === c.uid) && Number(c.orig_bytes) > 100);
  assert.ok(encrypted, 'the TLS-wrapped connection is in conn.log');
  assert.equal(logs.has('weird'), false);
});

test('the NATS client and nats-server on port 7422: nats.log, and a silent client recognised by the server INFO alone', async () => {
  const { logs } = await monitor('detect-nats');
  const conn = logs.get('conn') ?? [];
  assert.deepEqual(col(conn, 'service'), ['nats', 'nats']);
  assert.equal(conn[1].orig_bytes, '0', 'the second client sent nothing');
  const nats = logs.get('nats') ?? [];
  assert.deepEqual(
    nats.filter((m) => m.command !== 'UNSUB').map((m) => [m.command, m.subject]),
    [
      ['SUB', 'orders.*'],
      ['PUB', 'orders.created'],
      ['PUB', 'orders.paid'],
      ['MSG', 'orders.created'],
      ['MSG', 'orders.paid'],
    ],
  );
});

test('openssl s_client on 8443 and on 8080 (a port that promises HTTP): both ssl, no HTTP parsed or complained about', async () => {
  const { logs } = await monitor('detect-tls');
  assert.deepEqual(
    (logs.get('conn') ?? []).map((c) => [c['id.resp_p'], c.service]),
    [
      ['8443', 'ssl'],
      ['8080', 'ssl'],
    ],
  );
  assert.equal(logs.has('http'), false);
  assert.equal(logs.has('weird'), false);
});

test('with the DVD-rental model: HTTP on db-0:5432 and TLS on contract-update-0:8080 each raise one Protocol_Mismatch', async () => {
  const { r, logs } = await monitor('detect-mismatch', true);
  const mismatches = r.notices.filter((n) => n.note === NoticeType.PROTOCOL_MISMATCH);
  assert.deepEqual(
    mismatches.map((n) => [n.evidence.dstInstance, n.evidence.port, n.evidence.expected, n.evidence.seen]),
    [
      ['db-0', 5432, 'postgres', 'http'],
      ['contract-update-0', 8080, 'http', 'tls'],
    ],
  );
  assert.equal(r.notices.length, 2, r.notices.map((n) => n.msg).join('\n'));
  assert.deepEqual(
    (logs.get('conn') ?? []).map((c) => [c['id.resp_h'], c.service]),
    [
      ['127.0.0.8', 'http'],
      ['127.0.0.2', 'ssl'],
    ],
  );
  assert.deepEqual(col(logs.get('http'), 'uri'), ['/index.txt']);
  assert.deepEqual(col(logs.get('notice'), 'note'), ['FlowTap::Protocol_Mismatch', 'FlowTap::Protocol_Mismatch']);
});

test('with the model, traffic on ports the model does not know raises no mismatch', async () => {
  for (const name of ['detect-http', 'detect-postgres', 'detect-nats', 'detect-tls']) {
    const { r } = await monitor(name, true);
    assert.deepEqual(
      r.notices.filter((n) => n.note === NoticeType.PROTOCOL_MISMATCH),
      [],
      name,
    );
  }
});
