import type { LogSchema, LogValue, ZeekType } from './schema.js';

/** Whether JSON.stringify would escape a character (quote, backslash, control, lone surrogate): most log strings have none. */
function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/** A JSON string; entering JSON.stringify for every field showed as a tenth of an inline monitor's profile. */
function quote(s: string): string {
  return needsEscape(s) ? JSON.stringify(s) : `"${s}"`;
}

function jsonValue(type: ZeekType, v: LogValue): string | null {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'time':
    case 'interval':
    case 'double':
    case 'count':
    case 'port':
      return typeof v === 'number' && Number.isFinite(v) ? String(v) : null;
    case 'bool':
      return v === true ? 'true' : 'false';
    case 'set[string]':
    case 'set[enum]':
    case 'vector[string]':
      return Array.isArray(v) ? `[${v.map((x) => quote(String(x))).join(',')}]` : null;
    default:
      return quote(typeof v === 'string' ? v : String(v));
  }
}

/**
 * One JSON object per line with Zeek's flat dotted keys (`id.orig_h`), as Zeek writes with
 * `LogAscii::use_json=T`: `ts` as epoch seconds, unset fields left out, sets as arrays.
 */
export function formatJsonRow(schema: LogSchema, values: readonly LogValue[]): string {
  const { fields, types } = schema;
  let out = '{';
  let first = true;
  for (let i = 0; i < fields.length; i++) {
    const v = jsonValue(types[i], values[i]);
    if (v === null) continue;
    out += (first ? '"' : ',"') + fields[i] + '":' + v;
    first = false;
  }
  return out + '}\n';
}
