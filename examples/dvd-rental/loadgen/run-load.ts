/**
 * Drives the DVD-rental application like its customers would: sign up, rent DVDs (as the
 * renting user, `x-user-id`), return some of them. Each request starts a fresh W3C trace.
 */
import { randomBytes, randomInt as secureInt } from 'node:crypto';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { callJson, formatTraceparent, joinUrl, newTrace, type CallResult } from '../services/index.js';
import type { LoadOptions } from './options.js';
import { randomInt, seededRandom, type Random } from './rng.js';
import { increment, summariseLatencies, type LatencySummary } from './stats.js';

export type Operation = 'create-user' | 'rent' | 'return';

/** One finished request, for callers that want to follow individual traces. */
export interface RequestRecord {
  readonly op: Operation;
  readonly traceparent: string;
  readonly userId?: number;
  readonly status?: number;
  /** Undefined on success; otherwise e.g. `rent:404` or `create-user:refused`. */
  readonly error?: string;
  readonly ms: number;
}

export interface LoadSummary {
  readonly requests: number;
  readonly ok: number;
  readonly errors: number;
  readonly errorRate: number;
  readonly errorsByKind: Readonly<Record<string, number>>;
  readonly byOperation: Readonly<Record<string, number>>;
  readonly latencyMs: LatencySummary;
  readonly durationS: number;
  readonly ratePerS: number;
}

interface Rental {
  readonly contract: string;
  readonly user: number;
  readonly dvd: number;
  readonly at: number;
}

/** Shares of the mix once users exist; the rest are returns. */
const CREATE_SHARE = 0.2;
const RENT_SHARE = 0.55;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Customers {
  readonly users: number[] = [];
  readonly open: Rental[] = [];
  /** DVDs this run has rented or is renting; never rented twice at once. */
  readonly held = new Set<number>();
  private emails = 0;
  private readonly runId = randomBytes(4).toString('hex');
  /**
   * New customers get ids from the identity-provider range (>= 1000000) in a block of
   * 100000 chosen per run, not per seed, so repeated runs against one database do not collide.
   */
  private nextId = 1_000_000 + secureInt(0, 21_000) * 100_000;

  constructor(
    private readonly random: Random,
    private readonly dvdCount: number,
    private readonly firstDvd = 1,
  ) {}

  nextEmail(): string {
    return `loadgen-${this.runId}-${++this.emails}@example.test`;
  }

  nextUserId(): number {
    return this.nextId++;
  }

  pickUser(): number {
    return this.users[randomInt(this.random, 0, this.users.length - 1)];
  }

  /** A DVD not held by this run, or undefined when a few random tries all hit held ones. */
  pickFreeDvd(): number | undefined {
    for (let i = 0; i < 32; i++) {
      const dvd = randomInt(this.random, this.firstDvd, this.firstDvd + this.dvdCount - 1);
      if (!this.held.has(dvd)) return dvd;
    }
    return undefined;
  }

  /** Takes a returnable rental (old enough to have been recorded) out of the open list. */
  takeReturnable(now: number, minAgeMs: number): Rental | undefined {
    const eligible: number[] = [];
    for (let i = 0; i < this.open.length; i++) if (now - this.open[i].at >= minAgeMs) eligible.push(i);
    if (eligible.length === 0) return undefined;
    const index = eligible[randomInt(this.random, 0, eligible.length - 1)];
    return this.open.splice(index, 1)[0];
  }
}

