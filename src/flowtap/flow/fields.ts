/**
 * The OpenFlow match fields flowtap understands, in their `ovs-ofctl` spelling, and the
 * normalised, JSON-serialisable form a parsed flow takes.
 *
 * A FlowMatch denotes a set of packets: the cartesian product of one set per field, so
 * intersection, coverage and matching all work field by field. A field that is absent is a
 * wildcard. Every present field has a non-zero mask and `value & ~mask === 0`.
 */

/** Fields up to 32 bits wide: value and mask are unsigned numbers. */
export type NumField =
  | 'in_port'
  | 'vlan_tci'
  | 'dl_type'
  | 'nw_src'
  | 'nw_dst'
  | 'nw_proto'
  | 'nw_tos'
  | 'nw_ecn'
  | 'nw_ttl'
  | 'ip_frag'
  | 'tcp_flags'
  | 'icmp_type'
  | 'icmp_code'
  | 'ipv6_label'
  | 'arp_spa'
  | 'arp_tpa'
  | 'arp_op'
  | 'tun_src'
  | 'tun_dst'
  | 'ct_state'
  | 'ct_zone'
  | 'ct_mark'
  | RegField;

/** OVS's sixteen 32-bit registers: pipeline scratch state, 0 when a packet enters the switch. */
export type RegField =
  | 'reg0'
  | 'reg1'
  | 'reg2'
  | 'reg3'
  | 'reg4'
  | 'reg5'
  | 'reg6'
  | 'reg7'
  | 'reg8'
  | 'reg9'
  | 'reg10'
  | 'reg11'
  | 'reg12'
  | 'reg13'
  | 'reg14'
  | 'reg15';

export const REG_FIELDS: readonly RegField[] = Array.from({ length: 16 }, (_, i) => `reg${i}` as RegField);

/** Transport ports: a bitwise match and, as flowtap's extension over OVS, a range. */
type PortField = 'tp_src' | 'tp_dst';

/** Fields wider than 32 bits: value and mask are big-endian arrays of 16-bit words. */
type WideField = 'dl_src' | 'dl_dst' | 'ipv6_src' | 'ipv6_dst' | 'arp_sha' | 'arp_tha' | 'tun_id' | 'metadata' | 'nd_target';

export type FieldName = NumField | PortField | WideField;

export interface Masked {
  value: number;
  mask: number;
}

export interface WideMasked {
  value: number[];
  mask: number[];
}

export interface PortRange {
  from: number;
  to: number;
}

/**
 * A port constraint: `(port & mask) === value` and, when `range` is present,
 * `range.from <= port <= range.to`. Normalised so that a range is kept only when it says
 * something the mask does not (see normalisePort).
 */
export interface PortMatch extends Masked {
  range?: PortRange;
}

export type FlowMatch = { [K in NumField]?: Masked } & { [K in PortField]?: PortMatch } & { [K in WideField]?: WideMasked };

/**
 * A concrete packet, described by the same fields. Fields a packet does not have (ports of an
 * ARP packet, say) are 0, as in OVS's flow extraction. `vlan_tci` is 0 for an untagged packet and
 * has 0x1000 set for a tagged one; `nw_tos` holds the DSCP bits (TOS & 0xfc), `nw_ecn` the ECN
 * bits; `ip_frag` is 0 (not a fragment), 1 (first fragment) or 3 (later fragment). Pipeline
 * fields (registers, metadata, conntrack) hold their value as the packet enters the switch: 0.
 */
export type PacketSpec = { [K in NumField | PortField]: number } & { [K in WideField]: number[] };

export const ETH_TYPE_IP = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_RARP = 0x8035;
export const ETH_TYPE_IPV6 = 0x86dd;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;

/** What a field needs the rest of the match to say before it may be matched (OVS prerequisites). */
export type Prereq =
  | 'none'
  | 'ip'
  | 'ipv4'
  | 'ipv6'
  | 'arp'
  /** nw_src/nw_dst: IPv4, or ARP where they name the ARP addresses. */
  | 'ipv4arp'
  /** nw_proto: IP, or ARP where it names the opcode. */
  | 'iparp'
  | 'l4'
  | 'tcp'
  | 'udp'
  | 'sctp'
  | 'icmp'
  | 'icmpv6'
  /** nd_target: an ICMPv6 neighbour solicitation (135) or advertisement (136) with code 0. */
  | 'nd';

type ValueSyntax = 'uint' | 'in_port' | 'ipv4' | 'ipv6' | 'mac' | 'u64' | 'frag' | 'tcp_flags' | 'ct_state' | 'port';

