/**
 * Printing in the same syntax the parser reads, so facts and rules round-trip.
 */
import type { Atom, Fact, Literal, Rule, Term, Value } from './ast.js';
import { BUILTIN_INFIX } from './builtins.js';

export function formatValue(v: Value): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '0' : String(v);
  let out = '"';
  for (let i = 0; i < v.length; i++) {
    const ch = v[i];
    const c = v.charCodeAt(i);
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

function formatTerm(t: Term): string {
  return t.kind === 'var' ? t.name : formatValue(t.value);
}

function formatAtom(a: Atom): string {
  return a.args.length === 0 ? a.pred : `${a.pred}(${a.args.map(formatTerm).join(', ')})`;
}

function formatLiteral(l: Literal): string {
  const neg = l.negated ? 'not ' : '';
  if (l.kind === 'atom') return neg + formatAtom(l.atom);
  const op = l.infix !== undefined ? BUILTIN_INFIX[l.name] : undefined;
  if (op !== undefined && l.args.length === 2) return `${neg}${formatTerm(l.args[0])} ${op} ${formatTerm(l.args[1])}`;
  return `${neg}${l.name}(${l.args.map(formatTerm).join(', ')})`;
}

export function formatRule(r: Rule): string {
  const head = formatAtom(r.head);
  return r.body.length === 0 ? `${head}.` : `${head} :- ${r.body.map(formatLiteral).join(', ')}.`;
}

/** `pred("a", 1).` — parses back to the same fact. */
export function formatFact(f: Fact): string {
  return f.args.length === 0 ? `${f.pred}.` : `${f.pred}(${f.args.map(formatValue).join(', ')}).`;
}
