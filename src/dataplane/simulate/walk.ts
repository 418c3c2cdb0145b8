/** The state of one packet's walk through the simulated nodes, shared by the engine's hooks. */
import type { SimCtState, SimInlineVerdict, SimTrace } from './types.js';
import type { CTap, Simulation } from './model.js';

export interface Walk {
  sim: Simulation;
  trace: SimTrace;
  ct: SimCtState;
  sampleHit: boolean;
  overAll: boolean;
  overSome: ReadonlySet<string> | null;
  linear: boolean;
  verdict: SimInlineVerdict;
  /** The redirect whose monitor just passed the frame back (tapHook's TAP_BACK). */
  back: CTap | null;
  /** Each node's own compiled configuration; null: `sim` is every node's. */
  nodeSim: NodeSimulations | null;
  /** Whether a new connection is over a rate restriction on a node (SimOptions.overRate, or the backend's buckets). */
  overRate: OverRate;
}

export type OverRate = (node: string, restriction: string) => boolean;

export type NodeSimulations = (node: string) => Simulation | undefined;
