/**
 * An independent audit of a placement against its input: what a controller runs before it
 * installs taps, and what the tests use on random inputs. It recomputes everything from the
 * assignments rather than trusting `monitorLoad` or the flags.
 */
import { diag, type Diagnostic } from '../../diagnostics/index.js';
import type { Placement, PlacementInput } from './types.js';
import { MonitorPool } from './pool.js';
import { flowTable } from './flows.js';
import { portShare, slicesPartition } from './slicing.js';

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/** Every way `placement` breaks the rules for `input`; empty when it is sound. */
export function checkPlacement(input: PlacementInput, placement: Placement): Diagnostic[] {
  const out: Diagnostic[] = [];
  const pool = new MonitorPool(input.monitors, input.strategy);
  const t = flowTable(input.flows);
  const sums = new Float64Array(pool.count);
  const ranges: Array<Array<{ from: number; to: number }>> = Array.from({ length: t.flows.length }, () => []);
  const whole = new Uint8Array(t.flows.length);
  let cross = 0;
  let total = 0;
  for (let f = 0; f < t.flows.length; f++) total += t.load[f];

  for (const [i, a] of placement.assignments.entries()) {
    const at = `assignments[${i}]`;
    const f = t.byId.get(a.flow);
    const m = pool.byName.get(a.monitor);
    if (f === undefined) {
      out.push(diag('E_PLACEMENT_INVALID', `unknown flow '${a.flow}'`, { field: `${at}.flow` }));
      continue;
    }
    if (m === undefined) {
      out.push(diag('E_PLACEMENT_INVALID', `unknown monitor '${a.monitor}'`, { field: `${at}.monitor` }));
      continue;
    }
    const flow = t.flows[f];
    if (!pool.accepts(m, flow.kind, flow.app)) {
      out.push(
        diag('E_PLACEMENT_INVALID', `monitor '${a.monitor}' may not receive ${flow.kind} flow '${flow.id}' under ${input.strategy}`, {
          field: at,
        }),
      );
    }
    if (a.crossNode !== (pool.nodes[m] !== flow.node))
      out.push(diag('E_PLACEMENT_INVALID', 'crossNode flag is wrong', { field: `${at}.crossNode` }));
    if (a.slice === undefined) {
      if (a.share !== 1) out.push(diag('E_PLACEMENT_INVALID', 'an assignment without a slice must have share 1', { field: `${at}.share` }));
      whole[f]++;
      ranges[f].push({ from: t.lo[f], to: t.hi[f] });
    } else if (a.slice.kind !== 'src-port') {
      out.push(diag('E_PLACEMENT_INVALID', 'only src-port slices are produced', { field: `${at}.slice` }));
    } else {
      if (!flow.sliceable)
        out.push(diag('E_PLACEMENT_INVALID', `flow '${flow.id}' is not sliceable but was sliced`, { field: `${at}.slice` }));
      if (a.share !== portShare(a.slice.from, a.slice.to, t.width[f])) {
        out.push(diag('E_PLACEMENT_INVALID', 'share differs from the slice width over the flow range width', { field: `${at}.share` }));
      }
      ranges[f].push({ from: a.slice.from, to: a.slice.to });
    }
    const load = a.share * flow.load;
    sums[m] += load;
    if (a.crossNode) cross += load;
  }

  for (let m = 0; m < pool.count; m++) {
    const name = pool.names[m];
    if (sums[m] > pool.caps[m]) {
      out.push(
        diag('E_PLACEMENT_INVALID', `monitor '${name}' receives ${sums[m]} Mbit/s, above its capacity ${pool.caps[m]}`, {
          field: `monitorLoad.${name}`,
        }),
      );
    }
    if (!close(placement.monitorLoad[name] ?? NaN, sums[m])) {
      out.push(
        diag('E_PLACEMENT_INVALID', `monitorLoad of '${name}' is ${placement.monitorLoad[name]}, assignments give ${sums[m]}`, {
          field: `monitorLoad.${name}`,
        }),
      );
    }
  }

  const unplacedBy = new Map(placement.unplaced.map((u) => [u.flow, u]));
  for (let f = 0; f < t.flows.length; f++) {
    const id = t.flows[f].id;
    const u = unplacedBy.get(id);
    const covered = [...ranges[f]];
    if (u) covered.push(...(u.slices ?? [{ from: t.lo[f], to: t.hi[f] }]));
    if (covered.length === 0) {
      out.push(diag('E_PLACEMENT_INVALID', `flow '${id}' is neither placed nor reported unplaced`, { field: `flows.${id}` }));
    } else if (whole[f] > 1 || (whole[f] === 1 && covered.length > 1) || !slicesPartition(covered, t.lo[f], t.hi[f])) {
      out.push(
        diag('E_PLACEMENT_INVALID', `the slices of flow '${id}' do not partition ports ${t.lo[f]}-${t.hi[f]} exactly`, {
          field: `flows.${id}`,
        }),
      );
    }
  }
  if (!close(placement.crossNodeShare, total > 0 ? cross / total : 0)) {
    out.push(
      diag('E_PLACEMENT_INVALID', `crossNodeShare is ${placement.crossNodeShare}, assignments give ${total > 0 ? cross / total : 0}`, {
        field: 'crossNodeShare',
      }),
    );
  }
  return out;
}
