/**
 * A PostgreSQL-flavoured SQL tokenizer for classification, not validation: it must find words,
 * names and statement boundaries in anything, skipping what is inside comments and literals.
 * Unterminated comments, strings and quoted names run to the end of the input.
 */

/** Keyword or unquoted name, lower-cased. */
export const T_WORD = 1;
/** Double-quoted name, case kept, `""` unescaped. */
export const T_QUOTED = 2;
const T_STRING = 3;
const T_NUMBER = 4;
/** `$1` positional parameter. */
const T_PARAM = 5;
export const T_OP = 6;
export const T_LPAREN = 7;
export const T_RPAREN = 8;
export const T_COMMA = 9;
export const T_DOT = 10;
export const T_SEMI = 11;

export interface Token {
  type: number;
  /** Words, quoted names and operators; empty for literals. */
  value: string;
  start: number;
  end: number;
}

function isIdentStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x24;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** End of a `'...'` literal starting at `i` (the quote); `backslash` for E'' strings. */
function skipString(sql: string, i: number, backslash: boolean): number {
  const n = sql.length;
  i++;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (backslash && c === 0x5c) {
      i += 2;
      continue;
    }
    if (c === 0x27) {
      if (sql.charCodeAt(i + 1) === 0x27) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return n;
}

/** End of a nested `/* ... *\/` comment starting at `i`. */
function skipBlockComment(sql: string, i: number): number {
  const n = sql.length;
  let depth = 0;
  while (i < n) {
    if (sql.charCodeAt(i) === 0x2f && sql.charCodeAt(i + 1) === 0x2a) {
      depth++;
      i += 2;
    } else if (sql.charCodeAt(i) === 0x2a && sql.charCodeAt(i + 1) === 0x2f) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return n;
}

/** If a dollar-quote tag (`$$` or `$tag$`) starts at `i`, its length; else 0. */
function dollarTag(sql: string, i: number): number {
  let j = i + 1;
  if (sql.charCodeAt(j) === 0x24) return 2;
  if (!isIdentStart(sql.charCodeAt(j))) return 0;
  while (j < sql.length && isIdentPart(sql.charCodeAt(j)) && sql.charCodeAt(j) !== 0x24) j++;
  return sql.charCodeAt(j) === 0x24 ? j + 1 - i : 0;
}

export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const start = i;
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (c === 0x2f && sql.charCodeAt(i + 1) === 0x2a) {
      i = skipBlockComment(sql, i);
      continue;
    }
    if (c === 0x27) {
      i = skipString(sql, i, false);
      out.push({ type: T_STRING, value: '', start, end: i });
      continue;
    }
    if ((c === 0x45 || c === 0x65) && sql.charCodeAt(i + 1) === 0x27) {
      i = skipString(sql, i + 1, true);
      out.push({ type: T_STRING, value: '', start, end: i });
      continue;
    }
    if (c === 0x22) {
      let j = i + 1;
      let name = '';
      for (;;) {
        const q = sql.indexOf('"', j);
        if (q < 0) {
          name += sql.slice(j);
          j = n;
          break;
        }
        name += sql.slice(j, q);
        if (sql.charCodeAt(q + 1) === 0x22) {
          name += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      i = j;
      out.push({ type: T_QUOTED, value: name, start, end: i });
      continue;
    }
    if (c === 0x24) {
      if (isDigit(sql.charCodeAt(i + 1))) {
        i++;
        while (i < n && isDigit(sql.charCodeAt(i))) i++;
        out.push({ type: T_PARAM, value: sql.slice(start, i), start, end: i });
        continue;
      }
      const len = dollarTag(sql, i);
      if (len > 0) {
        const close = sql.indexOf(sql.slice(i, i + len), i + len);
        i = close < 0 ? n : close + len;
        out.push({ type: T_STRING, value: '', start, end: i });
        continue;
      }
    }
    if (isIdentStart(c)) {
      i++;
      while (i < n && isIdentPart(sql.charCodeAt(i))) i++;
      out.push({ type: T_WORD, value: sql.slice(start, i).toLowerCase(), start, end: i });
      continue;
    }
    if (isDigit(c) || (c === 0x2e && isDigit(sql.charCodeAt(i + 1)))) {
      i++;
      while (i < n) {
        const d = sql.charCodeAt(i);
        if (isDigit(d) || d === 0x2e || d === 0x5f || isIdentStart(d)) i++;
        else if ((d === 0x2b || d === 0x2d) && (sql.charCodeAt(i - 1) | 0x20) === 0x65) i++;
        else break;
      }
      out.push({ type: T_NUMBER, value: '', start, end: i });
      continue;
    }
    i++;
    const type = c === 0x28 ? T_LPAREN : c === 0x29 ? T_RPAREN : c === 0x2c ? T_COMMA : c === 0x2e ? T_DOT : c === 0x3b ? T_SEMI : T_OP;
    out.push({ type, value: sql[start], start, end: i });
  }
  return out;
}
