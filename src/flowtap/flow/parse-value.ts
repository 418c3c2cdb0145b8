/**
 * Parsing the value part of one `field=value` element into the stored form of the field.
 * Errors carry the offset within the value text so the caller can point at the column.
 */

import type { DiagCode } from '../../diagnostics/index.js';
import {
  CT_STATE_NAMES,
  PORT_NAMES,
  TCP_FLAG_NAMES,
  fieldSpec,
  fullMask,
  type FieldName,
  type Masked,
  type PortMatch,
  type WideMasked,
} from './fields.js';
import { addressProblem, ipv4Mask, parseIpv4, parseIpv6Groups } from '../../net/index.js';
import { parseMac, parseUint, parseWideUint, wideFull, widePrefixMask } from './values.js';

type ParsedValue = Masked | PortMatch | WideMasked;

interface ValueError {
  code: DiagCode;
  message: string;
  /** Offset within the value text. */
  at: number;
}

export type ValueResult = { ok: true; value: ParsedValue } | { ok: false; error: ValueError };

const good = (value: ParsedValue): ValueResult => ({ ok: true, value });
const bad = (code: DiagCode, message: string, at = 0): ValueResult => ({ ok: false, error: { code, message, at } });

function splitMask(text: string): [string, string | undefined, number] {
  const slash = text.indexOf('/');
  return slash < 0 ? [text, undefined, -1] : [text.slice(0, slash), text.slice(slash + 1), slash + 1];
}

const NUMBER_HINT = 'a number (decimal or 0x hex)';

/** All ones over the whole bytes a field of `bits` bits occupies, as OVS reads masks. */
function byteFull(bits: number): number {
  return bits >= 32 ? 0xffffffff : 2 ** (Math.ceil(bits / 8) * 8) - 1;
}

/**
 * A plain integer value with an optional mask, checked against [0, max]. A field OVS cannot
 * mask still takes the two masks OVS takes for it: all ones over its bytes (an exact match)
 * and zero (any value).
 */
function parseNumber(field: string, text: string, max: number, maskable: boolean, maskMax: number, bits = 32): ValueResult {
  const [vs, ms, mAt] = splitMask(text);
  const v = parseUint(vs);
  if (v === undefined) return bad('E_FLOW_BAD_VALUE', `${field} value "${vs}" is not ${NUMBER_HINT}`);
  if (v > max) return bad('E_FLOW_OUT_OF_RANGE', `${field} value ${vs} is out of range 0..${max}`);
  if (ms === undefined) return good({ value: v, mask: maskMax });
  const m = parseUint(ms);
  if (m === undefined) return bad('E_FLOW_BAD_VALUE', `${field} mask "${ms}" is not ${NUMBER_HINT}`, mAt);
  if (!maskable) {
    if (m === 0) return good({ value: 0, mask: 0 });
    if (m === byteFull(bits)) return good({ value: v, mask: maskMax });
    return bad(
      'E_FLOW_NOT_MASKABLE',
      `${field} cannot be masked in OVS; give one exact value (the only masks it takes are 0 and 0x${byteFull(bits).toString(16)})`,
      mAt - 1,
    );
  }
  if (m > maskMax) return bad('E_FLOW_OUT_OF_RANGE', `${field} mask ${ms} is wider than the field (max 0x${maskMax.toString(16)})`, mAt);
  return good({ value: (v & m) >>> 0, mask: m });
}

