/**
 * Hostile input through the whole monitor: malformed frames, protocol violations and evasion
 * attempts become counters and weird.log rows; nothing stops the monitor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededUint32 } from '../src/random/index.js';
import {
  encodePcap,
  MemoryLogTarget,
  MonitorEngine,
  parseZeekTsv,
  runMonitor,
  ZeekLogWriter,
  type PcapRecord,
} from '../src/monitor/index.js';
import * as B from '../src/monitor/testing/index.js';
import * as monitorTesting from '../src/monitor/testing/index.js';

const { Clock, TcpFlow, httpRequest, pg: pgWire } = monitorTesting;
type Clock = InstanceType<typeof Clock>;
type TcpFlow = InstanceType<typeof TcpFlow>;

function runEngine(records: PcapRecord[]) {
  const target = new MemoryLogTarget();
  const engine = new MonitorEngine({ logs: new ZeekLogWriter(target), tracker: { seed: 5 } });
  for (const [i, r] of records.entries()) engine.frame(1, r.data, r.ts, i + 1);
  const summary = engine.finish();
  const weird = parseZeekTsv(target.text('weird'));
  assert.ok(weird.ok, !weird.ok ? JSON.stringify(weird.errors) : '');
  const names = weird.value.rows.map((r) => ({ uid: r[1], name: r[6], addl: r[7] }));
  return { summary, names, target };
}

let port = 41000;
function conn(out: PcapRecord[], clock: Clock, dport: number): TcpFlow {
  return new TcpFlow(out, clock, '10.5.0.1', port++, '10.5.0.2', dport).handshake();
}

test('protocol violations on every parser become weirds of their connection', () => {
  const out: PcapRecord[] = [];
  const clock = new Clock();
  const truncated = conn(out, clock, 80);
  truncated.client2server('GET /a HTTP/1.1\r\nHost: x\r\nX-Long: aaaa');
  truncated.close();
  const absurd = conn(out, clock, 8080);
  absurd.client2server('POST /b HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\nxx');
  absurd.close();
  const chunk = conn(out, clock, 80);
  chunk.client2server('POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n');
  chunk.close();
  const pg = conn(out, clock, 5432);
  // after a valid startup, a query claiming 2 GB
  pg.client2server(pgWire.startup('u', 'd'));
  pg.client2server(Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff, 0x53, 0x45, 0x4c]));
  pg.close();
  const nats = conn(out, clock, 4222);
  nats.client2server('PUB a.b 99999999999999\r\nxx\r\nPUB x.> 1\r\nz\r\n');
  nats.close();
  const { summary, names } = runEngine(out);
  assert.equal(summary.internalErrors, 0);
  assert.equal(summary.tracker.connections, 5);
  const set = new Set(names.map((n) => n.name));
  for (const want of [
    'HTTP_truncated_header',
    'HTTP_bad_content_length',
    'HTTP_bad_chunk_size',
    'pg_bad_length',
    'nats_payload_too_large',
  ]) {
    assert.ok(set.has(want), `no weird ${want} in ${[...set].join(', ')}`);
  }
  assert.ok(
    names.every((n) => n.uid !== '-'),
    'every protocol weird names its connection',
  );
  assert.equal(summary.logs.conn, 5);
});

test('overlapping segments that disagree (an evasion attempt) are reported; the first data wins', () => {
  const out: PcapRecord[] = [];
  const clock = new Clock();
  const f = conn(out, clock, 80);
  const req = httpRequest('GET', '/innocent');
  f.clientSegmentAt(0, req);
  // the same bytes again, with a different path: a different reading for the server than for the monitor
  f.clientSegmentAt(0, req.replace('/innocent', '/malicious'));
  f.close();
  const { summary, names, target } = runEngine(out);
  assert.equal(summary.tracker.inconsistentOverlaps, 1);
  assert.ok(names.some((n) => n.name === 'rexmit_inconsistency'));
  const http = parseZeekTsv(target.text('http'));
  assert.ok(http.ok);
  assert.deepEqual(
    http.value.rows.map((r) => r[9]),
    ['/innocent'],
  );
});

test('malformed and random frames are counted by reason and never stop the monitor', () => {
  const out: PcapRecord[] = [];
  const clock = new Clock();
  const good = B.tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 80, flags: 'S', seq: 1 });
  out.push({ ts: clock.next(), data: good.subarray(0, 20) }); // truncated IP
  const badOffset = good.slice();
  badOffset[14 + 20 + 12] = 0x10; // TCP data offset 4 bytes
  out.push({ ts: clock.next(), data: badOffset });
  const badIhl = good.slice();
  badIhl[14] = 0x41;
  out.push({ ts: clock.next(), data: badIhl });
  out.push({ ts: clock.next(), data: new Uint8Array(5) });
  const next = seededUint32(12345);
  const rnd = (): number => next() & 0xff;
  for (let i = 0; i < 3000; i++) {
    const frame = good.slice();
    // mutate a few bytes after the Ethernet header, and sometimes cut the frame
    for (let k = 0; k < 4; k++) frame[14 + (rnd() % (frame.length - 14))] = rnd();
    out.push({ ts: clock.next(), data: i % 7 === 0 ? frame.subarray(0, rnd() % frame.length) : frame });
  }
  const { summary, names } = runEngine(out);
  assert.equal(summary.internalErrors, 0);
  assert.equal(summary.packets, out.length);
  assert.ok((summary.decode.truncated_ip ?? 0) >= 1);
  assert.ok((summary.decode.bad_tcp_offset ?? 0) >= 1);
  assert.ok((summary.decode.bad_ihl ?? 0) >= 1);
  assert.ok((summary.decode.truncated_eth ?? 0) >= 1);
  assert.ok((summary.decode.malformed ?? 0) > 4);
  const decodeWeirds = names.filter((n) => n.uid === '-');
  assert.ok(decodeWeirds.some((n) => n.name === 'truncated_ip' && /packet \d+/.test(n.addl)));
  // rate-limited: never more than 20 rows per reason
  const per = new Map<string, number>();
  for (const n of decodeWeirds) per.set(n.name, (per.get(n.name) ?? 0) + 1);
  for (const [name, n] of per) assert.ok(n <= 20, `${name}: ${n} rows`);
});

test('runMonitor on a broken or missing capture reports diagnostics with exit code 2, a cut tail is only reported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-hostile-'));
  try {
    const missing = await runMonitor({ pcap: join(dir, 'nope.pcap') });
    assert.equal(missing.exitCode, 2);
    assert.match(missing.diagnostics[0].code, /E_CAPTURE_OPEN/);
    writeFileSync(join(dir, 'junk.pcap'), 'this is not a capture');
    const junk = await runMonitor({ pcap: join(dir, 'junk.pcap') });
    assert.equal(junk.exitCode, 2);
    assert.equal(junk.diagnostics[0].code, 'E_CAPTURE_FORMAT');
    const out: PcapRecord[] = [];
    const f = new TcpFlow(out, new Clock(), '10.0.0.1', 5555, '10.0.0.2', 80).handshake();
    f.client2server(httpRequest('GET', '/x'));
    const whole = encodePcap(out);
    writeFileSync(join(dir, 'cut.pcap'), whole.subarray(0, whole.length - 7));
    const cut = await runMonitor({ pcap: join(dir, 'cut.pcap'), logDir: join(dir, 'logs') });
    assert.equal(cut.exitCode, 0);
    assert.equal(cut.diagnostics[0].code, 'E_CAPTURE_TRUNCATED');
    assert.equal(cut.summary?.packets, out.length - 1);
    const bad = await runMonitor({ pcap: join(dir, 'cut.pcap'), format: 'xml' as 'json' });
    assert.equal(bad.exitCode, 2);
    const both = await runMonitor({ pcap: 'a', iface: 'lo' });
    assert.equal(both.exitCode, 2);
    const badApp = await runMonitor({ pcap: join(dir, 'cut.pcap'), app: join(dir, 'nope.yaml') });
    assert.equal(badApp.exitCode, 2);
    assert.match(badApp.diagnostics[0].message, /no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
