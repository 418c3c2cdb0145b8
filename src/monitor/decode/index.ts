export { DecodedPacket, IpProto, TcpFlag, Tunnel } from './decoded-packet.js';
export { DecodeStats, DECODE_REASONS, type DecodeReason } from './decode-stats.js';
export { PacketDecoder, type DecoderOptions, type SkipReason } from './packet-decoder.js';
export { FragmentTable, type FragmentTableOptions, type Reassembled } from './fragment-table.js';
export { formatSrcAddr, formatDstAddr } from './address-format.js';
