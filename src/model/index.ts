export * from './types.js';
export { loadApp } from './load-app.js';
export { formatField } from './field-path.js';
export { planAddresses } from './addressing.js';
export { modelFacts } from './facts.js';
export { DEFAULT_NETWORK } from './schema.js';
export { UNDERLAY_NETWORK } from './layout.js';
export { parseYamlShape } from './yaml-document.js';
export * from './k8s/index.js';
