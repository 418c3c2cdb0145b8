/**
 * How a node's agent reaches broker servers (PostgreSQL, nats-server) that listen on the host.
 * A node namespace has no route to the host's network, and must not get one: whatever the node
 * can route to, an instance behind it could try to reach. So nothing is added to any network:
 *
 *   agent (node ns) ── TCP 127.0.0.1:<any> (the node's own loopback) ── forwarder in the agent
 *     ── Unix socket <run dir>/broker/<store|bus>.sock ── relay (host) ── TCP to the server
 *
 * A Unix socket is a file, reachable from any network namespace and from none of their
 * networks. The node's loopback cannot be reached from an instance either: a packet for
 * 127.0.0.0/8 arriving on a node port is a martian, and the kernel drops it.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';

export interface RelayTarget {
  host: string;
  port: number;
}

export interface RelayRoute extends RelayTarget {
  socket: string;
}

const DEFAULT_PORTS: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'nats:': 4222 };

/**
 * The TCP server behind a store or bus address, when it has one: `postgres://` and `nats://`
 * addresses do; SQLite files, the embedded bus and PostgreSQL over a Unix socket folder
 * (`?host=/dir`) are files, which every namespace reaches as they are.
 */
export function relayTarget(address: string): RelayTarget | null {
  let u: URL;
  try {
    u = new URL(address);
  } catch {
    return null;
  }
  const port = DEFAULT_PORTS[u.protocol];
  if (port === undefined) return null;
  const queryHost = u.searchParams.get('host');
  if (queryHost?.startsWith('/')) return null;
  const host = queryHost ?? u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) return null;
  return { host, port: u.port ? Number(u.port) : port };
}

/** The same address with its server at 127.0.0.1:port (a forwarder's), user, database and parameters kept. */
export function viaLoopback(address: string, port: number): string {
  const u = new URL(address);
  u.searchParams.delete('host');
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.href;
}

/** Joins two streams both ways; either end closing or failing closes the other. */
function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end).on('close', end);
  b.on('error', end).on('close', end);
}

function listening(server: Server, listen: (s: Server) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    listen(server);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export interface Relay {
  close(): Promise<void>;
}

/** The host side: one Unix socket per route, each connection carried to the route's server. */
export async function startRelay(routes: RelayRoute[]): Promise<Relay> {
  const servers: Server[] = [];
  const open = new Set<Socket>();
  try {
    for (const r of routes) {
      mkdirSync(dirname(r.socket), { recursive: true, mode: 0o700 });
      // A socket left by a relay that was killed would make listen fail.
      rmSync(r.socket, { force: true });
      const server = createServer((client) => {
        const upstream = connect(r.port, r.host);
        open.add(client).add(upstream);
        client.once('close', () => open.delete(client));
        upstream.once('close', () => open.delete(upstream));
        splice(client, upstream);
      });
      servers.push(server);
      await listening(server, (s) => s.listen(r.socket));
      chmodSync(r.socket, 0o600);
    }
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
  return {
    async close() {
      for (const s of open) s.destroy();
      await Promise.all(servers.map(closeServer));
      for (const r of routes) rmSync(r.socket, { force: true });
    },
  };
}

export interface Forwarder extends Relay {
  /** The port on 127.0.0.1 that leads to the socket. */
  port: number;
}

/** The node side: a port on this namespace's loopback whose connections go to a Unix socket. */
export async function startForwarder(socket: string): Promise<Forwarder> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(socket);
    open.add(client).add(upstream);
    client.once('close', () => open.delete(client));
    upstream.once('close', () => open.delete(upstream));
    splice(client, upstream);
  });
  await listening(server, (s) => s.listen(0, '127.0.0.1'));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    async close() {
      for (const s of open) s.destroy();
      await closeServer(server);
    },
  };
}
