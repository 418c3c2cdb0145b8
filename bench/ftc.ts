/**
 * ftc on a generated cloud of 100 nodes and 5,000 services: Datalog policy evaluation,
 * placement of the flow groups on monitors, contract checks, and nft rendering of one node,
 * for both placement strategies in the same run (per-app is the baseline).
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { renderNftTaps } from '../src/dataplane/index.js';
import { compileTaps } from '../src/flowtap/index.js';
import { unwrap } from '../src/diagnostics/index.js';
import { planAddresses, type App } from '../src/model/index.js';
import { generateApp } from './generate-app.js';

const POLICY = `
// Every HTTP port of every instance to an HTTP-inspecting monitor, chosen by placement.
tap_kind(I, "http", F, "forward") :- instance(I, S, _), port(S, P, _, _, "http"), port_flow(S, P, F).
`;

function cloud(): App {
  const app = generateApp(5000, 5000, 100, 3);
  // Two monitors per node: enough capacity overall, uneven per node so some flows must move.
  app.monitors = app.nodes.flatMap((n, i) => [
    { name: `m${i}a`, node: n.name, capacity: 400 + (i % 5) * 100, inspects: ['http' as const] },
    { name: `m${i}b`, node: n.name, capacity: 200, inspects: ['any' as const] },
  ]);
  return app;
}

export async function run(): Promise<string[]> {
  const app = cloud();
  const addressing = unwrap(planAddresses(app));
  const loads: Record<string, number> = {};
  for (const [k, inst] of app.instances.entries()) loads[inst.name] = 2 + ((k * 7919) % 23);
  const out = [`ftc: 100 nodes, ${app.services.length} services, ${app.monitors.length} monitors`];
  const times: Record<string, number> = {};
  for (const strategy of ['per-app', 'per-node'] as const) {
    const t0 = performance.now();
    const r = compileTaps(app, addressing, [{ file: 'bench.dl', text: POLICY }], { strategy, loads });
    const t1 = performance.now();
    if (!r.ok) {
      out.push(`  ${strategy}: ${r.errors.length} errors, first: ${r.errors[0].message}`);
      continue;
    }
    const nft = renderNftTaps(r.value.contracts, app, addressing, 'n0', {});
    const t2 = performance.now();
    times[strategy] = t1 - t0;
    const p = r.value.placement!;
    out.push(
      `  ${strategy.padEnd(8)} compile+placement ${(t1 - t0).toFixed(0)} ms: ${r.value.contracts.length} contracts, ` +
        `${p.assignments.length} assignments, cross-node share ${(p.crossNodeShare * 100).toFixed(1)}%, ` +
        `${p.unplaced.length} unplaced; nft for one node ${(t2 - t1).toFixed(0)} ms (${nft.ok ? nft.value.split('\n').length : 0} lines)`,
    );
  }
  if (times['per-app'] && times['per-node'])
    out.push(`  per-node / per-app time ratio ${(times['per-node'] / times['per-app']).toFixed(2)}`);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) for (const l of await run()) console.log(l);
