export * from './cells.js';
export * from './openflow.js';
