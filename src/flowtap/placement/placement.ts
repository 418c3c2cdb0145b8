/** One-shot placement of flow groups on monitors; see placement-engine.ts for the algorithm. */
import { type Result, ok } from '../../diagnostics/index.js';
import type { Placement, PlacementInput } from './types.js';
import { validatePlacementInput } from './validate.js';
import { MonitorPool } from './pool.js';
import { flowTable, type Piece } from './flows.js';
import { placePieces } from './engine.js';
import { assemblePlacement } from './assemble.js';

/**
 * Places every flow group of `input` without exceeding any monitor's capacity. A flow that cannot
 * be placed (entirely or in part) is listed in `unplaced` with the reason; an invalid input is an
 * error naming the field.
 */
export function place(input: PlacementInput): Result<Placement> {
  const valid = validatePlacementInput(input);
  if (!valid.ok) return valid;
  const { monitors, flows, strategy } = valid.value;
  const pool = new MonitorPool(monitors, strategy);
  const t = flowTable(flows);
  const pieces: Piece[] = new Array(flows.length);
  for (let f = 0; f < flows.length; f++) pieces[f] = { flow: f, from: t.lo[f], to: t.hi[f] };
  const { placed, leftovers } = placePieces(pool, t, pieces);
  return ok(assemblePlacement(t, pool, placed, leftovers));
}
