export * from './app.js';
export * from './context.js';
export * from './l7.js';
export * from './names.js';
export * from './network.js';
export * from './requirements.js';
export * from './topology.js';
