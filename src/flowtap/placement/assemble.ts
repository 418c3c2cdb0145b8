/**
 * Turns placed and leftover pieces into the JSON placement. Assignments keep the order in which
 * capacity was charged for them, so that summing share × load per monitor in output order repeats
 * the placer's own additions bit for bit (floating-point sums depend on order; a capacity filled
 * exactly must not read as 1e-14 over). Unplaced flows are listed once each, in input order.
 */
import type { Assignment, Placement, SrcPortSlice, UnplacedFlow } from './types.js';
import type { MonitorPool } from './pool.js';
import { pieceLoad, type FlowTable, type LeftoverPiece, type PlacedPiece } from './flows.js';
import { portShare } from './slicing.js';

function groupByFlow<T extends { flow: number; from: number }>(items: readonly T[], flows: number): T[][] {
  const groups: T[][] = Array.from({ length: flows }, () => []);
  for (const it of items) groups[it.flow].push(it);
  for (const g of groups) if (g.length > 1) g.sort((a, b) => a.from - b.from);
  return groups;
}

export function assemblePlacement(
  t: FlowTable,
  pool: MonitorPool,
  placed: readonly PlacedPiece[],
  leftovers: readonly LeftoverPiece[],
): Placement {
  const nFlows = t.flows.length;
  const assignments: Assignment[] = new Array(placed.length);
  const sums = new Float64Array(pool.count);
  let crossLoad = 0;
  let totalLoad = 0;
  for (let f = 0; f < nFlows; f++) totalLoad += t.load[f];

  for (let i = 0; i < placed.length; i++) {
    const p = placed[i];
    const f = p.flow;
    const flow = t.flows[f];
    const share = portShare(p.from, p.to, t.width[f]);
    const load = share * t.load[f];
    const crossNode = pool.nodes[p.monitor] !== flow.node;
    const a: Assignment = { flow: flow.id, monitor: pool.names[p.monitor], share, crossNode, load };
    if (p.from !== t.lo[f] || p.to !== t.hi[f]) a.slice = { kind: 'src-port', from: p.from, to: p.to };
    assignments[i] = a;
    sums[p.monitor] += load;
    if (crossNode) crossLoad += load;
  }

  const unplaced: UnplacedFlow[] = [];
  const leftBy = groupByFlow(leftovers, nFlows);
  for (let f = 0; f < nFlows; f++) {
    const left = leftBy[f];
    if (!left.length) continue;
    let load = 0;
    const reasons: string[] = [];
    for (const l of left) {
      load += pieceLoad(t, f, l.from, l.to);
      if (!reasons.includes(l.reason)) reasons.push(l.reason);
    }
    const u: UnplacedFlow = { flow: t.flows[f].id, load, reason: reasons.join('; ') };
    if (left.length > 1 || left[0].from !== t.lo[f] || left[0].to !== t.hi[f]) {
      u.slices = left.map((l): SrcPortSlice => ({ kind: 'src-port', from: l.from, to: l.to }));
    }
    unplaced.push(u);
  }

  const monitorLoad = Object.fromEntries(pool.names.map((name, m) => [name, sums[m]]));
  return { assignments, unplaced, monitorLoad, crossNodeShare: totalLoad > 0 ? crossLoad / totalLoad : 0 };
}