export interface FieldSpec {
  name: FieldName;
  kind: 'num' | 'port' | 'wide';
  /** Width in bits of the stored value. */
  bits: number;
  /** 16-bit words, wide fields only. */
  words: number;
  syntax: ValueSyntax;
  maskable: boolean;
  /** Mask of an exact match when it is not all ones (nw_tos covers only the DSCP bits). */
  exactMask: number;
  /** Largest value accepted when smaller than the width allows. */
  max: number;
  /** Values are printed in hex (0x...) rather than decimal. */
  hex: boolean;
  prereq: Prereq;
  title: string;
  /**
   * Pipeline state rather than packet contents (registers, metadata, conntrack): what a match on
   * it means depends on the switch's own pipeline, so backends other than OVS must refuse it.
   */
  pipeline: boolean;
}

function spec(
  name: FieldName,
  kind: FieldSpec['kind'],
  bits: number,
  syntax: ValueSyntax,
  maskable: boolean,
  prereq: Prereq,
  title: string,
  extra: Partial<FieldSpec> = {},
): FieldSpec {
  const full = bits >= 32 ? 0xffffffff : (1 << bits) - 1;
  return {
    name,
    kind,
    bits,
    words: kind === 'wide' ? bits / 16 : 0,
    syntax,
    maskable,
    exactMask: full,
    max: full,
    hex: false,
    prereq,
    title,
    pipeline: false,
    ...extra,
  };
}

const pipe = { pipeline: true, hex: true };

/**
 * Every field, in the canonical print order: the order ovs-ofctl prints a match in (OVS's
 * match_format), so flowtap's canonical text equals OVS's. The protocol shorthand (`tcp`, ...)
 * goes after the conntrack fields and before the registers; printFlow places it.
 */
const FIELDS: readonly FieldSpec[] = [
  spec('ct_state', 'num', 8, 'ct_state', true, 'none', 'connection tracking state', { pipeline: true }),
  spec('ct_zone', 'num', 16, 'uint', false, 'none', 'connection tracking zone', { pipeline: true }),
  spec('ct_mark', 'num', 32, 'uint', true, 'none', 'connection tracking mark', pipe),
  ...REG_FIELDS.map((r) => spec(r, 'num', 32, 'uint', true, 'none', `register ${r.slice(3)}`, pipe)),
  spec('tun_id', 'wide', 64, 'u64', true, 'none', 'tunnel ID (VNI)', { hex: true }),
  spec('tun_src', 'num', 32, 'ipv4', true, 'none', 'tunnel IPv4 source'),
  spec('tun_dst', 'num', 32, 'ipv4', true, 'none', 'tunnel IPv4 destination'),
  spec('metadata', 'wide', 64, 'u64', true, 'none', 'OpenFlow metadata (between tables)', pipe),
  spec('in_port', 'num', 16, 'in_port', false, 'none', 'OpenFlow ingress port'),
  spec('vlan_tci', 'num', 16, 'uint', true, 'none', '802.1Q TCI (PCP, present bit, VID)', { hex: true }),
  spec('dl_src', 'wide', 48, 'mac', true, 'none', 'Ethernet source'),
  spec('dl_dst', 'wide', 48, 'mac', true, 'none', 'Ethernet destination'),
  spec('dl_type', 'num', 16, 'uint', false, 'none', 'Ethernet type', { hex: true }),
  spec('ipv6_src', 'wide', 128, 'ipv6', true, 'ipv6', 'IPv6 source'),
  spec('ipv6_dst', 'wide', 128, 'ipv6', true, 'ipv6', 'IPv6 destination'),
  spec('ipv6_label', 'num', 20, 'uint', true, 'ipv6', 'IPv6 flow label', { hex: true }),
  spec('nw_src', 'num', 32, 'ipv4', true, 'ipv4', 'IPv4 source'),
  spec('nw_dst', 'num', 32, 'ipv4', true, 'ipv4', 'IPv4 destination'),
  spec('arp_spa', 'num', 32, 'ipv4', true, 'arp', 'ARP source IPv4 address'),
  spec('arp_tpa', 'num', 32, 'ipv4', true, 'arp', 'ARP target IPv4 address'),
  spec('nw_proto', 'num', 8, 'uint', false, 'ip', 'IP protocol'),
  spec('arp_op', 'num', 16, 'uint', false, 'arp', 'ARP opcode', { max: 255 }),
  spec('arp_sha', 'wide', 48, 'mac', true, 'arp', 'ARP source Ethernet address'),
  spec('arp_tha', 'wide', 48, 'mac', true, 'arp', 'ARP target Ethernet address'),
  spec('nw_tos', 'num', 8, 'uint', false, 'ip', 'IP DSCP bits of the TOS byte', { exactMask: 0xfc }),
  spec('nw_ecn', 'num', 8, 'uint', false, 'ip', 'IP ECN bits', { exactMask: 0x03, max: 3 }),
  spec('nw_ttl', 'num', 8, 'uint', false, 'ip', 'IP TTL / hop limit'),
  spec('ip_frag', 'num', 8, 'frag', true, 'ip', 'IP fragment state', { max: 3 }),
  spec('icmp_type', 'num', 8, 'uint', false, 'icmp', 'ICMP type'),
  spec('icmp_code', 'num', 8, 'uint', false, 'icmp', 'ICMP code'),
  spec('tp_src', 'port', 16, 'port', true, 'l4', 'transport source port'),
  spec('tp_dst', 'port', 16, 'port', true, 'l4', 'transport destination port'),
  spec('nd_target', 'wide', 128, 'ipv6', true, 'nd', 'IPv6 neighbour discovery target'),
  spec('tcp_flags', 'num', 12, 'tcp_flags', true, 'tcp', 'TCP flags'),
];

