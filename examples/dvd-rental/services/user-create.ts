/**
 * user-create: registers a customer. POST /users {name, email} -> 201 {id}. When the request
 * carries `x-user-id` (the identity provider's id for the new customer), the row gets that id.
 */
import { sqlState } from './db.js';
import { errorReply, reply, type Request, type Reply } from './http-server.js';
import { defineDatabaseService } from './service.js';
import { email, jsonObject, text, userIdHeader } from './validate.js';
import type { Pool } from './db.js';

export const userCreate = defineDatabaseService('user-create', (pool) => [
  { method: 'POST', pattern: '/users', handler: (req) => createUser(pool, req) },
]);

/** Ids from this value up belong to the identity provider; lower ones are assigned by the database. */
const FIRST_EXTERNAL_USER_ID = 1_000_000;

async function createUser(pool: Pool, req: Request): Promise<Reply> {
  const actor = userIdHeader(req.headers);
  if (!actor.ok) return errorReply(400, actor.error);
  if (actor.value !== undefined && actor.value < FIRST_EXTERNAL_USER_ID) {
    return errorReply(400, `x-user-id of a new user must be at least ${FIRST_EXTERNAL_USER_ID}; lower ids are assigned by the service`);
  }
  const body = jsonObject(req.body);
  if (!body.ok) return errorReply(400, body.error);
  const name = text(body.value.name, 'name', 200);
  if (!name.ok) return errorReply(400, name.error);
  const mail = email(body.value.email, 'email');
  if (!mail.ok) return errorReply(400, mail.error);
  try {
    // With an identity from the caller the row is keyed by it ($1 = user id, as everywhere);
    // without one, the database assigns the id.
    const res =
      actor.value !== undefined
        ? await pool.query<{ id: number }>('INSERT INTO users (id, name, email) VALUES ($1, $2, $3) RETURNING id', [
            actor.value,
            name.value,
            mail.value,
          ])
        : await pool.query<{ id: number }>('INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id', [name.value, mail.value]);
    return reply(201, { id: res.rows[0].id });
  } catch (err) {
    if (sqlState(err) !== '23505') throw err;
    const constraint = (err as { constraint?: unknown }).constraint;
    return constraint === 'users_pkey'
      ? errorReply(409, `user ${actor.value ?? ''} already exists`)
      : errorReply(409, `a user with email ${mail.value} already exists`);
  }
}
