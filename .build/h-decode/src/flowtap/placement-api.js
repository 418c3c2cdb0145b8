export { DEFAULT_SRC_PORT_RANGE } from './placement-types.js';
export { place } from './placement.js';
export { replace } from './replacement.js';
export { checkPlacement } from './placement-check.js';
export { validatePlacementInput, validatePreviousPlacement } from './placement-validate.js';
export { portShare, slicesPartition, srcPortRange } from './placement-slicing.js';
export { generateCloud } from './placement-generate.js';
//# sourceMappingURL=placement-api.js.map