/**
 * Sets of Unicode code points as sorted, disjoint, non-adjacent inclusive ranges: small for the
 * classes HTTP regexes use, and a membership test is a binary search.
 */

export const MAX_CODE_POINT = 0x10ffff;

export type CharSet = ReadonlyArray<readonly [number, number]>;

/** Sorts and merges overlapping or touching ranges. */
export function charSet(ranges: Iterable<readonly [number, number]>): CharSet {
  const sorted = [...ranges].filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export function single(cp: number): CharSet {
  return [[cp, cp]];
}

export function union(...sets: CharSet[]): CharSet {
  return charSet(sets.flat());
}

export function complement(set: CharSet): CharSet {
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [lo, hi] of set) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

export function has(set: CharSet, cp: number): boolean {
  let lo = 0;
  let hi = set.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = set[mid];
    if (cp < a) hi = mid - 1;
    else if (cp > b) lo = mid + 1;
    else return true;
  }
  return false;
}

const cp = (c: string) => c.codePointAt(0)!;

export const DIGIT: CharSet = [[cp('0'), cp('9')]];
export const WORD: CharSet = charSet([
  [cp('0'), cp('9')],
  [cp('A'), cp('Z')],
  [cp('_'), cp('_')],
  [cp('a'), cp('z')],
]);
/** RE2's `\s`: tab, newline, form feed, carriage return and space (not vertical tab). */
export const SPACE: CharSet = charSet([
  [9, 10],
  [12, 13],
  [32, 32],
]);
/** `.` without the `s` flag: everything but a newline, as in RE2. */
export const ANY_BUT_NEWLINE: CharSet = complement(single(10));
