/**
 * Flow groups as parallel arrays with their port range resolved once, and the pieces the placer
 * moves around: a piece is a contiguous source-port range of one flow (the whole range for a flow
 * that has not been split).
 */
import type { FlowGroup } from './types.js';
import { srcPortRange } from './slicing.js';

export interface FlowTable {
  flows: readonly FlowGroup[];
  lo: Int32Array;
  hi: Int32Array;
  width: Int32Array;
  load: Float64Array;
  byId: Map<string, number>;
}

/** A contiguous source-port range `from..to` (inclusive) of flow number `flow`. */
export interface Piece {
  flow: number;
  from: number;
  to: number;
}

/** A piece delivered to monitor number `monitor`. */
export interface PlacedPiece extends Piece {
  monitor: number;
}

/** A piece no monitor could take, and why. */
export interface LeftoverPiece extends Piece {
  reason: string;
}

export function flowTable(flows: readonly FlowGroup[]): FlowTable {
  const n = flows.length;
  const t: FlowTable = {
    flows,
    lo: new Int32Array(n),
    hi: new Int32Array(n),
    width: new Int32Array(n),
    load: new Float64Array(n),
    byId: new Map(),
  };
  for (let i = 0; i < n; i++) {
    const f = flows[i];
    const [lo, hi] = srcPortRange(f);
    t.lo[i] = lo;
    t.hi[i] = hi;
    t.width[i] = hi - lo + 1;
    t.load[i] = f.load;
    t.byId.set(f.id, i);
  }
  return t;
}

/**
 * Mbit/s of ports `from..to` of flow `f`. Always computed as share × load, the same expression a
 * reader of the output uses, so whole pieces cost exactly the flow's load.
 */
export function pieceLoad(t: FlowTable, f: number, from: number, to: number): number {
  return ((to - from + 1) / t.width[f]) * t.load[f];
}

/** A piece can be split when its flow allows it and it spans more than one port. */
export function canSplit(t: FlowTable, p: Piece): boolean {
  return t.flows[p.flow].sliceable && p.to > p.from;
}
