import { parseRedirectTag, type RedirectTagInfo } from '../../dataplane/index.js';

const LT_EN10MB = 1;
const LT_LINUX_SLL = 113;
const LT_LINUX_SLL2 = 276;

/**
 * The redirect tag a node wrote as the frame's Ethernet source (dataplane/nft-inline.ts), read
 * from an Ethernet frame or from the source address a Linux cooked capture (`-i any`) records;
 * null for untagged frames (copies) and link types that carry no source address.
 */
export function frameTag(linktype: number, frame: Uint8Array): RedirectTagInfo | null {
  switch (linktype) {
    case LT_EN10MB:
      return parseRedirectTag(frame, 6);
    case LT_LINUX_SLL:
      // packet type, ARPHRD type, address length, then the address.
      return frame.length >= 16 && frame[4] === 0 && frame[5] === 6 ? parseRedirectTag(frame, 6) : null;
    case LT_LINUX_SLL2:
      // protocol, reserved, interface index, ARPHRD type, packet type, address length, address.
      return frame.length >= 20 && frame[11] === 6 ? parseRedirectTag(frame, 12) : null;
    default:
      return null;
  }
}
