import { DecodedPacket, IpProto, Tunnel } from './decoded-packet.js';
import { DecodeStats, type DecodeReason } from './decode-stats.js';
import { FragmentTable, type FragmentTableOptions, type Reassembled } from './fragment-table.js';

export interface DecoderOptions extends FragmentTableOptions {
  /** UDP destination ports carrying VXLAN (default [4789]). */
  vxlanPorts?: readonly number[];
  /** Nested tunnels decoded before giving up (default 2). */
  maxTunnelDepth?: number;
}

// Link types (see capture/linktype.ts); repeated here as plain numbers to keep decode free of capture.
const LT_NULL = 0;
const LT_EN10MB = 1;
const LT_RAW = 101;
const LT_RAW_OPENBSD = 14;
const LT_RAW_BSD = 12;
const LT_LOOP = 108;
const LT_LINUX_SLL = 113;
const LT_IPV4 = 228;
const LT_IPV6 = 229;
const LT_LINUX_SLL2 = 276;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;
const MAX_VLANS = 4;
const MAX_IP6_EXT = 16;

/** Why the last decode returned null: a DecodeReason, or one of these non-error outcomes. */
export type SkipReason = DecodeReason | 'non_ip' | 'fragment_held' | '';

/**
 * Decodes link, network and transport headers into one reused DecodedPacket.
 * Malformed frames are counted by reason and skipped; nothing here throws on input.
 */
export class PacketDecoder {
  readonly stats = new DecodeStats();
  readonly packet = new DecodedPacket();
  /** Why the last `decode` returned null. */
  lastSkip: SkipReason = '';
  private readonly frags: FragmentTable;
  private readonly vxlanPorts: readonly number[];
  private readonly maxTunnelDepth: number;
  private depth = 0;

  constructor(opts: DecoderOptions = {}) {
    this.frags = new FragmentTable(this.stats, opts);
    this.vxlanPorts = opts.vxlanPorts ?? [4789];
    this.maxTunnelDepth = opts.maxTunnelDepth ?? 2;
  }

  /** Decode one frame; null when it is malformed, not IP, or a fragment still waiting for the rest. */
  decode(linktype: number, frame: Uint8Array, ts: number): DecodedPacket | null {
    this.stats.packets++;
    this.packet.reset(ts, linktype, frame);
    this.depth = 0;
    this.lastSkip = '';
    const ok = this.link(linktype, frame);
    if (ok) this.stats.decoded++;
    return ok ? this.packet : null;
  }

  /** Drop incomplete fragmented datagrams older than the timeout. */
  expireFragments(now: number): void {
    this.frags.expire(now);
  }

  get heldFragments(): number {
    return this.frags.size;
  }

  private malformed(reason: DecodeReason): false {
    this.stats[reason]++;
    this.stats.malformed++;
    this.lastSkip = reason;
    return false;
  }

  private link(linktype: number, b: Uint8Array): boolean {
    const end = b.length;
    switch (linktype) {
      case LT_EN10MB:
        return this.ethernet(b, 0, end);
      case LT_RAW:
      case LT_RAW_BSD:
      case LT_RAW_OPENBSD:
      case LT_IPV4:
      case LT_IPV6:
        return this.ipByVersion(b, 0, end);
      case LT_LINUX_SLL:
        if (end < 16) return this.malformed('truncated_sll');
        return this.etherType((b[14] << 8) | b[15], b, 16, end);
      case LT_LINUX_SLL2:
        if (end < 20) return this.malformed('truncated_sll');
        return this.etherType((b[0] << 8) | b[1], b, 20, end);
      case LT_NULL:
      case LT_LOOP: {
        if (end < 4) return this.malformed('truncated_null');
        // The address family is a 32-bit word in the capturing host's byte order (NULL) or
        // network order (LOOP); its value is small, so one of the end bytes holds it.
        const af = b[0] !== 0 ? b[0] : b[3];
        if (af === 2) return this.ipv4(b, 4, end);
        if (af === 10 || af === 24 || af === 28 || af === 30) return this.ipv6(b, 4, end);
        return this.nonIp();
      }
      default:
        return this.malformed('unsupported_linktype');
    }
  }

  private nonIp(): false {
    this.stats.non_ip++;
    this.lastSkip = 'non_ip';
    return false;
  }

  private ethernet(b: Uint8Array, off: number, end: number): boolean {
    if (end - off < 14) return this.malformed('truncated_eth');
    return this.etherType((b[off + 12] << 8) | b[off + 13], b, off + 14, end);
  }

