/**
 * Drives the DVD-rental application like its customers would: sign up, rent DVDs (as the
 * renting user, `x-user-id`), return some of them. Each request starts a fresh W3C trace.
 */
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { callJson, formatTraceparent, joinUrl, newTrace } from '../services/index.js';
import { randomInt, seededRandom } from './rng.js';
import { increment, summariseLatencies } from './stats.js';
/** Shares of the mix once users exist; the rest are returns. */
const CREATE_SHARE = 0.2;
const RENT_SHARE = 0.55;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
class Customers {
    random;
    dvdCount;
    users = [];
    open = [];
    /** DVDs this run has rented or is renting; never rented twice at once. */
    held = new Set();
    emails = 0;
    runId = randomBytes(4).toString('hex');
    constructor(random, dvdCount) {
        this.random = random;
        this.dvdCount = dvdCount;
    }
    nextEmail() {
        return `loadgen-${this.runId}-${++this.emails}@example.test`;
    }
    pickUser() {
        return this.users[randomInt(this.random, 0, this.users.length - 1)];
    }
    /** A DVD not held by this run, or undefined when a few random tries all hit held ones. */
    pickFreeDvd() {
        for (let i = 0; i < 32; i++) {
            const dvd = randomInt(this.random, 1, this.dvdCount);
            if (!this.held.has(dvd))
                return dvd;
        }
        return undefined;
    }
    /** Takes a returnable rental (old enough to have been recorded) out of the open list. */
    takeReturnable(now, minAgeMs) {
        const eligible = [];
        for (let i = 0; i < this.open.length; i++)
            if (now - this.open[i].at >= minAgeMs)
                eligible.push(i);
        if (eligible.length === 0)
            return undefined;
        const index = eligible[randomInt(this.random, 0, eligible.length - 1)];
        return this.open.splice(index, 1)[0];
    }
}
export async function runLoad(opts, onRecord) {
    if (opts.durationS === undefined && opts.requests === undefined)
        throw new RangeError('runLoad needs durationS or requests');
    const random = seededRandom(opts.seed);
    const customers = new Customers(random, opts.dvdCount);
    const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
    const latencies = [];
    const errorsByKind = {};
    const byOperation = {};
    let issued = 0;
    let ok = 0;
    const started = performance.now();
    const deadline = opts.durationS === undefined ? Infinity : started + opts.durationS * 1000;
    const limit = opts.requests ?? Infinity;
    const call = (url, path, body, traceparent, userId) => callJson('POST', joinUrl(url, path), {
        body,
        agent,
        timeoutMs: opts.timeoutMs,
        headers: userId === undefined ? { traceparent } : { traceparent, 'x-user-id': String(userId) },
    });
    async function one() {
        const traceparent = formatTraceparent(newTrace());
        const t0 = performance.now();
        let op;
        let userId;
        let res;
        let success;
        const r = random();
        const returning = customers.users.length > 0 && r >= CREATE_SHARE + RENT_SHARE ? customers.takeReturnable(Date.now(), opts.returnAfterMs) : undefined;
        const dvd = customers.users.length > 0 && r >= CREATE_SHARE && !returning ? customers.pickFreeDvd() : undefined;
        if (returning) {
            op = 'return';
            userId = returning.user;
            res = await call(opts.dvdReturnUrl, '/returns', { rental: returning.contract }, traceparent, userId);
            success = (x) => x.status === 200;
            if (res.ok && res.status === 200)
                customers.held.delete(returning.dvd);
            else
                customers.open.push(returning); // keep it; a later return may succeed
        }
        else if (dvd !== undefined) {
            op = 'rent';
            userId = customers.pickUser();
            customers.held.add(dvd);
            res = await call(opts.contractUpdateUrl, '/contracts', { user: userId, dvd }, traceparent, userId);
            success = (x) => x.status === 201;
            const contract = res.ok ? res.body?.contract : undefined;
            if (res.ok && res.status === 201 && typeof contract === 'string') {
                customers.open.push({ contract, user: userId, dvd, at: Date.now() });
            }
            else {
                customers.held.delete(dvd);
            }
        }
        else {
            op = 'create-user';
            const n = customers.users.length + 1;
            res = await call(opts.userCreateUrl, '/users', { name: `Customer ${n}`, email: customers.nextEmail() }, traceparent);
            success = (x) => x.status === 201;
            const id = res.ok ? res.body?.id : undefined;
            if (res.ok && res.status === 201 && typeof id === 'number')
                customers.users.push(id);
        }
        const ms = performance.now() - t0;
        latencies.push(ms);
        increment(byOperation, op);
        let error;
        if (!res.ok)
            error = `${op}:${res.kind}`;
        else if (!success(res))
            error = `${op}:${res.status}`;
        if (error)
            increment(errorsByKind, error);
        else
            ok++;
        onRecord?.({ op, traceparent, userId, status: res.ok ? res.status : undefined, error, ms });
    }
    async function worker() {
        for (;;) {
            if (issued >= limit || performance.now() >= deadline)
                return;
            const slot = issued++;
            if (opts.rate > 0) {
                const wait = started + (slot * 1000) / opts.rate - performance.now();
                if (wait > 0)
                    await sleep(wait);
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
    }
    finally {
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
//# sourceMappingURL=run-load.js.map