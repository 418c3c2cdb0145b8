import type { DecodedPacket } from '../decode/index.js';

function mixEndpoint(addr: number, port: number): number {
  let h = Math.imul(addr ^ Math.imul(port + 0x9e37, 0x85ebca6b), 0xcc9e2d51);
  h ^= h >>> 15;
  h = Math.imul(h, 0x1b873593);
  return h ^ (h >>> 13);
}

function foldV6(w: Uint32Array): number {
  let h = w[0];
  h = Math.imul(h ^ w[1], 0x01000193);
  h = Math.imul(h ^ w[2], 0x01000193);
  return Math.imul(h ^ w[3], 0x01000193);
}

/**
 * A hash of the 5-tuple (plus VXLAN VNI) that is the same for both directions, so one lookup
 * finds a connection whichever side sent the packet. Kept within 30 bits so V8 stores it as a
 * small integer key. Collisions are resolved by comparing the tuple.
 */
export function connHash(dp: DecodedPacket, sport: number, dport: number): number {
  const a = dp.ipVersion === 6 ? foldV6(dp.src6) : dp.src4;
  const b = dp.ipVersion === 6 ? foldV6(dp.dst6) : dp.dst4;
  const h = (mixEndpoint(a, sport) + mixEndpoint(b, dport)) ^ Math.imul(dp.ipProto + 1, 0x27d4eb2d) ^ Math.imul(dp.vni, 0x165667b1);
  return (h ^ (h >>> 16)) & 0x3fffffff;
}

/**
 * ICMP "ports" as Zeek logs them: the source port is the message type and the destination
 * port the type of the matching reply, so a request and its reply form one flow. Messages
 * without a counterpart use the code.
 */
export function icmpCounterpart(proto: number, type: number, code: number): number {
  if (proto === 1) {
    switch (type) {
      case 8:
        return 0;
      case 0:
        return 8;
      case 10:
        return 9;
      case 9:
        return 10;
      case 13:
        return 14;
      case 14:
        return 13;
      case 15:
        return 16;
      case 16:
        return 15;
      case 17:
        return 18;
      case 18:
        return 17;
    }
    return code;
  }
  switch (type) {
    case 128:
      return 129;
    case 129:
      return 128;
    case 133:
      return 134;
    case 134:
      return 133;
    case 135:
      return 136;
    case 136:
      return 135;
    case 130:
      return 131;
    case 131:
      return 130;
    case 139:
      return 140;
    case 140:
      return 139;
    case 144:
      return 145;
    case 145:
      return 144;
  }
  return code;
}
