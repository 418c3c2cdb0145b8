/**
 * Translates a FlowTap flow (OpenFlow match fields) into an nftables match expression for a
 * netdev-family chain hooked on an instance's veth (nftables 1.0.6, kernel 6.x).
 *
 * - dl_type becomes `meta protocol`, which reads skb->protocol: with the VLAN tag carried out
 *   of band (as on veth), a tagged IPv4 frame still has protocol ip, as OVS's dl_type is the
 *   type after the tag.
 * - Every field is checked against the protocol the match fixes (dl_type, nw_proto), so a
 *   field that would make nft guess a dependency is an error here rather than a rejected script.
 * - ARP fields use nft's `arp` expressions; for RARP (dl_type 0x8035) nft refuses them, so they
 *   are raw network-header loads, exact or on whole-byte prefixes only (nft 1.0.6 aborts when
 *   listing masked raw loads under that protocol, which would break reading counters back).
 * - A field nft cannot express on a veth in the netdev family (in_port, tunnel metadata, IPv6
 *   fragments, odd VLAN masks) is an E_BACKEND_UNSUPPORTED diagnostic naming the field and the
 *   backend; nothing is dropped silently. All such fields are reported, not just the first.
 */
import { diag, fail, ok, type Diagnostic, type Location, type Result } from '../../diagnostics/index.js';
import {
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  ETH_TYPE_RARP,
  FIELD_ORDER,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  formatIPv4,
  formatIPv6,
  formatMac,
  pipelineFields,
  prefixLength,
  widePrefixLength,
  type FieldName,
  type FlowMatch,
  type Masked,
  type PortMatch,
  type WideMasked,
} from '../../flowtap/index.js';

/** Name of this backend in diagnostics. */
export const NFT_TAP_BACKEND = 'nftables';

/** The nftables flavours flowToNft renders for; only netdev chains on a port exist today. */
export type NftFlowBackend = 'nftables-netdev';

const KNOWN_FIELDS = new Set<string>(FIELD_ORDER);

const PROTOCOL_NAMES: Record<number, string> = {
  [ETH_TYPE_IP]: 'ip',
  [ETH_TYPE_IPV6]: 'ip6',
  [ETH_TYPE_ARP]: 'arp',
};

const L4_NAMES: Record<number, string> = {
  [IPPROTO_ICMP]: 'icmp',
  [IPPROTO_TCP]: 'tcp',
  [IPPROTO_UDP]: 'udp',
  [IPPROTO_ICMPV6]: 'ipv6-icmp',
  [IPPROTO_SCTP]: 'sctp',
};

/** Offsets (bits from the network header) of the ARP fields, for RARP's raw loads. */
const RAW_ARP: Record<'arp_op' | 'arp_sha' | 'arp_spa' | 'arp_tha' | 'arp_tpa', { offset: number; bits: number }> = {
  arp_op: { offset: 48, bits: 16 },
  arp_sha: { offset: 64, bits: 48 },
  arp_spa: { offset: 112, bits: 32 },
  arp_tha: { offset: 144, bits: 48 },
  arp_tpa: { offset: 192, bits: 32 },
};

const VLAN_PRESENT = 0x1000;
const VLAN_VID = 0x0fff;
const VLAN_PCP = 0xe000;

const hex = (n: number): string => '0x' + n.toString(16);

function wideToBig(words: readonly number[]): bigint {
  let v = 0n;
  for (const w of words) v = (v << 16n) | BigInt(w & 0xffff);
  return v;
}

function wideIsFull(words: readonly number[]): boolean {
  return words.every((w) => w === 0xffff);
}

/** `expr V` for an exact match, `expr & M == V` otherwise. */
function numExpr(expr: string, m: Masked, full: number, exactOp = ''): string {
  return m.mask === full ? `${expr} ${exactOp}${m.value}` : `${expr} & ${hex(m.mask)} == ${hex(m.value & m.mask)}`;
}

function ipv4Expr(expr: string, m: Masked): string {
  if (m.mask >>> 0 === 0xffffffff) return `${expr} ${formatIPv4(m.value)}`;
  const len = prefixLength(m.mask, 32);
  if (len >= 0) return `${expr} ${formatIPv4(m.value)}/${len}`;
  return `${expr} & ${formatIPv4(m.mask)} == ${formatIPv4((m.value & m.mask) >>> 0)}`;
}

function ipv6Expr(expr: string, m: WideMasked): string {
  if (wideIsFull(m.mask)) return `${expr} ${formatIPv6(m.value)}`;
  const len = widePrefixLength(m.mask);
  if (len >= 0) return `${expr} ${formatIPv6(m.value)}/${len}`;
  return `${expr} & ${formatIPv6(m.mask)} == ${formatIPv6(m.value.map((w, i) => w & m.mask[i]))}`;
}