export const FIELD_ORDER: readonly FieldName[] = FIELDS.map((f) => f.name);

const BY_NAME = new Map<string, FieldSpec>(FIELDS.map((f) => [f.name, f]));

export function fieldSpec(name: FieldName): FieldSpec {
  const f = BY_NAME.get(name);
  if (!f) throw new Error(`internal: no field ${name}`);
  return f;
}

export function isFieldName(name: string): name is FieldName {
  return BY_NAME.has(name);
}

/** The pipeline-state fields a match constrains (registers, metadata, conntrack), which only OVS has. */
export function pipelineFields(m: FlowMatch): FieldName[] {
  return (Object.keys(m) as FieldName[]).filter((n) => m[n] !== undefined && BY_NAME.get(n)?.pipeline);
}

/**
 * flowtap's extensions to OVS's flow syntax. Everything else in the syntax means what
 * `ovs-ofctl` makes of it, and prints the way `ovs-ofctl parse-flow` prints it (the
 * flow-syntax oracle test holds flowtap to that):
 * - `range`: port ranges on tp_src/tp_dst (and their tcp_/udp_/sctp_ aliases): `tp_dst=8000-8080`;
 * - `app-shorthand`: the application shorthands (`http`, `https`, `postgres`, `nats`, `dns`);
 * - `repeat`: a field given twice is the intersection of both (OVS keeps the last);
 * - `strict`: where OVS silently drops or alters an element (a field whose prerequisites are
 *   unmet, a protocol's name for a field used under another protocol, a value beyond the
 *   field's defined range that OVS truncates, an address OVS's scanf wraps, an empty value that
 *   OVS reads as "any"), flowtap refuses it with an error instead, so a contract never means
 *   less than it says.
 */
export const FLOWTAP_EXTENSIONS = ['range', 'app-shorthand', 'repeat', 'strict'] as const;
export type FlowtapExtension = (typeof FLOWTAP_EXTENSIONS)[number];

/** A protocol shorthand: the dl_type (and nw_proto) it stands for. */
export interface Shorthand {
  dlType: number;
  nwProto?: number;
  /** flowtap's application shorthands also fix the destination port. */
  tpDst?: number;
  /** A flowtap extension that OVS does not know (`app-shorthand` in FLOWTAP_EXTENSIONS). */
  extension?: true;
}

const ETH_TYPE_MPLS = 0x8847;
const ETH_TYPE_MPLS_MCAST = 0x8848;