function parseIPv4Value(field: string, text: string): ValueResult {
  const [as, ms, mAt] = splitMask(text);
  const addr = parseIpv4(as);
  if (addr === undefined) return bad('E_FLOW_BAD_VALUE', `${field} value "${as}" is not an IPv4 address: ${addressProblem(as, 4)}`);
  if (ms === undefined) return good({ value: addr, mask: 0xffffffff });
  let mask: number | undefined;
  if (/^[0-9]+$/.test(ms)) {
    const len = Number(ms);
    if (len > 32) return bad('E_FLOW_OUT_OF_RANGE', `${field} prefix /${ms} is longer than 32 bits`, mAt);
    mask = ipv4Mask(len);
  } else {
    // Arbitrary (non-contiguous) dotted masks are accepted, as OVS accepts them.
    mask = parseIpv4(ms);
    if (mask === undefined) return bad('E_FLOW_BAD_VALUE', `${field} mask "${ms}" is neither a prefix length nor a dotted IPv4 mask`, mAt);
  }
  return good({ value: (addr & mask) >>> 0, mask });
}

function parseIPv6Value(field: string, text: string): ValueResult {
  const [as, ms, mAt] = splitMask(text);
  const addr = parseIpv6Groups(as);
  if (!addr) return bad('E_FLOW_BAD_VALUE', `${field} value "${as}" is not an IPv6 address: ${addressProblem(as, 6)}`);
  let mask: number[] | undefined;
  if (ms === undefined) mask = wideFull(8);
  else if (/^[0-9]/.test(ms) && !/^[0-9]+$/.test(ms)) {
    // OVS reads a mask that starts with a decimal digit as a prefix length, and refuses the rest.
    return bad(
      'E_FLOW_BAD_VALUE',
      `${field} mask "${ms}" starts with a digit, which OVS reads as a prefix length; write /LEN, or the mask with a leading "::" or hex letter (0:ffff:: is ::ffff:0:0:0:0:0:0)`,
      mAt,
    );
  } else if (/^[0-9]+$/.test(ms)) {
    const len = Number(ms);
    if (len > 128) return bad('E_FLOW_OUT_OF_RANGE', `${field} prefix /${ms} is longer than 128 bits`, mAt);
    mask = widePrefixMask(len, 8);
  } else {
    mask = parseIpv6Groups(ms);
    if (!mask) return bad('E_FLOW_BAD_VALUE', `${field} mask "${ms}" is neither a prefix length nor an IPv6 mask`, mAt);
  }
  const m = mask;
  return good({ value: addr.map((w, i) => w & m[i]), mask: m });
}

function parseMacValue(field: string, text: string): ValueResult {
  const [as, ms, mAt] = splitMask(text);
  const addr = parseMac(as);
  if (!addr) return bad('E_FLOW_BAD_VALUE', `${field} value "${as}" is not a MAC address (xx:xx:xx:xx:xx:xx)`);
  let mask = wideFull(3);
  if (ms !== undefined) {
    const m = parseMac(ms);
    if (!m) return bad('E_FLOW_BAD_VALUE', `${field} mask "${ms}" is not a MAC-style mask (xx:xx:xx:xx:xx:xx)`, mAt);
    mask = m;
  }
  return good({ value: addr.map((w, i) => w & mask[i]), mask });
}

function parseU64Value(field: string, text: string): ValueResult {
  const [vs, ms, mAt] = splitMask(text);
  const v = parseWideUint(vs, 4);
  if (v === undefined) return bad('E_FLOW_BAD_VALUE', `${field} value "${vs}" is not ${NUMBER_HINT}`);
  if (v === 'range') return bad('E_FLOW_OUT_OF_RANGE', `${field} value ${vs} does not fit in 64 bits`);
  let mask = wideFull(4);
  if (ms !== undefined) {
    const m = parseWideUint(ms, 4);
    if (m === undefined) return bad('E_FLOW_BAD_VALUE', `${field} mask "${ms}" is not ${NUMBER_HINT}`, mAt);
    if (m === 'range') return bad('E_FLOW_OUT_OF_RANGE', `${field} mask ${ms} does not fit in 64 bits`, mAt);
    mask = m;
  }
  return good({ value: v.map((w, i) => w & mask[i]), mask });
}

const FRAG_NAMES: Record<string, Masked> = {
  no: { value: 0, mask: 1 },
  yes: { value: 1, mask: 1 },
  first: { value: 1, mask: 3 },
  later: { value: 3, mask: 3 },
  not_later: { value: 0, mask: 2 },
};