function macExpr(expr: string, m: WideMasked): string {
  if (wideIsFull(m.mask)) return `${expr} ${formatMac(m.value)}`;
  return `${expr} & ${formatMac(m.mask)} == ${formatMac(m.value.map((w, i) => w & m.mask[i]))}`;
}

/**
 * The raw load for a whole-byte prefix of a field (`@nh,OFFSET,LEN 0x...`), or undefined when
 * the mask is not one.
 */
function rawPrefixExpr(offset: number, bits: number, value: bigint, mask: bigint): string | undefined {
  const full = (1n << BigInt(bits)) - 1n;
  let len = 0;
  for (let b = bits - 1; b >= 0 && (mask >> BigInt(b)) & 1n; b--) len++;
  const expected = len === 0 ? 0n : (full >> BigInt(bits - len)) << BigInt(bits - len);
  if (len === 0 || len % 8 !== 0 || (mask & full) !== expected) return undefined;
  return `@nh,${offset},${len} 0x${(value >> BigInt(bits - len)).toString(16)}`;
}

/**
 * The packets ip_frag selects, as a subset of the possible packet values (0 = not a fragment,
 * 1 = first fragment, 3 = later fragment), and the IPv4 frag-off test for each subset
 * (0x2000 = more fragments, 0x1fff = offset).
 */
const FRAG_EXPRS: Record<string, string> = {
  '0': 'ip frag-off & 0x3fff == 0',
  '1': 'ip frag-off & 0x3fff == 0x2000',
  '3': 'ip frag-off & 0x1fff != 0',
  '0,1': 'ip frag-off & 0x1fff == 0',
  '1,3': 'ip frag-off & 0x3fff != 0',
  '0,3': 'ip frag-off & 0x3fff != 0x2000',
  '0,1,3': '',
};

function fragExpr(m: Masked): string | undefined {
  const key = [0, 1, 3].filter((x) => (x & m.mask) === (m.value & m.mask)).join(',');
  return Object.hasOwn(FRAG_EXPRS, key) ? FRAG_EXPRS[key] : undefined;
}

type Family = 'ip' | 'ip6' | 'arp' | 'rarp' | undefined;

class Translation {
  readonly parts: string[] = [];
  readonly errors: Diagnostic[] = [];
  constructor(
    private readonly m: FlowMatch,
    private readonly loc: Location | undefined,
  ) {}

  unsupported(field: string, why: string): void {
    this.errors.push(
      diag(
        'E_BACKEND_UNSUPPORTED',
        `field ${field} cannot be expressed by the ${NFT_TAP_BACKEND} backend (netdev taps on a port): ${why}`,
        {
          ...this.loc,
          field: `flow.${field}`,
        },
      ),
    );
  }

  add(expr: string): void {
    if (expr) this.parts.push(expr);
  }

  /** Fields fixed to a family must agree with dl_type: nft would otherwise guess a dependency. */
  needs(field: FieldName, family: Family, wanted: Family[], what: string): boolean {
    if (!(field in this.m)) return false;
    if (wanted.includes(family)) return true;
    this.unsupported(field, `it needs ${what}`);
    return false;
  }
}

/**
 * The nft match expression for a flow (an empty string matches every packet), or every
 * E_BACKEND_UNSUPPORTED diagnostic for fields the backend cannot express. Diagnostics are
 * positioned at `loc` with `field` set to `flow.<name>`.
 */
