/**
 * Overlap cells for a one-match-per-table switch. OpenFlow applies only the highest-priority
 * flow a packet matches, but every contract that matches a packet must act on it (two forwards
 * both copy it). So each non-empty intersection of contract pieces becomes its own flow with the
 * combined actions, at a priority equal to the number of pieces combined: the flow for exactly
 * the set of pieces a packet matches is then the unique highest-priority flow it matches.
 */
import { covers, intersect, type FlowMatch } from '../../flowtap/index.js';

export interface OverlapCell {
  /** Indices of the pieces combined, ascending. */
  members: number[];
  match: FlowMatch;
}

/**
 * Every non-empty intersection of the matches, except those a larger intersection covers
 * entirely (they could never be the highest-priority match). 'limit' when there are more
 * than `limit` cells.
 */
export function overlapCells(matches: readonly FlowMatch[], limit: number): OverlapCell[] | 'limit' {
  const all: OverlapCell[] = [];
  let level: OverlapCell[] = matches.map((match, i) => ({ members: [i], match }));
  while (level.length > 0) {
    all.push(...level);
    if (all.length > limit) return 'limit';
    const next: OverlapCell[] = [];
    for (const cell of level) {
      // Growing by higher indices only builds each set once; every subset of a packet's set of
      // matches is itself non-empty, so the set is reached through its prefixes.
      for (let j = cell.members[cell.members.length - 1] + 1; j < matches.length; j++) {
        const m = intersect(cell.match, matches[j]);
        if (m) next.push({ members: [...cell.members, j], match: m });
      }
      if (all.length + next.length > limit) return 'limit';
    }
    level = next;
  }
  const byKey = new Map<string, OverlapCell>(all.map((c) => [c.members.join(','), c]));
  // A cell covered by any larger cell is also covered by a one-larger cell containing it, since
  // adding fewer members can only widen the intersection.
  return all.filter((cell) => {
    for (let j = 0; j < matches.length; j++) {
      if (cell.members.includes(j)) continue;
      const grown = byKey.get([...cell.members, j].sort((a, b) => a - b).join(','));
      if (grown && covers(grown.match, cell.match)) return false;
    }
    return true;
  });
}
