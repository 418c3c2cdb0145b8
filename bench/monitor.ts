/**
 * The monitor end to end — pcap read, decode, TCP reassembly, HTTP parsing, conn.log and
 * http.log formatted (to memory, then dropped) — against tshark extracting the HTTP request
 * URIs from the same file in the same run. Both run as child processes so their peak memory is
 * their own. Zeek's usual figure for reference (not measured here): about 250 Mbit/s per core.
 *
 *   node dist/bench/monitor.js            (MONITOR_BENCH_PACKETS=500000, MONITOR_BENCH_FILE=/tmp/...)
 */
import { closeSync, existsSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  encodePcapHeader,
  encodePcapRecordInto,
  MonitorEngine,
  NullLogTarget,
  readPcapFile,
  ZeekLogWriter,
  type PcapRecord,
} from '../src/monitor/index.js';
import * as monitorTesting from '../src/monitor/testing/index.js';
import { realSystem } from '../src/system/index.js';

const MSS = 1448;
const REQUESTS_PER_CONN = 5;

/** HTTP/1.1 keep-alive connections: 5 requests each, responses of 2-12 KB in MSS-sized segments, every segment acknowledged. */
function generate(path: string, packets: number): { packets: number; frameBytes: number; requests: number } {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  writeSync(fd, encodePcapHeader({ linktype: 1 }));
  const clock = new monitorTesting.Clock(1_700_000_000, 0.00001);
  let written = 0;
  let frameBytes = 0;
  let requests = 0;
  let buf = new Uint8Array(4 * 1024 * 1024);
  for (let c = 0; written < packets; c++) {
    const out: PcapRecord[] = [];
    const client = `10.${(c >> 16) & 255}.${(c >> 8) & 255}.${c & 255}`;
    const f = new monitorTesting.TcpFlow(out, clock, client, 1024 + (c % 60000), '10.200.0.1', 80).handshake();
    for (let r = 0; r < REQUESTS_PER_CONN; r++) {
      f.client2server(monitorTesting.httpRequest('GET', `/catalog/item/${c}/${r}?view=full`, { 'user-agent': 'bench/1.0', accept: '*/*' }));
      const body = 'x'.repeat(2048 + ((c * 7 + r * 1031) % 10240));
      const resp = monitorTesting.httpResponse(200, { 'content-type': 'text/plain', server: 'bench' }, body);
      for (let off = 0; off < resp.length; off += MSS) f.server2client(resp.slice(off, off + MSS));
      requests++;
    }
    f.close();
    let size = 0;
    for (const rec of out) size += 16 + rec.data.length;
    if (size > buf.length) buf = new Uint8Array(size * 2);
    let off = 0;
    for (const rec of out) {
      off = encodePcapRecordInto(buf, off, rec);
      frameBytes += rec.data.length;
    }
    writeSync(fd, buf, 0, off);
    written += out.length;
  }
  closeSync(fd);
  renameSync(tmp, path);
  return { packets: written, frameBytes, requests };
}

interface ChildResult {
  ms: number;
  packets: number;
  bytes: number;
  httpRows: number;
  connRows: number;
  maxRssKb: number;
}

/** In the child: the whole monitor over the file, logs formatted and discarded. */
async function child(file: string): Promise<void> {
  const t0 = process.hrtime.bigint();
  const logs = new ZeekLogWriter(new NullLogTarget());
  const engine = new MonitorEngine({ logs });
  const cap = await readPcapFile(file, (p) => engine.packet(p));
  const s = engine.finish();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const r: ChildResult = {
    ms,
    packets: cap.stats.packets,
    bytes: cap.stats.bytes,
    httpRows: s.logs.http ?? 0,
    connRows: s.logs.conn ?? 0,
    maxRssKb: process.resourceUsage().maxRSS,
  };
  process.stdout.write(JSON.stringify(r));
}

