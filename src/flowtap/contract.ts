/**
 * The FlowTap contract: `FlowTap(SRC, DST, Flow_Syntax, Action)`.
 *
 * SRC and DST are ports (an instance's or a monitor's attachment to the virtual network), so a
 * contract survives restarts, migrations and new addresses. `forward` copies matching packets
 * to DST and lets the original continue; `redirect` delivers them to DST only, and DST decides
 * whether they continue.
 *
 * A forward and a redirect may cover the same packets of one port: the packet is copied to the
 * forward's monitor first, then diverted to the redirect's monitor. Two redirects may not: a
 * packet can be diverted to one place only (see checkOverlaps).
 */
import type { Location } from '../diagnostics/index.js';
import type { FlowMatch } from './flow/index.js';
import { printFlow } from './flow/index.js';

type FlowTapAction = 'forward' | 'redirect';

/** Relative to the SRC port: ingress = packets delivered to it, egress = packets it sends. */
export type FlowTapDirection = 'ingress' | 'egress' | 'both';

interface SampleOption {
  /** Deliver one packet (or one flow) in `every`; 1 = all. */
  every: number;
  unit: 'packet' | 'flow';
}

interface BudgetOption {
  /** Most traffic delivered to DST per second; beyond it packets are not tapped. */
  rate: number;
  unit: 'pps' | 'bps';
}

export interface FlowTapOptions {
  sample?: SampleOption;
  budget?: BudgetOption;
  /** Redirect only: when DST is down, `open` lets traffic pass untapped, `closed` drops it. */
  failMode?: 'open' | 'closed';
}

/** Where a contract came from, for explain output and for positioning errors. */
interface FlowTapOrigin {
  policyFile?: string;
  rule?: number;
  line?: number;
  derivation?: string;
}

export interface FlowTap {
  id: string;
  tenant: string;
  /** Port tapped: an instance attachment name, e.g. the instance name. */
  src: string;
  /** Monitor port that receives the packets. */
  dst: string;
  flow: FlowMatch;
  action: FlowTapAction;
  options: FlowTapOptions;
  direction: FlowTapDirection;
  origin?: FlowTapOrigin;
}

function formatOptions(c: FlowTap): string {
  const parts = [`direction=${c.direction}`];
  const o = c.options ?? {};
  if (o.sample) parts.push(`sample=1/${o.sample.every}${o.sample.unit === 'flow' ? 'flows' : 'packets'}`);
  if (o.budget) parts.push(`budget=${o.budget.rate}${o.budget.unit}`);
  if (o.failMode) parts.push(`failMode=${o.failMode}`);
  return parts.join(' ');
}

/** `FlowTap(SRC, DST, "flow", action)`; with `details`, direction and options follow in brackets. */
export function formatContract(c: FlowTap, opts: { details?: boolean } = {}): string {
  const base = `FlowTap(${c.src}, ${c.dst}, "${printFlow(c.flow)}", ${c.action})`;
  return opts.details ? `${base} [${formatOptions(c)}]` : base;
}

/** The contract's id and text, as diagnostics name it. */
export function describeContract(c: FlowTap): string {
  return `contract ${c.id} ${formatContract(c)}`;
}

/** Where the contract's policy rule is, if it came from one. */
export function contractLocation(c: FlowTap): Location | undefined {
  const o = c.origin;
  if (!o || (o.policyFile === undefined && o.line === undefined)) return undefined;
  const loc: Location = {};
  if (o.policyFile !== undefined) loc.file = o.policyFile;
  if (o.line !== undefined) loc.line = o.line;
  return loc;
}

/** The directions both contracts tap, or undefined when they share none. */
export function sharedDirection(a: FlowTapDirection, b: FlowTapDirection): FlowTapDirection | undefined {
  if (a === 'both') return b;
  if (b === 'both' || a === b) return a;
  return undefined;
}
