/**
 * Firewall inference and verification. Beside flowtap's reachability (what verification
 * computes first), the simple way to the same answer measured in the same run: every
 * (source, destination, declared port) decided by walking both chains with an evaluator indexed
 * by target whose sets are built once (firewall-baseline.ts). Both must count the same allowed
 * triples. Then inference and full verification (reachability, the diff against the
 * requirements, rule analysis) on 10,000 services, where the per-triple baseline would make
 * some 200 million decisions and is not run.
 *
 *   node dist/bench/firewall.js
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { unwrap } from '../src/diagnostics/index.js';
import { computeReachability, inferFirewall, requiredConnections, verifyRuleset, type Ruleset } from '../src/firewall/index.js';
import { planAddresses, type Addressing, type App } from '../src/model/index.js';
import { allowedTriples } from './firewall-baseline.js';
import { generateApp } from './generate-app.js';
import { fmtRate, fmtStat, stat } from './stats.js';

const ROUNDS = 5;

function timeRounds<T>(f: () => T): { value: T; ms: number[] } {
  let value: T | undefined;
  const ms: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    value = f();
    ms.push(performance.now() - t0);
  }
  return { value: value as T, ms };
}

/** (source, destination, port) triples in flowtap's allowed connections: the baseline's unit. */
function triples(allowed: ReturnType<typeof computeReachability>): number {
  return allowed.reduce((n, c) => n + (c.ports ?? []).reduce((m, r) => m + r.to - r.from + 1, 0), 0);
}

function compare(label: string, app: App, addressing: Addressing, rs: Ruleset): string[] {
  // One unmeasured run of each warms the JIT for all three; then the rounds interleave them,
  // the order reversed every other round, so neither a warm cache nor drift favours one.
  const jobs = {
    base: () => allowedTriples(app, addressing, rs),
    reach: () => computeReachability(rs, app, addressing),
    verify: () => verifyRuleset(rs, app, addressing),
  };
  const ms = { base: [] as number[], reach: [] as number[], verify: [] as number[] };
  const base = { value: jobs.base(), ms: ms.base };
  const reach = { value: jobs.reach(), ms: ms.reach };
  const verify = { value: jobs.verify(), ms: ms.verify };
  for (let round = 0; round < ROUNDS; round++) {
    const order = (['base', 'reach', 'verify'] as const).slice();
    if (round % 2 === 1) order.reverse();
    for (const k of order) {
      const t0 = performance.now();
      jobs[k]();
      ms[k].push(performance.now() - t0);
    }
  }
  // Sources: the outside and every other instance; destinations: every instance's declared ports.
  const ports = new Map(app.services.map((x) => [x.name, x.ports.length]));
  const decisions = app.instances.reduce((n, d) => n + app.instances.length * (ports.get(d.service) ?? 0), 0);
  const ours = triples(reach.value);
  const out = [
    `  ${label}: ${fmtRate(rs.rules.length)} rules, ${fmtRate(decisions)} (source, destination, port) questions`,
    `    ${'baseline: per-triple chain walk'.padEnd(46)} ${fmtStat(stat(base.ms)).padStart(22)} ms   ${fmtRate(base.value)} allowed`,
    `    ${'flowtap reachability'.padEnd(46)} ${fmtStat(stat(reach.ms)).padStart(22)} ms   ${fmtRate(ours)} allowed   (baseline time / flowtap time: ${(stat(base.ms).median / stat(reach.ms).median).toFixed(2)}x)`,
    `    ${'flowtap verification (+ diff, rule analysis)'.padEnd(46)} ${fmtStat(stat(verify.ms)).padStart(22)} ms   ok=${verify.value.ok}`,
  ];
  if (ours !== base.value) out.push(`    MISMATCH: flowtap counts ${ours} allowed triples, the baseline ${base.value}`);
  return out;
}

export async function run(): Promise<string[]> {
  const out: string[] = [`firewall inference + verification, ${ROUNDS} rounds each, median (min–max)`];
  for (const [services, requirements, nodes, seed] of [
    [300, 1500, 10, 7],
    [2000, 10000, 20, 3],
  ] as const) {
    const app = generateApp(services, requirements, nodes, seed);
    const rs = inferFirewall(app);
    out.push(...compare(`${fmtRate(services)} services / ${fmtRate(requirements)} requirements`, app, unwrap(planAddresses(app)), rs));
  }
  const big = generateApp(10000, 50000, 100, 1);
  const infer = timeRounds(() => inferFirewall(big));
  const addressing = unwrap(planAddresses(big));
  const verify = timeRounds(() => verifyRuleset(infer.value, big, addressing));
  const report = verify.value;
  out.push(
    `  10,000 services / 50,000 requirements (no baseline): inference ${fmtStat(stat(infer.ms))} ms (${fmtRate(infer.value.rules.length)} rules), ` +
      `verification ${fmtStat(stat(verify.ms))} ms (${fmtRate(report.allowed.length)} allowed classes, ${fmtRate(requiredConnections(big).length)} required, ` +
      `${report.missing.length} missing, ${report.extra.length} extra, ${report.findings.length} findings)`,
  );
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) for (const l of await run()) console.log(l);
