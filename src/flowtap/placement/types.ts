/**
 * Monitor placement: which security monitor inspects which flow group, and for how much of it.
 * Every type here is plain JSON so that a placement can be stored in the context broker and fed
 * back into re-placement after a restart.
 */

/**
 * `per-app`: monitors are dedicated to one application (the tenant deploys them); a flow may only
 * reach its own application's monitors, on its node when possible, else on any node.
 * `per-node`: the provider runs monitors on every node; a flow goes to a monitor on its own node
 * while capacity allows and only the overflow leaves the node. Monitors that name an application
 * stay reserved to it in this mode too, so tenants never see each other's traffic.
 */
export type PlacementStrategy = 'per-app' | 'per-node';

export interface PlacementMonitor {
  name: string;
  node: string;
  /** Mbit/s the monitor can inspect without dropping packets. */
  capacity: number;
  /** Protocols it parses, e.g. `['http']`; `'any'` accepts every kind. */
  inspects: string[];
  /** Application the monitor is dedicated to; absent = shared by every tenant of its node. */
  app?: string;
}

/** All tapped traffic of one instance toward one kind of monitor. */
export interface FlowGroup {
  id: string;
  instance: string;
  service: string;
  /** Application (tenant) the instance belongs to; decides eligibility under `per-app`. */
  app?: string;
  /** Node the instance runs on: a monitor elsewhere means crossing nodes over VXLAN. */
  node: string;
  /** Protocol the monitor must parse, e.g. `http`. */
  kind: string;
  /** Expected Mbit/s. */
  load: number;
  /** Whether the group may be split across monitors by source-port range. */
  sliceable: boolean;
  /** Inclusive source-port range the group's traffic uses; default the ephemeral range 1024-65535. */
  srcPortRange?: [number, number];
}

export interface PlacementInput {
  monitors: PlacementMonitor[];
  flows: FlowGroup[];
  strategy: PlacementStrategy;
}

/** Inclusive source-port range of a flow group delivered to one monitor. */
export interface SrcPortSlice {
  kind: 'src-port';
  from: number;
  to: number;
}

/**
 * Source-address slicing is part of the contract vocabulary (a `nw_src` prefix) for consumers,
 * but this placer never produces it: flow groups carry no address spread to split by.
 */
interface SrcAddrSlice {
  kind: 'src-addr';
  prefix: string;
}

type FlowSlice = SrcPortSlice | SrcAddrSlice;

export interface Assignment {
  flow: string;
  monitor: string;
  /** Fraction 0..1 of the flow's load; for a slice exactly its port-range width over the flow's. */
  share: number;
  /** Present when the flow is split; absent means the whole flow goes to this monitor. */
  slice?: FlowSlice;
  /** The monitor runs on another node than the flow's instance. */
  crossNode: boolean;
  /** Mbit/s carried when placed (share × load then); lets re-placement see which flows grew. */
  load?: number;
}

export interface UnplacedFlow {
  flow: string;
  /** Mbit/s left without a monitor. */
  load: number;
  reason: string;
  /** Source-port ranges left unmonitored when only part of a sliceable flow found room. */
  slices?: SrcPortSlice[];
}

export interface Placement {
  assignments: Assignment[];
  unplaced: UnplacedFlow[];
  /** Mbit/s delivered to each monitor (every monitor of the input, 0 when idle). */
  monitorLoad: Record<string, number>;
  /** Load delivered across nodes over the total offered load (placed or not); 0 when there is none. */
  crossNodeShare: number;
}

/** One piece of a flow that re-placement took from a monitor; `to` is null when it found no room. */
export interface MovedFlow {
  flow: string;
  from: string;
  to: string | null;
  /** Mbit/s moved (at the new load). */
  load: number;
}

export interface Replacement {
  placement: Placement;
  moved: MovedFlow[];
  unplaced: UnplacedFlow[];
}

/** Default source ports of a flow group: the ephemeral range clients draw their ports from. */
export const DEFAULT_SRC_PORT_RANGE: readonly [number, number] = [1024, 65535];