async function runChild(cmd: string, args: string[]): Promise<{ ms: number; stdout: string; stderr: string; code: number | null }> {
  const t0 = process.hrtime.bigint();
  const p = realSystem.spawn([cmd, ...args], { stdout: true, stderr: true });
  const out: Buffer[] = [];
  let err = '';
  let lines = 0;
  p.stdout?.on('data', (b: Buffer) => {
    // tshark prints a URI per line: count instead of keeping them
    if (out.length < 64) out.push(b);
    for (const x of b) if (x === 10) lines++;
  });
  p.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const startError = await p.startError;
  if (startError) throw startError;
  const { code } = await p.exited;
  return {
    ms: Number(process.hrtime.bigint() - t0) / 1e6,
    stdout: cmd === process.execPath ? Buffer.concat(out).toString() : String(lines),
    stderr: err,
    code,
  };
}

export async function run(): Promise<string[]> {
  const packets = Number(process.env.MONITOR_BENCH_PACKETS ?? 500_000);
  const file = process.env.MONITOR_BENCH_FILE ?? `/tmp/flowtap-bench-monitor-${packets}.pcap`;
  const lines: string[] = [];
  const g0 = Date.now();
  if (!existsSync(file)) {
    const g = generate(file, packets);
    lines.push(
      `monitor: generated ${g.packets} packets (${g.requests} HTTP requests) in ${((Date.now() - g0) / 1000).toFixed(1)} s → ${file}`,
    );
  }
  lines.push(`monitor: input ${file}, ${(statSync(file).size / 1e6).toFixed(1)} MB`);

  const self = fileURLToPath(import.meta.url);
  const ft = await runChild(process.execPath, [self, '--child', file]);
  if (ft.code !== 0) throw new Error(`flowtap child failed: ${ft.stderr}`);
  const r = JSON.parse(ft.stdout) as ChildResult;
  const pps = r.packets / (r.ms / 1000);
  const gbps = (r.bytes * 8) / (r.ms / 1000) / 1e9;
  lines.push(
    `monitor: flowtap  ${r.ms.toFixed(0).padStart(7)} ms  ${(pps / 1e6).toFixed(2)} Mpkt/s  ${gbps.toFixed(2)} Gbit/s  peak RSS ${(r.maxRssKb / 1024).toFixed(0)} MB  (${r.connRows} conn, ${r.httpRows} http rows; ${ft.ms.toFixed(0)} ms wall time incl. start-up)`,
  );

  const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
  const tsharkArgs = ['-r', file, '-Y', 'http.request', '-T', 'fields', '-e', 'http.request.uri'];
  const ts = timeBin ? await runChild(timeBin, ['-v', 'tshark', ...tsharkArgs]) : await runChild('tshark', tsharkArgs);
  if (ts.code !== 0) {
    lines.push(`monitor: tshark failed (exit ${ts.code}): ${ts.stderr.split('\n').slice(-3).join(' ')}`);
    return lines;
  }
  const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(ts.stderr)?.[1] ?? NaN);
  const tpps = r.packets / (ts.ms / 1000);
  const tgbps = (r.bytes * 8) / (ts.ms / 1000) / 1e9;
  lines.push(
    `monitor: tshark   ${ts.ms.toFixed(0).padStart(7)} ms  ${(tpps / 1e6).toFixed(2)} Mpkt/s  ${tgbps.toFixed(2)} Gbit/s  peak RSS ${Number.isFinite(rssKb) ? (rssKb / 1024).toFixed(0) : '?'} MB  (${ts.stdout} URIs; wall time incl. start-up)`,
  );
  if (Number(ts.stdout) !== r.httpRows) lines.push(`monitor: NOTE tshark found ${ts.stdout} requests, flowtap logged ${r.httpRows}`);
  lines.push(
    `monitor: flowtap/tshark throughput ${(ts.ms / r.ms).toFixed(2)}x (${(ts.ms / ft.ms).toFixed(2)}x wall to wall), memory ${Number.isFinite(rssKb) ? (r.maxRssKb / rssKb).toFixed(2) : '?'}x; Zeek reference ~0.25 Gbit/s per core → flowtap ${(gbps / 0.25).toFixed(1)}x of it`,
  );
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--child') await child(process.argv[3]);
  else for (const line of await run()) console.log(line);
}
