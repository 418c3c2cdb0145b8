/**
 * The monitor as it runs in production — `flowtap monitor` with the DVD-rental model, so every
 * policy is on (connection, request, integrity, SYN flood), writing its logs — against tshark
 * dissecting the same file in the same run. The input is the application's own traffic, made
 * from a seed (fixtures/monitor/dvd-traffic.ts): HTTP, SQL and NATS between the instances'
 * planned addresses, many short customer connections, segments retransmitted and out of order.
 *
 * Both are timed the same way: spawned, wall clock from spawn to exit, peak RSS from
 * /usr/bin/time; and again on a one-frame file, whose time (their start-up: node and the model,
 * tshark and its dissector tables) is taken from each round's full run for "without start-up".
 * Rounds interleave the two tools (the order flips every round) after one unmeasured warm-up.
 *
 *   node dist/bench/monitor.js   (MONITOR_BENCH_PACKETS=250000 MONITOR_BENCH_SEED=1 MONITOR_BENCH_ROUNDS=5,
 *                                 FLOWTAP_BIN=path/to/flowtap.js to time another build)
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodePcapHeader, encodePcapRecordInto } from '../src/monitor/index.js';
import { tcpFrame } from '../src/monitor/testing/index.js';
import { realSystem } from '../src/system/index.js';
import { writeDvdTraffic, type TrafficSummary } from './fixtures/monitor/index.js';
import { flowtapBin, ROOT, shownPath } from './flowtap-bin.js';
import { fmtRate, fmtStat, stat } from './stats.js';

const APP = 'examples/dvd-rental/app.yaml';
/** Part of the cached file's name: a change to the generator must not reuse an old file. */
const GENERATOR = 'v1';
const MIN_ROUNDS = 5;
const TIME_BIN = '/usr/bin/time';
const TSHARK_FILTERS = ['http.request', 'pgsql.query'];

interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
  maxRssKb: number | null;
}

const KEEP = 1 << 20;

/** Spawns `argv` (under /usr/bin/time when there is one, for its peak RSS) and times it from spawn to exit. */
async function timed(argv: string[], rssFile: string | null): Promise<Timed> {
  const full = rssFile ? [TIME_BIN, '-f', '%M', '-o', rssFile, ...argv] : argv;
  const t0 = process.hrtime.bigint();
  const p = realSystem.spawn(full, { stdout: true, stderr: true });
  let stdout = '';
  let stderr = '';
  // Bounded: a run that raises a notice per request must not fill this process's memory.
  p.stdout?.on('data', (b: Buffer) => {
    if (stdout.length < KEEP) stdout += b.toString();
  });
  p.stderr?.on('data', (b: Buffer) => {
    if (stderr.length < KEEP) stderr += b.toString();
  });
  const startError = await p.startError;
  if (startError) throw new Error(`cannot start ${full[0]}: ${startError.message}`);
  const { code } = await p.exited;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let maxRssKb: number | null = null;
  if (rssFile && existsSync(rssFile)) {
    const kb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
    if (Number.isFinite(kb)) maxRssKb = kb;
  }
  return { ms, code, stdout, stderr, maxRssKb };
}

/** The traffic file for this seed and size, made once and kept in /tmp with its summary beside it. */
function input(packets: number, seed: number): { file: string; summary: TrafficSummary; madeMs: number | null } {
  const file = join(tmpdir(), `flowtap-bench-monitor-${GENERATOR}-seed${seed}-${packets}.pcap`);
  const sidecar = `${file}.json`;
  if (existsSync(file) && existsSync(sidecar)) return { file, summary: JSON.parse(readFileSync(sidecar, 'utf8')), madeMs: null };
  const t0 = Date.now();
  const summary = writeDvdTraffic(file, { app: join(ROOT, APP), seed, packets });
  writeFileSync(sidecar, JSON.stringify(summary));
  return { file, summary, madeMs: Date.now() - t0 };
}

/** One SYN between two of the app's addresses: what each tool does for it is its start-up. */
function oneFrameFile(): string {
  const file = join(tmpdir(), 'flowtap-bench-monitor-1frame.pcap');
  const frame = tcpFrame({ src: '198.51.100.1', dst: '10.77.0.2', sport: 40000, dport: 8080, flags: 'S', seq: 1 });
  const buf = new Uint8Array(16 + frame.length);
  const end = encodePcapRecordInto(buf, 0, { ts: 1_790_000_000, data: frame });
  const fd = openSync(file, 'w');
  writeSync(fd, encodePcapHeader({ linktype: 1 }));
  writeSync(fd, buf, 0, end);
  closeSync(fd);
  return file;
}

interface FlowtapReport {
  logs: Record<string, number>;
  notices: number;
  gaps: number;
  internalErrors: number;
}

