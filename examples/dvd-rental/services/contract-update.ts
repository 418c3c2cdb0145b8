/**
 * contract-update: opens a rental contract. POST /contracts {user, dvd} with `x-user-id`:
 * bills the user through user-update, then announces the rental on NATS `rentals.created`
 * for dvd-update to fulfil. No database access of its own.
 */
import { randomUUID } from 'node:crypto';
import { good } from './checked.js';
import { callJson, describeBody, downstreamHeaders, joinUrl } from './http-client.js';
import { errorReply, reply, type Request, type Reply } from './http-server.js';
import { errorMessage } from './log.js';
import { natsHeaders, openNats, RENTAL_CREATED, type NatsConnection } from './nats.js';
import { defineService } from './service.js';
import { childSpan, formatTraceparent } from './trace.js';
import { jsonObject, positiveId, userIdHeader } from './validate.js';

/** How long a client waits for the broker to acknowledge the rental event. */
const PUBLISH_TIMEOUT_MS = 5000;

/** Flat price of one rental. */
export const RENTAL_PRICE = 3.99;

/** The message on `rentals.created`. */
interface RentalCreated {
  readonly contract: string;
  readonly user: number;
  readonly dvd: number;
  readonly traceparent: string;
}

interface Deps {
  readonly userUpdateUrl: string;
  readonly nc: NatsConnection;
}

export const contractUpdate = defineService({
  name: 'contract-update',
  needs: ['USER_UPDATE_URL', 'NATS_URL'],
  async start(env, log) {
    const nats = await openNats(env.NATS_URL, 'contract-update', log);
    if (!nats.ok) return nats;
    const deps: Deps = { userUpdateUrl: env.USER_UPDATE_URL, nc: nats.value };
    return good({
      routes: [{ method: 'POST', pattern: '/contracts', handler: (req) => openContract(deps, req) }],
      stop: () => nats.value.drain(),
    });
  },
});

async function openContract(deps: Deps, req: Request): Promise<Reply> {
  const body = jsonObject(req.body);
  if (!body.ok) return errorReply(400, body.error);
  const user = positiveId(body.value.user, 'user');
  if (!user.ok) return errorReply(400, user.error);
  const dvd = positiveId(body.value.dvd, 'dvd');
  if (!dvd.ok) return errorReply(400, dvd.error);
  const actor = userIdHeader(req.headers);
  if (!actor.ok) return errorReply(400, actor.error);
  if (actor.value === undefined) return errorReply(400, 'x-user-id header is required');
  if (actor.value !== user.value) return errorReply(403, 'x-user-id does not match user');

  const contract = randomUUID();
  const billed = await callJson('POST', joinUrl(deps.userUpdateUrl, `/users/${user.value}/bill`), {
    body: { amount: RENTAL_PRICE, contract },
    headers: downstreamHeaders(req.trace, user.value),
  });
  if (!billed.ok) return errorReply(502, `user-update unavailable: ${billed.message}`);
  if (billed.status === 404) return errorReply(404, `user ${user.value} does not exist`);
  if (billed.status !== 200) return errorReply(502, `user-update answered ${billed.status}: ${describeBody(billed.body)}`);

  const traceparent = formatTraceparent(childSpan(req.trace));
  const message: RentalCreated = { contract, user: user.value, dvd: dvd.value, traceparent };
  const h = natsHeaders();
  h.set('traceparent', traceparent);
  h.set('x-user-id', String(user.value));
  try {
    deps.nc.publish(RENTAL_CREATED, JSON.stringify(message), { headers: h });
    // The contract only exists for the client once the broker has the message; while NATS
    // is reconnecting the flush would wait indefinitely, so bound it.
    let timer: NodeJS.Timeout | undefined;
    const flushed = await Promise.race([
      // A flush that fails (connection closed) counts as not acknowledged, and is never left unhandled.
      deps.nc.flush().then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), PUBLISH_TIMEOUT_MS))),
    ]).finally(() => clearTimeout(timer));
    if (!flushed) return errorReply(503, `rental event not acknowledged by NATS within ${PUBLISH_TIMEOUT_MS} ms`);
  } catch (err) {
    return errorReply(503, `rental event not published: ${errorMessage(err)}`);
  }
  return reply(201, { contract });
}
