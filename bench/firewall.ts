/**
 * Firewall inference + verification on a generated descriptor of 10,000 services and 50,000
 * requirements, and, on a smaller descriptor where it finishes, the same verification done
 * naively (every source instance x every destination port, each decided by walking both
 * chains) as the baseline in the same run.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { evaluateChain, inferFirewall, requiredConnections, verifyRuleset } from '../src/firewall/index.js';
import { unwrap } from '../src/diagnostics/index.js';
import { planAddresses, type App } from '../src/model/index.js';
import { generateApp } from './generate-app.js';

function naiveAllowedCount(app: App, rs: ReturnType<typeof inferFirewall>): number {
  let allowed = 0;
  const sources = [null, ...app.instances];
  for (const s of sources)
    for (const d of app.instances) {
      if (s && s.name === d.name) continue;
      const svc = app.services.find((x) => x.name === d.service)!;
      for (const p of svc.ports) {
        const eg = s
          ? evaluateChain(rs, s.name, 'egress', { instance: d.name, service: d.service }, p.protocol, p.port).action === 'accept'
          : true;
        if (!eg) continue;
        const ing = evaluateChain(rs, d.name, 'ingress', s ? { instance: s.name, service: s.service } : {}, p.protocol, p.port);
        if (ing.action === 'accept') allowed++;
      }
    }
  return allowed;
}

function time<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const v = f();
  return [v, performance.now() - t0];
}

export async function run(): Promise<string[]> {
  const out: string[] = ['firewall inference + verification'];
  const small = generateApp(300, 1500, 10, 7);
  const rsSmall = inferFirewall(small);
  const [fast, tFast] = time(() => verifyRuleset(rsSmall, small, unwrap(planAddresses(small))));
  const [naive, tNaive] = time(() => naiveAllowedCount(small, rsSmall));
  // Count (source, destination, port) triples, the naive baseline's unit.
  const fastCount = fast.allowed.reduce((n, c) => n + (c.ports ?? []).reduce((m, r) => m + r.to - r.from + 1, 0), 0);
  out.push(
    `  300 services / 1,500 requirements: flowtap verify ${tFast.toFixed(0)} ms, naive pairwise ${tNaive.toFixed(0)} ms ` +
      `(ratio ${(tNaive / tFast).toFixed(1)}x); both find ${fastCount} / ${naive} allowed (source, destination, port) triples; ok=${fast.ok}`,
  );
  if (fastCount !== naive) out.push('  MISMATCH between flowtap and the naive baseline');
  const big = generateApp(10000, 50000, 100, 1);
  const [rs, tInfer] = time(() => inferFirewall(big));
  const addressing = unwrap(planAddresses(big));
  const [report, tVerify] = time(() => verifyRuleset(rs, big, addressing));
  out.push(
    `  10,000 services / 50,000 requirements: inference ${tInfer.toFixed(0)} ms (${rs.rules.length} rules), ` +
      `verification ${tVerify.toFixed(0)} ms (${report.allowed.length} allowed classes, ${requiredConnections(big).length} required, ` +
      `${report.missing.length} missing, ${report.extra.length} extra, ${report.findings.length} findings)`,
  );
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) for (const l of await run()) console.log(l);
