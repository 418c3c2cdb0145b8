export const WILDCARD_IN_PUBLISH = 'wildcard in publish subject';

/**
 * Why a subject is invalid, or null if it is fine. Tokens are separated by `.` and may not be
 * empty; `*` and `>` are wildcards only as whole tokens, `>` only last, and never in a publish
 * subject or reply.
 */
export function subjectProblem(buf: Uint8Array, s: number, e: number, wildcards: boolean): string | null {
  if (e <= s) return 'empty subject';
  let tokenStart = s;
  for (let i = s; i <= e; i++) {
    const c = i < e ? buf[i] : 0x2e;
    if (c < 0x20 || c === 0x7f) return 'control character in subject';
    if (c !== 0x2e) continue;
    const len = i - tokenStart;
    if (len === 0) return 'empty token in subject';
    if (len === 1) {
      const t = buf[tokenStart];
      if (t === 0x2a || t === 0x3e) {
        if (!wildcards) return WILDCARD_IN_PUBLISH;
        if (t === 0x3e && i < e) return "'>' not the last token";
      }
    }
    tokenStart = i + 1;
  }
  return null;
}
