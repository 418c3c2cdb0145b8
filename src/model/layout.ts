import { cidrSize, parseIpv4Cidr, type Ipv4Cidr } from '../net/index.js';

/**
 * The address layout of the local cloud, in one place so the checks that
 * reject a descriptor and the planner that addresses it cannot disagree.
 *
 * - node i (0-based) owns the i-th /24 of the app network: .1 is its gateway,
 *   instances get .2 to .254;
 * - monitors share the top /24 of the network, from .2 (.1 is left for a gateway);
 * - node i's underlay (VXLAN endpoint) address is 10.250.0.(i+1).
 */
export const UNDERLAY_NETWORK = '10.250.0.0/24';
export const UNDERLAY: Ipv4Cidr = (parseIpv4Cidr(UNDERLAY_NETWORK) as { ok: true; cidr: Ipv4Cidr }).cidr;
export const MAX_NODES = 254;
export const HOSTS_PER_NODE = 253;
export const MAX_MONITORS = 253;
/** Host part of the first instance / monitor address in its /24. */
export const FIRST_HOST = 2;
export const GATEWAY_HOST = 1;

/** How many /24 blocks the network holds (0 if it is smaller than a /24). */
export function blocksIn(network: Ipv4Cidr): number {
  return network.prefix <= 24 ? cidrSize(network.prefix) / 256 : 0;
}

export function nodeBlock(network: Ipv4Cidr, nodeIndex: number): number {
  return network.base + nodeIndex * 256;
}

export function monitorBlock(network: Ipv4Cidr): number {
  return network.base + cidrSize(network.prefix) - 256;
}
