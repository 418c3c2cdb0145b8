export { DecodedPacket, TcpFlag } from './decoded-packet.js';
export { DecodeStats, DECODE_REASONS, type DecodeReason } from './decode-stats.js';
export { PacketDecoder, type DecoderOptions } from './packet-decoder.js';
