/**
 * Syntax of the application-layer constraints a requirement may carry. Monitors
 * match requests against these, so anything they could not match is rejected here.
 */

export const HTTP_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT'];
export const SQL_STATEMENTS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'DDL'] as const;
export type SqlStatement = (typeof SQL_STATEMENTS)[number];

export const isHttpMethod = (m: string): boolean => HTTP_METHODS.includes(m);
export const isSqlStatement = (s: string): s is SqlStatement => (SQL_STATEMENTS as readonly string[]).includes(s);

const PATH_SEGMENT = /^[A-Za-z0-9\-._~!$&'()+,;=:@%]*$/;

/**
 * Returns why an HTTP path pattern is invalid, or null. Patterns are absolute;
 * `*` stands for exactly one segment and `**` (last segment only) for the rest.
 */
export function httpPathProblem(pattern: string): string | null {
  if (pattern === '*') return null;
  if (!pattern.startsWith('/')) return 'must start with "/"';
  if (pattern.includes('?') || pattern.includes('#')) return 'must not contain a query ("?") or fragment ("#")';
  const segments = pattern.slice(1).split('/');
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (seg === '*') continue;
    if (seg === '**') {
      if (i !== segments.length - 1) return '"**" may only be the last segment';
      continue;
    }
    if (seg.includes('*')) return `"*" must be a whole segment, not part of "${seg}"`;
    if (!PATH_SEGMENT.test(seg)) return `segment "${seg}" contains characters not allowed in a URL path`;
  }
  return null;
}

/**
 * Returns why a NATS subject (with wildcards) is invalid, or null. Follows the
 * NATS rules: dot-separated non-empty tokens, no whitespace, `*` as a whole
 * token, `>` only as the whole last token.
 */
export function natsSubjectProblem(subject: string): string | null {
  if (subject.length === 0) return 'is empty';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this check's purpose (NATS subjects must not hold them)
  if (/[\s\u0000-\u001f\u007f]/.test(subject)) return 'contains whitespace or control characters';
  const tokens = subject.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.length === 0) return 'has an empty token (leading, trailing or double ".")';
    if (t === '>') {
      if (i !== tokens.length - 1) return '">" may only be the last token';
      continue;
    }
    if (t === '*') continue;
    if (t.includes('*') || t.includes('>')) return `wildcard must be a whole token, not part of "${t}"`;
  }
  return null;
}

const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const SQL_IDENT = /^[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?$/;

export const isHeaderName = (s: string): boolean => HEADER_TOKEN.test(s);
/** Table names: an identifier, optionally schema-qualified. */
export const isSqlTable = (s: string): boolean => SQL_IDENT.test(s);