export const SHORTHANDS: Readonly<Record<string, Shorthand>> = {
  ip: { dlType: ETH_TYPE_IP },
  ipv4: { dlType: ETH_TYPE_IP },
  ipv6: { dlType: ETH_TYPE_IPV6 },
  ip6: { dlType: ETH_TYPE_IPV6 },
  icmp: { dlType: ETH_TYPE_IP, nwProto: IPPROTO_ICMP },
  icmp6: { dlType: ETH_TYPE_IPV6, nwProto: IPPROTO_ICMPV6 },
  tcp: { dlType: ETH_TYPE_IP, nwProto: IPPROTO_TCP },
  tcp6: { dlType: ETH_TYPE_IPV6, nwProto: IPPROTO_TCP },
  udp: { dlType: ETH_TYPE_IP, nwProto: IPPROTO_UDP },
  udp6: { dlType: ETH_TYPE_IPV6, nwProto: IPPROTO_UDP },
  sctp: { dlType: ETH_TYPE_IP, nwProto: IPPROTO_SCTP },
  sctp6: { dlType: ETH_TYPE_IPV6, nwProto: IPPROTO_SCTP },
  arp: { dlType: ETH_TYPE_ARP },
  rarp: { dlType: ETH_TYPE_RARP },
  mpls: { dlType: ETH_TYPE_MPLS },
  mplsm: { dlType: ETH_TYPE_MPLS_MCAST },
  http: { dlType: ETH_TYPE_IP, nwProto: IPPROTO_TCP, tpDst: 80, extension: true },
  https: { dlType: ETH_TYPE_IP, nwProto: IPPROTO_TCP, tpDst: 443, extension: true },
  postgres: { dlType: ETH_TYPE_IP, nwProto: IPPROTO_TCP, tpDst: 5432, extension: true },
  nats: { dlType: ETH_TYPE_IP, nwProto: IPPROTO_TCP, tpDst: 4222, extension: true },
  dns: { dlType: ETH_TYPE_IP, nwProto: IPPROTO_UDP, tpDst: 53, extension: true },
};

/** The shorthand OVS prints for an exact dl_type (and nw_proto), or undefined. */
export function shorthandFor(dlType: number, nwProto: number | undefined): { name: string; usesProto: boolean } | undefined {
  if (dlType === ETH_TYPE_IP || dlType === ETH_TYPE_IPV6) {
    const six = dlType === ETH_TYPE_IPV6 ? '6' : '';
    switch (nwProto) {
      case IPPROTO_TCP:
        return { name: 'tcp' + six, usesProto: true };
      case IPPROTO_UDP:
        return { name: 'udp' + six, usesProto: true };
      case IPPROTO_SCTP:
        return { name: 'sctp' + six, usesProto: true };
    }
    if (dlType === ETH_TYPE_IP && nwProto === IPPROTO_ICMP) return { name: 'icmp', usesProto: true };
    if (dlType === ETH_TYPE_IPV6 && nwProto === IPPROTO_ICMPV6) return { name: 'icmp6', usesProto: true };
    return { name: dlType === ETH_TYPE_IP ? 'ip' : 'ipv6', usesProto: false };
  }
  if (dlType === ETH_TYPE_ARP) return { name: 'arp', usesProto: false };
  if (dlType === ETH_TYPE_RARP) return { name: 'rarp', usesProto: false };
  if (dlType === ETH_TYPE_MPLS) return { name: 'mpls', usesProto: false };
  if (dlType === ETH_TYPE_MPLS_MCAST) return { name: 'mplsm', usesProto: false };
  return undefined;
}

/** Exact value of a narrow field in a match, or undefined when it is wildcarded or masked. */
export function exactOf(m: FlowMatch, name: NumField): number | undefined {
  const f = m[name];
  if (!f) return undefined;
  return f.mask === fieldSpec(name).exactMask ? f.value : undefined;
}

export function prereqMet(p: Prereq, m: FlowMatch): boolean {
  if (p === 'none') return true;
  const dl = exactOf(m, 'dl_type');
  const proto = exactOf(m, 'nw_proto');
  const ip = dl === ETH_TYPE_IP || dl === ETH_TYPE_IPV6;
  switch (p) {
    case 'ip':
      return ip;
    case 'ipv4':
      return dl === ETH_TYPE_IP;
    case 'ipv6':
      return dl === ETH_TYPE_IPV6;
    case 'arp':
      return dl === ETH_TYPE_ARP || dl === ETH_TYPE_RARP;
    case 'ipv4arp':
      return dl === ETH_TYPE_IP || dl === ETH_TYPE_ARP || dl === ETH_TYPE_RARP;
    case 'iparp':
      return ip || dl === ETH_TYPE_ARP || dl === ETH_TYPE_RARP;
    case 'l4':
      return ip && (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP);
    case 'tcp':
      return ip && proto === IPPROTO_TCP;
    case 'udp':
      return ip && proto === IPPROTO_UDP;
    case 'sctp':
      return ip && proto === IPPROTO_SCTP;
    case 'icmp':
      return (dl === ETH_TYPE_IP && proto === IPPROTO_ICMP) || (dl === ETH_TYPE_IPV6 && proto === IPPROTO_ICMPV6);
    case 'icmpv6':
      return dl === ETH_TYPE_IPV6 && proto === IPPROTO_ICMPV6;
    case 'nd': {
      // As OVS decides it: on the match's values, so a wildcarded icmp_code (value 0) passes.
      const type = m.icmp_type?.value;
      return dl === ETH_TYPE_IPV6 && proto === IPPROTO_ICMPV6 && (type === 135 || type === 136) && (m.icmp_code?.value ?? 0) === 0;
    }
  }
}

