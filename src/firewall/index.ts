export * from './types.js';
export * from './infer.js';
export * from './quarantine.js';
export * from './analysis.js';
export * from './verify.js';
export * from './ruleset-load.js';
export * from './explain.js';
