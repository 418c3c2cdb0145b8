/** Public surface of monitor placement; `index.ts` re-exports it. */
export type {
  Assignment,
  FlowGroup,
  FlowSlice,
  MovedFlow,
  Placement,
  PlacementInput,
  PlacementMonitor,
  PlacementStrategy,
  Replacement,
  SrcAddrSlice,
  SrcPortSlice,
  UnplacedFlow,
} from './types.js';
export { DEFAULT_SRC_PORT_RANGE } from './types.js';
export { place } from './placement.js';
export { replace } from './replacement.js';
export { checkPlacement } from './check.js';
export { validatePlacementInput, validatePreviousPlacement } from './validate.js';
export { portShare, slicesPartition, srcPortRange } from './slicing.js';
