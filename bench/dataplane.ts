/**
 * The FlowTap paper's data-plane figures, reproduced on this machine with flowtap's own local
 * cloud: real namespaces, the inferred firewall in enforce mode and nftables taps. Every tapped
 * figure is a ratio to a baseline measured in the same run, on the same cloud, with the same
 * firewall and no tap contract; only the node scripts change between the two.
 *
 * 1. TCP throughput (iperf3, one stream) from client-0 to an iperf3 server, with and without a
 *    forward tap of all of client-0's traffic (both directions), for four placements:
 *      (a) client, server and monitor on node1;
 *      (b) client and server on node1, monitor on node2 (copies cross the tap tunnel);
 *      (c) client on node1, server on node2 (VXLAN), monitor on node1 (the source's node);
 *      (d) client on node1, server on node2, monitor on node2 (the destination's node; the tap
 *          is still on the source's port, so copies cross the tap tunnel beside the traffic).
 * 2. HTTP requests/s: wrk from the external namespace against web-0 (a small Node server),
 *    with and without a forward tap of all of web-0's traffic to the monitor on its node.
 *
 * The monitor reads every copy: tcpdump on all of the monitor namespace's interfaces, which also
 * proves the tap works (baseline runs must show 0 packets, tapped runs many). flowtap's own
 * monitor (`runMonitor` on a live interface) would measure the monitor's CPU on a shared machine,
 * not the data plane. Each measurement is repeated twice, baseline and tapped interleaved (the
 * second round in the opposite order) so drift does not favour one side.
 *
 * Needs root (namespaces, nft); without it the bench says so and does nothing.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { prepareDeployment, type Deployment } from '../src/controller/index.js';
import { downCloud, externalNs, instanceNs, LocalCloud, monitorNs, type ManagementContext } from '../src/orchestrator/index.js';
import { realSystem, type Spawned } from '../src/system/index.js';

const APP = 'dpbench';
const FIXTURES = join('bench', 'fixtures', 'dataplane');
const IPERF_SECONDS = 5;
const WRK_SECONDS = 5;
const ROUNDS = 2;
const TOOLS = ['ip', 'nft', 'iperf3', 'wrk', 'tcpdump', 'nc'];

/** The paper's figures (Mbit/s or req/s), printed beside ours. */
const PAPER = {
  sameNode: { base: 12000, tapped: 9100 },
  crossNode: { base: 2600, tapped: 2100 },
  web: { base: 3195, tapped: 3004 },
} as const;

interface Scenario {
  label: string;
  server: string;
  policy: string;
  monitor: string;
  paper: { base: number; tapped: number };
}

const SCENARIOS: Scenario[] = [
  {
    label: '(a) same node, monitor on the same node',
    server: 'server-local-0',
    policy: 'tap-client-to-mon-node1.dl',
    monitor: 'mon-node1',
    paper: PAPER.sameNode,
  },
  {
    label: '(b) same node, monitor on the other node',
    server: 'server-local-0',
    policy: 'tap-client-to-mon-node2.dl',
    monitor: 'mon-node2',
    paper: PAPER.sameNode,
  },
  {
    label: "(c) cross-node, monitor on the source's node",
    server: 'server-remote-0',
    policy: 'tap-client-to-mon-node1.dl',
    monitor: 'mon-node1',
    paper: PAPER.crossNode,
  },
  {
    label: "(d) cross-node, monitor on the destination's node",
    server: 'server-remote-0',
    policy: 'tap-client-to-mon-node2.dl',
    monitor: 'mon-node2',
    paper: PAPER.crossNode,
  },
];
const WEB = { server: 'web-0', port: 8080, policy: 'tap-web-to-mon-node1.dl', monitor: 'mon-node1' };

interface Proc {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a command to completion (in a namespace, if given), killed after `timeoutMs` so the bench stays bounded. */
async function exec(argv: string[], timeoutMs: number, ns?: string): Promise<Proc> {
  const r = await realSystem.run(argv, { ns, timeoutMs });
  // The system driver reports a command it had to kill as exit 124, as timeout(1) does.
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, timedOut: r.code === 124 };
}

interface CaptureCount {
  captured: number;
  dropped: number;
}

/** tcpdump reading every packet that reaches a monitor namespace, on all its interfaces. */
class MonitorCapture {
  private stderr = '';
  private running = true;
  private readonly child: Spawned;

