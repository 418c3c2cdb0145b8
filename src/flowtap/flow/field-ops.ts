/**
 * Per-field set operations. Because a FlowMatch is a product of per-field sets, every
 * whole-match operation (intersection, coverage, matching) is these applied field by field.
 */
import {
  FIELD_ORDER,
  FRAG_VALUES,
  fieldSpec,
  type FieldName,
  type FlowMatch,
  type Masked,
  type PortMatch,
  type WideMasked,
} from './fields.js';
import { intersectPort, isWildPort, normalisePort, portSubset } from './ports.js';
import { wideIsZero } from './values.js';

export type FieldValue = Masked | PortMatch | WideMasked;

/** Which of the possible ip_frag packet values (0, 1, 3) a bitwise match admits, as bits 0..2. */
function fragSet(m: Masked): number {
  let set = 0;
  for (let i = 0; i < FRAG_VALUES.length; i++) if ((FRAG_VALUES[i] & m.mask) === m.value) set |= 1 << i;
  return set;
}

/** The one spelling OVS has for each admitted set (keyed by fragSet's bits), so equal sets compare equal. */
const FRAG_CANONICAL: Record<number, Masked | undefined> = {
  1: { value: 0, mask: 1 }, // 0b001 no
  6: { value: 1, mask: 1 }, // 0b110 yes
  2: { value: 1, mask: 3 }, // 0b010 first
  4: { value: 3, mask: 3 }, // 0b100 later
  3: { value: 0, mask: 2 }, // 0b011 not_later
};

/**
 * Canonical form of one field's constraint: 'any' when it admits everything (the field is
 * then left out of the match), null when it admits nothing.
 */
export function normaliseField(name: FieldName, v: FieldValue): FieldValue | 'any' | null {
  const spec = fieldSpec(name);
  if (spec.kind === 'wide') {
    const w = v as WideMasked;
    const mask = w.mask.map((x) => x & 0xffff);
    const value = w.value.map((x, i) => x & mask[i]);
    return wideIsZero(mask) ? 'any' : { value, mask };
  }
  if (spec.kind === 'port') {
    const p = v as PortMatch;
    const n = normalisePort(p.value, p.mask, p.range);
    return n === null ? null : isWildPort(n) ? 'any' : n;
  }
  const m = v as Masked;
  const mask = m.mask >>> 0;
  const value = (m.value & mask) >>> 0;
  if (name === 'ip_frag') {
    const set = fragSet({ value, mask });
    if (set === 0) return null;
    if (set === 0b111) return 'any';
    return FRAG_CANONICAL[set] ?? { value, mask };
  }
  return mask === 0 ? 'any' : { value, mask };
}

/** Intersection of two constraints on the same field; null when they share no value. */
export function intersectField(name: FieldName, a: FieldValue, b: FieldValue): FieldValue | 'any' | null {
  const spec = fieldSpec(name);
  if (spec.kind === 'port') return intersectPort(a as PortMatch, b as PortMatch) ?? null;
  if (spec.kind === 'wide') {
    const x = a as WideMasked;
    const y = b as WideMasked;
    const value: number[] = [];
    const mask: number[] = [];
    for (let i = 0; i < x.value.length; i++) {
      if ((x.value[i] & y.mask[i]) !== (y.value[i] & x.mask[i])) return null;
      value.push(x.value[i] | y.value[i]);
      mask.push(x.mask[i] | y.mask[i]);
    }
    return normaliseField(name, { value, mask });
  }
  const x = a as Masked;
  const y = b as Masked;
  if ((x.value & y.mask) >>> 0 !== (y.value & x.mask) >>> 0) return null;
  return normaliseField(name, { value: (x.value | y.value) >>> 0, mask: (x.mask | y.mask) >>> 0 });
}

/** Every value admitted by `inner` is admitted by `outer`. */
export function fieldSubset(name: FieldName, inner: FieldValue, outer: FieldValue): boolean {
  const spec = fieldSpec(name);
  if (spec.kind === 'port') return portSubset(inner as PortMatch, outer as PortMatch);
  if (spec.kind === 'wide') {
    const i = inner as WideMasked;
    const o = outer as WideMasked;
    for (let k = 0; k < o.mask.length; k++) {
      if ((o.mask[k] & ~i.mask[k]) !== 0) return false;
      if ((i.value[k] & o.mask[k]) !== o.value[k]) return false;
    }
    return true;
  }
  const i = inner as Masked;
  const o = outer as Masked;
  if (name === 'ip_frag') {
    const si = fragSet(i);
    return (si & ~fragSet(o)) === 0;
  }
  return (o.mask & ~i.mask) >>> 0 === 0 && (i.value & o.mask) >>> 0 === o.value;
}

/**
 * A match rebuilt with its fields in canonical order, so JSON output is stable whatever order
 * the fields were added in.
 */
export function orderMatch(fields: Partial<Record<FieldName, FieldValue>>): FlowMatch {
  const out: Record<string, FieldValue> = {};
  for (const name of FIELD_ORDER) {
    const v = fields[name];
    if (v !== undefined) out[name] = v;
  }
  return out as FlowMatch;
}

/** A match's fields as a plain record, for code that walks them generically. */
export function fieldsOf(m: FlowMatch): Partial<Record<FieldName, FieldValue>> {
  return m as Partial<Record<FieldName, FieldValue>>;
}
