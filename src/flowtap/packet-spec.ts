/**
 * Concrete packets described in flow syntax (`tcp,nw_src=10.0.0.1,tp_dst=80`), as the CLI's
 * --packet takes them and as overlap errors show their witness packets.
 */
import { diag, fail, ok, type Diagnostic, type Location, type Result } from '../diagnostics/index.js';
import { fieldsOf, normaliseField, orderMatch, type FieldValue } from './flow/index.js';
import {
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  FIELD_ORDER,
  fieldSpec,
  prereqMet,
  type FieldName,
  type FlowMatch,
  type Masked,
  type PacketSpec,
  type PortMatch,
  type WideMasked,
} from './flow/index.js';
import { parseFlowDetailed } from './flow/index.js';
import { formatFieldValues, printFlow } from './flow/index.js';
import { portBounds } from './flow/index.js';
import { wideEqual, wideFull, wideZero } from './flow/index.js';

/** TTL given to IP packets whose description does not say. */
const DEFAULT_TTL = 64;

/** The packet every unspecified field falls back to: zeros, and TTL 64 for IP. */
export function defaultPacket(dlType = 0, nwProto = 0): PacketSpec {
  const pkt = {} as Record<string, number | number[]>;
  for (const name of FIELD_ORDER) {
    const spec = fieldSpec(name);
    pkt[name] = spec.kind === 'wide' ? wideZero(spec.words) : 0;
  }
  pkt.dl_type = dlType;
  const ip = dlType === ETH_TYPE_IP || dlType === ETH_TYPE_IPV6;
  if (ip) {
    pkt.nw_proto = nwProto;
    pkt.nw_ttl = DEFAULT_TTL;
  }
  return pkt as PacketSpec;
}

/** One packet value that the constraint admits, preferring `fallback` bits where it is free. */
function pick(name: FieldName, v: FieldValue, fallback: number | number[]): number | number[] {
  const spec = fieldSpec(name);
  if (spec.kind === 'wide') {
    const w = v as WideMasked;
    const f = fallback as number[];
    return w.value.map((x, i) => x | (f[i] & ~w.mask[i] & 0xffff));
  }
  if (spec.kind === 'port') {
    const p = v as PortMatch;
    const f = fallback as number;
    if ((f & p.mask) === p.value && (!p.range || (f >= p.range.from && f <= p.range.to))) return f;
    return portBounds(p).from;
  }
  const m = v as Masked;
  let x = (m.value | ((fallback as number) & ~m.mask)) >>> 0;
  // A TCI with priority or VID bits but no "present" bit describes no real packet; tag it if free.
  if (name === 'vlan_tci' && x !== 0 && !(x & 0x1000) && !(m.mask & 0x1000)) x |= 0x1000;
  return x;
}

/** A concrete packet matching the flow: its fixed bits, defaults elsewhere. */
export function packetIn(m: FlowMatch): PacketSpec {
  const f = fieldsOf(m);
  const dl = (f.dl_type as Masked | undefined)?.value ?? 0;
  const proto = (f.nw_proto as Masked | undefined)?.value ?? 0;
  const pkt = defaultPacket(dl, proto) as Record<string, number | number[]>;
  for (const name of FIELD_ORDER) {
    const v = f[name];
    if (v !== undefined) pkt[name] = pick(name, v, pkt[name]);
  }
  return pkt as PacketSpec;
}

/** The exact-match constraint that admits only the packet's value of a field. */
function exactFieldOf(name: FieldName, pkt: PacketSpec): FieldValue {
  const spec = fieldSpec(name);
  if (spec.kind === 'wide') return { value: [...(pkt[name] as number[])], mask: wideFull(spec.words) };
  const x = pkt[name] as number;
  if (spec.kind === 'port') return { value: x, mask: 0xffff };
  if (name === 'ip_frag') return x === 0 ? { value: 0, mask: 1 } : { value: x, mask: 3 };
  return { value: (x & spec.exactMask) >>> 0, mask: spec.exactMask };
}

function sameValue(a: number | number[], b: number | number[]): boolean {
  return Array.isArray(a) ? wideEqual(a, b as number[]) : a === b;
}

/**
 * Flow text describing a concrete packet: the fields in `focus` when given (with the protocol
 * fields they depend on), else every field that applies to the packet and is not at its default.
 * parsePacketSpec(printPacket(p)) gives p back for packets that parsePacketSpec produced.
 */
export function printPacket(pkt: PacketSpec, focus?: FlowMatch): string {
  const out: Partial<Record<FieldName, FieldValue>> = {};
  if (pkt.dl_type !== 0) out.dl_type = exactFieldOf('dl_type', pkt);
  const ip = pkt.dl_type === ETH_TYPE_IP || pkt.dl_type === ETH_TYPE_IPV6;
  const wanted = focus ? fieldsOf(focus) : undefined;
  if (ip && (pkt.nw_proto !== 0 || wanted?.nw_proto)) out.nw_proto = exactFieldOf('nw_proto', pkt);
  const proto = orderMatch(out);
  const defaults = defaultPacket(pkt.dl_type, pkt.nw_proto);
  for (const name of FIELD_ORDER) {
    if (name === 'dl_type' || name === 'nw_proto') continue;
    if (wanted ? wanted[name] === undefined : sameValue(pkt[name], defaults[name])) continue;
    if (!prereqMet(fieldSpec(name).prereq, proto)) continue;
    out[name] = exactFieldOf(name, pkt);
  }
  return printFlow(orderMatch(out));
}

function isConcrete(name: FieldName, v: FieldValue): boolean {
  const spec = fieldSpec(name);
  if (spec.kind === 'wide') return (v as WideMasked).mask.every((w) => w === 0xffff);
  if (spec.kind === 'port') return (v as PortMatch).mask === 0xffff && !(v as PortMatch).range;
  const m = v as Masked;
  if (name === 'vlan_tci') return true; // dl_vlan / dl_vlan_pcp leave the other TCI bits at 0
  if (name === 'ip_frag') return (m.value === 0 && m.mask === 1) || m.mask === 3;
  return m.mask === spec.exactMask;
}

/**
 * Parses a concrete packet description. Fields left out take defaults (0; TTL 64 for IP); a
 * field given as a set (a mask, a prefix, a range, `ip_frag=yes`) is an error.
 */
export function parsePacketSpec(text: string, loc?: Location): Result<PacketSpec> {
  const r = parseFlowDetailed(text, loc);
  if (!r.ok) return r;
  const { match, offsets } = r.value;
  const errors: Diagnostic[] = [];
  const fields = fieldsOf(match);
  for (const name of FIELD_ORDER) {
    const v = fields[name];
    if (v === undefined || isConcrete(name, v)) continue;
    const shown = formatFieldValues(name, normaliseField(name, v) as FieldValue).join(',');
    errors.push(
      diag('E_PACKET_NOT_CONCRETE', `${name}=${shown} is a set of values; a packet description needs one value per field`, {
        ...loc,
        col: (loc?.col ?? 1) + (offsets[name] ?? 0),
      }),
    );
  }
  if (errors.length > 0) return fail(errors);
  return ok(packetIn(match));
}
