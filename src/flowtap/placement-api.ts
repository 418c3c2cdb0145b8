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
} from './placement-types.js';
export { DEFAULT_SRC_PORT_RANGE } from './placement-types.js';
export { place } from './placement.js';
export { replace } from './replacement.js';
export { checkPlacement } from './placement-check.js';
export { validatePlacementInput, validatePreviousPlacement } from './placement-validate.js';
export { portShare, slicesPartition, srcPortRange } from './placement-slicing.js';
export { generateCloud, type CloudOptions } from './placement-generate.js';
