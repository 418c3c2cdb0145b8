/**
 * The FlowTap paper's data-plane figures, reproduced on this machine with flowtap's own local
 * cloud: real namespaces, the inferred firewall in enforce mode and FlowTap taps, on both of the
 * cloud's data planes in the same run: nftables in each node's namespace (taps are nft netdev
 * `dup`), then Open vSwitch (one bridge per node, userspace datapath; taps are OpenFlow outputs).
 * Each backend gets a cloud of its own, brought up, measured and torn down before the next.
 * Every tapped figure is a ratio to a baseline measured in the same run, on the same cloud, with
 * the same firewall and no tap contract; only the node rules change between the two. The
 * userspace datapath moves every packet through ovs-vswitchd, so its absolute figures are far
 * below the kernel's; what compares across backends is each one's tapped/baseline ratio, which
 * the report puts side by side at the end.
 *
 * nftables runs first: it is the reference the paper's figures compare with, it then meets the
 * machine as the single-backend bench did, and a failure on the switch (shared with others on
 * the machine) cannot cost its figures. A backend that fails is reported as such and the other
 * still runs.
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
 * The consumer of the copies is flowtap's own monitor, as the local cloud runs it (`flowtap
 * monitor --iface any` in the monitor's namespace, with the model and every policy, JSON logs),
 * started for each measurement — in baseline runs too, where it must see nothing. Copies made
 * are the tap rules' packet counters, read the same way on both backends (by the contract that
 * names them: nft's rule comment, Open vSwitch's flow cookie read back under that comment);
 * copies the monitor could not read are those minus the packets its engine handled, as a share
 * of the copies; the kernel's drops (tcpdump's ring full) are part of them. The monitor shares
 * this machine's CPUs with the traffic, so its reading is part of the cost measured. Each
 * measurement is repeated ROUNDS (>= 5) times, baseline and tapped interleaved (every other
 * round tapped first) so drift favours neither; tables give the median and the spread (min-max)
 * over the rounds.
 *
 * Environment: DATAPLANE_BENCH_BACKENDS (`nftables`, `ovs` or both, comma-separated; default
 * both, the Open vSwitch half skipped with a note when scripts/ovs.sh has not started it),
 * DATAPLANE_BENCH_ROUNDS (default and least 5).
 * Needs root (namespaces, nft, the switch); without it the bench says so and does nothing.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { prepareDeployment, type Deployment } from '../src/controller/index.js';
import { downCloud, externalNs, instanceNs, LocalCloud, monitorNs, ovsBridge, type ManagementContext } from '../src/orchestrator/index.js';
import { tapCounterOf } from '../src/dataplane/index.js';
import { realSystem } from '../src/system/index.js';
import { MonitorConsumer, type MonitorReading } from './dataplane-monitor.js';
import { flowtapBin, shownPath } from './flowtap-bin.js';
import { fmtStat, stat, type Stat } from './stats.js';

const APP = 'dpbench';
const FIXTURES = join('bench', 'fixtures', 'dataplane');
const IPERF_SECONDS = 4;
const WRK_SECONDS = 4;
const MIN_ROUNDS = 5;
const TOOLS = ['ip', 'nft', 'iperf3', 'wrk', 'tcpdump', 'pgrep'];
/** Above this share of copies not read, the table marks the row: the figure then says more about the monitor's CPU than the tap. */
const HIGH_UNREAD = 0.05;

/** The paper's figures (Mbit/s or req/s), printed beside ours. */
const PAPER = {
  sameNode: { base: 12000, tapped: 9100 },
  crossNode: { base: 2600, tapped: 2100 },
  web: { base: 3195, tapped: 3004 },
} as const;

export interface Scenario {
  label: string;
  server: string;
  policy: string;
  monitor: string;
  paper: { base: number; tapped: number };
}

