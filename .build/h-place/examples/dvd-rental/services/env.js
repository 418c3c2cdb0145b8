/**
 * Services are configured only through environment variables, so an orchestrator can start
 * each one in its own network namespace with its own addresses.
 */
import { isIP } from 'node:net';
import { bad, good } from './checked.js';
export const SERVICE_NAMES = ['user-create', 'user-update', 'contract-update', 'dvd-update', 'dvd-return', 'shipping'];
const SCHEMES = {
    DATABASE_URL: ['postgres:', 'postgresql:'],
    NATS_URL: ['nats:'],
    USER_UPDATE_URL: ['http:'],
    SHIPPING_URL: ['http:'],
    DVD_UPDATE_URL: ['http:'],
};
export function isServiceName(value) {
    return SERVICE_NAMES.includes(value);
}
export function readPort(raw, fallback) {
    if (raw === undefined || raw === '')
        return good(fallback);
    if (!/^[0-9]{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535)
        return bad(`PORT must be a TCP port 1-65535, got "${raw}"`);
    return good(Number(raw));
}
export function readBind(raw) {
    if (raw === undefined || raw === '')
        return good('0.0.0.0');
    if (isIP(raw) === 0)
        return bad(`BIND must be an IPv4 or IPv6 address, got "${raw}"`);
    return good(raw);
}
export function readServiceEnv(source, needs) {
    const port = readPort(source.PORT, 8080);
    if (!port.ok)
        return port;
    const bind = readBind(source.BIND);
    if (!bind.ok)
        return bind;
    const out = { port: port.value, bind: bind.value };
    for (const key of needs) {
        const raw = source[key];
        if (raw === undefined || raw === '')
            return bad(`${key} is required (${SCHEMES[key].join(' or ')}//...)`);
        let url;
        try {
            url = new URL(raw);
        }
        catch {
            return bad(`${key} is not a URL: "${raw}"`);
        }
        if (!SCHEMES[key].includes(url.protocol))
            return bad(`${key} must use ${SCHEMES[key].join(' or ')}, got "${url.protocol}"`);
        out[key] = raw;
    }
    return good(out);
}
//# sourceMappingURL=env.js.map