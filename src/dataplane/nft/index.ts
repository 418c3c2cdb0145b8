export * from './apply.js';
export * from './firewall.js';
export * from './flow.js';
export * from './inline.js';
export * from './names.js';
export * from './taps.js';
