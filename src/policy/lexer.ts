/**
 * Tokenizer for Congress-style Datalog. Lexical errors become `error` tokens so the
 * parser can report them in order with the syntax errors around them.
 */

export type TokenKind =
  | 'ident'
  | 'string'
  | 'number'
  | '('
  | ')'
  | ','
  | '.'
  | ':-'
  | ':'
  | 'op'
  | 'eof'
  | 'error';

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
    if (isIdentStart(c)) {
      const start = i;
      while (i < n && isIdentPart(text.charCodeAt(i))) i++;
      push('ident', start, i);
      continue;
    }
    if (isDigit(c) || (c === 45 /* - */ && isDigit(text.charCodeAt(i + 1)))) {
      const start = i;
      i = scanNumber(text, i);
      const raw = text.slice(start, i);
      const value = Number(raw);
      if (!Number.isFinite(value)) {
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
    if (c === 40 || c === 41 || c === 44 || c === 46) {
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

function skipIdent(text: string, i: number): number {
  while (i < text.length && isIdentPart(text.charCodeAt(i))) i++;
  return i;
}

function scanNumber(text: string, i: number): number {
  if (text.charCodeAt(i) === 45) i++;
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
