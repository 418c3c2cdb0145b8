import { formatIpv4, formatIpv6 } from '../../net/index.js';
import type { DecodedPacket } from './decoded-packet.js';

/** A decoded packet's source address as text (src/net's canonical forms). */
export function formatSrcAddr(dp: DecodedPacket): string {
  return dp.ipVersion === 6 ? formatIpv6(dp.src6) : formatIpv4(dp.src4);
}

export function formatDstAddr(dp: DecodedPacket): string {
  return dp.ipVersion === 6 ? formatIpv6(dp.dst6) : formatIpv4(dp.dst4);
}
