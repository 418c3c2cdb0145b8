export * from './nft-names.js';
export * from './nft-firewall.js';
export * from './k8s-networkpolicy.js';
export * from './node-interfaces.js';
export * from './nft-apply.js';
//# sourceMappingURL=index.js.map