/** Public surface of monitor placement; `index.ts` re-exports it. */
export type {
  FlowGroup,
  MovedFlow,
  Placement,
  PlacementInput,
  PlacementStrategy,
} from './types.js';
export { place } from './placement.js';
export { replace } from './replacement.js';
