/**
 * NATS subject wildcards: `*` matches exactly one token, `>` (last token only) one or more.
 */

/** Whether the literal subject `subject` matches the pattern `pattern`. */
export function subjectMatches(pattern: string, subject: string): boolean {
  return covers(pattern.split('.'), subject.split('.'), false);
}

/**
 * Whether every subject that `inner` (itself possibly with wildcards, as in a SUB) can match
 * is matched by `outer`: `rentals.>` covers `rentals.created` and `rentals.*`, not `>`.
 */
export function subjectCovers(outer: string, inner: string): boolean {
  return covers(outer.split('.'), inner.split('.'), true);
}

function covers(o: string[], s: string[], innerWildcards: boolean): boolean {
  for (let i = 0; i < o.length; i++) {
    const t = o[i];
    if (t === '>' && i === o.length - 1) return s.length > i;
    if (i >= s.length) return false;
    const u = s[i];
    if (innerWildcards && u === '>') return false;
    if (t === '*') {
      if (u === '') return false;
      continue;
    }
    if (innerWildcards && u === '*') return false;
    if (t !== u) return false;
  }
  return o.length === s.length;
}
