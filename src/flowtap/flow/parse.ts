/**
 * The flow syntax: `ovs-ofctl` match syntax (comma- or space-separated `field=value` elements
 * and protocol shorthands), plus flowtap's port ranges (`tp_dst=8000-8100`) and application
 * shorthands (`http`, `https`, `postgres`, `nats`, `dns`). What OVS 3.1 accepts, flowtap
 * accepts with the same meaning, except where OVS silently drops or alters an element: there
 * flowtap refuses it (fields.ts: FLOWTAP_EXTENSIONS; test/flow-syntax-ovs.test.ts checks both).
 *
 * Element order does not matter: shorthands and dl_type are applied first, so `tp_dst=80,tcp`
 * means the same as `tcp,tp_dst=80`, and `nw_src` names the ARP sender address when the match
 * is ARP, as in OVS. A field given twice is the intersection of both; an empty intersection is
 * an error. Every error is positioned at the column of the offending element (or value part).
 */
import { diag, fail, ok, type Diagnostic, type Location, type Result, type DiagCode } from '../../diagnostics/index.js';
import { closestName } from './errors.js';
import { intersectField, normaliseField, orderMatch, type FieldValue } from './field-ops.js';
import {
  ETH_TYPE_ARP,
  ETH_TYPE_RARP,
  REG_FIELDS,
  SHORTHANDS,
  TRANSPORT_HEADER_FIELDS,
  describePrereq,
  laterFragment,
  prereqMet,
  type FieldName,
  type FlowMatch,
  type Masked,
  type Prereq,
} from './fields.js';
import { parseDlVlan, parseDlVlanPcp, parseIpDscp, parseStoredValue, type ValueResult } from './parse-value.js';

/** Longest flow text accepted; far above any real match, low enough to bound the work. */
const MAX_FLOW_LENGTH = 8192;

interface Element {
  text: string;
  name: string;
  value: string | undefined;
  /** Offsets in the flow text. */
  start: number;
  valueStart: number;
}

type Special = 'dl_vlan' | 'dl_vlan_pcp' | 'ip_dscp' | 'nw_addr' | 'nw_proto';

interface NameEntry {
  field: FieldName;
  prereq: Prereq;
  special?: Special;
  /** For nw_addr: the ARP field the name stands for in an ARP match. */
  arpField?: FieldName;
}

const entry = (field: FieldName, prereq: Prereq, special?: Special, arpField?: FieldName): NameEntry =>
  special ? (arpField ? { field, prereq, special, arpField } : { field, prereq, special }) : { field, prereq };

