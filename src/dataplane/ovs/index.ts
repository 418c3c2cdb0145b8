export * from './backend.js';
export * from './flows.js';
export * from './layout.js';
export * from './render.js';
export * from './schema.js';