export function flowToNft(m: FlowMatch, backend: NftFlowBackend, loc?: Location): Result<string> {
  if (backend !== 'nftables-netdev') {
    return fail(
      diag('E_BACKEND_UNSUPPORTED', `backend ${JSON.stringify(backend)} is not one flowToNft renders for (only nftables-netdev)`, loc),
    );
  }
  const t = new Translation(m, loc);
  for (const name of Object.keys(m)) if (!KNOWN_FIELDS.has(name)) t.unsupported(name, 'it is not a flow field flowtap knows');

  if (m.in_port) t.unsupported('in_port', 'the tapped port is the device the chain hooks, so a flow cannot name another one');
  for (const f of ['tun_id', 'tun_src', 'tun_dst'] as const) {
    if (m[f]) t.unsupported(f, "tunnel metadata does not exist on an instance's port: taps see packets before any encapsulation");
  }
  for (const f of pipelineFields(m))
    t.unsupported(f, 'it is Open vSwitch pipeline state (registers, metadata, conntrack), which a netdev chain does not have');
  if (m.nd_target) t.unsupported('nd_target', 'this backend does not read the neighbour discovery target');

  if (m.dl_src) t.add(macExpr('ether saddr', m.dl_src));
  if (m.dl_dst) t.add(macExpr('ether daddr', m.dl_dst));
  if (m.vlan_tci) vlan(t, m.vlan_tci);

  let family: Family;
  if (m.dl_type) {
    if (m.dl_type.mask !== 0xffff) t.unsupported('dl_type', `mask ${hex(m.dl_type.mask)}: only an exact Ethernet type can be matched`);
    else {
      const v = m.dl_type.value;
      family =
        v === ETH_TYPE_IP ? 'ip' : v === ETH_TYPE_IPV6 ? 'ip6' : v === ETH_TYPE_ARP ? 'arp' : v === ETH_TYPE_RARP ? 'rarp' : undefined;
      t.add(`meta protocol ${PROTOCOL_NAMES[v] ?? '0x' + v.toString(16).padStart(4, '0')}`);
    }
  }
  const ip = ['ip', 'ip6'] as Family[];
  const ipWhat = 'dl_type 0x0800 or 0x86dd (ip or ipv6)';

  if (t.needs('nw_src', family, ['ip'], 'dl_type 0x0800 (ip); for ARP use arp_spa')) t.add(ipv4Expr('ip saddr', m.nw_src!));
  if (t.needs('nw_dst', family, ['ip'], 'dl_type 0x0800 (ip); for ARP use arp_tpa')) t.add(ipv4Expr('ip daddr', m.nw_dst!));
  if (t.needs('ipv6_src', family, ['ip6'], 'dl_type 0x86dd (ipv6)')) t.add(ipv6Expr('ip6 saddr', m.ipv6_src!));
  if (t.needs('ipv6_dst', family, ['ip6'], 'dl_type 0x86dd (ipv6)')) t.add(ipv6Expr('ip6 daddr', m.ipv6_dst!));
  if (t.needs('ipv6_label', family, ['ip6'], 'dl_type 0x86dd (ipv6)')) t.add(numExpr('ip6 flowlabel', m.ipv6_label!, 0xfffff));
  if (t.needs('nw_tos', family, ip, ipWhat)) {
    const tos = m.nw_tos!;
    if ((tos.mask & 0x03) !== 0)
      t.unsupported('nw_tos', `mask ${hex(tos.mask)} covers ECN bits; nw_tos matches the DSCP bits (0xfc), nw_ecn the ECN bits`);
    else t.add(numExpr(`${family} dscp`, { value: tos.value >>> 2, mask: tos.mask >>> 2 }, 0x3f));
  }
  if (t.needs('nw_ecn', family, ip, ipWhat)) t.add(numExpr(`${family} ecn`, m.nw_ecn!, 0x03));
  if (t.needs('nw_ttl', family, ip, ipWhat)) t.add(numExpr(family === 'ip' ? 'ip ttl' : 'ip6 hoplimit', m.nw_ttl!, 0xff));
  if (m.ip_frag) {
    if (family === 'ip6')
      t.unsupported('ip_frag', 'IPv6 fragment state is in an extension header that one nft comparison cannot test the way OVS does');
    else if (t.needs('ip_frag', family, ['ip'], 'dl_type 0x0800 (ip)')) {
      const e = fragExpr(m.ip_frag);
      if (e === undefined) t.unsupported('ip_frag', `value ${hex(m.ip_frag.value)}/${hex(m.ip_frag.mask)} matches no packet`);
      else t.add(e);
    }
  }

  arpFields(t, m, family);

  let proto: number | undefined;
  if (t.needs('nw_proto', family, ip, ipWhat)) {
    const p = m.nw_proto!;
    if (p.mask !== 0xff) t.unsupported('nw_proto', `mask ${hex(p.mask)}: only an exact IP protocol can be matched`);
    else {
      proto = p.value;
      t.add(`meta l4proto ${L4_NAMES[proto] ?? proto}`);
    }
  }
  const icmp = (family === 'ip' && proto === IPPROTO_ICMP) || (family === 'ip6' && proto === IPPROTO_ICMPV6);
  const icmpWhat = 'ICMP: nw_proto 1 over IPv4 or 58 over IPv6 (icmp or icmp6)';
  const icmpExpr = family === 'ip6' ? 'icmpv6' : 'icmp';
  if (t.needs('icmp_type', icmp ? family : undefined, ip, icmpWhat)) t.add(numExpr(`${icmpExpr} type`, m.icmp_type!, 0xff));
  if (t.needs('icmp_code', icmp ? family : undefined, ip, icmpWhat)) t.add(numExpr(`${icmpExpr} code`, m.icmp_code!, 0xff));
  const ported = proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP;
  const portWhat = 'nw_proto 6, 17 or 132 over IP (tcp, udp or sctp)';
  if (t.needs('tp_src', ported ? family : undefined, ip, portWhat)) t.add(portExpr('th sport', m.tp_src!));
  if (t.needs('tp_dst', ported ? family : undefined, ip, portWhat)) t.add(portExpr('th dport', m.tp_dst!));
  if (t.needs('tcp_flags', proto === IPPROTO_TCP ? family : undefined, ip, 'nw_proto 6 over IP (tcp or tcp6)')) {
    const f = m.tcp_flags!;
    // nft's `tcp flags` is the low byte; NS and the reserved bits sit in the byte before it,
    // below the data offset, so a 12-bit comparison loads both bytes.
    if (f.mask > 0xff) t.add(`@th,96,16 & ${hex(f.mask & 0xfff)} == ${hex(f.value & f.mask & 0xfff)}`);
    else t.add(numExpr('tcp flags', f, 0xff, '== '));
  }

  return t.errors.length > 0 ? fail(t.errors) : ok(t.parts.join(' '));
}

