export const IpProto = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58 };
export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 };
export const Tunnel = { NONE: 0, VXLAN: 1 };
const EMPTY = new Uint8Array(0);
/**
 * The result of decoding one frame. A decoder owns exactly one of these and overwrites it for
 * every packet, so the common path allocates nothing: addresses are numbers (IPv6 as four
 * 32-bit words in reused arrays) and the payload is an offset and length into `buf`.
 * Everything here is valid only until the next `decode` call.
 */
export class DecodedPacket {
    ts = 0;
    linktype = 0;
    /** The bytes `payloadOffset` indexes: the captured frame, or a reassembled IP datagram. */
    buf = EMPTY;
    /** 802.1Q/802.1ad tags seen (outermost first). */
    vlanCount = 0;
    vlanOuter = 0;
    vlanInner = 0;
    tunnel = Tunnel.NONE;
    /** VXLAN network identifier of the outermost tunnel. */
    vni = 0;
    /** Outer IPv4 endpoints of the tunnel (0 when the outer header was IPv6). */
    tunnelSrc4 = 0;
    tunnelDst4 = 0;
    /** 4 or 6; 0 when the frame carried no IP. */
    ipVersion = 0;
    src4 = 0;
    dst4 = 0;
    src6 = new Uint32Array(4);
    dst6 = new Uint32Array(4);
    /** Transport protocol after any IPv6 extension headers. */
    ipProto = 0;
    ttl = 0;
    /** IP-level length of the datagram (header included), as counted in conn.log ip_bytes. */
    ipLen = 0;
    /** True when the datagram was reassembled from fragments. */
    reassembled = false;
    srcPort = 0;
    dstPort = 0;
    tcpFlags = 0;
    seq = 0;
    ack = 0;
    window = 0;
    icmpType = 0;
    icmpCode = 0;
    payloadOffset = 0;
    payloadLength = 0;
    /** Clear the per-packet fields before decoding a new frame. */
    reset(ts, linktype, frame) {
        this.ts = ts;
        this.linktype = linktype;
        this.buf = frame;
        this.vlanCount = 0;
        this.vlanOuter = 0;
        this.vlanInner = 0;
        this.tunnel = Tunnel.NONE;
        this.vni = 0;
        this.tunnelSrc4 = 0;
        this.tunnelDst4 = 0;
        this.resetInner();
    }
    /** Clear the IP and transport fields (also when entering a tunnel's inner frame). */
    resetInner() {
        this.ipVersion = 0;
        this.src4 = 0;
        this.dst4 = 0;
        this.ipProto = 0;
        this.ttl = 0;
        this.ipLen = 0;
        this.reassembled = false;
        this.srcPort = 0;
        this.dstPort = 0;
        this.tcpFlags = 0;
        this.seq = 0;
        this.ack = 0;
        this.window = 0;
        this.icmpType = 0;
        this.icmpCode = 0;
        this.payloadOffset = 0;
        this.payloadLength = 0;
    }
    /** A copy of the payload (allocates: for tests and slow paths). */
    payload() {
        return this.buf.slice(this.payloadOffset, this.payloadOffset + this.payloadLength);
    }
}
//# sourceMappingURL=decoded-packet.js.map