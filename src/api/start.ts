/** Starting and stopping the API server: a listening socket for the Hono app. */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { ApiCode } from './codes.js';
import type { HubStats } from './record-hub.js';
import { createApi, type ApiOptions } from './server.js';
import { TokenStore } from './tokens.js';

export interface ApiServerOptions extends Omit<ApiOptions, 'tokens'> {
  /** A token store, or its file (STATE/tokens.json). */
  tokens: TokenStore | string;
  /** `HOST:PORT` (`[::1]:8080` for IPv6); port 0 picks a free one. Default 127.0.0.1:8080. */
  listen?: string;
}

export interface ApiServer {
  /** `http://HOST:PORT`, with the port actually bound. */
  url: string;
  /** Live streams (clients, pollers, records delivered, clients dropped) and audit records that failed. */
  stats(): { streams: HubStats; auditFailures: number };
  /** Stops listening, ends every stream, closes the fleet's brokers. */
  close(): Promise<void>;
}

function hostPort(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new FlowtapError(diag(ApiCode.REQUEST, `--listen ${listen}: expected HOST:PORT (port 0-65535)`, { field: 'listen' }));
  return { host: m[1] ?? m[2], port };
}

export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const { host, port } = hostPort(o.listen ?? '127.0.0.1:8080');
  const tokens = typeof o.tokens === 'string' ? new TokenStore(o.tokens) : o.tokens;
  const api = createApi({ ...o, tokens });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: api.app.fetch, hostname: host, port }, () => resolve(s as Server)) as Server;
    s.once('error', reject);
  });
  const bound = server.address() as AddressInfo;
  const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${shown}:${bound.port}`,
    stats: () => ({ streams: { ...api.hub.stats }, auditFailures: api.auditFailures() }),
    close() {
      closing ??= (async () => {
        api.hub.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await o.fleet.close();
      })();
      return closing;
    },
  };
}
