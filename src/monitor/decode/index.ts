export { DecodedPacket, IpProto, TcpFlag, Tunnel } from './decoded-packet.js';
export { DecodeStats, DECODE_REASONS, type DecodeReason } from './decode-stats.js';
export { PacketDecoder, type DecoderOptions, type SkipReason } from './packet-decoder.js';
export { FragmentTable, type FragmentTableOptions, type Reassembled } from './fragment-table.js';
export { formatIpv4, formatIpv6, formatSrcAddr, formatDstAddr, parseIpv4, parseIpv6 } from './address-format.js';
/** Frame builders for tests and benchmarks. */
export * as packetBuilder from './packet-builder.js';
