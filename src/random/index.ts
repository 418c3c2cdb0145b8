export { seededRng, seededUint32, type Rng } from './prng.js';