function parseFrag(text: string): ValueResult {
  // OVS compares the names without regard to case.
  const v = Object.hasOwn(FRAG_NAMES, text.toLowerCase()) ? FRAG_NAMES[text.toLowerCase()] : undefined;
  return v ? good({ ...v }) : bad('E_FLOW_BAD_VALUE', `ip_frag value "${text}" is not one of no, yes, first, later, not_later`);
}

const TCP_FLAGS = new Map<string, number>(TCP_FLAG_NAMES.map(([n, b]) => [n, b]));
const CT_FLAGS = new Map<string, number>(CT_STATE_NAMES.map(([n, b]) => [n, b]));

/**
 * A flags field as OVS reads it: `+syn-ack` (flags that must be set / clear, each named once),
 * `syn|ack` (exactly these), or `value/mask`. Names are lower case, as in OVS.
 */
function parseFlags(field: string, text: string, names: ReadonlyMap<string, number>, full: number): ValueResult {
  const known = [...names.keys()].filter((n) => !n.startsWith('[')).join(', ');
  if (text.startsWith('+') || text.startsWith('-')) {
    let value = 0;
    let mask = 0;
    const re = /([+-])([a-zA-Z]+|\[[0-9a-f]+\])/gy;
    let pos = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const bit = names.get(m[2]);
      if (bit === undefined) return bad('E_FLOW_BAD_VALUE', `${field} has no flag "${m[2]}" (${known})`, m.index + 1);
      if (mask & bit) return bad('E_FLOW_CONFLICT', `${field} names flag ${m[2]} twice; OVS takes each flag once`, m.index);
      mask |= bit;
      if (m[1] === '+') value |= bit;
      pos = re.lastIndex;
    }
    if (pos !== text.length) return bad('E_FLOW_BAD_VALUE', `${field} "${text}" is not of the form +flag-flag...`, pos);
    return good({ value, mask });
  }
  if (/^[a-z[]/i.test(text)) {
    let value = 0;
    let at = 0;
    for (const name of text.split('|')) {
      const bit = names.get(name);
      if (bit === undefined) return bad('E_FLOW_BAD_VALUE', `${field} has no flag "${name}" (${known})`, at);
      value |= bit;
      at += name.length + 1;
    }
    return good({ value, mask: full });
  }
  return parseNumber(field, text, full, true, full);
}

/** An OpenFlow port: a decimal number or one of OVS's reserved port names (any case). */
function parseInPort(text: string): ValueResult {
  const upper = text.toUpperCase();
  for (const [name, port] of PORT_NAMES) if (upper === name) return good({ value: port, mask: 0xffff });
  if (text.includes('/')) return bad('E_FLOW_NOT_MASKABLE', 'in_port cannot be masked in OVS; give one port', text.indexOf('/'));
  // OVS reads port numbers in decimal only: 0x10 is no port to it.
  if (!/^[0-9]+$/.test(text))
    return bad('E_FLOW_BAD_VALUE', `in_port value "${text}" is not a decimal port number or a reserved port name (LOCAL, ...)`);
  const v = parseUint(text)!;
  if (v > 0xffff) return bad('E_FLOW_OUT_OF_RANGE', `in_port ${text} is out of range 0..65535`);
  return good({ value: v, mask: 0xffff });
}

