export { ETH_TYPE_ARP, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_RARP, FIELD_ORDER, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, SHORTHANDS, fieldSpec, } from './flow-fields.js';
export { FLOW_ERRORS } from './flow-errors.js';
export { MAX_FLOW_LENGTH, parseFlow } from './flow-parse.js';
export { flowElements, formatFieldValues, printFlow } from './flow-print.js';
export { matchesPacket } from './flow-match.js';
export { covers, intersect, overlaps, sameFlow, witness } from './flow-overlap.js';
export { decomposeRange, portToMasks } from './flow-ports.js';
export { formatIPv4, formatIPv6, formatMac, prefixLength, widePrefixLength } from './flow-values.js';
export { DEFAULT_TTL, defaultPacket, packetIn, parsePacketSpec, printPacket } from './packet-spec.js';
export { randomFlow, randomFlowText, randomPacketNear, seededRng } from './flow-random.js';
export { contractLocation, describeContract, formatContract, sharedDirection, } from './contract.js';
export { CONTRACT_ERRORS, checkContract, checkContracts, checkOverlaps, checkTenancy } from './contract-checks.js';
//# sourceMappingURL=index.js.map