/**
 * A parser for the part of RE2 syntax that HTTP rules of CiliumNetworkPolicies use: literals,
 * `.`, bracket classes with ranges, the Perl classes `\d \w \s`, groups, alternation, the
 * repetitions `* + ? {n} {n,} {n,m}` and the anchors `^ $ \A \z`. What RE2 has beyond that
 * (flags, Unicode classes, POSIX classes, word boundaries) is refused by name instead of being
 * read with other semantics, and what RE2 itself refuses (backreferences, lookaround) is refused
 * the same way: a policy is never evaluated under a meaning Cilium would not give it.
 */
import { ANY_BUT_NEWLINE, type CharSet, charSet, complement, DIGIT, MAX_CODE_POINT, SPACE, single, union, WORD } from './charset.js';

export type RegexNode =
  | { t: 'set'; set: CharSet }
  | { t: 'cat'; items: RegexNode[] }
  | { t: 'alt'; items: RegexNode[] }
  | { t: 'rep'; node: RegexNode; min: number; max: number }
  | { t: 'bol' }
  | { t: 'eol' };

export interface RegexSyntaxError {
  message: string;
  /** 0-based offset in the source, in UTF-16 units. */
  at: number;
}

/** RE2's own bound on a counted repetition. */
const MAX_REPEAT = 1000;
/** Groups nest at most this deep, so a hostile policy cannot exhaust the stack. */
const MAX_DEPTH = 100;

class Fail extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

export function parseRegex(source: string): { ok: true; node: RegexNode } | { ok: false; error: RegexSyntaxError } {
  const p = new Parser(source);
  try {
    const node = p.alternation(0);
    if (p.i < source.length) throw new Fail('unmatched ")"', p.i);
    return { ok: true, node };
  } catch (e) {
    if (e instanceof Fail) return { ok: false, error: { message: e.message, at: e.at } };
    throw e;
  }
}

