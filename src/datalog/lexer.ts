/**
 * Tokenizer for Congress-style Datalog. Lexical errors become `error` tokens so the
 * parser can report them in order with the syntax errors around them.
 *
 * Tokens are made one at a time as the parser asks (no token array), all of one shape,
 * and their text is cut from the source only when someone reads it: generated fact files
 * of many megabytes are mostly punctuation, numbers and plain strings.
 */

type TokenKind = 'ident' | 'string' | 'number' | '(' | ')' | ',' | '.' | ':-' | ':' | ';' | '!' | 'op' | 'eof' | 'error';

export class Token {
  constructor(
    readonly kind: TokenKind,
    private readonly src: string,
    private readonly start: number,
    private readonly end: number,
    readonly line: number,
    readonly col: number,
    /** Decoded value of a string or number token. */
    readonly value: string | number | undefined,
    /** Message of an `error` token. */
    readonly message: string | undefined,
  ) {}

  /** Source text of the token (for strings: including quotes). */
  get text(): string {
    return this.src.slice(this.start, this.end);
  }
}

const COMPARISON_OPS = ['!=', '<=', '>=', '==', '=', '<', '>'] as const;

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Single-character tokens by char code. */
const PUNCT: Partial<Record<number, TokenKind>> = { 40: '(', 41: ')', 44: ',', 46: '.', 59: ';' };

export class Lexer {
  private i = 0;
  private line = 1;
  private readonly scratch: (string | number)[] = [];
  private lineStart = 0;

  constructor(private readonly text: string) {}

  private make(kind: TokenKind, start: number, end: number, value?: string | number, message?: string): Token {
    return new Token(kind, this.text, start, end, this.line, start - this.lineStart + 1, value, message);
  }

