/** NATS connection for the services that publish or consume rental events. */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { bad, good, type Checked } from './checked.js';
import { errorMessage, type Logger } from './log.js';

export type { NatsConnection, Msg } from '@nats-io/transport-node';
export { headers as natsHeaders } from '@nats-io/transport-node';

export const RENTAL_CREATED = 'rentals.created';
export const RENTALS_ALL = 'rentals.>';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connects (retrying up to `waitMs`), then keeps reconnecting forever and logs status changes. */
export async function openNats(url: string, name: string, log: Logger, waitMs = 30_000): Promise<Checked<NatsConnection>> {
  const deadline = Date.now() + waitMs;
  let last = '';
  for (;;) {
    try {
      const nc = await connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 2000 });
      void watch(nc, log);
      return good(nc);
    } catch (err) {
      last = errorMessage(err);
    }
    if (Date.now() >= deadline) return bad(`NATS ${url} not reachable within ${waitMs} ms: ${last}`);
    await sleep(500);
  }
}

async function watch(nc: NatsConnection, log: Logger): Promise<void> {
  try {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') log.info({ nats: s.type });
    }
  } catch (err) {
    log.error(`NATS status stream failed: ${errorMessage(err)}`);
  }
}
