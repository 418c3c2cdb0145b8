export * from './node-script.js';
export * from './deployment.js';
export * from './records.js';
