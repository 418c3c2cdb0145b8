export * from './names.js';
export * from './lifecycle.js';
export * from './runner.js';
export * from './processes.js';
export * from './state-file.js';
export * from './topology-plan.js';
export * from './run-spec.js';
export * from './start-order.js';
export * from './local-cloud.js';
export * from './probe.js';
//# sourceMappingURL=index.js.map