export * from './diagnostic.js';
export { DIAG_CODES, type DiagCode } from './codes.js';
