import type { LogSchema, LogValue, ZeekType } from './schema.js';

/** Characters JSON.stringify would escape (lone surrogates included): most log strings have none. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A JSON string; entering JSON.stringify for every field showed as a tenth of an inline monitor's profile. */
function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
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
