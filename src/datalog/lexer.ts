/**
 * Tokenizer for Congress-style Datalog. Lexical errors become `error` tokens so the
 * parser can report them in order with the syntax errors around them.
 */

type TokenKind = 'ident' | 'string' | 'number' | '(' | ')' | ',' | '.' | ':-' | ':' | ';' | '!' | 'op' | 'eof' | 'error';

export interface Token {
  kind: TokenKind;
  /** Source text of the token (for strings: including quotes). */
  text: string;
  /** Decoded value of a string or number token. */
  value?: string | number;
  /** Message of an `error` token. */
  message?: string;
  line: number;
  col: number;
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

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = text.length;

  const push = (kind: TokenKind, start: number, end: number, extra?: Partial<Token>): void => {
    tokens.push({ kind, text: text.slice(start, end), line, col: start - lineStart + 1, ...extra });
  };

  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      i++;
      line++;
      lineStart = i;
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
        push('error', i, n, { message: "unterminated comment: expected '*/' before end of input" });
        i = n;
        continue;
      }
      // Keep line numbers right across a multi-line comment.
      for (let k = i; k < close; k++) {
        if (text.charCodeAt(k) === 10) {
          line++;
          lineStart = k + 1;
        }
      }
      i = close + 2;
      continue;
    }
    if (isIdentStart(c)) {
      const start = i;
      i = skipIdent(text, i);
      push('ident', start, i);
      continue;
    }
    if (isDigit(c) || (c === 45 /* - */ && isDigit(text.charCodeAt(i + 1)))) {
      const start = i;
      i = scanNumber(text, i);
      const raw = text.slice(start, i);
      const value = parseNumber(raw);
      if (Number.isNaN(value)) {
        push('error', start, i, { message: `malformed number '${raw}'` });
      } else if (!Number.isFinite(value)) {
        push('error', start, i, { message: `number ${raw} is out of range` });
      } else if (i < n && isIdentStart(text.charCodeAt(i))) {
        // `12abc` is neither a number nor an identifier; say so rather than split it.
        const badEnd = skipIdent(text, i);
        push('error', start, badEnd, { message: `malformed number '${text.slice(start, badEnd)}'` });
        i = badEnd;
      } else {
        push('number', start, i, { value });
      }
      continue;
    }
    if (c === 34 /* " */ || c === 39 /* ' */) {
      const start = i;
      const r = scanString(text, i);
      if (r.error !== undefined) {
        push('error', start, r.end, { message: r.error });
        // Resume after the bad string so later errors are still found.
        i = r.end;
      } else {
        push('string', start, r.end, { value: r.value });
        i = r.end;
      }
      continue;
    }
    if (c === 58 /* : */) {
      if (text.charCodeAt(i + 1) === 45 /* - */) {
        push(':-', i, i + 2);
        i += 2;
      } else {
        push(':', i, i + 1);
        i++;
      }
      continue;
    }
    if (c === 33 /* ! */ && text.charCodeAt(i + 1) !== 61) {
      push('!', i, i + 1);
      i++;
      continue;
    }
    if (c === 40 || c === 41 || c === 44 || c === 46 || c === 59) {
      push(text[i] as TokenKind, i, i + 1);
      i++;
      continue;
    }
    const op = COMPARISON_OPS.find((o) => text.startsWith(o, i));
    if (op) {
      push('op', i, i + op.length);
      i += op.length;
      continue;
    }
    const cp = text.codePointAt(i) ?? c;
    const ch = String.fromCodePoint(cp);
    push('error', i, i + ch.length, { message: `unexpected character ${JSON.stringify(ch)}` });
    i += ch.length;
  }
  tokens.push({ kind: 'eof', text: '', line, col: i - lineStart + 1 });
  return tokens;
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
  const quote = text[start];
  let i = start + 1;
  let out = '';
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
