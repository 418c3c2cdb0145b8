/** shipping: records shipments in memory. POST /shipments {rental, user, dvd} -> 201 {shipment}. */
import { randomUUID } from 'node:crypto';
import { good } from './checked.js';
import { errorReply, reply, type Request, type Reply } from './http-server.js';
import { defineService } from './service.js';
import { jsonObject, positiveId, text } from './validate.js';

export interface Shipment {
  readonly shipment: string;
  readonly rental: string;
  readonly user: number;
  readonly dvd: number;
  readonly at: string;
}

/** Keeps memory bounded under sustained load; the oldest shipments are forgotten first. */
const MAX_SHIPMENTS = 100_000;

export const shipping = defineService({
  name: 'shipping',
  needs: [],
  async start() {
    const byRental = new Map<string, Shipment>();
    return good({
      routes: [
        { method: 'POST', pattern: '/shipments', handler: async (req) => ship(byRental, req) },
        { method: 'GET', pattern: '/shipments/:rental', handler: async (req) => find(byRental, req) },
      ],
      stop: async () => byRental.clear(),
    });
  },
});

function ship(byRental: Map<string, Shipment>, req: Request): Reply {
  const body = jsonObject(req.body);
  if (!body.ok) return errorReply(400, body.error);
  const rental = text(body.value.rental, 'rental', 64);
  if (!rental.ok) return errorReply(400, rental.error);
  const user = positiveId(body.value.user, 'user');
  if (!user.ok) return errorReply(400, user.error);
  const dvd = positiveId(body.value.dvd, 'dvd');
  if (!dvd.ok) return errorReply(400, dvd.error);
  // Idempotent per rental, so a redelivered message does not ship twice.
  const existing = byRental.get(rental.value);
  if (existing) return reply(200, existing);
  if (byRental.size >= MAX_SHIPMENTS) {
    const oldest = byRental.keys().next();
    if (!oldest.done) byRental.delete(oldest.value);
  }
  const shipment: Shipment = {
    shipment: randomUUID(),
    rental: rental.value,
    user: user.value,
    dvd: dvd.value,
    at: new Date().toISOString(),
  };
  byRental.set(rental.value, shipment);
  return reply(201, shipment);
}

function find(byRental: Map<string, Shipment>, req: Request): Reply {
  const shipment = byRental.get(req.params.rental);
  return shipment ? reply(200, shipment) : errorReply(404, `no shipment for rental ${req.params.rental}`);
}
