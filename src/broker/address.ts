/**
 * Where the store and the bus live, as people write it: `sqlite:PATH`, `postgres://…`, `memory`,
 * `nats://…`. Parsed before anything connects, so a typo is reported as such, not as a timeout.
 */
import { diag, fail, ok, type Result } from '../diagnostics/index.js';

export type StoreAddress =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; connectionString: string; schema?: string; label: string };

export type BusAddress =
  | { kind: 'memory'; path?: string }
  | { kind: 'nats'; server: string; user?: string; pass?: string; token?: string; stream?: string; prefix?: string; label: string };

const STORE_FORMS = 'sqlite:PATH, sqlite::memory: or postgres://USER@HOST:PORT/DB[?schema=NAME]';
const BUS_FORMS = 'memory, memory:PATH or nats://HOST:PORT[?stream=NAME&prefix=SUBJECT]';

function sqlitePath(rest: string): string {
  // sqlite:///abs/path is the URL spelling of sqlite:/abs/path.
  return rest.startsWith('///') ? rest.slice(2) : rest;
}

/** The URL as it may be shown: without its password. */
function redact(u: URL): string {
  const c = new URL(u.href);
  if (c.password) c.password = '***';
  return c.href;
}

export function parseStoreAddress(text: string): Result<StoreAddress> {
  const bad = (why: string) =>
    fail<StoreAddress>(diag('E_BROKER_URL', `store "${text}": ${why} (expected ${STORE_FORMS})`, { field: 'store' }));
  if (typeof text !== 'string' || text.trim() === '') return bad('empty');
  if (text.startsWith('sqlite:')) {
    const path = sqlitePath(text.slice('sqlite:'.length));
    if (path === '') return bad('no file path after "sqlite:"');
    return ok({ kind: 'sqlite', path });
  }
  if (/^postgres(ql)?:/.test(text)) {
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      return bad('not a valid URL');
    }
    const schema = u.searchParams.get('schema') ?? undefined;
    u.searchParams.delete('schema');
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
      return bad(`schema "${schema}" must be a lowercase SQL identifier`);
    if (!u.hostname && !u.searchParams.get('host')) return bad('no host');
    return ok({ kind: 'postgres', connectionString: u.href, schema, label: redact(u) });
  }
  return bad('unknown kind of store');
}

export function parseBusAddress(text: string): Result<BusAddress> {
  const bad = (why: string) => fail<BusAddress>(diag('E_BROKER_URL', `bus "${text}": ${why} (expected ${BUS_FORMS})`, { field: 'bus' }));
  if (typeof text !== 'string' || text.trim() === '') return bad('empty');
  if (text === 'memory') return ok({ kind: 'memory' });
  if (text.startsWith('memory:')) {
    const path = sqlitePath(text.slice('memory:'.length));
    if (path === '') return bad('no file path after "memory:"');
    return ok({ kind: 'memory', path });
  }
  if (text.startsWith('nats:')) {
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      return bad('not a valid URL');
    }
    if (!u.hostname) return bad('no host');
    if (u.pathname && u.pathname !== '/') return bad(`unexpected path "${u.pathname}"`);
    for (const k of u.searchParams.keys())
      if (k !== 'stream' && k !== 'prefix') return bad(`unknown parameter "${k}" (have stream, prefix)`);
    const port = u.port || '4222';
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    const auth = user && pass ? { user, pass } : user ? { token: user } : {};
    const label = `nats://${u.hostname}:${port}`;
    return ok({
      kind: 'nats',
      server: `${u.hostname}:${port}`,
      ...auth,
      stream: u.searchParams.get('stream') ?? undefined,
      prefix: u.searchParams.get('prefix') ?? undefined,
      label,
    });
  }
  return bad('unknown kind of bus');
}
