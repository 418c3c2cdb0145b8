export * from './nft-names.js';
export * from './nft-firewall.js';
export * from './k8s-networkpolicy.js';
export * from './node-interfaces.js';
export * from './nft-apply.js';
export * from './openflow.js';
export * from './nft-flow.js';
export * from './nft-taps.js';
