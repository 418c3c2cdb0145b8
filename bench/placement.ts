/**
 * Monitor placement on a generated 100-node / 5,000-service cloud (~10k flow groups), against a
 * naive baseline measured in the same run: first fit in input order, blind to nodes, no slicing.
 * Prints time per placement, the time ratio, cross-node share and unplaced load of both.
 */
import { pathToFileURL } from 'node:url';
import { place, type PlacementInput } from '../src/flowtap/index.js';
import { generateCloud } from '../src/flowtap/placement/testing.js';

interface Outcome {
  crossNodeShare: number;
  unplacedShare: number;
}

/** The baseline: each flow, in input order, whole to the first monitor that accepts it and has room. */
function naiveFirstFit(input: PlacementInput): Outcome {
  const used = new Float64Array(input.monitors.length);
  let cross = 0;
  let unplaced = 0;
  let total = 0;
  for (const f of input.flows) {
    total += f.load;
    let chosen = -1;
    for (let m = 0; m < input.monitors.length; m++) {
      const mon = input.monitors[m];
      const owner = input.strategy === 'per-app' ? mon.app === f.app : mon.app === undefined || mon.app === f.app;
      if (!owner || !(mon.inspects.includes('any') || mon.inspects.includes(f.kind))) continue;
      if (used[m] + f.load <= mon.capacity) {
        chosen = m;
        break;
      }
    }
    if (chosen < 0) unplaced += f.load;
    else {
      used[chosen] += f.load;
      if (input.monitors[chosen].node !== f.node) cross += f.load;
    }
  }
  return { crossNodeShare: total ? cross / total : 0, unplacedShare: total ? unplaced / total : 0 };
}

function flowtap(input: PlacementInput): Outcome {
  const r = place(input);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  const total = input.flows.reduce((s, f) => s + f.load, 0);
  const unplaced = r.value.unplaced.reduce((s, u) => s + u.load, 0);
  return { crossNodeShare: r.value.crossNodeShare, unplacedShare: total ? unplaced / total : 0 };
}

/** Median milliseconds of `runs` calls after `warm` unmeasured ones. */
function medianMs(fn: () => unknown, warm = 3, runs = 15): number {
  for (let i = 0; i < warm; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

export async function run(): Promise<string[]> {
  const lines: string[] = [];
  for (const strategy of ['per-node', 'per-app'] as const) {
    const cloud = generateCloud({ nodes: 100, services: 5000, seed: 42, strategy });
    const ours = flowtap(cloud);
    const naive = naiveFirstFit(cloud);
    const tOurs = medianMs(() => place(cloud));
    const tNaive = medianMs(() => naiveFirstFit(cloud));
    lines.push(
      `placement ${strategy}: 100 nodes, 5000 services, ${cloud.flows.length} flow groups, ${cloud.monitors.length} monitors`,
      `  flowtap (local-first best fit + port slicing): ${tOurs.toFixed(2)} ms, cross-node ${pct(ours.crossNodeShare)}, unplaced ${pct(ours.unplacedShare)}`,
      `  naive first fit (input order, node-blind):    ${tNaive.toFixed(2)} ms, cross-node ${pct(naive.crossNodeShare)}, unplaced ${pct(naive.unplacedShare)}`,
      `  time ratio flowtap/naive ${(tOurs / tNaive).toFixed(2)}x; cross-node ratio flowtap/naive ${(ours.crossNodeShare / (naive.crossNodeShare || 1)).toFixed(3)}`,
    );
  }
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().then(
    (lines) => console.log(lines.join('\n')),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
