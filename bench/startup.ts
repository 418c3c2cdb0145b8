/**
 * Start-up time of the command line against a bare `node -e 0` measured in the same run:
 * `flowtap --help` (commander and the command tree only) and `flowtap validate` (plus the
 * descriptor loader). Runs are interleaved, one of each per round, so that a noisy neighbour
 * slows all three alike; one discarded round first warms the file cache.
 *
 *   node dist/bench/startup.js      (FLOWTAP_BIN=path/to/flowtap.js to time another build)
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROUNDS = 10;
/** Issue 8's goals: --help within 2x of bare node, validate within 3x. */
const GOALS = { help: 2, validate: 3 } as const;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = process.env.FLOWTAP_BIN ?? 'bin/flowtap.js';

interface Case {
  name: string;
  argv: string[];
}

const CASES: Case[] = [
  { name: 'node -e 0', argv: ['-e', '0'] },
  { name: 'flowtap --help', argv: [BIN, '--help'] },
  { name: 'flowtap validate examples/dvd-rental', argv: [BIN, 'validate', 'examples/dvd-rental'] },
];

/** Wall-clock milliseconds from spawn to exit; a failing command spoils the figures, so it stops the bench. */
function once(c: Case): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, c.argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${c.name} exited ${r.status ?? r.signal}: ${String(r.stderr).trim()}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function run(): Promise<string[]> {
  for (const c of CASES) once(c);
  const times = CASES.map((): number[] => []);
  for (let round = 0; round < ROUNDS; round++) for (const [i, c] of CASES.entries()) times[i].push(once(c));
  const medians = times.map(median);
  const out = [`CLI start-up, median of ${ROUNDS} interleaved runs (node ${process.version}, ${BIN})`];
  for (const [i, c] of CASES.entries())
    out.push(
      `  ${c.name.padEnd(38)} ${medians[i].toFixed(0).padStart(5)} ms  (${Math.min(...times[i]).toFixed(0)}–${Math.max(...times[i]).toFixed(0)})`,
    );
  const ratio = (i: number) => medians[i] / medians[0];
  const verdict = (r: number, goal: number) => `${r.toFixed(2)}x (goal <= ${goal}x: ${r <= goal ? 'met' : 'NOT met'})`;
  out.push(`  --help / node:   ${verdict(ratio(1), GOALS.help)}`);
  out.push(`  validate / node: ${verdict(ratio(2), GOALS.validate)}`);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) for (const l of await run()) console.log(l);
