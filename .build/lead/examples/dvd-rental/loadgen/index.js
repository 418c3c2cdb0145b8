export { runLoad, main, parseCli } from './loadgen.js';
export { seededRandom, randomInt } from './rng.js';
export { percentile, summariseLatencies } from './stats.js';
//# sourceMappingURL=index.js.map