export * from './backend.js';
export * from './nft/index.js';
export * from './k8s/index.js';
export * from './node-interfaces.js';
export * from './openflow/index.js';
export * from './ovs/index.js';
export * from './simulate/index.js';