function parsePort(field: string, text: string): ValueResult {
  const dash = text.indexOf('-');
  if (dash >= 0) {
    if (text.includes('/')) return bad('E_FLOW_BAD_VALUE', `${field} takes either a range or a mask, not both`, text.indexOf('/'));
    const los = text.slice(0, dash);
    const his = text.slice(dash + 1);
    const lo = parseUint(los);
    const hi = parseUint(his);
    if (lo === undefined) return bad('E_FLOW_BAD_VALUE', `${field} range start "${los}" is not ${NUMBER_HINT}`);
    if (hi === undefined) return bad('E_FLOW_BAD_VALUE', `${field} range end "${his}" is not ${NUMBER_HINT}`, dash + 1);
    if (lo > 0xffff) return bad('E_FLOW_OUT_OF_RANGE', `${field} port ${los} is out of range 0..65535`);
    if (hi > 0xffff) return bad('E_FLOW_OUT_OF_RANGE', `${field} port ${his} is out of range 0..65535`, dash + 1);
    if (lo > hi) return bad('E_FLOW_INVERTED_RANGE', `${field} range ${los}-${his} is inverted: its start is above its end`);
    return good({ value: 0, mask: 0, range: { from: lo, to: hi } });
  }
  return parseNumber(field, text, 0xffff, true, 0xffff);
}

/** Parses `text` as a value of stored field `name`. */
export function parseStoredValue(name: FieldName, text: string): ValueResult {
  const spec = fieldSpec(name);
  switch (spec.syntax) {
    case 'ipv4':
      return parseIPv4Value(name, text);
    case 'ipv6':
      return parseIPv6Value(name, text);
    case 'mac':
      return parseMacValue(name, text);
    case 'u64':
      return parseU64Value(name, text);
    case 'frag':
      return parseFrag(text);
    case 'tcp_flags':
      return parseFlags('tcp_flags', text, TCP_FLAGS, 0xfff);
    case 'ct_state':
      return parseFlags('ct_state', text, CT_FLAGS, 0xff);
    case 'port':
      return parsePort(name, text);
    case 'in_port':
      return parseInPort(text);
    case 'uint':
      break;
  }
  if (name === 'nw_tos') {
    const r = parseNumber(name, text, 255, false, 0xfc, 8);
    if (r.ok && (r.value as Masked).mask !== 0 && (r.value as Masked).value % 4 !== 0) {
      return bad(
        'E_FLOW_OUT_OF_RANGE',
        `nw_tos ${text} sets the ECN bits: nw_tos is the DSCP part of the TOS byte, a multiple of 4 from 0 to 252 (use ip_dscp=N for DSCP N, nw_ecn for ECN)`,
      );
    }
    if (r.ok && (r.value as Masked).mask !== 0) (r.value as Masked).mask = 0xfc;
    return r;
  }
  const full = fullMask(spec.bits);
  return parseNumber(name, text, spec.max, spec.maskable, spec.exactMask === full ? full : spec.exactMask, spec.bits);
}

/** `dl_vlan=VID` (0..4095) or `dl_vlan=0xffff` (untagged), as a vlan_tci match. */
export function parseDlVlan(text: string): ValueResult {
  const r = parseNumber('dl_vlan', text, 0xffff, false, 0xffff, 16);
  if (!r.ok || (r.value as Masked).mask === 0) return r;
  const v = (r.value as Masked).value;
  if (v === 0xffff) return good({ value: 0, mask: 0xffff });
  if (v > 4095) return bad('E_FLOW_OUT_OF_RANGE', `dl_vlan ${text} is out of range 0..4095 (or 0xffff for untagged packets)`);
  return good({ value: 0x1000 | v, mask: 0x1fff });
}

/** `dl_vlan_pcp=P` (0..7), as a vlan_tci match on a tagged packet. */
export function parseDlVlanPcp(text: string): ValueResult {
  const r = parseNumber('dl_vlan_pcp', text, 7, false, 7, 8);
  if (!r.ok || (r.value as Masked).mask === 0) return r;
  return good({ value: ((r.value as Masked).value << 13) | 0x1000, mask: 0xf000 });
}

/** `ip_dscp=D` (0..63), as an nw_tos match. */
export function parseIpDscp(text: string): ValueResult {
  const r = parseNumber('ip_dscp', text, 63, false, 63, 8);
  if (!r.ok || (r.value as Masked).mask === 0) return r;
  return good({ value: (r.value as Masked).value << 2, mask: 0xfc });
}