function vlan(t: Translation, m: Masked): void {
  if ((m.mask & VLAN_PRESENT) === 0) {
    t.unsupported(
      'vlan_tci',
      `mask ${hex(m.mask)} leaves the VLAN-present bit 0x1000 open, so it would match untagged frames as if their TCI were 0; add dl_vlan or vlan_tci=0x1000/0x1000`,
    );
    return;
  }
  if ((m.value & VLAN_PRESENT) === 0) {
    if ((m.value & m.mask) !== 0) t.unsupported('vlan_tci', `value ${hex(m.value)}/${hex(m.mask)} matches no packet`);
    else t.add('ether type != 8021q');
    return;
  }
  const vid = m.mask & VLAN_VID;
  const pcp = m.mask & VLAN_PCP;
  if (vid) t.add(numExpr('vlan id', { value: m.value & VLAN_VID, mask: vid }, VLAN_VID));
  if (pcp) t.add(numExpr('vlan pcp', { value: (m.value & VLAN_PCP) >>> 13, mask: pcp >>> 13 }, 0x7));
  if (!vid && !pcp) t.add('ether type 8021q');
}

function arpFields(t: Translation, m: FlowMatch, family: Family): void {
  const arp = ['arp', 'rarp'] as Family[];
  const what = 'dl_type 0x0806 or 0x8035 (arp or rarp)';
  const rarp = family === 'rarp';
  const raw = (field: keyof typeof RAW_ARP, value: bigint, mask: bigint): void => {
    const { offset, bits } = RAW_ARP[field];
    const e = rawPrefixExpr(offset, bits, value & mask, mask);
    if (e) t.add(e);
    else {
      t.unsupported(
        field,
        `RARP fields are raw network-header loads here (nft's arp expressions need dl_type 0x0806), and only exact values or whole-byte prefixes are supported; mask 0x${mask.toString(16)} is neither`,
      );
    }
  };
  if (t.needs('arp_op', family, arp, what)) {
    const op = m.arp_op!;
    if (rarp) raw('arp_op', BigInt(op.value), BigInt(op.mask));
    else t.add(numExpr('arp operation', op, 0xffff));
  }
  if (t.needs('arp_spa', family, arp, what)) {
    if (rarp) raw('arp_spa', BigInt(m.arp_spa!.value >>> 0), BigInt(m.arp_spa!.mask >>> 0));
    else t.add(ipv4Expr('arp saddr ip', m.arp_spa!));
  }
  if (t.needs('arp_tpa', family, arp, what)) {
    if (rarp) raw('arp_tpa', BigInt(m.arp_tpa!.value >>> 0), BigInt(m.arp_tpa!.mask >>> 0));
    else t.add(ipv4Expr('arp daddr ip', m.arp_tpa!));
  }
  if (t.needs('arp_sha', family, arp, what)) {
    if (rarp) raw('arp_sha', wideToBig(m.arp_sha!.value), wideToBig(m.arp_sha!.mask));
    else t.add(macExpr('arp saddr ether', m.arp_sha!));
  }
  if (t.needs('arp_tha', family, arp, what)) {
    if (rarp) raw('arp_tha', wideToBig(m.arp_tha!.value), wideToBig(m.arp_tha!.mask));
    else t.add(macExpr('arp daddr ether', m.arp_tha!));
  }
}

/** A bitwise port match, a range, or both (both must hold). */
function portExpr(expr: string, p: PortMatch): string {
  const out: string[] = [];
  if (p.mask !== 0 || !p.range) out.push(numExpr(expr, p, 0xffff));
  if (p.range) out.push(p.range.from === p.range.to ? `${expr} ${p.range.from}` : `${expr} ${p.range.from}-${p.range.to}`);
  return out.join(' ');
}
