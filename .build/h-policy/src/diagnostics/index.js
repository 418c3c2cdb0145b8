export * from './diagnostic.js';
//# sourceMappingURL=index.js.map