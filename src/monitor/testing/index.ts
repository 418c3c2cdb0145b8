export * from './flows.js';
export * from './packets.js';
export * from './streams.js';