/** Every field name accepted, OpenFlow 1.0 spelling first, then the OXM spellings OVS also takes. */
const NAMES: Record<string, NameEntry> = {
  in_port: entry('in_port', 'none'),
  dl_vlan: entry('vlan_tci', 'none', 'dl_vlan'),
  dl_vlan_pcp: entry('vlan_tci', 'none', 'dl_vlan_pcp'),
  vlan_tci: entry('vlan_tci', 'none'),
  dl_src: entry('dl_src', 'none'),
  dl_dst: entry('dl_dst', 'none'),
  eth_src: entry('dl_src', 'none'),
  eth_dst: entry('dl_dst', 'none'),
  dl_type: entry('dl_type', 'none'),
  eth_type: entry('dl_type', 'none'),
  nw_src: entry('nw_src', 'ipv4arp', 'nw_addr', 'arp_spa'),
  nw_dst: entry('nw_dst', 'ipv4arp', 'nw_addr', 'arp_tpa'),
  ip_src: entry('nw_src', 'ipv4'),
  ip_dst: entry('nw_dst', 'ipv4'),
  nw_proto: entry('nw_proto', 'iparp', 'nw_proto', 'arp_op'),
  ip_proto: entry('nw_proto', 'ip'),
  nw_tos: entry('nw_tos', 'ip'),
  ip_dscp: entry('nw_tos', 'ip', 'ip_dscp'),
  nw_ecn: entry('nw_ecn', 'ip'),
  ip_ecn: entry('nw_ecn', 'ip'),
  nw_ttl: entry('nw_ttl', 'ip'),
  ip_frag: entry('ip_frag', 'ip'),
  nw_frag: entry('ip_frag', 'ip'),
  tp_src: entry('tp_src', 'l4'),
  tp_dst: entry('tp_dst', 'l4'),
  tcp_src: entry('tp_src', 'tcp'),
  tcp_dst: entry('tp_dst', 'tcp'),
  udp_src: entry('tp_src', 'udp'),
  udp_dst: entry('tp_dst', 'udp'),
  sctp_src: entry('tp_src', 'sctp'),
  sctp_dst: entry('tp_dst', 'sctp'),
  tcp_flags: entry('tcp_flags', 'tcp'),
  icmp_type: entry('icmp_type', 'icmp'),
  icmp_code: entry('icmp_code', 'icmp'),
  icmpv6_type: entry('icmp_type', 'icmpv6'),
  icmpv6_code: entry('icmp_code', 'icmpv6'),
  ipv6_src: entry('ipv6_src', 'ipv6'),
  ipv6_dst: entry('ipv6_dst', 'ipv6'),
  ipv6_label: entry('ipv6_label', 'ipv6'),
  arp_sha: entry('arp_sha', 'arp'),
  arp_tha: entry('arp_tha', 'arp'),
  arp_spa: entry('arp_spa', 'arp'),
  arp_tpa: entry('arp_tpa', 'arp'),
  arp_op: entry('arp_op', 'arp'),
  tun_id: entry('tun_id', 'none'),
  tunnel_id: entry('tun_id', 'none'),
  tun_src: entry('tun_src', 'none'),
  tun_dst: entry('tun_dst', 'none'),
  metadata: entry('metadata', 'none'),
  ct_state: entry('ct_state', 'none'),
  ct_zone: entry('ct_zone', 'none'),
  ct_mark: entry('ct_mark', 'none'),
  nd_target: entry('nd_target', 'nd'),
  ...Object.fromEntries(REG_FIELDS.map((r) => [r, entry(r, 'none')])),
};

/** OVS flow keywords that are not packet fields; flowtap's renderers choose them. */
const NOT_MATCH_FIELDS = new Set([
  'priority',
  'actions',
  'table',
  'cookie',
  'idle_timeout',
  'hard_timeout',
  'importance',
  'out_port',
  'out_group',
]);

const KNOWN_WORDS = [...Object.keys(NAMES), ...Object.keys(SHORTHANDS)];

function tokenize(text: string): Element[] {
  const out: Element[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && isSeparator(text.charCodeAt(i))) i++;
    if (i >= text.length) break;
    const start = i;
    while (i < text.length && !isSeparator(text.charCodeAt(i))) i++;
    const raw = text.slice(start, i);
    const eq = raw.indexOf('=');
    out.push(
      eq < 0
        ? { text: raw, name: raw, value: undefined, start, valueStart: i }
        : { text: raw, name: raw.slice(0, eq), value: raw.slice(eq + 1), start, valueStart: start + eq + 1 },
    );
  }
  return out;
}

function isSeparator(c: number): boolean {
  return c === 44 /* , */ || c === 32 || c === 9 || c === 10 || c === 13;
}

export interface ParsedFlow {
  match: FlowMatch;
  /** 0-based offset in the text of the element that constrained each field. */
  offsets: Partial<Record<FieldName, number>>;
}

class FlowBuilder {
  readonly fields: Partial<Record<FieldName, FieldValue>> = {};
  readonly from: Partial<Record<FieldName, Element>> = {};
  readonly errors: Diagnostic[] = [];
  readonly needs: Array<{ prereq: Prereq; elem: Element; label: string }> = [];

  constructor(private readonly loc: Location | undefined) {}

