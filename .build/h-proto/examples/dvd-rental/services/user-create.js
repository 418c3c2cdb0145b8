/** user-create: registers a customer. POST /users {name, email} -> 201 {id}. */
import { good } from './checked.js';
import { openDatabase, sqlState } from './db.js';
import { errorReply, reply } from './http-server.js';
import { defineService } from './service.js';
import { email, jsonObject, text } from './validate.js';
export const userCreate = defineService({
    name: 'user-create',
    needs: ['DATABASE_URL'],
    async start(env, log) {
        const db = await openDatabase(env.DATABASE_URL, log);
        if (!db.ok)
            return db;
        const pool = db.value;
        return good({
            routes: [{ method: 'POST', pattern: '/users', handler: (req) => createUser(pool, req) }],
            stop: () => pool.end(),
        });
    },
});
async function createUser(pool, req) {
    const body = jsonObject(req.body);
    if (!body.ok)
        return errorReply(400, body.error);
    const name = text(body.value.name, 'name', 200);
    if (!name.ok)
        return errorReply(400, name.error);
    const mail = email(body.value.email, 'email');
    if (!mail.ok)
        return errorReply(400, mail.error);
    try {
        const res = await pool.query('INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id', [name.value, mail.value]);
        return reply(201, { id: res.rows[0].id });
    }
    catch (err) {
        if (sqlState(err) === '23505')
            return errorReply(409, `a user with email ${mail.value} already exists`);
        throw err;
    }
}
//# sourceMappingURL=user-create.js.map