export async function runLoad(opts: LoadOptions, onRecord?: (record: RequestRecord) => void): Promise<LoadSummary> {
  if (opts.durationS === undefined && opts.requests === undefined) throw new RangeError('runLoad needs durationS or requests');
  const random = seededRandom(opts.seed);
  const customers = new Customers(random, opts.dvdCount, opts.firstDvd);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const latencies: number[] = [];
  const errorsByKind: Record<string, number> = {};
  const byOperation: Record<string, number> = {};
  let issued = 0;
  let ok = 0;
  const started = performance.now();
  const deadline = opts.durationS === undefined ? Infinity : started + opts.durationS * 1000;
  const limit = opts.requests ?? Infinity;

  const call = (url: string, path: string, body: unknown, traceparent: string, userId?: number): Promise<CallResult> =>
    callJson('POST', joinUrl(url, path), {
      body,
      agent,
      timeoutMs: opts.timeoutMs,
      headers: userId === undefined ? { traceparent } : { traceparent, 'x-user-id': String(userId) },
    });

  async function one(): Promise<void> {
    const traceparent = formatTraceparent(newTrace());
    const t0 = performance.now();
    let op: Operation;
    let userId: number | undefined;
    let res: CallResult;
    let success: (r: CallResult & { ok: true }) => boolean;
    const r = random();
    const returning =
      customers.users.length > 0 && r >= CREATE_SHARE + RENT_SHARE ? customers.takeReturnable(Date.now(), opts.returnAfterMs) : undefined;
    const dvd = customers.users.length > 0 && r >= CREATE_SHARE && !returning ? customers.pickFreeDvd() : undefined;
    if (returning) {
      op = 'return';
      userId = returning.user;
      res = await call(opts.dvdReturnUrl, '/returns', { rental: returning.contract }, traceparent, userId);
      success = (x) => x.status === 200;
      if (res.ok && res.status < 500) customers.held.delete(returning.dvd);
      else customers.open.push(returning); // the service failed, not the rental: try again later
    } else if (dvd !== undefined) {
      op = 'rent';
      userId = customers.pickUser();
      customers.held.add(dvd);
      res = await call(opts.contractUpdateUrl, '/contracts', { user: userId, dvd }, traceparent, userId);
      success = (x) => x.status === 201;
      const contract = res.ok ? (res.body as { contract?: unknown } | undefined)?.contract : undefined;
      if (res.ok && res.status === 201 && typeof contract === 'string') {
        customers.open.push({ contract, user: userId, dvd, at: Date.now() });
      } else {
        customers.held.delete(dvd);
      }
    } else {
      op = 'create-user';
      const id = customers.nextUserId();
      userId = id;
      // Signed up as the new customer, as an identity provider in front of the app would.
      res = await call(opts.userCreateUrl, '/users', { name: `Customer ${id}`, email: customers.nextEmail() }, traceparent, id);
      success = (x) => x.status === 201 && (x.body as { id?: unknown } | undefined)?.id === id;
      if (res.ok && success(res)) customers.users.push(id);
    }
    const ms = performance.now() - t0;
    latencies.push(ms);
    increment(byOperation, op);
    let error: string | undefined;
    if (!res.ok) error = `${op}:${res.kind}`;
    else if (!success(res)) error = `${op}:${res.status}`;
    if (error) increment(errorsByKind, error);
    else ok++;
    onRecord?.({ op, traceparent, userId, status: res.ok ? res.status : undefined, error, ms });
  }

  async function worker(): Promise<void> {
    for (;;) {
      if (issued >= limit || performance.now() >= deadline) return;
      const slot = issued++;
      if (opts.rate > 0) {
        const wait = started + (slot * 1000) / opts.rate - performance.now();
        if (wait > 0) await sleep(wait);
        if (performance.now() >= deadline) {
          issued--;
          return;
        }
      }
      await one();
    }
  }

  try {
    await Promise.all(Array.from({ length: opts.concurrency }, () => worker()));
  } finally {
    agent.destroy();
  }
  const durationS = (performance.now() - started) / 1000;
  const requests = latencies.length;
  const errors = requests - ok;
  return {
    requests,
    ok,
    errors,
    errorRate: requests === 0 ? 0 : errors / requests,
    errorsByKind,
    byOperation,
    latencyMs: summariseLatencies(latencies),
    durationS: Math.round(durationS * 1000) / 1000,
    ratePerS: durationS > 0 ? Math.round((requests / durationS) * 10) / 10 : 0,
  };
}
