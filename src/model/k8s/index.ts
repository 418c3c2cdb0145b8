export * from './app.js';
export * from './fields.js';
export * from './import.js';
export * from './objects.js';
export * from './types.js';
export * from './yaml.js';
