export { addressProblem, formatIpv4, formatIpv6, formatIpv6Groups, parseIpv4, parseIpv6, parseIpv6Groups } from './address.js';
export {
  cidrContains,
  cidrSize,
  cidrsOverlap,
  formatCidr,
  ipv4Mask,
  ipv4Range,
  parseCidr,
  parseIpv4Cidr,
  type IpCidr,
  type Ipv4Cidr,
} from './cidr.js';
export { isProbeSourcePort, PROBE_SOURCE_PORTS } from './probe-ports.js';