/**
 * The match's ip_frag value has the "later" bit. OVS then refuses transport fields (a later
 * fragment carries no transport header; OVS reads its ports as 0), whatever the protocol says.
 */
export function laterFragment(m: FlowMatch): boolean {
  const f = m.ip_frag;
  return f !== undefined && (f.value & 2) !== 0;
}

/** Fields read from the transport header, which OVS refuses next to ip_frag=later (ICMP's are allowed). */
export const TRANSPORT_HEADER_FIELDS: readonly FieldName[] = ['tp_src', 'tp_dst', 'tcp_flags'];

/** What a prerequisite asks for, in words a person can act on. */
export function describePrereq(p: Prereq): string {
  switch (p) {
    case 'none':
      return 'nothing';
    case 'ip':
      return 'dl_type 0x0800 or 0x86dd (add `ip` or `ipv6`, or a protocol such as `tcp`)';
    case 'ipv4':
      return 'dl_type 0x0800 (add `ip` or an IPv4 protocol such as `tcp`; for IPv6 use ipv6_src/ipv6_dst)';
    case 'ipv6':
      return 'dl_type 0x86dd (add `ipv6` or an IPv6 protocol such as `tcp6`)';
    case 'arp':
      return 'dl_type 0x0806 or 0x8035 (add `arp` or `rarp`)';
    case 'ipv4arp':
      return 'dl_type 0x0800, or 0x0806/0x8035 for the ARP addresses (add `ip`, `tcp`, ... or `arp`; for IPv6 use ipv6_src/ipv6_dst)';
    case 'iparp':
      return 'dl_type 0x0800 or 0x86dd, or 0x0806/0x8035 for the ARP opcode (add `ip`, `ipv6` or `arp`)';
    case 'l4':
      return 'nw_proto 6, 17 or 132 over IP (add `tcp`, `udp` or `sctp`; for ICMP use icmp_type/icmp_code)';
    case 'tcp':
      return 'nw_proto 6 over IP (add `tcp` or `tcp6`)';
    case 'udp':
      return 'nw_proto 17 over IP (add `udp` or `udp6`)';
    case 'sctp':
      return 'nw_proto 132 over IP (add `sctp` or `sctp6`)';
    case 'icmp':
      return 'ICMP: nw_proto 1 over IPv4 or 58 over IPv6 (add `icmp` or `icmp6`)';
    case 'icmpv6':
      return 'nw_proto 58 over IPv6 (add `icmp6`)';
    case 'nd':
      return 'an ICMPv6 neighbour solicitation or advertisement (add `icmp6,icmp_type=135` or `icmp6,icmp_type=136`, with icmp_code 0 if any)';
  }
}

/** All ones over a field's width, for narrow fields. */
export function fullMask(bits: number): number {
  return bits >= 32 ? 0xffffffff : (1 << bits) - 1;
}

/** Possible packet values of ip_frag: not a fragment, first fragment, later fragment. */
export const FRAG_VALUES: readonly number[] = [0, 1, 3];

/** TCP flag names by bit, as OVS spells them. */
export const TCP_FLAG_NAMES: ReadonlyArray<readonly [string, number]> = [
  ['fin', 0x001],
  ['syn', 0x002],
  ['rst', 0x004],
  ['psh', 0x008],
  ['ack', 0x010],
  ['urg', 0x020],
  ['ece', 0x040],
  ['cwr', 0x080],
  ['ns', 0x100],
  ['[200]', 0x200],
  ['[400]', 0x400],
  ['[800]', 0x800],
];

/** Connection tracking state flag names by bit, as OVS spells them (and prints them, in this order). */
export const CT_STATE_NAMES: ReadonlyArray<readonly [string, number]> = [
  ['new', 0x01],
  ['est', 0x02],
  ['rel', 0x04],
  ['rpl', 0x08],
  ['inv', 0x10],
  ['trk', 0x20],
  ['snat', 0x40],
  ['dnat', 0x80],
];

/** OpenFlow 1.0 reserved port numbers with the names OVS reads and prints for them. */
export const PORT_NAMES: ReadonlyArray<readonly [string, number]> = [
  ['IN_PORT', 0xfff8],
  ['TABLE', 0xfff9],
  ['NORMAL', 0xfffa],
  ['FLOOD', 0xfffb],
  ['ALL', 0xfffc],
  ['CONTROLLER', 0xfffd],
  ['LOCAL', 0xfffe],
  ['ANY', 0xffff],
  ['NONE', 0xffff],
];