function flowtapReport(t: Timed, what: string): FlowtapReport {
  const line = t.stderr
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (t.code !== 0 || !line) throw new Error(`flowtap monitor on ${what} exited ${t.code}: ${t.stderr.trim().slice(-500)}`);
  const r = JSON.parse(line) as {
    summary: { logs: Record<string, number>; notices: number; internalErrors: number; tracker: { gaps: number } };
  };
  return { logs: r.summary.logs, notices: r.summary.notices, gaps: r.summary.tracker.gaps, internalErrors: r.summary.internalErrors };
}

/** Frames matching each io,stat filter, from tshark's one-interval table. */
function tsharkCounts(t: Timed, what: string): number[] {
  if (t.code !== 0) throw new Error(`tshark on ${what} exited ${t.code}: ${t.stderr.trim().slice(-500)}`);
  const row = t.stdout.split('\n').find((l) => /^\|\s*[\d.]+\s*<>\s*[\d.]+\s*\|/.test(l));
  if (!row) throw new Error(`tshark on ${what} printed no io,stat row: ${t.stdout.slice(0, 500)}`);
  const cells = row
    .split('|')
    .slice(2)
    .map((c) => c.trim())
    .filter((c) => c !== '')
    .map(Number);
  // Frames and bytes per filter.
  return TSHARK_FILTERS.map((_, i) => cells[2 * i]);
}

const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