  private constructor(ns: string) {
    // `ip netns exec` execs tcpdump, so the pid is tcpdump's and SIGINT reaches it directly.
    this.child = realSystem.spawn(['tcpdump', '-i', 'any', '-n', '-w', '/dev/null'], { ns, stderr: true });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString('utf8')));
    void this.child.exited.then(() => (this.running = false));
  }

  static async start(ns: string): Promise<MonitorCapture> {
    const cap = new MonitorCapture(ns);
    const deadline = Date.now() + 5000;
    while (!cap.stderr.includes('listening on')) {
      if (!cap.running || Date.now() > deadline) {
        await cap.kill();
        throw new Error(`tcpdump in ${ns} did not start: ${cap.stderr.trim() || 'no output'}`);
      }
      await sleep(20);
    }
    return cap;
  }

  async stop(): Promise<CaptureCount> {
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.child.exited;
    clearTimeout(timer);
    const num = (what: string): number => {
      const m = new RegExp(`(\\d+) packets? ${what}`).exec(this.stderr);
      if (!m) throw new Error(`tcpdump gave no "${what}" count: ${this.stderr.trim()}`);
      return Number(m[1]);
    };
    return { captured: num('captured'), dropped: num('dropped by kernel') };
  }

  async kill(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGKILL');
      await this.child.exited;
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface IperfResult {
  mbps: number;
  retransmits: number;
}

async function iperf(clientNs: string, serverIp: string, seconds = IPERF_SECONDS): Promise<IperfResult> {
  const argv = ['iperf3', '-c', serverIp, '-t', String(seconds), '-O', '1', '-P', '1', '--connect-timeout', '3000', '-J'];
  const r = await exec(argv, (seconds + 20) * 1000, clientNs);
  let json: { error?: string; end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } } };
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new Error(
      `iperf3 to ${serverIp} gave no JSON (exit ${r.code}${r.timedOut ? ', timed out' : ''}): ${r.stderr.trim() || r.stdout.slice(0, 300)}`,
    );
  }
  const bps = json.end?.sum_received?.bits_per_second;
  if (json.error || typeof bps !== 'number')
    throw new Error(`iperf3 to ${serverIp} failed: ${json.error ?? 'no received rate in its report'}`);
  return { mbps: bps / 1e6, retransmits: json.end?.sum_sent?.retransmits ?? 0 };
}

interface WrkResult {
  rps: number;
  errors: string;
}

async function wrk(clientNs: string, url: string, seconds = WRK_SECONDS): Promise<WrkResult> {
  const argv = ['wrk', '-t2', '-c32', `-d${seconds}s`, '--timeout', '2s', url];
  const r = await exec(argv, (seconds + 20) * 1000, clientNs);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  if (r.code !== 0 || !m)
    throw new Error(`wrk against ${url} failed (exit ${r.code}${r.timedOut ? ', timed out' : ''}): ${(r.stderr || r.stdout).trim()}`);
  const problems = [/Socket errors:[^\n]*/.exec(r.stdout)?.[0], /Non-2xx or 3xx responses:[^\n]*/.exec(r.stdout)?.[0]].filter(Boolean);
  return { rps: Number(m[1]), errors: problems.join('; ') };
}

/** The project root: the folder above this file (source or compiled) that holds the fixtures. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, FIXTURES, 'app.yaml'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find ${FIXTURES}/app.yaml above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

async function missingTools(): Promise<string[]> {
  const found = await Promise.all(TOOLS.map((t) => exec(['sh', '-c', `command -v ${t}`], 5000)));
  return TOOLS.filter((_, i) => found[i].code !== 0);
}

interface Measured {
  value: number;
  extra: string;
  capture: CaptureCount;
}

interface Pair {
  round: number;
  base: Measured;
  tapped: Measured;
}

const f0 = (x: number) => x.toFixed(0);
const pct = (ratio: number) => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)}%`;
const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

function captureText(c: CaptureCount): string {
  return `${c.captured} pkts${c.dropped ? ` (${c.dropped} dropped)` : ''}`;
}

/** Problems that make a pair meaningless: copies in the baseline, none in the tapped run. */
function pairWarnings(p: Pair): string[] {
  const w: string[] = [];
  if (p.base.capture.captured > 0) w.push(`baseline round ${p.round}: the monitor saw ${p.base.capture.captured} packets with no tap`);
  if (p.tapped.capture.captured === 0) w.push(`tapped round ${p.round}: the monitor saw no copies — the tap did not deliver`);
  return w;
}

