/**
 * Re-placement after loads, monitors or flows changed: keep what still fits, move the least.
 *
 * Every previous assignment whose flow and monitor still exist, whose monitor may still take the
 * flow (kind, application, strategy) and whose ports still lie in the flow's range is kept. Each
 * monitor that the new loads push over capacity sheds the fewest pieces (then the least load) by
 * `evictOverload`. Whatever part of a flow is not kept — shed pieces, flows that are new or were
 * unplaced before — is placed into the remaining room by the same engine as a fresh placement, so
 * it still prefers its own node. Nothing else moves: with unchanged input the result is the
 * previous placement.
 */
import { type Result, ok } from '../../diagnostics/index.js';
import type { MovedFlow, Placement, PlacementInput, Replacement } from './types.js';
import { validatePlacementInput, validatePreviousPlacement } from './validate.js';
import { MonitorPool } from './pool.js';
import { flowTable, pieceLoad, type FlowTable, type Piece, type PlacedPiece } from './flows.js';
import { placePieces } from './engine.js';
import { assemblePlacement } from './assemble.js';
import { evictOverload, type HeldPiece } from './evict.js';

/** A previous piece that has to go, with the name of the monitor it leaves. */
interface Leaving extends Piece {
  monitorName: string;
}

export function replace(previous: Placement, input: PlacementInput): Result<Replacement> {
  const validIn = validatePlacementInput(input);
  if (!validIn.ok) return validIn;
  const validPrev = validatePreviousPlacement(previous);
  if (!validPrev.ok) return validPrev;
  const { monitors, flows, strategy } = validIn.value;
  const pool = new MonitorPool(monitors, strategy);
  const t = flowTable(flows);

  const { held, leaving } = holdPrevious(validPrev.value, pool, t);

  const heldByMonitor: HeldPiece[][] = Array.from({ length: pool.count }, () => []);
  for (const h of held) heldByMonitor[h.monitor].push(h);
  for (let m = 0; m < pool.count; m++) {
    for (const p of evictOverload(pool, t, m, heldByMonitor[m])) leaving.push({ ...p, monitorName: pool.names[m] });
  }
  const kept = held.filter((h) => h.active);
  for (const h of kept) pool.used[h.monitor] += pieceLoad(t, h.flow, h.from, h.to);

  const { placed, leftovers } = placePieces(pool, t, uncovered(t, kept));
  const all: PlacedPiece[] = kept.map(({ flow, from, to, monitor }) => ({ flow, from, to, monitor }));
  for (const p of placed) all.push(p);
  const placement = assemblePlacement(t, pool, all, leftovers);
  return ok({ placement, moved: movedReport(t, pool, leaving, placed, leftovers), unplaced: placement.unplaced });
}

/** Splits previous assignments into those that may stay (subject to capacity) and those that must go. */
function holdPrevious(previous: Placement, pool: MonitorPool, t: FlowTable): { held: HeldPiece[]; leaving: Leaving[] } {
  const held: HeldPiece[] = [];
  const leaving: Leaving[] = [];
  const heldRanges: Array<Array<[number, number]>> = Array.from({ length: t.flows.length }, () => []);
  for (const a of previous.assignments) {
    const f = t.byId.get(a.flow);
    if (f === undefined) continue; // the flow is gone: nothing to deliver, nothing moves
    const flow = t.flows[f];
    const lo = t.lo[f];
    const hi = t.hi[f];
    let from = lo;
    let to = hi;
    let valid = true;
    if (a.slice === undefined) valid = a.share === 1;
    else if (a.slice.kind !== 'src-port') valid = false;
    else {
      from = Math.max(lo, a.slice.from);
      to = Math.min(hi, a.slice.to);
      valid = from === a.slice.from && to === a.slice.to && (flow.sliceable || (from === lo && to === hi));
    }
    const m = pool.byName.get(a.monitor);
    if (valid && m !== undefined && pool.accepts(m, flow.kind, flow.app)) {
      const ranges = heldRanges[f];
      // Inconsistent input could deliver a port twice; the first assignment that claims it wins.
      if (!ranges.some(([x, y]) => from <= y && x <= to)) {
        ranges.push([from, to]);
        const now = pieceLoad(t, f, from, to);
        held.push({ flow: f, from, to, monitor: m, growth: now - (a.load ?? now), active: true });
      }
      continue;
    }
    if (from <= to) leaving.push({ flow: f, from, to, monitorName: a.monitor });
  }
  return { held, leaving };
}

/** The port ranges of every flow that no kept piece covers: what the engine still has to place. */
function uncovered(t: FlowTable, kept: readonly PlacedPiece[]): Piece[] {
  const byFlow: Array<Array<[number, number]>> = Array.from({ length: t.flows.length }, () => []);
  for (const k of kept) byFlow[k.flow].push([k.from, k.to]);
  const pieces: Piece[] = [];
  for (let f = 0; f < t.flows.length; f++) {
    const ranges = byFlow[f].sort((a, b) => a[0] - b[0]);
    let next = t.lo[f];
    for (const [from, to] of ranges) {
      if (from > next) pieces.push({ flow: f, from: next, to: from - 1 });
      next = Math.max(next, to + 1);
    }
    if (next <= t.hi[f]) pieces.push({ flow: f, from: next, to: t.hi[f] });
  }
  return pieces;
}

/** Where each piece that left a monitor went, as Mbit/s per (flow, from, to). */
function movedReport(
  t: FlowTable,
  pool: MonitorPool,
  leaving: readonly Leaving[],
  placed: readonly PlacedPiece[],
  leftovers: readonly Piece[],
): MovedFlow[] {
  const dest = new Map<number, Array<{ from: number; to: number; monitor: string | null }>>();
  const add = (p: Piece, monitor: string | null): void => {
    const list = dest.get(p.flow);
    if (list) list.push({ from: p.from, to: p.to, monitor });
    else dest.set(p.flow, [{ from: p.from, to: p.to, monitor }]);
  };
  for (const p of placed) add(p, pool.names[p.monitor]);
  for (const p of leftovers) add(p, null);

  const moved = new Map<string, MovedFlow>();
  for (const l of leaving) {
    for (const d of dest.get(l.flow) ?? []) {
      const from = Math.max(l.from, d.from);
      const to = Math.min(l.to, d.to);
      if (from > to || d.monitor === l.monitorName) continue;
      const id = t.flows[l.flow].id;
      const key = JSON.stringify([id, l.monitorName, d.monitor]);
      const load = pieceLoad(t, l.flow, from, to);
      const m = moved.get(key);
      if (m) m.load += load;
      else moved.set(key, { flow: id, from: l.monitorName, to: d.monitor, load });
    }
  }
  return [...moved.values()];
}
