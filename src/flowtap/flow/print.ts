/**
 * Canonical flow text: shorthands where OVS prints them (`tcp`, `udp6`, `arp`, ...), fields in
 * OVS's print order, values in OVS's print form. parseFlow(printFlow(m)) deep-equals m for every
 * normalised match. Application shorthands (`http`) are input sugar and print as what they mean.
 */
import { normaliseField, fieldsOf, type FieldValue } from './field-ops.js';
import {
  CT_STATE_NAMES,
  FIELD_ORDER,
  PORT_NAMES,
  TCP_FLAG_NAMES,
  exactOf,
  fieldSpec,
  shorthandFor,
  type FieldName,
  type FlowMatch,
  type Masked,
  type PortMatch,
  type WideMasked,
} from './fields.js';
import { formatIpv4, formatIpv6Groups } from '../../net/index.js';
import { formatMac, formatWideHex, prefixLength, wideIsFull, widePrefixLength } from './values.js';

const hex = (n: number, width = 0) => '0x' + n.toString(16).padStart(width, '0');

function formatIPv4Masked(m: Masked): string {
  if (m.mask === 0xffffffff) return formatIpv4(m.value);
  const len = prefixLength(m.mask, 32);
  return `${formatIpv4(m.value)}/${len >= 0 ? len : formatIpv4(m.mask)}`;
}

/**
 * An IPv6 address as OVS prints it, through glibc's inet_ntop: RFC 5952, except that an
 * address whose first six groups alone are zero (an old IPv4-compatible one) ends in dotted
 * IPv4, `::2.0.0.1`.
 */
function formatIpv6Ovs(g: readonly number[]): string {
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0 && g[6] !== 0)
    return `::${g[6] >>> 8}.${g[6] & 255}.${g[7] >>> 8}.${g[7] & 255}`;
  return formatIpv6Groups(g);
}

function formatIPv6Masked(m: WideMasked): string {
  if (wideIsFull(m.mask)) return formatIpv6Ovs(m.value);
  const len = widePrefixLength(m.mask);
  return `${formatIpv6Ovs(m.value)}/${len >= 0 ? len : formatIpv6Ovs(m.mask)}`;
}

function formatFrag(m: Masked): string {
  const n = normaliseField('ip_frag', m);
  const c = n === 'any' || n === null ? m : (n as Masked);
  const key = `${c.value}/${c.mask}`;
  const names: Record<string, string> = { '0/1': 'no', '1/1': 'yes', '1/3': 'first', '3/3': 'later', '0/2': 'not_later' };
  return names[key] ?? `${hex(c.value)}/${hex(c.mask)}`;
}

/** Exact flags as `a|b` (or `0`), masked ones as `+set-clear`, both in bit order as OVS prints them. */
function formatFlags(m: Masked, names: ReadonlyArray<readonly [string, number]>, full: number): string {
  if (m.mask === full) {
    if (m.value === 0) return '0';
    return names
      .filter(([, bit]) => m.value & bit)
      .map(([name]) => name)
      .join('|');
  }
  let out = '';
  for (const [name, bit] of names) if (m.mask & bit) out += (m.value & bit ? '+' : '-') + name;
  return out;
}

/** As C's `%#x`: zero is plain `0`. */
const cHex = (n: number) => (n === 0 ? '0' : hex(n));

/** OVS's OpenFlow 1.0 port names for the reserved range; other ports in decimal. */
function formatPort(port: number): string {
  for (const [name, p] of PORT_NAMES) if (p === port) return name;
  return String(port);
}

