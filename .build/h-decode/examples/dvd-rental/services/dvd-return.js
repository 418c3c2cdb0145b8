/** dvd-return: the public entry for returns. POST /returns {rental} with `x-user-id`, relayed to dvd-update. */
import { good } from './checked.js';
import { callJson, describeBody, downstreamHeaders, joinUrl } from './http-client.js';
import { errorReply, reply } from './http-server.js';
import { defineService } from './service.js';
import { jsonObject, text, userIdHeader } from './validate.js';
/** Answers from dvd-update that mean something to the client and are passed on as they are. */
const RELAYED = new Set([200, 400, 403, 404, 409]);
export const dvdReturn = defineService({
    name: 'dvd-return',
    needs: ['DVD_UPDATE_URL'],
    async start(env) {
        return good({
            routes: [{ method: 'POST', pattern: '/returns', handler: (req) => relayReturn(env.DVD_UPDATE_URL, req) }],
            stop: async () => undefined,
        });
    },
});
async function relayReturn(dvdUpdateUrl, req) {
    const actor = userIdHeader(req.headers);
    if (!actor.ok)
        return errorReply(400, actor.error);
    if (actor.value === undefined)
        return errorReply(400, 'x-user-id header is required');
    const body = jsonObject(req.body);
    if (!body.ok)
        return errorReply(400, body.error);
    const rental = text(body.value.rental, 'rental', 64);
    if (!rental.ok)
        return errorReply(400, rental.error);
    const res = await callJson('POST', joinUrl(dvdUpdateUrl, '/returns'), {
        body: { rental: rental.value },
        headers: downstreamHeaders(req.trace, actor.value),
    });
    if (!res.ok)
        return errorReply(502, `dvd-update unavailable: ${res.message}`);
    if (RELAYED.has(res.status))
        return reply(res.status, res.body);
    return errorReply(502, `dvd-update answered ${res.status}: ${describeBody(res.body)}`);
}
//# sourceMappingURL=dvd-return.js.map