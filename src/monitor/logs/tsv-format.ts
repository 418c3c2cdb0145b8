import type { LogSchema, LogValue, ZeekType } from './schema.js';

/** Zeek's ASCII writer defaults. */
const TSV_SEPARATOR = '\t';
const TSV_SET_SEPARATOR = ',';
export const TSV_EMPTY = '(empty)';
export const TSV_UNSET = '-';

function hex2(n: number): string {
  return (n < 16 ? '\\x0' : '\\x') + n.toString(16);
}

/** True when `s` can be written as it is (printable ASCII, no separator, no backslash). */
function plain(s: string, inSet: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x5c || (inSet && c === 0x2c)) return false;
  }
  return true;
}

/**
 * Escape a string the way Zeek does: non-printable bytes (and, here, every non-ASCII byte of
 * the UTF-8 encoding) as `\xHH`, so a row never contains a stray tab or newline. A value equal
 * to the unset or empty marker is escaped so it cannot be mistaken for one.
 */
export function escapeTsv(s: string, inSet = false): string {
  if (s === TSV_UNSET) return '\\x2d';
  if (s === TSV_EMPTY) return '\\x28empty)';
  if (plain(s, inSet)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x5c && !(inSet && c === 0x2c)) {
      out += s[i];
    } else if (c < 0x80) {
      out += hex2(c);
    } else {
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) out += hex2(b);
    }
  }
  return out;
}

/** Zeek prints time, interval and double with six decimals. */
function fixed6(v: number): string {
  return Number.isFinite(v) ? v.toFixed(6) : TSV_UNSET;
}

export function formatTsvValue(type: ZeekType, v: LogValue): string {
  if (v === null || v === undefined) return TSV_UNSET;
  switch (type) {
    case 'time':
    case 'interval':
    case 'double':
      return typeof v === 'number' ? fixed6(v) : TSV_UNSET;
    case 'count':
    case 'port':
      return typeof v === 'number' && Number.isFinite(v) ? String(Math.trunc(v)) : TSV_UNSET;
    case 'bool':
      return v === true ? 'T' : 'F';
    case 'set[string]':
    case 'set[enum]':
    case 'vector[string]': {
      if (!Array.isArray(v)) return TSV_UNSET;
      if (v.length === 0) return TSV_EMPTY;
      let out = '';
      for (let i = 0; i < v.length; i++) out += (i > 0 ? TSV_SET_SEPARATOR : '') + escapeTsv(String(v[i]), true);
      return out;
    }
    default: {
      const s = String(v);
      return s.length === 0 ? TSV_EMPTY : escapeTsv(s);
    }
  }
}

export function formatTsvRow(schema: LogSchema, values: readonly LogValue[]): string {
  const types = schema.types;
  let line = formatTsvValue(types[0], values[0]);
  for (let i = 1; i < types.length; i++) line += TSV_SEPARATOR + formatTsvValue(types[i], values[i]);
  return line + '\n';
}

/** `YYYY-MM-DD-HH-MM-SS`, Zeek's `#open`/`#close` stamp (UTC here, so logs compare across hosts). */
export function formatLogStamp(epochSeconds: number): string {
  const d = new Date(Math.floor(epochSeconds) * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}-${p(d.getUTCMinutes())}-${p(d.getUTCSeconds())}`;
}

export function formatTsvHeader(schema: LogSchema, openTs: number): string {
  return (
    '#separator \\x09\n' +
    `#set_separator${TSV_SEPARATOR}${TSV_SET_SEPARATOR}\n` +
    `#empty_field${TSV_SEPARATOR}${TSV_EMPTY}\n` +
    `#unset_field${TSV_SEPARATOR}${TSV_UNSET}\n` +
    `#path${TSV_SEPARATOR}${schema.path}\n` +
    `#open${TSV_SEPARATOR}${formatLogStamp(openTs)}\n` +
    `#fields${TSV_SEPARATOR}${schema.fields.join(TSV_SEPARATOR)}\n` +
    `#types${TSV_SEPARATOR}${schema.types.join(TSV_SEPARATOR)}\n`
  );
}

export function formatTsvClose(closeTs: number): string {
  return `#close${TSV_SEPARATOR}${formatLogStamp(closeTs)}\n`;
}
