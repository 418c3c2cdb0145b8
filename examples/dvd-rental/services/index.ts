export type { Checked } from './checked.js';
export { callJson, joinUrl, type CallResult } from './http-client.js';
export { RENTAL_PRICE } from './contract-update.js';
export { formatTraceparent, newTrace, parseTraceparent } from './trace.js';