export async function run(progress: (line: string) => void = () => {}): Promise<string[]> {
  const packets = Number(process.env.MONITOR_BENCH_PACKETS ?? 250_000);
  const seed = Number(process.env.MONITOR_BENCH_SEED ?? 1);
  const rounds = Math.max(MIN_ROUNDS, Number(process.env.MONITOR_BENCH_ROUNDS ?? MIN_ROUNDS));
  const lines: string[] = [];
  const { file, summary: g, madeMs } = input(packets, seed);
  const tiny = oneFrameFile();
  const cli = flowtapBin();
  const haveTshark = (await realSystem.run(['sh', '-c', 'command -v tshark'])).code === 0;
  const rssDir = mkdtempSync(join(tmpdir(), 'flowtap-bench-monitor-'));
  const rssFile = existsSync(TIME_BIN) ? join(rssDir, 'rss') : null;
  const logDir = join(rssDir, 'logs');

  const flowtapArgv = (f: string) => [
    process.execPath,
    cli,
    'monitor',
    '--pcap',
    f,
    '--app',
    join(ROOT, APP),
    '--log-dir',
    logDir,
    '--json',
  ];
  const tsharkArgv = (f: string) => [
    'tshark',
    '-n',
    '-o',
    'tcp.reassemble_out_of_order:TRUE',
    '-r',
    f,
    '-q',
    '-z',
    `io,stat,0,${TSHARK_FILTERS.join(',')}`,
  ];
  const flowtap = async (f: string) => {
    // Every run writes its logs afresh, as a monitor started on this capture would.
    rmSync(logDir, { recursive: true, force: true });
    mkdirSync(logDir);
    return timed(flowtapArgv(f), rssFile);
  };

  const mb = g.frameBytes / 1e6;
  lines.push(
    `monitor: input ${file}${madeMs === null ? ' (cached)' : ` (made in ${(madeMs / 1000).toFixed(1)} s)`}`,
    `  dvd-rental (${APP}, planned addresses), seed ${seed}: ${fmtRate(g.packets)} frames, ${mb.toFixed(1)} MB of frames, ${g.seconds.toFixed(2)} s of traffic`,
    `  ${fmtRate(g.shortConnections)} short customer connections (${g.chains.rentals} rentals, ${g.chains.signups} sign-ups, ${g.chains.returns} returns), ${g.pooledConnections} pooled service connections`,
    `  ${fmtRate(g.http)} HTTP requests, ${fmtRate(g.sql)} SQL statements, ${fmtRate(g.natsPublished)} NATS publishes (each delivered to dvd-update)`,
    `  untidy TCP: ${fmtRate(g.disorder.retransmitted)} data segments seen twice, ${fmtRate(g.disorder.reordered)} adjacent pairs swapped, delayed ACKs, 5% of messages in two writes, 5% of customer connections reset`,
    `  flowtap: node ${shownPath(cli)} monitor --pcap FILE --app ${APP} --log-dir DIR --json`,
    `           (every policy on: connection, request, integrity, SYN flood; HTTP, PostgreSQL and NATS parsed; conn/http/sql/nats logs written as TSV)`,
    `  tshark:  ${haveTshark ? `tshark ${tsharkArgv('FILE').slice(1).join(' ')}` : 'not installed: flowtap alone'}`,
    `           (TCP reassembly including out-of-order segments, HTTP and PostgreSQL dissected and filtered; it has no NATS dissector and writes no logs)`,
    `  ${rounds} rounds after 1 warm-up, tools interleaved (order flips each round); median (min–max); start-up = the same command on a one-frame file`,
  );

  const ft = { full: [] as number[], start: [] as number[], rss: [] as number[] };
  const ts = { full: [] as number[], start: [] as number[], rss: [] as number[] };
  let ftReport: FlowtapReport | null = null;
  let tsCounts: number[] | null = null;
  try {
    for (let round = 0; round <= rounds; round++) {
      progress(`monitor: round ${round === 0 ? 'warm-up' : round} of ${rounds}`);
      const steps: (() => Promise<void>)[] = [
        async () => {
          const t = await flowtap(file);
          ftReport = flowtapReport(t, file);
          if (round > 0) {
            ft.full.push(t.ms);
            if (t.maxRssKb !== null) ft.rss.push(t.maxRssKb / 1024);
          }
        },
        async () => {
          const t = await flowtap(tiny);
          flowtapReport(t, tiny);
          if (round > 0) ft.start.push(t.ms);
        },
        ...(haveTshark
          ? [
              async () => {
                const t = await timed(tsharkArgv(file), rssFile);
                tsCounts = tsharkCounts(t, file);
                if (round > 0) {
                  ts.full.push(t.ms);
                  if (t.maxRssKb !== null) ts.rss.push(t.maxRssKb / 1024);
                }
              },
              async () => {
                const t = await timed(tsharkArgv(tiny), rssFile);
                // One frame spans no time, so io,stat prints no row: its exit status is the check.
                if (t.code !== 0) throw new Error(`tshark on ${tiny} exited ${t.code}: ${t.stderr.trim().slice(-500)}`);
                if (round > 0) ts.start.push(t.ms);
              },
            ]
          : []),
      ];
      // flowtap, its start-up, tshark, its start-up — then the reverse, so drift favours neither.
      if (round % 2 === 0) steps.reverse();
      for (const step of steps) await step();
    }
  } finally {
    rmSync(rssDir, { recursive: true, force: true });
  }

  const header = `  ${pad('', 34)} ${lpad('wall ms', 22)} ${lpad('MB/s', 20)} ${lpad('kpkt/s', 20)} ${lpad('peak RSS MB', 18)}`;
  lines.push('', header);
  const rate = (per: number, ms: number[]) => stat(ms.map((x) => per / (x / 1000)));
  const row = (label: string, ms: number[], rss: number[] | null, withRates: boolean) => {
    const s = stat(ms);
    const r = rss?.length ? fmtStat(stat(rss)) : '-';
    const m = withRates ? fmtStat(rate(mb, ms), 1) : '-';
    const k = withRates ? fmtStat(rate(g.packets / 1e3, ms)) : '-';
    lines.push(`  ${pad(label, 34)} ${lpad(fmtStat(s), 22)} ${lpad(m, 20)} ${lpad(k, 20)} ${lpad(r, 18)}`);
    return s;
  };
  const net = (t: { full: number[]; start: number[] }) => t.full.map((x, i) => Math.max(1, x - t.start[i]));
  const ftWall = row('flowtap, spawn to exit', ft.full, ft.rss, true);
  const tsWall = haveTshark ? row('tshark,  spawn to exit', ts.full, ts.rss, true) : null;
  row('flowtap, start-up (one frame)', ft.start, null, false);
  if (haveTshark) row('tshark,  start-up (one frame)', ts.start, null, false);
  const ftNet = row('flowtap, without start-up', net(ft), null, true);
  const tsNet = haveTshark ? row('tshark,  without start-up', net(ts), null, true) : null;
  if (tsWall && tsNet)
    lines.push(
      `  flowtap's throughput / tshark's (medians): ${(tsWall.median / ftWall.median).toFixed(2)}x wall to wall, ${(tsNet.median / ftNet.median).toFixed(2)}x without start-up`,
    );

  const rep = ftReport as FlowtapReport | null;
  const counts = tsCounts as number[] | null;
  if (rep) {
    const logs = rep.logs;
    lines.push(
      `  flowtap logged ${fmtRate(logs.conn ?? 0)} conn, ${fmtRate(logs.http ?? 0)} http, ${fmtRate(logs.sql ?? 0)} sql, ${fmtRate(logs.nats ?? 0)} nats rows; ` +
        `${rep.notices} notices, ${rep.gaps} reassembly gaps, ${rep.internalErrors} internal errors`,
    );
    if (counts)
      lines.push(`  tshark found ${fmtRate(counts[0])} frames with an HTTP request, ${fmtRate(counts[1])} with a PostgreSQL query`);
    const problems: string[] = [];
    if ((logs.http ?? 0) !== g.http) problems.push(`flowtap logged ${logs.http ?? 0} HTTP requests of the ${g.http} sent`);
    if ((logs.sql ?? 0) !== g.sql) problems.push(`flowtap logged ${logs.sql ?? 0} SQL statements of the ${g.sql} sent`);
    if (counts && counts[0] !== g.http) problems.push(`tshark found ${counts[0]} HTTP requests of the ${g.http} sent`);
    if (counts && counts[1] !== g.sql) problems.push(`tshark found ${counts[1]} SQL statements of the ${g.sql} sent`);
    if (rep.notices) problems.push(`${rep.notices} notices on traffic the model allows`);
    lines.push(
      problems.length ? `  NOTE: ${problems.join('; ')}` : '  both saw every request the input holds; no notice on allowed traffic',
    );
  }
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const line of await run((l) => console.error(l))) console.log(line);
}
