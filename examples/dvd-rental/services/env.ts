/**
 * Services are configured only through environment variables, so an orchestrator can start
 * each one in its own network namespace with its own addresses.
 */
import { isIP } from 'node:net';
import { bad, good, type Checked } from './checked.js';

export const SERVICE_NAMES = ['user-create', 'user-update', 'contract-update', 'dvd-update', 'dvd-return', 'shipping'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export type EnvKey = 'DATABASE_URL' | 'NATS_URL' | 'USER_UPDATE_URL' | 'SHIPPING_URL' | 'DVD_UPDATE_URL';

/** The listening address plus exactly the dependency URLs a service declared. */
export type ServiceEnv<K extends EnvKey> = { readonly port: number; readonly bind: string } & { readonly [P in K]: string };

const SCHEMES: Record<EnvKey, readonly string[]> = {
  DATABASE_URL: ['postgres:', 'postgresql:'],
  NATS_URL: ['nats:'],
  USER_UPDATE_URL: ['http:'],
  SHIPPING_URL: ['http:'],
  DVD_UPDATE_URL: ['http:'],
};

export function isServiceName(value: string): value is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(value);
}

function readPort(raw: string | undefined, fallback: number): Checked<number> {
  if (raw === undefined || raw === '') return good(fallback);
  if (!/^[0-9]{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) return bad(`PORT must be a TCP port 1-65535, got "${raw}"`);
  return good(Number(raw));
}

function readBind(raw: string | undefined): Checked<string> {
  if (raw === undefined || raw === '') return good('0.0.0.0');
  if (isIP(raw) === 0) return bad(`BIND must be an IPv4 or IPv6 address, got "${raw}"`);
  return good(raw);
}

export function readServiceEnv<K extends EnvKey>(source: NodeJS.ProcessEnv, needs: readonly K[]): Checked<ServiceEnv<K>> {
  const port = readPort(source.PORT, 8080);
  if (!port.ok) return port;
  const bind = readBind(source.BIND);
  if (!bind.ok) return bind;
  const out: Record<string, string | number> = { port: port.value, bind: bind.value };
  for (const key of needs) {
    const raw = source[key];
    if (raw === undefined || raw === '') return bad(`${key} is required (${SCHEMES[key].join(' or ')}//...)`);
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return bad(`${key} is not a URL: "${raw}"`);
    }
    if (!SCHEMES[key].includes(url.protocol)) return bad(`${key} must use ${SCHEMES[key].join(' or ')}, got "${url.protocol}"`);
    out[key] = raw;
  }
  return good(out as ServiceEnv<K>);
}