  error(code: DiagCode, message: string, offset: number): void {
    const col = (this.loc?.col ?? 1) + offset;
    this.errors.push(diag(code, message, { ...this.loc, col }));
  }

  /** Adds a constraint; a second constraint on the same field must share a value with the first. */
  apply(field: FieldName, v: FieldValue, elem: Element): void {
    const n = normaliseField(field, v);
    if (n === 'any') return;
    if (n === null) {
      this.error('E_FLOW_CONFLICT', `${elem.text} matches no packet`, elem.start);
      return;
    }
    const prev = this.fields[field];
    if (!prev) {
      this.fields[field] = n;
      this.from[field] = elem;
      return;
    }
    const merged = intersectField(field, prev, n);
    if (merged === null) {
      const other = this.from[field];
      const where = other ? `\`${other.text}\` at column ${(this.loc?.col ?? 1) + other.start}` : 'an earlier element';
      this.error('E_FLOW_CONFLICT', `\`${elem.text}\` conflicts with ${where}: ${field} cannot be both`, elem.start);
      return;
    }
    if (merged === 'any') delete this.fields[field];
    else this.fields[field] = merged;
  }

  applyValue(field: FieldName, r: ValueResult, elem: Element): void {
    if (!r.ok) {
      this.error(r.error.code, `\`${elem.text}\`: ${r.error.message}`, elem.valueStart + r.error.at);
      return;
    }
    this.apply(field, r.value, elem);
  }

  shorthand(elem: Element): void {
    const s = SHORTHANDS[elem.name];
    this.apply('dl_type', { value: s.dlType, mask: 0xffff }, elem);
    if (s.nwProto !== undefined) this.apply('nw_proto', { value: s.nwProto, mask: 0xff }, elem);
    if (s.tpDst !== undefined) this.apply('tp_dst', { value: s.tpDst, mask: 0xffff }, elem);
  }

  field(elem: Element, e: NameEntry, dlIsArp: boolean): void {
    const value = elem.value ?? '';
    if (value === '') {
      this.error(
        'E_FLOW_BAD_VALUE',
        `\`${elem.text}\`: ${elem.name} needs a value (${elem.name}=VALUE, or ${elem.name}=* for any)`,
        elem.valueStart,
      );
      return;
    }
    if (value === '*') return;
    const useArp = dlIsArp && e.arpField !== undefined;
    const target = useArp ? e.arpField! : e.field;
    const r = this.value(e, target, value, useArp);
    // A wildcard (`/0`) constrains nothing, so like OVS it needs no prerequisite either.
    if (r.ok && normaliseField(target, r.value) === 'any') return;
    this.needs.push({ prereq: useArp ? 'arp' : e.prereq, elem, label: elem.name });
    this.applyValue(target, r, elem);
  }

  private value(e: NameEntry, target: FieldName, value: string, useArp: boolean): ValueResult {
    switch (e.special) {
      case 'dl_vlan':
        return parseDlVlan(value);
      case 'dl_vlan_pcp':
        return parseDlVlanPcp(value);
      case 'ip_dscp':
        return parseIpDscp(value);
      case 'nw_proto':
        if (useArp) {
          // The ARP opcode is 16 bits wide, but OVS (and so nw_proto's 0..255) bounds it to 8.
          const r = parseStoredValue('nw_proto', value);
          if (!r.ok || (r.value as Masked).mask === 0) return r;
          return { ok: true, value: { value: (r.value as Masked).value, mask: 0xffff } };
        }
        return parseStoredValue(target, value);
      default:
        return parseStoredValue(target, value);
    }
  }

