/**
 * Delays between attempts to reach the API server again: exponential, capped, and jittered
 * so that the watches of many adapters (or of one adapter's kinds) that lost the server at the
 * same moment do not all come back at the same moment.
 */
export interface BackoffOptions {
  /** First delay, in ms (default 200). */
  initialMs?: number;
  /** Longest delay, in ms (default 30000). */
  maxMs?: number;
  /** Growth per failed attempt (default 2). */
  factor?: number;
  /** Share of each delay that is random, 0..1 (default 0.5: a delay lies in [d/2, d]). */
  jitter?: number;
}

export class Backoff {
  private failures = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;

  constructor(
    opts: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.initialMs = positive(opts.initialMs, 200);
    this.maxMs = Math.max(this.initialMs, positive(opts.maxMs, 30_000));
    this.factor = Math.max(1, positive(opts.factor, 2));
    this.jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.5));
  }

  /** Attempts that failed since the last success. */
  get attempts(): number {
    return this.failures;
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    // The exponent is capped too: past the cap the power only risks overflowing to Infinity.
    const ceiling = Math.min(this.maxMs, this.initialMs * this.factor ** Math.min(this.failures, 64));
    this.failures++;
    return Math.round(ceiling * (1 - this.jitter + this.jitter * this.random()));
  }

  /** After a success the next failure starts from the first delay again. */
  reset(): void {
    this.failures = 0;
  }
}

function positive(v: number | undefined, fallback: number): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : fallback;
}
