export * from './records.js';
export * from './suite.js';