export const SCENARIOS: Scenario[] = [
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

/** What the monitor did with one measurement's copies. */
interface Copies {
  /** Copies the tap rules made (their counters' change over the measurement). */
  sent: number;
  /** Packets a tap did not copy (its over-budget and monitor-down counters). */
  notCopied: number;
  monitor: MonitorReading;
}

/** Share of the copies the monitor did not read (0 with no copies). */
const unread = (c: Copies) => (c.sent > 0 ? Math.max(0, c.sent - c.monitor.seen) / c.sent : 0);

interface Measured {
  value: number;
  extra: string;
  copies: Copies;
}

export interface Pair {
  round: number;
  base: Measured;
  tapped: Measured;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
const pctOf = (x: number) => `${(x * 100).toFixed(1)}%`;
const fmtPct = (s: Stat) => `${pctOf(s.median)} (${pctOf(s.min)}–${pctOf(s.max)})`;

/** Problems that make a pair meaningless: copies in the baseline, none in the tapped run, more read than sent. */
function pairWarnings(p: Pair): string[] {
  const w: string[] = [];
  if (p.base.copies.sent > 0 || p.base.copies.monitor.seen > 0)
    w.push(
      `baseline round ${p.round}: ${p.base.copies.sent} copies made, the monitor read ${p.base.copies.monitor.seen} packets with no tap`,
    );
  if (p.tapped.copies.monitor.seen === 0) w.push(`tapped round ${p.round}: the monitor read no copies — the tap did not deliver`);
  if (p.tapped.copies.monitor.seen > p.tapped.copies.sent)
    w.push(
      `tapped round ${p.round}: the monitor read ${p.tapped.copies.monitor.seen} packets, more than the ${p.tapped.copies.sent} copies made`,
    );
  if (p.tapped.copies.notCopied > 0)
    w.push(`tapped round ${p.round}: ${p.tapped.copies.notCopied} packets not copied (budget or monitor down)`);
  return w;
}

/** The local cloud's data planes this bench measures, in the order it measures them. */
type BackendKind = 'nftables' | 'ovs';
const BACKEND_ORDER: readonly BackendKind[] = ['nftables', 'ovs'];
const OVS_TOOLS = ['ovs-vsctl', 'ovs-ofctl', 'ovs-appctl', 'ethtool'];

export interface BackendPlan {
  kind: BackendKind;
  /** What makes the copies, for the section's heading. */
  tap: string;
  /** What to know reading this backend's figures. */
  note?: string;
  iperfSeconds: number;
  wrkSeconds: number;
}

/** What one backend's half of the run measured, or why it measured nothing. */
export type BackendOutcome =
  | { plan: BackendPlan; throughput: { s: Scenario; pairs: Pair[] }[]; web: Pair[]; seconds: number }
  | { plan: BackendPlan; skipped: string }
  | { plan: BackendPlan; failed: string };

/** What both halves share: the deployments, rendered once, and where the monitors write. */
interface BenchSetup {
  root: string;
  descriptor: string;
  cli: string;
  stateDir: string;
  baseline: Deployment;
  tapped: Map<string, Deployment>;
  rounds: number;
  progress: (line: string) => void;
}

/** `DATAPLANE_BENCH_BACKENDS` as a set of backends, or what is wrong with it (unset or empty = both). */
export function parseBackends(value: string | undefined): { ok: true; value: Set<BackendKind> } | { ok: false; message: string } {
  if (value === undefined || value.trim() === '') return { ok: true, value: new Set(BACKEND_ORDER) };
  const out = new Set<BackendKind>();
  for (const raw of value.split(',')) {
    const name = raw.trim().toLowerCase();
    if (!(BACKEND_ORDER as readonly string[]).includes(name))
      return {
        ok: false,
        message: `DATAPLANE_BENCH_BACKENDS="${value}": unknown backend "${raw.trim()}" (use nftables, ovs, or both separated by a comma)`,
      };
    out.add(name as BackendKind);
  }
  return { ok: true, value: out };
}

/** `DATAPLANE_BENCH_ROUNDS`, never below MIN_ROUNDS, or what is wrong with it. */
export function parseRounds(value: string | undefined): { ok: true; value: number } | { ok: false; message: string } {
  if (value === undefined || value.trim() === '') return { ok: true, value: MIN_ROUNDS };
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    return { ok: false, message: `DATAPLANE_BENCH_ROUNDS="${value}": a whole number of rounds from 1 to 1000 is needed` };
  return { ok: true, value: Math.max(MIN_ROUNDS, n) };
}

/** Why the Open vSwitch half cannot run here, or null when it can. */
async function ovsUnavailable(root: string): Promise<string | null> {
  const found = await Promise.all(OVS_TOOLS.map((t) => exec(['sh', '-c', `command -v ${t}`], 5000)));
  const missing = OVS_TOOLS.filter((_, i) => found[i].code !== 0);
  if (missing.length) return `Open vSwitch tools missing: ${missing.join(', ')} (the project's setup script installs them)`;
  const status = await exec(['bash', join(root, 'scripts', 'ovs.sh'), 'status'], 10_000);
  return status.code === 0 ? null : 'Open vSwitch not running (scripts/ovs.sh start)';
}

export async function run(progress: (line: string) => void = () => {}): Promise<string[]> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return ['dataplane: skipped — needs root (network namespaces and nftables); run it with sudo to measure the data plane'];
  }
  const missing = await missingTools();
  if (missing.length) return [`dataplane: skipped — missing tools: ${missing.join(', ')} (the project's setup script installs them)`];
  const rounds = parseRounds(process.env.DATAPLANE_BENCH_ROUNDS);
  if (!rounds.ok) return [`dataplane: not run — ${rounds.message}`];
  const wanted = parseBackends(process.env.DATAPLANE_BENCH_BACKENDS);
  if (!wanted.ok) return [`dataplane: not run — ${wanted.message}`];

  const root = projectRoot();
  const descriptor = join(root, FIXTURES, 'app.yaml');
  const prepare = (policies: string[]) => prepareDeployment(descriptor, { policies, mode: 'enforce' });
  const stateDir = mkdtempSync(join(tmpdir(), 'flowtap-dpbench-'));
  chmodSync(stateDir, 0o755);
  const previousStateDir = process.env.FLOWTAP_STATE_DIR;
  process.env.FLOWTAP_STATE_DIR = stateDir;
  const t0 = Date.now();
  try {
    const tapped = new Map<string, Deployment>();
    for (const file of new Set([...SCENARIOS.map((s) => s.policy), WEB.policy])) tapped.set(file, prepare([join(root, FIXTURES, file)]));
    const setup: BenchSetup = {
      root,
      descriptor,
      cli: flowtapBin(),
      stateDir,
      baseline: prepare([]),
      tapped,
      rounds: rounds.value,
      progress,
    };
    // Through sh, so a machine without Open vSwitch gives an empty version, not a failed spawn.
    const ovsVersion = (await exec(['sh', '-c', 'ovs-vsctl --version 2>/dev/null | head -n1'], 5000)).stdout.replace(/^.*\)\s*/, '').trim();
    const plans: Record<BackendKind, BackendPlan> = {
      nftables: {
        kind: 'nftables',
        tap: 'copied by nft netdev "dup" on the tapped port, in the kernel, to a monitor namespace',
        iperfSeconds: IPERF_SECONDS,
        wrkSeconds: WRK_SECONDS,
      },
      ovs: {
        kind: 'ovs',
        tap: `copied by an OpenFlow output in the node's Open vSwitch${ovsVersion ? ` ${ovsVersion}` : ''} bridge (userspace datapath) to the monitor's port`,
        note:
          "  ovs-vswitchd takes every port's frames through a socket, in one thread: frames arriving faster than it reads them are dropped by the\n" +
          "  kernel before the switch sees them (in no flow's counter), hence TCP's retransmits; copies made count the frames the switch handled",
        iperfSeconds: IPERF_SECONDS,
        wrkSeconds: WRK_SECONDS,
      },
    };
    // nftables first: it is the reference the paper's figures compare with, it then runs on a
    // machine as the single-backend bench left it, and a failure on the shared switch cannot cost it.
    const outcomes: BackendOutcome[] = [];
    for (const kind of BACKEND_ORDER) {
      const plan = plans[kind];
      if (!wanted.value.has(kind)) continue;
      const why = kind === 'ovs' ? await ovsUnavailable(root) : null;
      if (why) {
        outcomes.push({ plan, skipped: why });
        continue;
      }
      try {
        outcomes.push(await measureBackend(plan, setup));
      } catch (e) {
        outcomes.push({ plan, failed: e instanceof Error ? e.message : String(e) });
      }
    }
    return report(outcomes, setup.rounds, shownPath(setup.cli), (Date.now() - t0) / 1000);
  } finally {
    if (previousStateDir === undefined) delete process.env.FLOWTAP_STATE_DIR;
    else process.env.FLOWTAP_STATE_DIR = previousStateDir;
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Every placement and the web scenario on one backend's cloud: up, measured, torn down. */
async function measureBackend(plan: BackendPlan, setup: BenchSetup): Promise<BackendOutcome> {
  const { baseline, tapped, rounds, progress, descriptor, root, stateDir } = setup;
  const name = `dataplane (${plan.kind})`;
  // The cloud renders through `current`, so switching taps is one atomic change per node
  // (an nft transaction, an OpenFlow bundle) in which only the tap rules differ.
  let current: Deployment = baseline;
  const desired = (node: string, ctx: ManagementContext) => current.desired(node, ctx);

  const t0 = Date.now();
  const monitors: MonitorConsumer[] = [];
  try {
    // Leftovers of an interrupted run (found by namespace prefix) would make `up` fail; its
    // bridges live in the host's namespace, where only their names find them.
    await downCloud(APP);
    if (plan.kind === 'ovs')
      for (const n of Object.values(baseline.addressing.nodes))
        await exec(['ovs-vsctl', '--if-exists', 'del-br', ovsBridge(APP, n.index)], 20_000);
    progress(`${name}: bringing up the bench cloud`);
    let building = true;
    const cloud = await LocalCloud.up(baseline.app, baseline.addressing, descriptor, {
      desired,
      root,
      mode: 'enforce',
      policies: [],
      ...(plan.kind === 'ovs' ? { dataplane: 'ovs' as const } : {}),
      // After `up`, the cloud reports every tap switch; those lines are noise here.
      progress: (l) => building && progress(`  up: ${l}`),
    });
    building = false;
    const ip = (instance: string) => cloud.addressing.instances[instance].ip;
    const clientNs = instanceNs(APP, 'client-0');
    const addressingFile = join(stateDir, 'addressing.json');
    writeFileSync(addressingFile, JSON.stringify(cloud.addressing, null, 2));
    const nodes = baseline.app.nodes.map((n) => n.name);

    /**
     * Tap rule packets per node, split into copies made and packets a tap let go uncopied. Both
     * backends name a tap's counter by its contract (nft: the rule's comment; Open vSwitch: its
     * flows' cookie, read back under the same comment); a tapped deployment none of whose
     * counters is recognised would count no copies at all, so it is an error, not a zero.
     */
    const tapCounts = async (dep: Deployment): Promise<{ sent: number; notCopied: number }> => {
      const of = tapCounterOf(dep.contracts);
      let sent = 0;
      let notCopied = 0;
      let recognised = 0;
      for (const node of nodes) {
        const counters = await cloud.counters(node);
        if (!counters.ok) throw new Error(`counters of ${node}: ${counters.errors.map((e) => e.message).join('; ')}`);
        for (const c of counters.value) {
          const owner = of(c.comment);
          if (!owner) continue;
          recognised++;
          if (owner.reason === null) sent += c.packets;
          else notCopied += c.packets;
        }
      }
      if (dep.contracts.length > 0 && recognised === 0)
        throw new Error(
          `${plan.kind}: no counter on any node names a tap of ${dep.contracts.map((c) => c.id).join(', ')}: copies cannot be counted`,
        );
      return { sent, notCopied };
    };

    let measurement = 0;
    const measure = async <T>(dep: Deployment, monitor: string, what: () => Promise<T>): Promise<{ result: T; copies: Copies }> => {
      current = dep;
      await cloud.applyDataplane();
      const logDir = join(stateDir, `monitor-${plan.kind}-${++measurement}`);
      mkdirSync(logDir);
      // As the local cloud starts a monitor: it attributes requests of the instances tapped to it.
      const observes = [...new Set(dep.contracts.filter((c) => c.dst === monitor).map((c) => c.src))].join(',');
      const argv = [
        process.execPath,
        setup.cli,
        'monitor',
        '--iface',
        'any',
        '--app',
        descriptor,
        '--addressing',
        addressingFile,
        '--log-dir',
        logDir,
        '--format',
        'json',
        `--observes=${observes}`,
        '--json',
      ];
      const mon = await MonitorConsumer.start(realSystem, monitorNs(APP, monitor), argv, logDir, root);
      monitors.push(mon);
      try {
        const before = await tapCounts(dep);
        const result = await what();
        // Copies still in flight through the tap tunnel are counted too.
        await sleep(200);
        const after = await tapCounts(dep);
        const reading = await mon.stop();
        return { result, copies: { sent: after.sent - before.sent, notCopied: after.notCopied - before.notCopied, monitor: reading } };
      } finally {
        await mon.kill();
        rmSync(logDir, { recursive: true, force: true });
      }
    };

    const measureRounds = async <T>(
      label: string,
      dep: Deployment,
      monitor: string,
      what: () => Promise<T>,
      toMeasured: (r: T, copies: Copies) => Measured,
    ): Promise<Pair[]> => {
      const pairs: Pair[] = [];
      for (let round = 1; round <= rounds; round++) {
        const order = round % 2 === 1 ? (['base', 'tapped'] as const) : (['tapped', 'base'] as const);
        const got: Partial<Record<'base' | 'tapped', Measured>> = {};
        for (const side of order) {
          progress(`${name}: ${label}, round ${round} of ${rounds}, ${side}`);
          const m = await measure(side === 'base' ? baseline : dep, monitor, what);
          got[side] = toMeasured(m.result, m.copies);
        }
        pairs.push({ round, base: got.base!, tapped: got.tapped! });
      }
      return pairs;
    };

    // Unmeasured warm-up: first connections, ARP and the HTTP server's JIT would otherwise
    // weigh on whichever side happens to run first.
    progress(`${name}: warm-up`);
    for (const server of new Set(SCENARIOS.map((s) => s.server))) await iperf(clientNs, ip(server), 2);
    const url = `http://${ip(WEB.server)}:${WEB.port}/`;
    await wrk(externalNs(APP), url, 2);

    const throughput: { s: Scenario; pairs: Pair[] }[] = [];
    for (const s of SCENARIOS) {
      const pairs = await measureRounds(
        s.label,
        tapped.get(s.policy)!,
        s.monitor,
        () => iperf(clientNs, ip(s.server), plan.iperfSeconds),
        (r, copies) => ({ value: r.mbps, extra: String(r.retransmits), copies }),
      );
      throughput.push({ s, pairs });
    }
    const web = await measureRounds(
      'web requests/s',
      tapped.get(WEB.policy)!,
      WEB.monitor,
      () => wrk(externalNs(APP), url, plan.wrkSeconds),
      (r, copies) => ({ value: r.rps, extra: r.errors, copies }),
    );
    return { plan, throughput, web, seconds: (Date.now() - t0) / 1000 };
  } finally {
    for (const m of monitors) await m.kill();
    progress(`${name}: tearing down the bench cloud`);
    await downCloud(APP);
  }
}

/** One row's figures over the rounds: baseline, tapped, their ratio per round, and the copies. */
interface Summary {
  base: Stat;
  tapped: Stat;
  ratio: Stat;
  sent: Stat;
  unread: Stat;
  dropped: Stat;
}

function summarize(pairs: Pair[]): Summary {
  return {
    base: stat(pairs.map((p) => p.base.value)),
    tapped: stat(pairs.map((p) => p.tapped.value)),
    ratio: stat(pairs.map((p) => p.tapped.value / p.base.value)),
    sent: stat(pairs.map((p) => p.tapped.copies.sent)),
    unread: stat(pairs.map((p) => unread(p.tapped.copies))),
    dropped: stat(pairs.map((p) => p.tapped.copies.monitor.dropped)),
  };
}

const HIGH_MARK = `  << over ${pctOf(HIGH_UNREAD)} not read`;

type MeasuredBackend = Extract<BackendOutcome, { throughput: unknown }>;
const measured = (o: BackendOutcome): o is MeasuredBackend => 'throughput' in o;

export function report(outcomes: BackendOutcome[], rounds: number, cli: string, seconds: number): string[] {
  const lines: string[] = [
    `dataplane: FlowTap forward taps on flowtap's local cloud (${cpus().length} CPUs, Linux ${release()}), firewall enforced in every run`,
    `  backends, one cloud each, measured one after the other in this run: ${outcomes.map((o) => o.plan.kind).join(', then ') || 'none'}`,
    `  tap = every IP packet of the tapped port, both directions, copied to a monitor namespace (how, per backend below)`,
    `  consumer = flowtap's monitor there, as the cloud runs it: node ${cli} monitor --iface any --app ... --addressing ... --format json`,
    `  ${rounds} rounds, baseline and tapped interleaved (every other round tapped first); median (min–max) over the rounds; ratio per round`,
    `  copies made = the tap rules' counters; not read = copies made minus packets the monitor's engine handled, as a share of the copies`,
    `  (kernel drops, tcpdump's ring full, are among them); the monitor shares the machine's CPUs with the traffic, so its reading is part of the cost`,
  ];
  for (const o of outcomes) {
    lines.push('', `== ${o.plan.kind}: ${o.plan.tap}`);
    if (o.plan.note && measured(o)) lines.push(o.plan.note);
    if ('skipped' in o) lines.push(`dataplane (${o.plan.kind}): skipped — ${o.skipped}`);
    else if ('failed' in o) lines.push(`dataplane (${o.plan.kind}): FAILED — ${o.failed}`);
    else lines.push(...section(o));
  }
  const done = outcomes.filter(measured);
  if (done.length > 1) lines.push('', ...comparison(done));
  lines.push('', `dataplane: measured in ${seconds.toFixed(0)} s`);
  return lines;
}

/** One backend's tables, as the bench printed them when it measured nftables alone. */
function section(o: MeasuredBackend): string[] {
  const { plan, throughput, web } = o;
  const lines: string[] = [];
  const warnings: string[] = [];
  let high = false;
  const f0 = (s: Stat) => fmtStat(s);
  const row = (label: string, x: Summary, w: number) => {
    const mark = x.unread.median > HIGH_UNREAD;
    high ||= mark;
    return (
      `  ${pad(label, w)} ${lpad(f0(x.base), 20)} ${lpad(f0(x.tapped), 20)} ${lpad(fmtStat(x.ratio, 3), 22)} ` +
      `${lpad(fmtStat(x.sent), 26)} ${lpad(fmtPct(x.unread), 22)} ${lpad(fmtStat(x.dropped), 20)}${mark ? HIGH_MARK : ''}`
    );
  };
  const head = (label: string, unit: string, w: number) =>
    `  ${pad(label, w)} ${lpad(`baseline ${unit}`, 20)} ${lpad(`tapped ${unit}`, 20)} ${lpad('ratio tapped/base', 22)} ` +
    `${lpad('copies made', 26)} ${lpad('not read by monitor', 22)} ${lpad('kernel drops', 20)}`;
  lines.push(
    `1. TCP throughput, iperf3 one stream, ${plan.iperfSeconds} s (+1 s omitted), client-0 tapped`,
    head('placement', 'Mbit/s', 50),
  );
  const summary: string[] = [];
  for (const { s, pairs } of throughput) {
    const x = summarize(pairs);
    lines.push(row(s.label, x, 50));
    for (const p of pairs) warnings.push(...pairWarnings(p).map((w) => `${s.label}: ${w}`));
    const retr = stat(pairs.map((p) => Number(p.tapped.extra)));
    const retrBase = stat(pairs.map((p) => Number(p.base.extra)));
    summary.push(
      `  ${pad(s.label, 50)} ours ${x.base.median.toFixed(0)} → ${x.tapped.median.toFixed(0)} Mbit/s (${pct(x.ratio.median)})   paper ${s.paper.base} → ${s.paper.tapped} Mbit/s (${pct(s.paper.tapped / s.paper.base)})   retransmits ${retrBase.median} / ${retr.median}`,
    );
  }
  lines.push(
    '',
    `2. Web requests/s, wrk -t2 -c32 -d${plan.wrkSeconds}s from the external namespace to web-0 (Node HTTP, 1 KiB page), web-0 tapped`,
    head('', 'req/s', 10),
  );
  const w = summarize(web);
  lines.push(row('web-0', w, 10));
  for (const p of web) {
    for (const [side, m] of [
      ['baseline', p.base],
      ['tapped', p.tapped],
    ] as const)
      if (m.extra) warnings.push(`web round ${p.round} ${side}: ${m.extra}`);
    warnings.push(...pairWarnings(p).map((x) => `web: ${x}`));
  }
  summary.push(
    `  ${pad('web server', 50)} ours ${w.base.median.toFixed(0)} → ${w.tapped.median.toFixed(0)} req/s (${pct(w.ratio.median)})   paper ${PAPER.web.base} → ${PAPER.web.tapped} req/s (${pct(PAPER.web.tapped / PAPER.web.base)})`,
  );
  lines.push(
    '',
    '3. Beside the paper (medians; the paper reports same node and cross-node only, so (a)/(b) and (c)/(d) share its figure; retransmits baseline / tapped)',
    ...summary,
  );
  if (high)
    lines.push(
      '',
      `NOTE: rows marked "<<" lost more than ${pctOf(HIGH_UNREAD)} of their copies: the monitor could not keep up on this machine, so those tapped`,
      '  figures measure a monitor that falls behind (less work per copy), not one that reads everything.',
    );
  if (warnings.length) lines.push('', 'WARNINGS', ...warnings.map((x) => `  ${x}`));
  lines.push('', `dataplane (${plan.kind}): measured in ${o.seconds.toFixed(0)} s`);
  return lines;
}

/**
 * The backends side by side. Their absolute figures are not comparable (the userspace datapath
 * moves every packet through one process), so what to compare is each one's tapped/baseline ratio.
 */
function comparison(done: MeasuredBackend[]): string[] {
  const cell = (x: Summary) => `${x.base.median.toFixed(0)} · ${fmtStat(x.ratio, 3)}`;
  const W = 34;
  const rows: { label: string; cells: string[] }[] = SCENARIOS.map((s) => ({
    label: s.label,
    cells: done.map((o) => {
      const t = o.throughput.find((x) => x.s.label === s.label);
      return t ? cell(summarize(t.pairs)) : '—';
    }),
  }));
  rows.push({ label: 'web-0 (req/s)', cells: done.map((o) => cell(summarize(o.web))) });
  const seconds = done.map((o) => `${o.plan.kind} ${o.plan.iperfSeconds} s`).join(', ');
  return [
    `4. Backends side by side: baseline median (Mbit/s, req/s) · ratio tapped/base, median (min–max); iperf3 ${seconds}`,
    `  ${pad('placement', 50)} ${done.map((o) => lpad(o.plan.kind, W)).join(' ')}`,
    ...rows.map((r) => `  ${pad(r.label, 50)} ${r.cells.map((c) => lpad(c, W)).join(' ')}`),
  ];
}

const pct = (ratio: number) => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)}%`;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run((l) => console.error(l)).then(
    (lines) => console.log(lines.join('\n')),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