const PERL_CLASSES: Record<string, CharSet> = {
  d: DIGIT,
  D: complement(DIGIT),
  w: WORD,
  W: complement(WORD),
  s: SPACE,
  S: complement(SPACE),
};
const CONTROL_ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, a: 7 };

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  alternation(depth: number): RegexNode {
    if (depth > MAX_DEPTH) throw new Fail(`groups nest deeper than ${MAX_DEPTH}`, this.i);
    const items = [this.concatenation(depth)];
    while (this.s[this.i] === '|') {
      this.i++;
      items.push(this.concatenation(depth));
    }
    return items.length === 1 ? items[0] : { t: 'alt', items };
  }

  concatenation(depth: number): RegexNode {
    const items: RegexNode[] = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') {
      const start = this.i;
      const atom = this.atom(depth);
      items.push(this.repetitions(atom, start));
    }
    return items.length === 1 ? items[0] : { t: 'cat', items };
  }

  /** Applies the repetition operators after an atom; a second operator is an error, as in RE2. */
  repetitions(atom: RegexNode, start: number): RegexNode {
    const first = this.repeatOperator();
    if (!first) return atom;
    if (atom.t === 'bol' || atom.t === 'eol') throw new Fail('an anchor cannot be repeated', start);
    if (this.s[this.i] === '?') this.i++; // non-greedy: the same strings match
    const at = this.i;
    if (this.repeatOperator()) throw new Fail(`bad repetition operator: ${this.s.slice(first.at, this.i)}`, at);
    return { t: 'rep', node: atom, min: first.min, max: first.max };
  }

  repeatOperator(): { min: number; max: number; at: number } | null {
    const at = this.i;
    const c = this.s[this.i];
    if (c === '*' || c === '+' || c === '?') {
      this.i++;
      return { min: c === '+' ? 1 : 0, max: c === '?' ? 1 : Number.POSITIVE_INFINITY, at };
    }
    if (c !== '{') return null;
    // Like RE2, a brace that does not start {n}, {n,} or {n,m} is a literal.
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.i, this.i + 24));
    if (!m) return null;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
    if (min > MAX_REPEAT || (Number.isFinite(max) && max > MAX_REPEAT)) throw new Fail(`repetition count above ${MAX_REPEAT}`, at);
    if (max < min) throw new Fail(`bad repetition range ${m[0]}`, at);
    this.i += m[0].length;
    return { min, max, at };
  }

  atom(depth: number): RegexNode {
    const at = this.i;
    const c = this.s[this.i];
    switch (c) {
      case '*':
      case '+':
      case '?':
        throw new Fail(`missing argument to repetition operator: ${c}`, at);
      case '(':
        return this.group(depth);
      case '[':
        return { t: 'set', set: this.bracket() };
      case '.':
        this.i++;
        return { t: 'set', set: ANY_BUT_NEWLINE };
      case '^':
        this.i++;
        return { t: 'bol' };
      case '$':
        this.i++;
        return { t: 'eol' };
      case '\\': {
        const e = this.escape(false);
        return typeof e === 'string' ? { t: e } : { t: 'set', set: e };
      }
      case '{':
        if (this.repeatOperator()) throw new Fail('missing argument to repetition operator: {', at);
        break;
    }
    const cp = this.s.codePointAt(this.i)!;
    this.i += cp > 0xffff ? 2 : 1;
    return { t: 'set', set: single(cp) };
  }

  group(depth: number): RegexNode {
    const at = this.i;
    this.i++;
    if (this.s[this.i] === '?') {
      const rest = this.s.slice(this.i, this.i + 4);
      if (rest.startsWith('?:')) this.i += 2;
      else if (/^\?P?<[A-Za-z_]/.test(rest)) {
        const close = this.s.indexOf('>', this.i);
        const name = close < 0 ? '' : this.s.slice(this.i + (rest[1] === 'P' ? 3 : 2), close);
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Fail('bad named group', at);
        this.i = close + 1;
      } else if (/^\?(=|!|<=|<!)/.test(rest)) throw new Fail('lookaround is not RE2 syntax (Cilium would refuse it)', at);
      else throw new Fail('inline flags like (?i) are not supported by flowtap’s evaluator', at);
    }
    const inner = this.alternation(depth + 1);
    if (this.s[this.i] !== ')') throw new Fail('missing closing )', at);
    this.i++;
    return inner;
  }

  /** A backslash escape. Outside a class `\A` and `\z` are anchors. */
  escape(inClass: boolean): CharSet | 'bol' | 'eol' {
    const at = this.i;
    this.i++;
    if (this.i >= this.s.length) throw new Fail('trailing backslash', at);
    const c = this.s[this.i];
    this.i++;
    if (PERL_CLASSES[c]) return PERL_CLASSES[c];
    if (CONTROL_ESCAPES[c] !== undefined) return single(CONTROL_ESCAPES[c]);
    if (!inClass && c === 'A') return 'bol';
    if (!inClass && c === 'z') return 'eol';
    if (c === 'x') {
      const m = /^(?:\{([0-9A-Fa-f]{1,6})\}|([0-9A-Fa-f]{2}))/.exec(this.s.slice(this.i, this.i + 8));
      if (!m) throw new Fail('bad \\x escape', at);
      const cp = Number.parseInt(m[1] ?? m[2], 16);
      if (cp > MAX_CODE_POINT) throw new Fail('\\x escape beyond Unicode', at);
      this.i += m[0].length;
      return single(cp);
    }
    if (/[0-9]/.test(c)) throw new Fail(`backreferences and octal escapes (\\${c}) are not RE2 syntax`, at);
    if (c === 'b' || c === 'B') throw new Fail(`word boundaries (\\${c}) are not supported by flowtap’s evaluator`, at);
    if (c === 'p' || c === 'P') throw new Fail('Unicode classes (\\p, \\P) are not supported by flowtap’s evaluator', at);
    if (/[A-Za-z]/.test(c)) throw new Fail(`unknown escape \\${c}`, at);
    const cp = this.s.codePointAt(this.i - 1)!;
    if (cp > 0xffff) this.i++;
    return single(cp);
  }

  bracket(): CharSet {
    const at = this.i;
    this.i++;
    const negated = this.s[this.i] === '^';
    if (negated) this.i++;
    const parts: CharSet[] = [];
    let first = true;
    while (true) {
      if (this.i >= this.s.length) throw new Fail('missing closing ]', at);
      const c = this.s[this.i];
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      if (c === '[' && this.s[this.i + 1] === ':')
        throw new Fail('POSIX classes like [:alpha:] are not supported by flowtap’s evaluator', this.i);
      const lo = this.classAtom();
      if (this.s[this.i] === '-' && this.s[this.i + 1] !== ']' && this.i + 1 < this.s.length) {
        this.i++;
        const hi = this.classAtom();
        if (lo.length !== 1 || hi.length !== 1 || lo[0][0] !== lo[0][1] || hi[0][0] !== hi[0][1])
          throw new Fail('a range bound must be one character', at);
        if (hi[0][0] < lo[0][0]) throw new Fail('bad character class range', at);
        parts.push([[lo[0][0], hi[0][0]]]);
      } else parts.push(lo);
    }
    const set = union(...parts);
    return negated ? complement(set) : charSet(set);
  }

  classAtom(): CharSet {
    if (this.s[this.i] === '\\') {
      const e = this.escape(true);
      if (typeof e === 'string') throw new Fail('an anchor inside a class', this.i);
      return e;
    }
    const cp = this.s.codePointAt(this.i)!;
    this.i += cp > 0xffff ? 2 : 1;
    return single(cp);
  }
}
