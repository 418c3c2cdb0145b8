/**
 * `flowtap connlist` on generated clusters of 500, 1,500 and 5,000 pods with 200, 500 and
 * 2,000 NetworkPolicies, the whole pipeline timed: read the manifest files (JSON lists as
 * `kubectl get -o json` writes them), import, analyse, print the txt list. Every round runs
 * in a fresh child process, so its peak memory (maxRSS) is its own; rounds of the variants are
 * interleaved so a noisy neighbour slows them alike. The baseline, measured in the same run on
 * the two smaller sizes, is the previous algorithm: NetworkPolicies as a firewall ruleset and
 * per-instance chain reachability (`netpolsToRuleset` + `computeReachability`), after the same
 * import. One more line times YAML input, which the YAML parser dominates.
 *
 *   node dist/bench/connlist.js
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { computeReachability, formatConnlist, k8sConnectivity, netpolsToRuleset, renderConnlist } from '../src/firewall/index.js';
import { generateCluster, type ClusterSize } from '../src/firewall/k8s/testing.js';
import { importK8sManifests, k8sWorkloadKinds } from '../src/model/index.js';
import { stat, type Stat } from './stats.js';

const ROUNDS = 5;
const SIZES: Array<ClusterSize & { baseline: boolean }> = [
  { pods: 500, policies: 200, baseline: true },
  { pods: 1500, policies: 500, baseline: true },
  { pods: 5000, policies: 2000, baseline: false },
];
/** Issue 12's goal for the largest size. */
const GOAL = { ms: 5000, rssMb: 1024 };

type Variant = 'classes' | 'ruleset';

interface Round {
  ms: number;
  rssMb: number;
  lines: number;
}

/** One pipeline run in this process (the child side). */
function pipeline(dir: string, variant: Variant): Round {
  const t0 = performance.now();
  const imported = importK8sManifests(dir);
  if (!imported.ok) throw new Error(`import failed: ${imported.errors[0]?.message}`);
  const imp = imported.value;
  let text: string;
  if (variant === 'classes') {
    text = renderConnlist(k8sConnectivity(imp).entries(), 'txt');
  } else {
    const conns = computeReachability(netpolsToRuleset(imp), imp.app, imp.addressing, { externalAs: 'ip-ranges' });
    text = formatConnlist(conns, 'txt', { kinds: k8sWorkloadKinds(imp) });
  }
  const ms = performance.now() - t0;
  let lines = text === '' ? 0 : 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  return { ms, rssMb: process.resourceUsage().maxRSS / 1024, lines };
}

function child(dir: string, variant: Variant): Round {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', dir, variant], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`connlist child (${variant}) exited ${r.status ?? r.signal}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as Round;
}

const ms = (s: Stat) => `${fmt(s.median)} ms (${fmt(s.min)}–${fmt(s.max)})`;
const mb = (s: Stat) => `${fmt(s.median)} MB RSS (${fmt(s.min)}–${fmt(s.max)})`;
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

export async function run(): Promise<string[]> {
  const out = [
    `connlist: read manifests + import + analysis + txt, median of ${ROUNDS} rounds (min–max), each round a fresh process (node ${process.version})`,
  ];
  const cases: Array<{ label: string; dir: string; variants: Variant[] }> = [];
  const dirs: string[] = [];
  try {
    for (const size of SIZES) {
      const dir = mkdtempSync(join(tmpdir(), 'flowtap-connlist-'));
      dirs.push(dir);
      const g = generateCluster(size);
      for (const f of g.files) writeFileSync(join(dir, f.name), f.text);
      const bytes = g.files.reduce((n, f) => n + f.text.length, 0);
      cases.push({
        label: `${fmt(g.pods)} pods (${fmt(g.workloads)} workloads, ${g.namespaces} namespaces) / ${fmt(g.policies)} policies, ${(bytes / 1e6).toFixed(1)} MB JSON`,
        dir,
        variants: size.baseline ? ['classes', 'ruleset'] : ['classes'],
      });
    }
    const yamlDir = mkdtempSync(join(tmpdir(), 'flowtap-connlist-'));
    dirs.push(yamlDir);
    const y = generateCluster(SIZES[1], { format: 'yaml' });
    for (const f of y.files) writeFileSync(join(yamlDir, f.name), f.text);
    cases.push({ label: `${fmt(y.pods)} pods / ${fmt(y.policies)} policies as YAML`, dir: yamlDir, variants: ['classes'] });

    for (const c of cases) {
      const rounds = new Map<Variant, Round[]>(c.variants.map((v) => [v, []]));
      for (const v of c.variants) child(c.dir, v); // warm the file cache; not counted
      for (let i = 0; i < ROUNDS; i++) for (const v of c.variants) rounds.get(v)!.push(child(c.dir, v));
      const cls = rounds.get('classes')!;
      const t = stat(cls.map((r) => r.ms));
      const m = stat(cls.map((r) => r.rssMb));
      out.push(`  ${c.label}: ${fmt(cls[0].lines)} lines`);
      out.push(`    pod classes (flowtap connlist): ${ms(t)}, ${mb(m)}`);
      const base = rounds.get('ruleset');
      if (base) {
        const bt = stat(base.map((r) => r.ms));
        out.push(
          `    ruleset baseline:               ${ms(bt)}, ${mb(stat(base.map((r) => r.rssMb)))}; ${(bt.median / t.median).toFixed(1)}x slower`,
        );
      }
      if (c === cases[SIZES.length - 1]) {
        const met = t.median < GOAL.ms && m.max < GOAL.rssMb;
        out.push(`    goal < ${fmt(GOAL.ms)} ms and < ${fmt(GOAL.rssMb)} MB: ${met ? 'met' : 'NOT met'}`);
      }
    }
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  return out;
}

if (process.argv[2] === '--child') {
  process.stdout.write(JSON.stringify(pipeline(process.argv[3], process.argv[4] as Variant)));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const l of await run()) console.log(l);
}
