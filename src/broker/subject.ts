/**
 * Bus subjects and patterns with NATS' conventions: dot-separated tokens; in a pattern `*`
 * stands for exactly one token and `>` (last only) for one or more. Both buses check them the
 * same way, so a subject that works on the embedded bus works on JetStream too.
 */
import { diag, FlowtapError, type Diagnostic } from '../diagnostics/index.js';

const MAX_SUBJECT = 1024;
// Whitespace and control characters end a subject on the NATS wire protocol.
const BAD_CHAR = /[\s\p{Cc}]/u;

function checkTokens(text: string, what: 'subject' | 'pattern'): Diagnostic | null {
  const field = what;
  if (typeof text !== 'string' || text.length === 0) return diag('E_BROKER_SUBJECT', `the ${what} is empty`, { field });
  if (text.length > MAX_SUBJECT) return diag('E_BROKER_SUBJECT', `the ${what} is longer than ${MAX_SUBJECT} characters`, { field });
  if (BAD_CHAR.test(text)) return diag('E_BROKER_SUBJECT', `${what} "${text}" contains whitespace or a control character`, { field });
  const tokens = text.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === '') return diag('E_BROKER_SUBJECT', `${what} "${text}" has an empty token (token ${i + 1})`, { field });
    const wild = t.includes('*') || t.includes('>');
    if (!wild) continue;
    if (what === 'subject')
      return diag('E_BROKER_SUBJECT', `subject "${text}" contains a wildcard; only patterns may (token ${i + 1})`, { field });
    if (t !== '*' && t !== '>')
      return diag('E_BROKER_SUBJECT', `pattern "${text}": a wildcard must be a whole token, got "${t}" (token ${i + 1})`, { field });
    if (t === '>' && i !== tokens.length - 1) return diag('E_BROKER_SUBJECT', `pattern "${text}": ">" must be the last token`, { field });
  }
  return null;
}

// Publishers repeat a handful of subjects; checking each once keeps validation off the hot path.
const validSubjects = new Set<string>();
const MAX_REMEMBERED = 4096;

export function checkSubject(subject: string): Diagnostic | null {
  if (validSubjects.has(subject)) return null;
  const bad = checkTokens(subject, 'subject');
  if (bad === null) {
    if (validSubjects.size >= MAX_REMEMBERED) validSubjects.clear();
    validSubjects.add(subject);
  }
  return bad;
}

export function checkPattern(pattern: string): Diagnostic | null {
  return checkTokens(pattern, 'pattern');
}

/** A compiled pattern: call it on a (valid) subject. */
export type SubjectMatcher = (subject: string) => boolean;

export function compilePattern(pattern: string): SubjectMatcher {
  const p = pattern.split('.');
  if (!p.includes('*') && !p.includes('>')) return (s) => s === pattern;
  const tail = p[p.length - 1] === '>';
  const fixed = tail ? p.length - 1 : p.length;
  return (subject) => {
    const s = subject.split('.');
    if (tail ? s.length <= fixed : s.length !== fixed) return false;
    for (let i = 0; i < fixed; i++) if (p[i] !== '*' && p[i] !== s[i]) return false;
    return true;
  };
}

export function subjectMatches(pattern: string, subject: string): boolean {
  return compilePattern(pattern)(subject);
}

/** NATS consumer names may not hold separators or wildcards; one rule for both buses. */
export function checkDurable(name: string): Diagnostic | null {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(name))
    return diag('E_BROKER_DURABLE', `durable consumer name "${String(name)}" must be 1-64 letters, digits, "_" or "-"`, {
      field: 'durable',
    });
  return null;
}

/** A message ready for any bus: its subject checked and its data as JSON, or a FlowtapError naming what is wrong. */
export function encodeMessage(subject: string, data: unknown): string {
  const bad = checkSubject(subject);
  if (bad) throw new FlowtapError(bad);
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (e) {
    throw new FlowtapError(diag('E_BROKER_MESSAGE', `message on ${subject} cannot be serialised as JSON: ${(e as Error).message}`));
  }
  if (json === undefined) throw new FlowtapError(diag('E_BROKER_MESSAGE', `message on ${subject} has no JSON form (${typeof data})`));
  return json;
}
