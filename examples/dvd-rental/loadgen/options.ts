/** Load-run options and their command-line form. */
import { parseArgs } from 'node:util';
import type { Checked } from '../services/index.js';

export interface LoadOptions {
  /** Base URLs of the application's three entry points. */
  readonly contractUpdateUrl: string;
  readonly userCreateUrl: string;
  readonly dvdReturnUrl: string;
  /** Requests started per second; 0 = as fast as `concurrency` allows. */
  readonly rate: number;
  readonly concurrency: number;
  /** Stop after this many seconds, or after this many requests (whichever is given; both: first reached). */
  readonly durationS?: number;
  readonly requests?: number;
  readonly seed: number;
  /** DVD ids firstDvd..firstDvd+dvdCount-1 are rented (the seeded catalogue has ids 1..1000). */
  readonly dvdCount: number;
  /**
   * The first DVD id this run rents (default 1). Runs against one database with disjoint ranges
   * never meet each other's outstanding rentals (a DVD still rented is unavailable to the next).
   */
  readonly firstDvd: number;
  /** Rentals are recorded asynchronously (via NATS); only return those at least this old. */
  readonly returnAfterMs: number;
  readonly timeoutMs: number;
}

export interface CliOptions extends LoadOptions {
  /** Exit non-zero when errors / requests exceeds this. */
  readonly maxErrorRate: number;
}

export const USAGE = `usage: loadgen --contract-update URL --user-create URL --dvd-return URL (--duration S | --requests N)
  [--rate R] [--concurrency C] [--seed N] [--dvds N] [--first-dvd N] [--return-after MS] [--timeout MS] [--max-error-rate F]`;

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const no = <T>(error: string): Checked<T> => ({ ok: false, error });

function num(
  raw: string | undefined,
  flag: string,
  fallback: number | undefined,
  check: (n: number) => boolean,
  rule: string,
): Checked<number | undefined> {
  if (raw === undefined) return ok(fallback);
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || !check(n)) return no(`--${flag} must be ${rule}, got "${raw}"`);
  return ok(n);
}

function url(raw: string | undefined, flag: string): Checked<string> {
  if (raw === undefined) return no(`--${flag} URL is required`);
  try {
    if (new URL(raw).protocol === 'http:') return ok(raw);
  } catch {
    /* reported below */
  }
  return no(`--${flag} must be an http:// URL, got "${raw}"`);
}

export function parseCli(argv: readonly string[]): Checked<CliOptions> {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        [
          'rate',
          'concurrency',
          'duration',
          'requests',
          'contract-update',
          'user-create',
          'dvd-return',
          'seed',
          'dvds',
          'first-dvd',
          'return-after',
          'timeout',
          'max-error-rate',
        ].map((f) => [f, { type: 'string' as const }]),
      ),
    }).values as Record<string, string | undefined>;
  } catch (err) {
    return no(err instanceof Error ? err.message : String(err));
  }
  // Collect every problem, so one run of the command reports all bad flags at once.
  const errors: string[] = [];
  const take = <T>(c: Checked<T>, fallback: T): T => {
    if (c.ok) return c.value;
    errors.push(c.error);
    return fallback;
  };
  const positiveInt = (n: number): boolean => Number.isInteger(n) && n >= 1;
  const options: CliOptions = {
    contractUpdateUrl: take(url(values['contract-update'], 'contract-update'), ''),
    userCreateUrl: take(url(values['user-create'], 'user-create'), ''),
    dvdReturnUrl: take(url(values['dvd-return'], 'dvd-return'), ''),
    rate:
      take(
        num(values.rate, 'rate', 0, (n) => n >= 0, 'a number >= 0'),
        0,
      ) ?? 0,
    concurrency:
      take(
        num(values.concurrency, 'concurrency', 4, (n) => positiveInt(n) && n <= 1024, 'an integer 1-1024'),
        4,
      ) ?? 4,
    durationS: take(
      num(values.duration, 'duration', undefined, (n) => n > 0, 'a number of seconds > 0'),
      undefined,
    ),
    requests: take(num(values.requests, 'requests', undefined, positiveInt, 'an integer >= 1'), undefined),
    seed:
      take(
        num(values.seed, 'seed', 1, (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32, 'an integer 0..2^32-1'),
        1,
      ) ?? 1,
    dvdCount: take(num(values.dvds, 'dvds', 1000, positiveInt, 'an integer >= 1'), 1000) ?? 1000,
    firstDvd: take(num(values['first-dvd'], 'first-dvd', 1, positiveInt, 'an integer >= 1'), 1) ?? 1,
    returnAfterMs:
      take(
        num(values['return-after'], 'return-after', 1000, (n) => n >= 0, 'a number of ms >= 0'),
        1000,
      ) ?? 1000,
    timeoutMs:
      take(
        num(values.timeout, 'timeout', 5000, (n) => n > 0, 'a number of ms > 0'),
        5000,
      ) ?? 5000,
    maxErrorRate:
      take(
        num(values['max-error-rate'], 'max-error-rate', 0.01, (n) => n >= 0 && n <= 1, 'a fraction 0..1'),
        0.01,
      ) ?? 0.01,
  };
  if (values.duration === undefined && values.requests === undefined) errors.push('give --duration S or --requests N');
  return errors.length > 0 ? no(errors.join('; ')) : ok(options);
}
