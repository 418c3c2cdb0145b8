/** user-update: bills a customer. POST /users/:id/bill {amount, contract} -> 200 {id, balance}. */
import type { Pool } from './db.js';
import { errorReply, reply, type Request, type Reply } from './http-server.js';
import { defineDatabaseService } from './service.js';
import { amount, jsonObject, positiveId, text, userIdHeader } from './validate.js';

/** Upper bound on one charge; larger amounts are a client bug or an attack. */
const MAX_CHARGE = 1000;

export const userUpdate = defineDatabaseService('user-update', (pool) => [
  { method: 'POST', pattern: '/users/:id/bill', handler: (req) => bill(pool, req) },
]);

async function bill(pool: Pool, req: Request): Promise<Reply> {
  const user = positiveId(req.params.id, 'user id in path');
  if (!user.ok) return errorReply(400, user.error);
  const actor = userIdHeader(req.headers);
  if (!actor.ok) return errorReply(400, actor.error);
  // A user may only be billed on their own behalf.
  if (actor.value !== undefined && actor.value !== user.value) return errorReply(403, 'x-user-id does not match the billed user');
  const body = jsonObject(req.body);
  if (!body.ok) return errorReply(400, body.error);
  const charge = amount(body.value.amount, 'amount', MAX_CHARGE);
  if (!charge.ok) return errorReply(400, charge.error);
  const contract = text(body.value.contract, 'contract', 64);
  if (!contract.ok) return errorReply(400, contract.error);

  const found = await pool.query<{ id: number }>('SELECT id, name, balance FROM users WHERE id = $1', [user.value]);
  if (found.rowCount === 0) return errorReply(404, `user ${user.value} does not exist`);
  const updated = await pool.query<{ balance: string }>('UPDATE users SET balance = balance + $2 WHERE id = $1 RETURNING balance', [
    user.value,
    charge.value.toFixed(2),
  ]);
  if (updated.rowCount === 0) return errorReply(404, `user ${user.value} does not exist`);
  return reply(200, { id: user.value, contract: contract.value, balance: updated.rows[0].balance });
}