export async function run(progress: (line: string) => void = () => {}): Promise<string[]> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return ['dataplane: skipped — needs root (network namespaces and nftables); run it with sudo to measure the data plane'];
  }
  const missing = await missingTools();
  if (missing.length) return [`dataplane: skipped — missing tools: ${missing.join(', ')} (the project's setup script installs them)`];

  const root = projectRoot();
  const descriptor = join(root, FIXTURES, 'app.yaml');
  const policy = (file: string) => join(root, FIXTURES, file);
  const prepare = (policies: string[]) => prepareDeployment(descriptor, { policies, mode: 'enforce' });

  const stateDir = mkdtempSync(join(tmpdir(), 'flowtap-dpbench-'));
  chmodSync(stateDir, 0o755);
  const previousStateDir = process.env.FLOWTAP_STATE_DIR;
  process.env.FLOWTAP_STATE_DIR = stateDir;

  const baseline = prepare([]);
  const tapped = new Map<string, Deployment>();
  for (const file of new Set([...SCENARIOS.map((s) => s.policy), WEB.policy])) tapped.set(file, prepare([policy(file)]));
  // The cloud renders through `current`, so switching taps is one atomic nft transaction per node
  // (only the tap rules change).
  let current: Deployment = baseline;
  const desired = (node: string, ctx: ManagementContext) => current.desired(node, ctx);

  const t0 = Date.now();
  const captures: MonitorCapture[] = [];
  try {
    // Leftovers of an interrupted run (found by namespace prefix) would make `up` fail.
    await downCloud(APP);
    progress('dataplane: bringing up the bench cloud');
    let building = true;
    const cloud = await LocalCloud.up(baseline.app, baseline.addressing, descriptor, {
      desired,
      root,
      mode: 'enforce',
      policies: [],
      // After `up`, the cloud reports every tap switch; those lines are noise here.
      progress: (l) => building && progress(`  up: ${l}`),
    });
    building = false;
    const ip = (instance: string) => cloud.addressing.instances[instance].ip;
    const clientNs = instanceNs(APP, 'client-0');

    const measure = async <T>(dep: Deployment, monitor: string, what: () => Promise<T>): Promise<{ result: T; capture: CaptureCount }> => {
      current = dep;
      await cloud.applyDataplane();
      const cap = await MonitorCapture.start(monitorNs(APP, monitor));
      captures.push(cap);
      try {
        const result = await what();
        // Copies still in flight through the tap tunnel are counted too.
        await sleep(200);
        return { result, capture: await cap.stop() };
      } finally {
        await cap.kill();
      }
    };

    const rounds = async <T>(
      name: string,
      dep: Deployment,
      monitor: string,
      what: () => Promise<T>,
      toMeasured: (r: T, capture: CaptureCount) => Measured,
    ): Promise<Pair[]> => {
      const pairs: Pair[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const order = round % 2 === 1 ? (['base', 'tapped'] as const) : (['tapped', 'base'] as const);
        const got: Partial<Record<'base' | 'tapped', Measured>> = {};
        for (const side of order) {
          progress(`dataplane: ${name}, round ${round}, ${side}`);
          const m = await measure(side === 'base' ? baseline : dep, monitor, what);
          got[side] = toMeasured(m.result, m.capture);
        }
        pairs.push({ round, base: got.base!, tapped: got.tapped! });
      }
      return pairs;
    };

    // Unmeasured warm-up: first connections, ARP and the HTTP server's JIT would otherwise
    // weigh on whichever side happens to run first.
    progress('dataplane: warm-up');
    for (const server of new Set(SCENARIOS.map((s) => s.server))) await iperf(clientNs, ip(server), 2);
    const url = `http://${ip(WEB.server)}:${WEB.port}/`;
    await wrk(externalNs(APP), url, 2);

    const throughput: { s: Scenario; pairs: Pair[] }[] = [];
    for (const s of SCENARIOS) {
      const pairs = await rounds(
        s.label,
        tapped.get(s.policy)!,
        s.monitor,
        () => iperf(clientNs, ip(s.server)),
        (r, capture) => ({
          value: r.mbps,
          extra: `${r.retransmits} retr`,
          capture,
        }),
      );
      throughput.push({ s, pairs });
    }
    const web = await rounds(
      'web requests/s',
      tapped.get(WEB.policy)!,
      WEB.monitor,
      () => wrk(externalNs(APP), url),
      (r, capture) => ({
        value: r.rps,
        extra: r.errors,
        capture,
      }),
    );

    return report(throughput, web, (Date.now() - t0) / 1000);
  } finally {
    for (const c of captures) await c.kill();
    progress('dataplane: tearing down the bench cloud');
    await downCloud(APP);
    if (previousStateDir === undefined) delete process.env.FLOWTAP_STATE_DIR;
    else process.env.FLOWTAP_STATE_DIR = previousStateDir;
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function report(throughput: { s: Scenario; pairs: Pair[] }[], web: Pair[], seconds: number): string[] {
  const lines: string[] = [];
  const warnings: string[] = [];
  lines.push(
    `dataplane: FlowTap forward taps on flowtap's local cloud (${cpus().length} CPUs, Linux ${release()}), firewall enforced in every run`,
    `  tap = every IP packet of the tapped port, both directions, copied by nft netdev "dup" to a monitor namespace where tcpdump reads it`,
    `  ratio = tapped / baseline of the same round; rounds interleave baseline and tapped (round 2 tapped first)`,
    `  monitor saw = packets tcpdump read in the monitor namespace; "dropped" = copies it could not read in time (its ring was full);`,
    `  the monitor shares this machine's CPUs with the traffic, so its reading is part of the cost measured here`,
    '',
    `1. TCP throughput, iperf3 one stream, ${IPERF_SECONDS} s (+1 s omitted), client-0 tapped`,
    `  ${pad('placement', 50)} ${pad('round', 5)} ${lpad('baseline Mbit/s', 15)} ${lpad('tapped Mbit/s', 13)} ${lpad('ratio', 6)} ${lpad('change', 7)}  ${pad('monitor saw (base / tapped)', 40)} retransmits (base / tapped)`,
  );
  const summary: string[] = [];
  for (const { s, pairs } of throughput) {
    for (const p of pairs) {
      const r = p.tapped.value / p.base.value;
      lines.push(
        `  ${pad(p.round === 1 ? s.label : '', 50)} ${pad(String(p.round), 5)} ${lpad(f0(p.base.value), 15)} ${lpad(f0(p.tapped.value), 13)} ${lpad(r.toFixed(3), 6)} ${lpad(pct(r), 7)}  ${pad(`${captureText(p.base.capture)} / ${captureText(p.tapped.capture)}`, 40)} ${p.base.extra} / ${p.tapped.extra}`,
      );
      warnings.push(...pairWarnings(p).map((w) => `${s.label}: ${w}`));
    }
    const ratio = mean(pairs.map((p) => p.tapped.value / p.base.value));
    const paper = s.paper.tapped / s.paper.base;
    summary.push(
      `  ${pad(s.label, 50)} ours ${f0(mean(pairs.map((p) => p.base.value)))} → ${f0(mean(pairs.map((p) => p.tapped.value)))} Mbit/s (${pct(ratio)})   paper ${s.paper.base} → ${s.paper.tapped} Mbit/s (${pct(paper)})`,
    );
  }
  lines.push(
    '',
    `2. Web requests/s, wrk -t2 -c32 -d${WRK_SECONDS}s from the external namespace to web-0 (Node HTTP, 1 KiB page), web-0 tapped`,
  );
  lines.push(
    `  ${pad('round', 5)} ${lpad('baseline req/s', 14)} ${lpad('tapped req/s', 12)} ${lpad('ratio', 6)} ${lpad('change', 7)}  monitor saw (base / tapped)`,
  );
  for (const p of web) {
    const r = p.tapped.value / p.base.value;
    lines.push(
      `  ${pad(String(p.round), 5)} ${lpad(f0(p.base.value), 14)} ${lpad(f0(p.tapped.value), 12)} ${lpad(r.toFixed(3), 6)} ${lpad(pct(r), 7)}  ${captureText(p.base.capture)} / ${captureText(p.tapped.capture)}`,
    );
    for (const [side, m] of [
      ['baseline', p.base],
      ['tapped', p.tapped],
    ] as const)
      if (m.extra) warnings.push(`web round ${p.round} ${side}: ${m.extra}`);
    warnings.push(...pairWarnings(p).map((w) => `web: ${w}`));
  }
  const webRatio = mean(web.map((p) => p.tapped.value / p.base.value));
  summary.push(
    `  ${pad('web server', 50)} ours ${f0(mean(web.map((p) => p.base.value)))} → ${f0(mean(web.map((p) => p.tapped.value)))} req/s (${pct(webRatio)})   paper ${PAPER.web.base} → ${PAPER.web.tapped} req/s (${pct(PAPER.web.tapped / PAPER.web.base)})`,
  );
  lines.push(
    '',
    '3. Beside the paper (means of the rounds; the paper reports same node and cross-node only, so (a)/(b) and (c)/(d) share its figure)',
    ...summary,
  );
  if (warnings.length) lines.push('', 'WARNINGS', ...warnings.map((w) => `  ${w}`));
  lines.push('', `dataplane: measured in ${seconds.toFixed(0)} s`);
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run((l) => console.error(l)).then(
    (lines) => console.log(lines.join('\n')),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
