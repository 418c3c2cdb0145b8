/**
 * dvd-update: the owner of the catalogue and rentals. Consumes `rentals.>` from NATS
 * (fulfils `rentals.created`: marks the DVD rented, records the rental, asks shipping to
 * ship), and serves POST /returns {rental} for dvd-return.
 */
import { performance } from 'node:perf_hooks';
import { good } from './checked.js';
import { inTransaction, openDatabase, sqlState, type Pool } from './db.js';
import { callJson, describeBody, downstreamHeaders, joinUrl } from './http-client.js';
import { errorReply, reply, type Request, type Reply } from './http-server.js';
import { errorMessage, type Logger } from './log.js';
import { openNats, RENTAL_CREATED, RENTALS_ALL, type Msg } from './nats.js';
import { defineService } from './service.js';
import { continueTrace, formatTraceparent, type TraceContext } from './trace.js';
import { jsonObject, positiveId, text, userIdHeader } from './validate.js';

/** Messages handled at once; beyond this the consumer stops pulling until one finishes. */
const MAX_CONCURRENT_MESSAGES = 32;

interface Deps {
  readonly pool: Pool;
  readonly shippingUrl: string;
  readonly log: Logger;
}

type Fulfilment = 'rented' | 'dvd-unavailable' | 'duplicate' | 'unknown-user' | 'invalid';

export const dvdUpdate = defineService({
  name: 'dvd-update',
  needs: ['DATABASE_URL', 'NATS_URL', 'SHIPPING_URL'],
  async start(env, log) {
    const db = await openDatabase(env.DATABASE_URL, log);
    if (!db.ok) return db;
    const nats = await openNats(env.NATS_URL, 'dvd-update', log);
    if (!nats.ok) {
      await db.value.end();
      return nats;
    }
    const deps: Deps = { pool: db.value, shippingUrl: env.SHIPPING_URL, log };
    const nc = nats.value;
    // A queue group lets several dvd-update replicas share the rentals.
    const sub = nc.subscribe(RENTALS_ALL, { queue: 'dvd-update' });
    const inFlight = new Set<Promise<void>>();
    const consuming = (async () => {
      for await (const msg of sub) {
        if (inFlight.size >= MAX_CONCURRENT_MESSAGES) await Promise.race(inFlight);
        const p: Promise<void> = onMessage(deps, msg)
          .catch((err: unknown) => log.error(`message on ${msg.subject} failed: ${errorMessage(err)}`))
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    })();
    await nc.flush(); // the subscription is registered before we report ready
    return good({
      routes: [{ method: 'POST', pattern: '/returns', handler: (req) => returnRental(deps, req) }],
      async stop() {
        await nc.drain();
        await consuming;
        await Promise.all(inFlight);
        await deps.pool.end();
      },
    });
  },
});

async function onMessage(deps: Deps, msg: Msg): Promise<void> {
  const started = performance.now();
  const headerTrace = msg.headers?.get('traceparent');
  let payload: unknown;
  try {
    payload = JSON.parse(msg.string());
  } catch {
    payload = undefined;
  }
  const bodyTrace = typeof payload === 'object' && payload !== null ? (payload as { traceparent?: unknown }).traceparent : undefined;
  const trace = continueTrace(headerTrace || (typeof bodyTrace === 'string' ? bodyTrace : undefined));
  const fields = { nats: msg.subject, traceparent: formatTraceparent(trace) };
  if (msg.subject !== RENTAL_CREATED) {
    deps.log.info({ ...fields, outcome: 'ignored' });
    return;
  }
  const result = await fulfil(deps, payload, trace);
  deps.log.info({ ...fields, ...result, ms: Math.round((performance.now() - started) * 100) / 100 });
}

async function fulfil(deps: Deps, payload: unknown, trace: TraceContext): Promise<Record<string, unknown> & { outcome: Fulfilment }> {
  const body = jsonObject(payload);
  if (!body.ok) return { outcome: 'invalid', error: body.error };
  const contract = text(body.value.contract, 'contract', 64);
  if (!contract.ok) return { outcome: 'invalid', error: contract.error };
  const user = positiveId(body.value.user, 'user');
  if (!user.ok) return { outcome: 'invalid', error: user.error };
  const dvd = positiveId(body.value.dvd, 'dvd');
  if (!dvd.ok) return { outcome: 'invalid', error: dvd.error };
  const ids = { contract: contract.value, user: user.value, dvd: dvd.value };

  let outcome: Fulfilment;
  try {
    outcome = await inTransaction<Fulfilment>(deps.pool, async (client) => {
      const taken = await client.query('UPDATE dvds SET available = false, rented_by = $1 WHERE id = $2 AND available RETURNING id', [
        user.value,
        dvd.value,
      ]);
      if (taken.rowCount === 0) return { commit: false, value: 'dvd-unavailable' };
      const inserted = await client.query(
        'INSERT INTO rentals (user_id, dvd_id, contract, trace_id) VALUES ($1, $2, $3, $4) ON CONFLICT (contract) DO NOTHING',
        [user.value, dvd.value, contract.value, trace.traceId],
      );
      if (inserted.rowCount === 0) return { commit: false, value: 'duplicate' };
      return { commit: true, value: 'rented' };
    });
  } catch (err) {
    if (sqlState(err) === '23503') return { outcome: 'unknown-user', ...ids };
    throw err;
  }
  if (outcome !== 'rented') return { outcome, ...ids };

  const shipped = await callJson('POST', joinUrl(deps.shippingUrl, '/shipments'), {
    body: { rental: contract.value, user: user.value, dvd: dvd.value },
    headers: downstreamHeaders(trace, user.value),
  });
  if (!shipped.ok) return { outcome, ...ids, shipping: 'failed', error: shipped.message };
  if (shipped.status !== 201 && shipped.status !== 200) {
    return { outcome, ...ids, shipping: 'failed', error: `shipping answered ${shipped.status}: ${describeBody(shipped.body)}` };
  }
  return { outcome, ...ids, shipping: 'ok' };
}

async function returnRental(deps: Deps, req: Request): Promise<Reply> {
  const actor = userIdHeader(req.headers);
  if (!actor.ok) return errorReply(400, actor.error);
  if (actor.value === undefined) return errorReply(400, 'x-user-id header is required');
  const user = actor.value;
  const body = jsonObject(req.body);
  if (!body.ok) return errorReply(400, body.error);
  const rental = text(body.value.rental, 'rental', 64);
  if (!rental.ok) return errorReply(400, rental.error);

  return inTransaction<Reply>(deps.pool, async (client) => {
    // Only the renting user can return a rental: user_id is part of the match.
    const closed = await client.query<{ dvd_id: number }>(
      'UPDATE rentals SET returned_at = now() WHERE user_id = $1 AND contract = $2 AND returned_at IS NULL RETURNING dvd_id',
      [user, rental.value],
    );
    if (closed.rowCount === 0) {
      const known = await client.query('SELECT returned_at FROM rentals WHERE user_id = $1 AND contract = $2', [user, rental.value]);
      return {
        commit: false,
        value:
          known.rowCount === 0
            ? errorReply(404, `user ${user} has no rental ${rental.value}`)
            : errorReply(409, `rental ${rental.value} was already returned`),
      };
    }
    const dvd = closed.rows[0].dvd_id;
    await client.query('UPDATE dvds SET available = true, rented_by = NULL WHERE rented_by = $1 AND id = $2', [user, dvd]);
    return { commit: true, value: reply(200, { rental: rental.value, dvd, returned: true }) };
  });
}