  /** The next token; `eof` at the end, and again on every later call. */
  next(): Token {
    const text = this.text;
    const n = text.length;
    let i = this.i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 10) {
        i++;
        this.line++;
        this.lineStart = i;
        continue;
      }
      if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11) {
        i++;
        continue;
      }
      if (c === 35 /* # */ || (c === 47 /* / */ && text.charCodeAt(i + 1) === 47)) {
        while (i < n && text.charCodeAt(i) !== 10) i++;
        continue;
      }
      if (c === 47 && text.charCodeAt(i + 1) === 42 /* slash-star */) {
        const close = text.indexOf('*/', i + 2);
        if (close < 0) {
          this.i = n;
          return this.make('error', i, n, undefined, "unterminated comment: expected '*/' before end of input");
        }
        // Keep line numbers right across a multi-line comment.
        for (let k = i; k < close; k++) {
          if (text.charCodeAt(k) === 10) {
            this.line++;
            this.lineStart = k + 1;
          }
        }
        i = close + 2;
        continue;
      }
      this.i = i;
      return this.token(c);
    }
    this.i = i;
    return this.make('eof', i, i);
  }

  /**
   * Right after a predicate name: the rest of a plain fact, `(arg, ...).` on one line, each
   * argument a string without escapes or an integer of at most 15 digits, which is what
   * generated fact files hold. Returns the values and moves past the terminator; anything
   * else returns null and moves nothing, and the caller reads tokens as usual.
   */
  plainFact(): (string | number)[] | null {
    const text = this.text;
    const n = text.length;
    let i = this.i;
    if (text.charCodeAt(i) !== 40 /* ( */) return null;
    // Gathered in a reused array and copied out at their exact length: an array grown by push
    // keeps 16 slots or more, and millions of facts would keep them all.
    const args = this.scratch;
    args.length = 0;
    i = skipBlanks(text, i + 1);
    if (text.charCodeAt(i) === 41 /* ) */) i++;
    else {
      for (;;) {
        const c = text.charCodeAt(i);
        if (c === 34 || c === 39) {
          let j = i + 1;
          for (;;) {
            if (j >= n) return null;
            const d = text.charCodeAt(j);
            if (d === c) break;
            if (d === 92 /* \ */ || d === 10) return null;
            j++;
          }
          args.push(text.slice(i + 1, j));
          i = j + 1;
        } else {
          let j = c === 45 /* - */ ? i + 1 : i;
          const first = j;
          let v = 0;
          while (j < n) {
            const d = text.charCodeAt(j) - 48;
            if (d < 0 || d > 9) break;
            v = v * 10 + d;
            j++;
          }
          if (j === first || j - first > 15) return null;
          // Up to 9 digits the value is a small integer: said so with |0, V8 stores it unboxed.
          if (j - first <= 9 && v !== 0) args.push(c === 45 ? -(v | 0) : v | 0);
          else args.push(c === 45 ? -v : v);
          i = j;
        }
        i = skipBlanks(text, i);
        const d = text.charCodeAt(i);
        if (d === 44 /* , */) {
          i = skipBlanks(text, i + 1);
          continue;
        }
        if (d !== 41 /* ) */) return null;
        i++;
        break;
      }
    }
    i = skipBlanks(text, i);
    const end = text.charCodeAt(i);
    if (end !== 46 /* . */ && end !== 59 /* ; */) return null;
    this.i = i + 1;
    return args.slice();
  }

  /** Predicate and position of the fact nextPlainFact last returned. */
  factPred = '';
  factLine = 0;
  factCol = 0;

  /**
   * The next statement, when it is a plain fact (see plainFact): its values, with its predicate
   * and position in factPred, factLine, factCol. Else null, having moved nothing. Facts of one
   * predicate share its name rather than each cutting a copy from the source.
   */
  nextPlainFact(): (string | number)[] | null {
    const text = this.text;
    const n = text.length;
    const { i: i0, line: line0, lineStart: start0 } = this;
    let i = i0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) {
        this.line++;
        this.lineStart = i + 1;
      } else if (c !== 32 && c !== 9 && c !== 13) break;
    }
    const end = i < n && isIdentStart(text.charCodeAt(i)) ? skipIdent(text, i) : i;
    if (end > i && text.charCodeAt(end) !== 58 /* : */) {
      const len = end - i;
      let pred = this.factPred;
      if (pred.length !== len || !text.startsWith(pred, i)) pred = text.slice(i, end);
      if (pred !== 'not' && pred !== 'NOT') {
        this.i = end;
        const args = this.plainFact();
        if (args !== null) {
          this.factPred = pred;
          this.factLine = this.line;
          this.factCol = i - this.lineStart + 1;
          return args;
        }
      }
    }
    this.i = i0;
    this.line = line0;
    this.lineStart = start0;
    return null;
  }

  /** The token starting at this.i, whose first character is `c`. */
  private token(c: number): Token {
    const text = this.text;
    const start = this.i;
    const punct = PUNCT[c];
    if (punct !== undefined) {
      this.i = start + 1;
      return this.make(punct, start, start + 1);
    }
    if (isIdentStart(c)) {
      this.i = skipIdent(text, start);
      return this.make('ident', start, this.i);
    }
    if (isDigit(c) || (c === 45 /* - */ && isDigit(text.charCodeAt(start + 1)))) return this.number(start);
    if (c === 34 /* " */ || c === 39 /* ' */) {
      const r = scanString(text, start);
      // After a bad string, resume past it so later errors are still found.
      this.i = r.end;
      return r.error !== undefined ? this.make('error', start, r.end, undefined, r.error) : this.make('string', start, r.end, r.value);
    }
    if (c === 58 /* : */) {
      const two = text.charCodeAt(start + 1) === 45; /* - */
      this.i = start + (two ? 2 : 1);
      return this.make(two ? ':-' : ':', start, this.i);
    }
    if (c === 33 /* ! */ && text.charCodeAt(start + 1) !== 61) {
      this.i = start + 1;
      return this.make('!', start, start + 1);
    }
    const op = COMPARISON_OPS.find((o) => text.startsWith(o, start));
    if (op) {
      this.i = start + op.length;
      return this.make('op', start, this.i);
    }
    const ch = String.fromCodePoint(text.codePointAt(start) ?? c);
    this.i = start + ch.length;
    return this.make('error', start, this.i, undefined, `unexpected character ${JSON.stringify(ch)}`);
  }

  private number(start: number): Token {
    const text = this.text;
    const n = text.length;
    // The common case first: a plain integer, its value summed while scanning.
    let i = start;
    const neg = text.charCodeAt(i) === 45;
    if (neg) i++;
    let v = 0;
    const first = i;
    while (i < n) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    const after = i < n ? text.charCodeAt(i) : 0;
    const plain =
      i - first <= 15 &&
      !(text.charCodeAt(first) === 48 && i - first === 1 && ((after | 0x20) === 120 || (after | 0x20) === 111 || (after | 0x20) === 98)) &&
      after !== 46 &&
      (after | 0x20) !== 101 &&
      !isIdentStart(after);
    if (plain) {
      this.i = i;
      return this.make('number', start, i, neg ? -v : v);
    }
    i = scanNumber(text, start);
    const raw = text.slice(start, i);
    const value = parseNumber(raw);
    if (Number.isNaN(value)) {
      this.i = i;
      return this.make('error', start, i, undefined, `malformed number '${raw}'`);
    }
    if (!Number.isFinite(value)) {
      this.i = i;
      return this.make('error', start, i, undefined, `number ${raw} is out of range`);
    }
    if (i < n && isIdentStart(text.charCodeAt(i))) {
      // `12abc` is neither a number nor an identifier; say so rather than split it.
      const badEnd = skipIdent(text, i);
      this.i = badEnd;
      return this.make('error', start, badEnd, undefined, `malformed number '${text.slice(start, badEnd)}'`);
    }
    this.i = i;
    return this.make('number', start, i, value);
  }
}