  unknown(elem: Element): void {
    const name = elem.name;
    if (name === '') {
      this.error('E_FLOW_SYNTAX', `\`${elem.text}\`: missing field name before '='`, elem.start);
      return;
    }
    if (NOT_MATCH_FIELDS.has(name)) {
      this.error(
        'E_FLOW_UNKNOWN_FIELD',
        `\`${name}\` is not a packet field: a flow describes traffic only, the renderer chooses ${name}`,
        elem.start,
      );
      return;
    }
    const near = closestName(name, KNOWN_WORDS);
    const kind = elem.value === undefined ? 'shorthand or field' : 'field';
    this.error('E_FLOW_UNKNOWN_FIELD', `unknown ${kind} \`${name}\`${near ? ` (did you mean \`${near}\`?)` : ''}`, elem.start);
  }

  checkPrereqs(m: FlowMatch): void {
    for (const n of this.needs) {
      if (!prereqMet(n.prereq, m)) this.error('E_FLOW_PREREQ', `${n.label} needs ${describePrereq(n.prereq)}`, n.elem.start);
    }
  }
}

/** Parses flow text and also reports where each field came from (for packet descriptions). */
export function parseFlowDetailed(text: string, loc?: Location): Result<ParsedFlow> {
  if (text.length > MAX_FLOW_LENGTH) {
    return fail(
      diag('E_FLOW_SYNTAX', `flow is ${text.length} characters long; at most ${MAX_FLOW_LENGTH} are accepted`, {
        ...loc,
        col: loc?.col ?? 1,
      }),
    );
  }
  const b = new FlowBuilder(loc);
  const elements = tokenize(text);
  const rest: Element[] = [];
  // Phase 1: what the packet is (shorthands, dl_type), since it changes how other names read.
  for (const el of elements) {
    if (Object.hasOwn(SHORTHANDS, el.name)) {
      if (el.value !== undefined) b.error('E_FLOW_SYNTAX', `\`${el.name}\` is a shorthand and takes no value`, el.start);
      else b.shorthand(el);
    } else if ((el.name === 'dl_type' || el.name === 'eth_type') && el.value !== undefined) {
      b.field(el, NAMES[el.name], false);
    } else rest.push(el);
  }
  const dl = b.fields.dl_type as { value: number; mask: number } | undefined;
  const dlIsArp = dl !== undefined && dl.mask === 0xffff && (dl.value === ETH_TYPE_ARP || dl.value === ETH_TYPE_RARP);
  for (const el of rest) {
    const e = Object.hasOwn(NAMES, el.name) ? NAMES[el.name] : undefined;
    if (!e) b.unknown(el);
    else if (el.value === undefined) b.error('E_FLOW_SYNTAX', `\`${el.name}\` needs a value: ${el.name}=VALUE`, el.start);
    else b.field(el, e, dlIsArp);
  }
  const match = orderMatch(b.fields);
  b.checkPrereqs(match);
  if (b.errors.length > 0) return fail(b.errors.sort((x, y) => (x.loc?.col ?? 0) - (y.loc?.col ?? 0)));
  const offsets: Partial<Record<FieldName, number>> = {};
  for (const [k, el] of Object.entries(b.from)) if (el) offsets[k as FieldName] = el.start;
  return ok({ match, offsets });
}

/**
 * Parses flow syntax into a normalised FlowMatch. `loc` locates the flow text in its file:
 * diagnostics keep its file and line and add the column of the offending element.
 *
 * Unlike parseFlowDetailed (which reads packet descriptions, where a later fragment may still
 * name its connection's ports), a match may not test transport fields of a later fragment.
 */
export function parseFlow(text: string, loc?: Location): Result<FlowMatch> {
  const r = parseFlowDetailed(text, loc);
  if (!r.ok) return r;
  const { match, offsets } = r.value;
  if (!laterFragment(match)) return ok(match);
  const errors: Diagnostic[] = [];
  for (const name of TRANSPORT_HEADER_FIELDS) {
    if (match[name] === undefined) continue;
    const col = (loc?.col ?? 1) + (offsets[name] ?? 0);
    errors.push(
      diag(
        'E_FLOW_PREREQ',
        `${name} cannot be matched with ip_frag=later: a later fragment has no transport header (OVS refuses the match); use ip_frag=first or not_later`,
        { ...loc, col },
      ),
    );
  }
  return errors.length > 0 ? fail(errors) : ok(match);
}