  private etherType(type: number, b: Uint8Array, off: number, end: number): boolean {
    const dp = this.packet;
    while (type === ETH_VLAN || type === ETH_QINQ || type === ETH_QINQ_OLD) {
      if (end - off < 4) return this.malformed('truncated_vlan');
      if (dp.vlanCount >= MAX_VLANS) return this.malformed('too_many_vlans');
      const vid = ((b[off] << 8) | b[off + 1]) & 0x0fff;
      if (dp.vlanCount === 0) dp.vlanOuter = vid;
      else if (dp.vlanCount === 1) dp.vlanInner = vid;
      dp.vlanCount++;
      type = (b[off + 2] << 8) | b[off + 3];
      off += 4;
    }
    if (type === ETH_IPV4) return this.ipv4(b, off, end);
    if (type === ETH_IPV6) return this.ipv6(b, off, end);
    return this.nonIp();
  }

  private ipByVersion(b: Uint8Array, off: number, end: number): boolean {
    if (end - off < 1) return this.malformed('truncated_ip');
    const v = b[off] >> 4;
    if (v === 4) return this.ipv4(b, off, end);
    if (v === 6) return this.ipv6(b, off, end);
    return this.malformed('bad_ip_version');
  }

  private ipv4(b: Uint8Array, off: number, end: number): boolean {
    const avail = end - off;
    if (avail < 20) return this.malformed('truncated_ip');
    const vihl = b[off];
    if (vihl >> 4 !== 4) return this.malformed('bad_ip_version');
    const hl = (vihl & 0x0f) << 2;
    if (hl < 20) return this.malformed('bad_ihl');
    if (hl > avail) return this.malformed('truncated_ip');
    let total = (b[off + 2] << 8) | b[off + 3];
    // Segmentation offload hands the capture a zero total length; trust the captured size.
    if (total === 0) total = avail;
    if (total < hl) return this.malformed('bad_total_length');
    if (total > avail) return this.malformed('truncated_ip');
    const dp = this.packet;
    dp.ipVersion = 4;
    dp.ttl = b[off + 8];
    dp.src4 = ((b[off + 12] << 24) | (b[off + 13] << 16) | (b[off + 14] << 8) | b[off + 15]) >>> 0;
    dp.dst4 = ((b[off + 16] << 24) | (b[off + 17] << 16) | (b[off + 18] << 8) | b[off + 19]) >>> 0;
    dp.ipLen = total;
    const proto = b[off + 9];
    const frag = (b[off + 6] << 8) | b[off + 7];
    if ((frag & 0x3fff) === 0) return this.transport(proto, b, off + hl, off + total);
    // MF set or non-zero offset: a fragment. (Bit 0x4000 is DF and bit 0x8000 reserved.)
    const key = `4|${dp.src4}|${dp.dst4}|${proto}|${(b[off + 4] << 8) | b[off + 5]}`;
    const r = this.frags.add(key, dp.ts, (frag & 0x1fff) << 3, (frag & 0x2000) !== 0, proto, b, off + hl, total - hl);
    const whole = this.fragmentOutcome(r);
    if (!whole) return false;
    dp.reassembled = true;
    dp.ipLen = hl + whole.payload.length;
    return this.transport(whole.proto, whole.payload, 0, whole.payload.length);
  }

  private fragmentOutcome(r: Reassembled | null | 'bad'): Reassembled | null {
    if (r === 'bad') {
      this.stats.malformed++;
      this.lastSkip = 'bad_frag';
      return null;
    }
    if (r === null) this.lastSkip = 'fragment_held';
    return r;
  }

  private ipv6(b: Uint8Array, off: number, end: number): boolean {
    const avail = end - off;
    if (avail < 40) return this.malformed('truncated_ip');
    if (b[off] >> 4 !== 6) return this.malformed('bad_ip_version');
    let plen = (b[off + 4] << 8) | b[off + 5];
    // Zero: a jumbogram or offloaded segment; use what was captured.
    if (plen === 0) plen = avail - 40;
    if (40 + plen > avail) return this.malformed('truncated_ip');
    const dp = this.packet;
    dp.ipVersion = 6;
    dp.ttl = b[off + 7];
    const s = dp.src6;
    const d = dp.dst6;
    for (let i = 0; i < 4; i++) {
      const p = off + 8 + i * 4;
      s[i] = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
      const q = p + 16;
      d[i] = ((b[q] << 24) | (b[q + 1] << 16) | (b[q + 2] << 8) | b[q + 3]) >>> 0;
    }
    dp.ipLen = 40 + plen;
    return this.ipv6Chain(b[off + 6], b, off + 40, off + 40 + plen, 40);
  }

