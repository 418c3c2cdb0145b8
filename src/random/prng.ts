/**
 * The project's one seeded pseudo-random generator: mulberry32. 32 bits of state, a few integer
 * operations per draw, statistically plenty for test data, synthetic workloads and connection
 * uids, and the same seed gives the same sequence everywhere, so a failing seed replays.
 * Not for secrets.
 */

/** Draws floats in [0, 1). */
export type Rng = () => number;

/** Draws unsigned 32-bit integers. */
export function seededUint32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Draws floats in [0, 1) with 32 bits of randomness each. */
export function seededRng(seed: number): Rng {
  const next = seededUint32(seed);
  return () => next() / 4294967296;
}
