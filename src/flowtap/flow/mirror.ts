/**
 * The reply direction of a flow: source and destination fields swapped. Monitors need both
 * halves of a conversation to reassemble it, so ftc taps a flow and its mirror together.
 */
import type { FlowMatch } from './fields.js';

const SWAPS = [
  ['nw_src', 'nw_dst'],
  ['tp_src', 'tp_dst'],
  ['dl_src', 'dl_dst'],
  ['ipv6_src', 'ipv6_dst'],
  ['arp_spa', 'arp_tpa'],
  ['arp_sha', 'arp_tha'],
] as const;

export function mirrorFlow(m: FlowMatch): FlowMatch {
  const out: Record<string, unknown> = { ...m };
  for (const [a, b] of SWAPS) {
    const x = m[a];
    const y = m[b];
    delete out[a];
    delete out[b];
    if (y !== undefined) out[a] = y;
    if (x !== undefined) out[b] = x;
  }
  return out as FlowMatch;
}
