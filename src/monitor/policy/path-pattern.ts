/**
 * HTTP path patterns of the descriptor (docs/descriptor.md): exact segments, `*` for exactly
 * one segment, a trailing `**` for the rest (zero or more segments), and `*` alone for any path.
 */

/** The path of a request target: no query, no fragment; an absolute-form URI loses its scheme and authority. */
export function requestPath(uri: string): string {
  let p = uri;
  const q = p.search(/[?#]/);
  if (q >= 0) p = p.slice(0, q);
  if (!p.startsWith('/')) {
    const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*(\/.*)?$/.exec(p);
    p = m ? (m[1] ?? '/') : p;
  }
  return p;
}

/** Percent-decoding that never throws (malformed escapes are kept as they are). */
function decodeSegment(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Whether `path` matches `pattern`. Segments are compared after percent-decoding, so
 * `/users/%31/bill` is `/users/1/bill`; a dot segment (`.` or `..`, also encoded) never
 * matches a wildcard, since the server would resolve it to a different path.
 */
export function pathMatches(pattern: string, path: string): boolean {
  if (pattern === '*') return true;
  if (!path.startsWith('/')) return false;
  const pat = pattern.slice(1).split('/');
  const seg = path.slice(1).split('/');
  for (let i = 0; i < pat.length; i++) {
    const p = pat[i];
    if (p === '**' && i === pat.length - 1) {
      for (let j = i; j < seg.length; j++) if (isDot(decodeSegment(seg[j]))) return false;
      return true;
    }
    if (i >= seg.length) return false;
    const s = decodeSegment(seg[i]);
    if (p === '*') {
      if (s === '' || isDot(s)) return false;
      continue;
    }
    if (decodeSegment(p) !== s) return false;
  }
  return pat.length === seg.length;
}

function isDot(s: string): boolean {
  return s === '.' || s === '..';
}

/** The 0-based `index`-th segment of a path, percent-decoded; undefined past the end. */
export function pathSegment(path: string, index: number): string | undefined {
  if (!path.startsWith('/') || index < 0) return undefined;
  const seg = path.slice(1).split('/');
  return index < seg.length ? decodeSegment(seg[index]) : undefined;
}
