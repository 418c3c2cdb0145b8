export { DecodedPacket, IpProto, TcpFlag, Tunnel } from './decoded-packet.js';
export { DecodeStats, DECODE_REASONS } from './decode-stats.js';
export { PacketDecoder } from './packet-decoder.js';
export { FragmentTable } from './fragment-table.js';
export { formatIpv4, formatIpv6, formatSrcAddr, formatDstAddr, parseIpv4, parseIpv6 } from './address-format.js';
/** Frame builders for tests and benchmarks. */
export * as packetBuilder from './packet-builder.js';
//# sourceMappingURL=index.js.map