/**
 * Choosing what leaves a monitor that is over capacity after loads changed.
 *
 * Goal, in order: move as few flows as possible, then as little load as possible. The fewest
 * evictions that can cover an excess E are found by taking the largest pieces until one remaining
 * piece alone can cover what is left (the k largest pieces have the largest sum of any k, so no
 * smaller count exists). That last step picks, among the pieces that can cover the rest alone, the
 * one that moves least load: a splittable piece is trimmed (its upper ports leave, its lower ports
 * stay) so only about E moves; others leave whole. Near-ties go to the piece whose load grew most,
 * so the flow that caused the overload moves rather than a bystander.
 */
import type { MonitorPool } from './pool.js';
import { pieceLoad, type FlowTable, type Piece, type PlacedPiece } from './flows.js';
import { portsThatFit } from './slicing.js';

/** A piece kept from the previous placement; `growth` is its load now minus its load then. */
export interface HeldPiece extends PlacedPiece {
  growth: number;
  active: boolean;
}

interface Option {
  held: HeldPiece;
  /** Ports kept on the monitor; 0 = the piece leaves whole. */
  keep: number;
  cost: number;
  grain: number;
}

/**
 * Brings monitor `m` back within capacity by deactivating or trimming pieces of `onMonitor`
 * (kept in previous output order). Capacity is judged on the running sum in that order, which is
 * the order the pieces keep in the output. Returns the pieces that leave, for the `moved` report.
 */
export function evictOverload(pool: MonitorPool, t: FlowTable, m: number, onMonitor: HeldPiece[]): Piece[] {
  const leaving: Piece[] = [];
  const amount = (h: HeldPiece): number => pieceLoad(t, h.flow, h.from, h.to);
  const total = (): number => {
    let s = 0;
    for (const h of onMonitor) if (h.active) s += amount(h);
    return s;
  };
  const limit = pool.caps[m];
  let sum = total();
  while (sum > limit) {
    const options: Option[] = [];
    for (const h of onMonitor) {
      if (!h.active) continue;
      const a = amount(h);
      if (a <= 0) continue; // moving an idle piece frees nothing
      const others = sum - a;
      const grain = t.load[h.flow] / t.width[h.flow];
      const keep =
        t.flows[h.flow].sliceable && h.to > h.from ? portsThatFit(others, limit, t.load[h.flow], t.width[h.flow], h.to - h.from) : 0;
      const trimmed = keep > 0 ? a - pieceLoad(t, h.flow, h.from, h.from + keep - 1) : 0;
      if (trimmed > 0) options.push({ held: h, keep, cost: trimmed, grain });
      else if (others <= limit) options.push({ held: h, keep: 0, cost: a, grain });
    }
    let pick: Option | undefined;
    if (options.length) {
      let least = Infinity;
      let grain = 0;
      for (const o of options) {
        least = Math.min(least, o.cost);
        if (o.keep > 0) grain = Math.max(grain, o.grain);
      }
      // Trims differ by port granularity only; within it, prefer the flow that grew.
      const tie = least + Math.max(grain, 1e-9 * limit);
      for (const o of options) {
        if (o.cost > tie) continue;
        if (!pick || o.held.growth > pick.held.growth) pick = o;
      }
    } else {
      // No single piece covers the excess: the largest leaves and the search repeats.
      for (const h of onMonitor) {
        if (!h.active) continue;
        if (!pick || amount(h) > amount(pick.held)) pick = { held: h, keep: 0, cost: amount(h), grain: 0 };
      }
    }
    if (!pick) break;
    const h = pick.held;
    if (pick.keep > 0) {
      leaving.push({ flow: h.flow, from: h.from + pick.keep, to: h.to });
      h.to = h.from + pick.keep - 1;
    } else {
      leaving.push({ flow: h.flow, from: h.from, to: h.to });
      h.active = false;
    }
    sum = total();
  }
  return leaving;
}
