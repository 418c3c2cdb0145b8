export * from './types.js';
export * from './infer.js';
export * from './quarantine.js';
//# sourceMappingURL=index.js.map