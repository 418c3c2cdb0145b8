/**
 * Set relations between flows: intersection, coverage and a concrete witness packet.
 * A FlowMatch is a product of per-field sets, so each relation is decided field by field.
 */
import { fieldSubset, fieldsOf, intersectField, orderMatch, type FieldValue } from './field-ops.js';
import {
  FIELD_ORDER,
  TRANSPORT_HEADER_FIELDS,
  laterFragment,
  type FieldName,
  type FlowMatch,
  type Masked,
  type PacketSpec,
  type PortMatch,
} from './fields.js';
import { portContains } from './ports.js';
import { packetIn } from '../packet-spec.js';

/** The packets matching both flows, or null when no packet matches both. */
export function intersect(a: FlowMatch, b: FlowMatch): FlowMatch | null {
  const fa = fieldsOf(a);
  const fb = fieldsOf(b);
  const out: Partial<Record<FieldName, FieldValue>> = {};
  for (const name of FIELD_ORDER) {
    const x = fa[name];
    const y = fb[name];
    if (x === undefined && y === undefined) continue;
    if (x === undefined || y === undefined) {
      out[name] = (x ?? y)!;
      continue;
    }
    const v = intersectField(name, x, y);
    if (v === null) return null;
    if (v !== 'any') out[name] = v;
  }
  return laterFragmentForm(orderMatch(out));
}

/**
 * A later fragment has no transport header: OVS reads its ports and TCP flags as 0 and refuses
 * a match that tests them next to ip_frag=later. So an intersection that fixes ip_frag=later
 * keeps no transport field: one that admits 0 says nothing more, one that does not admits no
 * packet. Without this, printFlow would write a match neither parseFlow nor OVS takes.
 */
function laterFragmentForm(m: FlowMatch): FlowMatch | null {
  if (!laterFragment(m)) return m;
  const out: Record<string, unknown> = { ...m };
  for (const name of TRANSPORT_HEADER_FIELDS) {
    const v = m[name];
    if (v === undefined) continue;
    const zero =
      name === 'tcp_flags'
        ? ((v as Masked).value & (v as Masked).mask) === 0 && (v as Masked).value === 0
        : portContains(v as PortMatch, 0);
    if (!zero) return null;
    delete out[name];
  }
  return out as FlowMatch;
}

/** Every packet that matches `inner` also matches `outer`. */
export function covers(outer: FlowMatch, inner: FlowMatch): boolean {
  const fo = fieldsOf(outer);
  const fi = fieldsOf(inner);
  for (const name of FIELD_ORDER) {
    const o = fo[name];
    if (o === undefined) continue;
    const i = fi[name];
    // A normalised constraint never admits every value, so an unconstrained inner field escapes it.
    if (i === undefined) return false;
    if (!fieldSubset(name, i, o)) return false;
  }
  return true;
}

/** Both flows match exactly the same packets. */
export function sameFlow(a: FlowMatch, b: FlowMatch): boolean {
  return covers(a, b) && covers(b, a);
}

/** A concrete packet matching both flows, for error messages; null when they do not overlap. */
export function witness(a: FlowMatch, b: FlowMatch): PacketSpec | null {
  const both = intersect(a, b);
  return both === null ? null : packetIn(both);
}
