/**
 * Descriptor path patterns (`/users/*` one segment, trailing `/**` the rest, `*` alone any path)
 * as the regexes Cilium matches against a request's `:path`.
 *
 * Cilium matches the whole `:path`, query included, and the server resolves dot segments the
 * regex never saw; so, beyond the plain translation (`*` as `[^/]+`, `**` as `.*`):
 * - a wildcard never matches `.` or `..`, nor anything holding `%` (an encoded dot could stand
 *   for one), so `/api/x/../admin` and `/api/%2e%2e/admin` are refused even by a proxy that
 *   does not normalise paths; a literal `.hidden` or `...` segment still matches;
 * - wildcards stop at `?` and `#`, and any query is allowed after the path, as the monitors
 *   ignore queries when they match paths;
 * - empty segments (`//`) inside a `**` are refused.
 * Each wildcard becomes an alternation whose branches start with different characters, and
 * no repetition sits inside another, so the regexes stay linear in a backtracking engine too.
 * Only bracket expressions, groups, `|`, `*`, `+`, `?` and anchors are used: the same text
 * reads the same in RE2, POSIX ERE and JavaScript.
 */

/** A character a wildcard may match: not a separator, not the start of a query, not an escape. */
const SEG = '[^/?#%]';
const SEG_NO_DOT = '[^./?#%]';
/** One whole segment that is neither `.` nor `..`: starts with a non-dot, or one dot then a non-dot, or two dots then more. */
const ONE_SEGMENT = `(${SEG_NO_DOT}${SEG}*|[.]${SEG_NO_DOT}${SEG}*|[.][.]${SEG}+)`;
/**
 * Zero or more segments after a prefix: `/` and a segment start that cannot make a dot segment,
 * then characters or further such starts; one trailing slash is allowed.
 */
const REST_SEGMENTS = `(/(${SEG_NO_DOT}|[.]${SEG_NO_DOT}|[.][.]${SEG})(${SEG}|/${SEG_NO_DOT}|/[.]${SEG_NO_DOT}|/[.][.]${SEG})*)?/?`;
const QUERY = '([?].*)?';

/** The characters a literal pattern segment may hold (RFC 3986 pchar). */
const PCHAR = /^[A-Za-z0-9\-._~!$&'()+,;=:@%]*$/;

export type PathRegex = { ok: true; regex: string | null } | { ok: false; problem: string };

/** The anchored regex for a pattern; `regex: null` for `*`, which allows every path (no `path` field). */
export function pathPatternRegex(pattern: string): PathRegex {
  if (pattern === '*') return { ok: true, regex: null };
  if (!pattern.startsWith('/')) return { ok: false, problem: 'must start with "/"' };
  const segments = pattern.slice(1).split('/');
  let out = '^';
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (seg === '**') {
      if (i !== segments.length - 1) return { ok: false, problem: '"**" may only be the last segment' };
      out += REST_SEGMENTS;
      continue;
    }
    if (seg === '*') {
      out += `/${ONE_SEGMENT}`;
      continue;
    }
    if (seg.includes('*')) return { ok: false, problem: `"*" must be a whole segment, not part of "${seg}"` };
    if (!PCHAR.test(seg)) return { ok: false, problem: `segment "${seg}" holds characters not allowed in a URL path` };
    out += `/${escapeLiteral(seg)}`;
  }
  return { ok: true, regex: `${out}${QUERY}$` };
}

/** Escapes by bracketing, which RE2, ERE and JavaScript read alike (a backslash is literal inside ERE brackets). */
export function escapeLiteral(s: string): string {
  let out = '';
  for (const c of s) {
    if ('.$()+*?{}|'.includes(c)) out += `[${c}]`;
    else if ('^[]\\'.includes(c)) out += `\\${c}`;
    else out += c;
  }
  return out;
}

/** An exact method; anchored even though Envoy matches whole values, so the text is safe anywhere. */
export function methodRegex(method: string): string {
  return `^${escapeLiteral(method)}$`;
}
