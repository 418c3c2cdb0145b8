/**
 * The shape rules for the regexes flowtap writes into policies. Cilium hands them to Envoy's
 * RE2, which is linear anyway, but the same text is read by people and pasted into other
 * tools (kubectl plugins, Hubble filters, backtracking engines), so it must be safe there too:
 * anchored at both ends, and no repetition inside a repetition that may run more than once.
 */
import type { RegexNode } from './parse.js';

/** Each problem found, as a sentence; empty when the regex keeps the rules. */
export function regexShapeProblems(node: RegexNode): string[] {
  const problems: string[] = [];
  const items = node.t === 'cat' ? node.items : [node];
  if (items[0]?.t !== 'bol') problems.push('not anchored at the start (^)');
  if (items[items.length - 1]?.t !== 'eol') problems.push('not anchored at the end ($)');
  if (nestedRepetition(node, false)) problems.push('a repetition inside a repetition (nested quantifiers)');
  return problems;
}

const repeats = (n: RegexNode) => n.t === 'rep' && n.max > 1;

function nestedRepetition(n: RegexNode, insideRepeat: boolean): boolean {
  switch (n.t) {
    case 'cat':
    case 'alt':
      return n.items.some((i) => nestedRepetition(i, insideRepeat));
    case 'rep':
      if (repeats(n) && insideRepeat) return true;
      return nestedRepetition(n.node, insideRepeat || repeats(n));
    default:
      return false;
  }
}
