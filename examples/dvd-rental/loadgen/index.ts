export { runLoad, main, parseCli, type LoadSummary, type RequestRecord, type Operation, type LoadOptions, type CliOptions } from './loadgen.js';
export { seededRandom, randomInt, type Random } from './rng.js';
export { percentile, summariseLatencies, type LatencySummary } from './stats.js';