  /** Walk IPv6 extension headers; `headerBytes` counts the IP header bytes before `p` (for ipLen after reassembly). */
  private ipv6Chain(nh: number, b: Uint8Array, p: number, end: number, headerBytes: number): boolean {
    const dp = this.packet;
    for (let n = 0; n < MAX_IP6_EXT; n++) {
      switch (nh) {
        case 0: // hop-by-hop options
        case 43: // routing
        case 60: // destination options
        case 135: // mobility
        case 139: // HIP
        case 140: {
          // shim6
          if (end - p < 8) return this.malformed('truncated_ip6_ext');
          const len = (b[p + 1] + 1) << 3;
          if (end - p < len) return this.malformed('truncated_ip6_ext');
          nh = b[p];
          p += len;
          headerBytes += len;
          break;
        }
        case 51: {
          // authentication header: length in 4-byte units, minus 2
          if (end - p < 8) return this.malformed('truncated_ip6_ext');
          const len = (b[p + 1] + 2) << 2;
          if (end - p < len) return this.malformed('truncated_ip6_ext');
          nh = b[p];
          p += len;
          headerBytes += len;
          break;
        }
        case 44: {
          // fragment
          if (end - p < 8) return this.malformed('truncated_ip6_ext');
          const next = b[p];
          const fo = (b[p + 2] << 8) | b[p + 3];
          const offset = fo & 0xfff8;
          const more = (fo & 1) !== 0;
          headerBytes += 8;
          p += 8;
          if (offset === 0 && !more) {
            // An atomic fragment: the whole datagram is here.
            nh = next;
            break;
          }
          const id = ((b[p - 4] << 24) | (b[p - 3] << 16) | (b[p - 2] << 8) | b[p - 1]) >>> 0;
          const key = `6|${dp.src6.join(',')}|${dp.dst6.join(',')}|${id}`;
          const whole = this.fragmentOutcome(this.frags.add(key, dp.ts, offset, more, next, b, p, end - p));
          if (!whole) return false;
          dp.reassembled = true;
          dp.ipLen = headerBytes + whole.payload.length;
          b = whole.payload;
          p = 0;
          end = b.length;
          nh = whole.proto;
          break;
        }
        case 59: // no next header
        case 50: // ESP: the rest is encrypted
          dp.ipProto = nh;
          dp.buf = b;
          dp.payloadOffset = p;
          dp.payloadLength = end - p;
          return true;
        default:
          return this.transport(nh, b, p, end);
      }
    }
    return this.malformed('too_many_ip6_ext');
  }

  private transport(proto: number, b: Uint8Array, off: number, end: number): boolean {
    const dp = this.packet;
    dp.ipProto = proto;
    dp.buf = b;
    const avail = end - off;
    switch (proto) {
      case IpProto.TCP: {
        if (avail < 20) return this.malformed('truncated_tcp');
        const doff = (b[off + 12] >> 4) << 2;
        if (doff < 20) return this.malformed('bad_tcp_offset');
        if (doff > avail) return this.malformed('truncated_tcp');
        dp.srcPort = (b[off] << 8) | b[off + 1];
        dp.dstPort = (b[off + 2] << 8) | b[off + 3];
        dp.seq = ((b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7]) >>> 0;
        dp.ack = ((b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11]) >>> 0;
        dp.tcpFlags = b[off + 13];
        dp.window = (b[off + 14] << 8) | b[off + 15];
        dp.payloadOffset = off + doff;
        dp.payloadLength = avail - doff;
        return true;
      }
      case IpProto.UDP: {
        if (avail < 8) return this.malformed('truncated_udp');
        const len = (b[off + 4] << 8) | b[off + 5];
        if (len < 8) return this.malformed('bad_udp_length');
        if (len > avail) return this.malformed('truncated_udp');
        dp.srcPort = (b[off] << 8) | b[off + 1];
        dp.dstPort = (b[off + 2] << 8) | b[off + 3];
        dp.payloadOffset = off + 8;
        dp.payloadLength = len - 8;
        if (this.vxlanPorts.includes(dp.dstPort)) return this.vxlan(b, off + 8, off + len);
        return true;
      }
      case IpProto.ICMP:
      case IpProto.ICMPV6: {
        if (avail < 4) return this.malformed('truncated_icmp');
        dp.icmpType = b[off];
        dp.icmpCode = b[off + 1];
        const hdr = avail >= 8 ? 8 : 4;
        dp.payloadOffset = off + hdr;
        dp.payloadLength = avail - hdr;
        return true;
      }
      default:
        this.stats.other_proto++;
        dp.payloadOffset = off;
        dp.payloadLength = avail;
        return true;
    }
  }

  private vxlan(b: Uint8Array, off: number, end: number): boolean {
    // Without the I flag the VNI is not valid: leave the datagram as plain UDP.
    if (end - off < 8) return this.malformed('truncated_vxlan');
    if ((b[off] & 0x08) === 0) return true;
    if (this.depth >= this.maxTunnelDepth) return this.malformed('vxlan_too_deep');
    const dp = this.packet;
    if (this.depth === 0) {
      dp.tunnel = Tunnel.VXLAN;
      dp.vni = (b[off + 4] << 16) | (b[off + 5] << 8) | b[off + 6];
      dp.tunnelSrc4 = dp.ipVersion === 4 ? dp.src4 : 0;
      dp.tunnelDst4 = dp.ipVersion === 4 ? dp.dst4 : 0;
    }
    this.depth++;
    this.stats.vxlan++;
    dp.vlanCount = 0;
    dp.vlanOuter = 0;
    dp.vlanInner = 0;
    dp.resetInner();
    return this.ethernet(b, off + 8, end);
  }
}
