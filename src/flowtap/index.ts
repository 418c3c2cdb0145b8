// Public surface of flowtap: flow syntax, matching, overlap, contracts and their checks.
// (The ftc compiler and placement live in this folder too and add their exports below.)
export type {
  FieldName,
  FlowMatch,
  Masked,
  PacketSpec,
  PortMatch,
  WideMasked,
} from './flow/index.js';
export {
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  ETH_TYPE_RARP,
  FIELD_ORDER,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  fieldSpec,
  pipelineFields,
} from './flow/index.js';
export { parseFlow } from './flow/index.js';
export { validateFlowMatch } from './flow/index.js';
export { printFlow } from './flow/index.js';
export { matchesPacket } from './flow/index.js';
export { covers, intersect, sameFlow, witness } from './flow/index.js';
export { portToMasks } from './flow/index.js';
export { formatMac, prefixLength, widePrefixLength } from './flow/index.js';
// Kept for dataplane/nft/flow.ts until it imports src/net itself; the formatters live there.
export { formatIpv4 as formatIPv4, formatIpv6Groups as formatIPv6 } from '../net/index.js';
export { defaultPacket, packetIn, parsePacketSpec, printPacket } from './packet-spec.js';
export {
  contractLocation,
  describeContract,
  formatContract,
  type FlowTap,
} from './contract.js';
export { checkContracts, checkOverlaps, checkTenancy } from './contract-checks.js';
export * from './placement/index.js';
export { compileTaps, type CompiledTaps, type PolicySource } from './ftc.js';