function formatNum(name: FieldName, m: Masked): string {
  const spec = fieldSpec(name);
  switch (spec.syntax) {
    case 'ipv4':
      return formatIPv4Masked(m);
    case 'frag':
      return formatFrag(m);
    case 'tcp_flags':
      return formatFlags(m, TCP_FLAG_NAMES, 0xfff);
    case 'ct_state':
      return formatFlags(m, CT_STATE_NAMES, 0xff);
    case 'in_port':
      return formatPort(m.value);
    default:
      break;
  }
  const exact = m.mask === spec.exactMask;
  // Registers and ct_mark print as OVS's `%#x`; the fixed-width ones as `0x%04x` / `0x%05x`.
  if (spec.pipeline && spec.hex) return exact ? cHex(m.value) : `${cHex(m.value)}/${cHex(m.mask)}`;
  const width = name === 'vlan_tci' || name === 'dl_type' ? 4 : name === 'ipv6_label' ? 5 : 0;
  if (spec.hex) return exact ? hex(m.value, width) : `${hex(m.value, width)}/${hex(m.mask, width)}`;
  return exact ? String(m.value) : `${hex(m.value)}/${hex(m.mask)}`;
}

/** The value text of one field (what follows `name=`); a port with a mask and a range gives two. */
export function formatFieldValues(name: FieldName, v: FieldValue): string[] {
  const spec = fieldSpec(name);
  if (spec.kind === 'wide') {
    const w = v as WideMasked;
    if (spec.syntax === 'ipv6') return [formatIPv6Masked(w)];
    if (spec.syntax === 'mac') return [wideIsFull(w.mask) ? formatMac(w.value) : `${formatMac(w.value)}/${formatMac(w.mask)}`];
    return [wideIsFull(w.mask) ? formatWideHex(w.value) : `${formatWideHex(w.value)}/${formatWideHex(w.mask)}`];
  }
  if (spec.kind === 'port') {
    const p = v as PortMatch;
    const out: string[] = [];
    if (p.mask !== 0 || !p.range) out.push(p.mask === 0xffff ? String(p.value) : `${hex(p.value)}/${hex(p.mask)}`);
    if (p.range) out.push(`${p.range.from}-${p.range.to}`);
    return out;
  }
  return [formatNum(name, v as Masked)];
}

/** `field=value` elements for the VLAN TCI, as OVS prints it (dl_vlan/dl_vlan_pcp when it can). */
function vlanElements(m: Masked): string[] {
  const vid = m.mask & 0x0fff;
  const pcp = m.mask & 0xe000;
  if (m.mask & 0x1000 && m.value & 0x1000 && (vid === 0 || vid === 0x0fff) && (pcp === 0 || pcp === 0xe000) && (vid || pcp)) {
    const out: string[] = [];
    if (vid) out.push(`dl_vlan=${m.value & 0x0fff}`);
    if (pcp) out.push(`dl_vlan_pcp=${m.value >>> 13}`);
    return out;
  }
  return [m.mask === 0xffff ? `vlan_tci=${hex(m.value, 4)}` : `vlan_tci=${hex(m.value, 4)}/${hex(m.mask, 4)}`];
}

/** The name OVS prints a field under, where it differs from flowtap's. */
const PRINT_NAME: Partial<Record<FieldName, string>> = { ip_frag: 'nw_frag' };

/** Fields OVS prints before the protocol shorthand. */
const BEFORE_SHORTHAND = new Set<FieldName>(['ct_state', 'ct_zone', 'ct_mark']);

/** The elements of a match, in canonical order. */
function flowElements(m: FlowMatch): string[] {
  const out: string[] = [];
  const fields = fieldsOf(m);
  const dl = exactOf(m, 'dl_type');
  const short = dl === undefined ? undefined : shorthandFor(dl, exactOf(m, 'nw_proto'));
  let shortDone = short === undefined;
  for (const name of FIELD_ORDER) {
    const v = fields[name];
    if (v === undefined) continue;
    if (!shortDone && !BEFORE_SHORTHAND.has(name)) {
      out.push(short!.name);
      shortDone = true;
    }
    if (name === 'dl_type' && short) continue;
    if (name === 'nw_proto' && short?.usesProto) continue;
    if (name === 'vlan_tci') {
      out.push(...vlanElements(v as Masked));
      continue;
    }
    const printed = PRINT_NAME[name] ?? name;
    for (const text of formatFieldValues(name, v)) out.push(`${printed}=${text}`);
  }
  if (!shortDone) out.push(short!.name);
  return out;
}

/** Canonical flow text of a match; the empty string matches every packet. */
export function printFlow(m: FlowMatch): string {
  return flowElements(m).join(',');
}