function skipBlanks(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9) return i;
    i++;
  }
}

/** Congress identifiers may contain dots (`nova:servers.addresses`); a dot counts only between name characters. */
function skipIdent(text: string, i: number): number {
  for (;;) {
    while (i < text.length && isIdentPart(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) === 46 && isIdentStart(text.charCodeAt(i + 1))) {
      i++;
      continue;
    }
    return i;
  }
}

function parseNumber(raw: string): number {
  const neg = raw.startsWith('-');
  const body = neg ? raw.slice(1) : raw;
  const radix = /^0[xob]/i.test(body) ? body[1].toLowerCase() : '';
  if (radix === '') return Number(raw);
  const digits = body.slice(2);
  const valid = radix === 'x' ? /^[0-9a-f]+$/i : radix === 'o' ? /^[0-7]+$/ : /^[01]+$/;
  if (!valid.test(digits)) return Number.NaN;
  const v = parseInt(digits, radix === 'x' ? 16 : radix === 'o' ? 8 : 2);
  return neg ? -v : v;
}

function scanNumber(text: string, i: number): number {
  if (text.charCodeAt(i) === 45) i++;
  const p = text.charCodeAt(i + 1) | 0x20;
  if (text.charCodeAt(i) === 48 && (p === 120 || p === 111 || p === 98)) {
    // 0x.., 0o.., 0b..: Python integer prefixes, as Congress accepts.
    i += 2;
    while (isIdentPart(text.charCodeAt(i))) i++;
    return i;
  }
  while (isDigit(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) === 46 && isDigit(text.charCodeAt(i + 1))) {
    i++;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  const e = text.charCodeAt(i);
  if (e === 101 || e === 69) {
    let j = i + 1;
    const sign = text.charCodeAt(j);
    if (sign === 43 || sign === 45) j++;
    if (isDigit(text.charCodeAt(j))) {
      while (isDigit(text.charCodeAt(j))) j++;
      i = j;
    }
  }
  return i;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

function scanString(text: string, start: number): { end: number; value?: string; error?: string } {
  const quote = text.charCodeAt(start);
  const n = text.length;
  let i = start + 1;
  // Most strings hold no escape: their value is one slice of the source.
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === quote) return { end: i + 1, value: text.slice(start + 1, i) };
    if (c === 92 /* \ */ || c === 10) break;
    i++;
  }
  return scanEscaped(text, start, i);
}

function scanEscaped(text: string, start: number, from: number): { end: number; value?: string; error?: string } {
  const quote = text[start];
  let i = from;
  let out = text.slice(start + 1, from);
  let chunk = i;
  while (i < text.length) {
    const ch = text[i];
    if (ch === quote) {
      out += text.slice(chunk, i);
      return { end: i + 1, value: out };
    }
    if (ch === '\n') break;
    if (ch === '\\') {
      out += text.slice(chunk, i);
      const esc = text[i + 1];
      if (esc === undefined || esc === '\n') break;
      if (esc === 'u') {
        const hex = text.slice(i + 2, i + 6);
        if (hex.length === 4 && [...hex].every((h) => isHex(h.charCodeAt(0)))) {
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
          chunk = i;
          continue;
        }
        return { end: i + 2, error: `invalid escape '\\u${hex}' in string: expected 4 hex digits` };
      }
      const simple = SIMPLE_ESCAPES[esc];
      if (simple === undefined) {
        return { end: skipToLineEnd(text, i), error: `unknown escape '\\${esc}' in string` };
      }
      out += simple;
      i += 2;
      chunk = i;
      continue;
    }
    i++;
  }
  return {
    end: skipToLineEnd(text, i),
    error: `unterminated string: expected closing ${quote} before end of ${i >= text.length ? 'input' : 'line'}`,
  };
}

function skipToLineEnd(text: string, i: number): number {
  while (i < text.length && text[i] !== '\n') i++;
  return i;
}
