/**
 * What recognising protocols by their first bytes costs the monitor: the whole engine (decode,
 * reassembly, parsers, policies, logs formatted and dropped) over captures built in memory,
 * with content detection and, as the baseline in the same run, with the parser chosen by the
 * port alone (`contentDetection: false`). Rounds alternate between the two so that drift on a
 * noisy machine hits both. Plus the signatures alone, per call.
 *
 *   node dist/bench/detect.js            (DETECT_BENCH_CONNS=20000, DETECT_BENCH_ROUNDS=7)
 */
import { pathToFileURL } from 'node:url';
import { MonitorEngine, NullLogTarget, ZeekLogWriter, type PcapRecord } from '../src/monitor/index.js';
import { detectFirstBytes } from '../src/monitor/detect/index.js';
import * as monitorTesting from '../src/monitor/testing/index.js';
import { fmtStat, stat } from './stats.js';

const { Clock, TcpFlow, httpRequest, httpResponse, pg } = monitorTesting;

interface Workload {
  name: string;
  records: PcapRecord[];
}

const client = (c: number): string => `10.${(c >> 16) & 255}.${(c >> 8) & 255}.${c & 255}`;

/** One short connection per request: the per-connection cost of detection is all there is to see. */
function shortHttp(conns: number): Workload {
  const out: PcapRecord[] = [];
  const clock = new Clock(1_700_000_000, 0.00001);
  const body = 'x'.repeat(2048);
  for (let c = 0; c < conns; c++) {
    new TcpFlow(out, clock, client(c), 1024 + (c % 60000), '10.200.0.1', 8080)
      .handshake()
      .client2server(httpRequest('GET', `/items/${c}`, { 'user-agent': 'bench/1.0' }))
      .server2client(httpResponse(200, { 'content-type': 'text/plain' }, body))
      .close();
  }
  return { name: `HTTP on 8080, ${conns} connections of 1 request`, records: out };
}

function shortPg(conns: number): Workload {
  const out: PcapRecord[] = [];
  const clock = new Clock(1_700_000_000, 0.00001);
  for (let c = 0; c < conns; c++) {
    new TcpFlow(out, clock, client(c), 1024 + (c % 60000), '10.200.0.2', 5432)
      .handshake()
      .client2server(pg.startup('app', 'appdb'))
      .server2client(Buffer.concat([pg.authOk(), pg.ready()]))
      .client2server(pg.query(`SELECT name FROM films WHERE id = ${c}`))
      .server2client(pg.answer('SELECT 1', 1, false))
      .close();
  }
  return { name: `PostgreSQL on 5432, ${conns} connections of 1 query`, records: out };
}

/** Connections that never carry data (a SYN flood's): detection must cost them nothing. */
function synOnly(conns: number): Workload {
  const out: PcapRecord[] = [];
  const clock = new Clock(1_700_000_000, 0.00001);
  for (let c = 0; c < conns; c++) new TcpFlow(out, clock, client(c), 1024 + (c % 60000), '10.200.0.3', 8080).synOnly();
  return { name: `SYN only on 8080, ${conns} attempts`, records: out };
}

function runEngine(w: Workload, contentDetection: boolean): { ms: number; conn: number } {
  const t0 = process.hrtime.bigint();
  const engine = new MonitorEngine({ logs: new ZeekLogWriter(new NullLogTarget()), contentDetection, tracker: { seed: 1 } });
  for (const r of w.records) engine.frame(1, r.data, r.ts);
  const s = engine.finish();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, conn: s.logs.conn ?? 0 };
}

function signatures(rounds: number): string {
  const firsts: [0 | 1, Uint8Array][] = [
    [0, Buffer.from(httpRequest('GET', '/items/1', { 'user-agent': 'bench/1.0' }))],
    [1, Buffer.from(httpResponse(200, {}, 'x'))],
    [0, pg.startup('app', 'appdb')],
    [1, Buffer.from('INFO {"server_id":"NB"}\r\n')],
    [0, Buffer.from(`1603010139010001350303${'ab'.repeat(32)}`, 'hex')],
    [0, Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')],
  ];
  const calls = 200_000;
  const ns: number[] = [];
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) {
      const [dir, b] = firsts[i % firsts.length];
      sink += detectFirstBytes(dir, b, 0, b.length).length;
    }
    ns.push(Number(process.hrtime.bigint() - t0) / calls);
  }
  return `detect: signatures alone (6 first segments: http both ways, postgres, nats, tls, ssh) ${fmtStat(stat(ns), 0)} ns per call${sink < 0 ? '' : ''}`;
}

export async function run(): Promise<string[]> {
  const conns = Number(process.env.DETECT_BENCH_CONNS ?? 20_000);
  const rounds = Math.max(5, Number(process.env.DETECT_BENCH_ROUNDS ?? 7));
  const lines: string[] = [];
  for (const w of [shortHttp(conns), shortPg(conns), synOnly(conns)]) {
    const on: number[] = [];
    const off: number[] = [];
    // One warm-up of each, then alternate.
    runEngine(w, false);
    runEngine(w, true);
    for (let r = 0; r < rounds; r++) {
      const a = runEngine(w, false);
      const b = runEngine(w, true);
      if (a.conn !== b.conn) throw new Error(`${w.name}: ${a.conn} conn rows by port, ${b.conn} with detection`);
      off.push(w.records.length / (a.ms / 1000) / 1e3);
      on.push(w.records.length / (b.ms / 1000) / 1e3);
    }
    const so = stat(off);
    const sd = stat(on);
    lines.push(`detect: ${w.name} (${w.records.length} frames, ${rounds} rounds, kframes/s median (min–max))`);
    lines.push(`detect:   by port alone (baseline) ${fmtStat(so)}`);
    lines.push(`detect:   by first bytes           ${fmtStat(sd)}  → ${((sd.median / so.median - 1) * 100).toFixed(1)} % vs baseline`);
  }
  lines.push(signatures(rounds));
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const line of await run()) console.log(line);
}
