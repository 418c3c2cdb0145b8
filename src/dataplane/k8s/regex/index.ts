/**
 * Regular expressions as CiliumNetworkPolicy HTTP rules use them (RE2 syntax, whole-string
 * match), parsed and matched in linear time, plus the shape rules for the ones flowtap writes.
 */
import { compile, fullMatch, ProgramTooLarge, type Program } from './nfa.js';
import { parseRegex, type RegexNode } from './parse.js';

export { regexShapeProblems } from './shape.js';
export type { RegexNode } from './parse.js';

/** Longer regexes are refused: flowtap's own are far shorter, and length bounds the work. */
export const MAX_REGEX_LENGTH = 4096;

export interface CompiledRegex {
  readonly source: string;
  readonly node: RegexNode;
  /** Whether the whole string matches. */
  test(input: string): boolean;
}

/** Parses and compiles; the error says what is wrong and at which offset. */
export function compileRegex(source: string): { ok: true; regex: CompiledRegex } | { ok: false; message: string } {
  if (source.length > MAX_REGEX_LENGTH) return { ok: false, message: `longer than ${MAX_REGEX_LENGTH} characters` };
  const parsed = parseRegex(source);
  if (!parsed.ok) return { ok: false, message: `${parsed.error.message} (at offset ${parsed.error.at})` };
  let program: Program;
  try {
    program = compile(parsed.node);
  } catch (e) {
    if (e instanceof ProgramTooLarge) return { ok: false, message: `too large once repetitions are expanded: ${e.message}` };
    throw e;
  }
  const node = parsed.node;
  return { ok: true, regex: { source, node, test: (input) => fullMatch(program, input) } };
}
