// Public surface of flowtap: flow syntax, matching, overlap, contracts and their checks.
// (The ftc compiler and placement live in this folder too and add their exports below.)
export type {
  FieldName,
  FlowMatch,
  Masked,
  NumField,
  PacketSpec,
  PortField,
  PortMatch,
  PortRange,
  Prereq,
  WideField,
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
  SHORTHANDS,
  fieldSpec,
} from './flow/index.js';
export { MAX_FLOW_LENGTH, parseFlow } from './flow/index.js';
export { validateFlowMatch } from './flow/index.js';
export { flowElements, formatFieldValues, printFlow } from './flow/index.js';
export { matchesPacket } from './flow/index.js';
export { covers, intersect, overlaps, sameFlow, witness } from './flow/index.js';
export { decomposeRange, portToMasks } from './flow/index.js';
export { formatMac, prefixLength, widePrefixLength } from './flow/index.js';
// Kept for dataplane/nft/flow.ts until it imports src/net itself; the formatters live there.
export { formatIpv4 as formatIPv4, formatIpv6Groups as formatIPv6 } from '../net/index.js';
export { DEFAULT_TTL, defaultPacket, packetIn, parsePacketSpec, printPacket } from './packet-spec.js';
export {
  contractLocation,
  describeContract,
  formatContract,
  sharedDirection,
  type BudgetOption,
  type FlowTap,
  type FlowTapAction,
  type FlowTapDirection,
  type FlowTapOptions,
  type FlowTapOrigin,
  type SampleOption,
} from './contract.js';
export { checkContract, checkContracts, checkOverlaps, checkTenancy, type Ownership } from './contract-checks.js';
export * from './placement/index.js';
export { mirrorFlow } from './flow/index.js';
export { ftcFacts, DEFAULT_LOAD_MBPS, type FtcFactOptions } from './ftc-facts.js';
export { compileTaps, type CompiledTaps, type FtcOptions, type PolicySource } from './ftc.js';
