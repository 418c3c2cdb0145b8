export { runLoad, parseCli, type RequestRecord, type LoadOptions } from './loadgen.js';
export { seededRandom } from './rng.js';
export { percentile, summariseLatencies } from './stats.js';
