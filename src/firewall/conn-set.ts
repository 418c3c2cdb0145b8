/**
 * A set of connections between two endpoints: allowed ports per transport protocol.
 * Only TCP and UDP exist in the model, so "all ports of both" is "All Connections".
 */
import {
  ALL_PORTS,
  NO_PORTS,
  intersectPorts,
  isAllPorts,
  portSetOf,
  portsEqual,
  subtractPorts,
  unionPorts,
  type PortSet,
} from './port-set.js';
import type { Connection } from './types.js';

export interface ConnSet {
  readonly tcp: PortSet;
  readonly udp: PortSet;
}

export const NO_CONNS: ConnSet = Object.freeze({ tcp: NO_PORTS, udp: NO_PORTS });
export const ALL_CONNS: ConnSet = Object.freeze({ tcp: ALL_PORTS, udp: ALL_PORTS });

function connSet(tcp: PortSet, udp: PortSet): ConnSet {
  if (tcp.length === 0 && udp.length === 0) return NO_CONNS;
  if (isAllPorts(tcp) && isAllPorts(udp)) return ALL_CONNS;
  return { tcp, udp };
}

/** The connections a rule's (protocol, ports) selects. */
export function connOf(protocol: 'tcp' | 'udp' | 'any', ports: PortSet): ConnSet {
  return connSet(protocol === 'udp' ? NO_PORTS : ports, protocol === 'tcp' ? NO_PORTS : ports);
}

export function connIsEmpty(c: ConnSet): boolean {
  return c.tcp.length === 0 && c.udp.length === 0;
}

export function connIsAll(c: ConnSet): boolean {
  return isAllPorts(c.tcp) && isAllPorts(c.udp);
}

export function connEquals(a: ConnSet, b: ConnSet): boolean {
  return a === b || (portsEqual(a.tcp, b.tcp) && portsEqual(a.udp, b.udp));
}

export function connUnion(a: ConnSet, b: ConnSet): ConnSet {
  if (connIsEmpty(a)) return b;
  if (connIsEmpty(b)) return a;
  return connSet(unionPorts(a.tcp, b.tcp), unionPorts(a.udp, b.udp));
}

export function connIntersect(a: ConnSet, b: ConnSet): ConnSet {
  if (connIsEmpty(a) || connIsEmpty(b)) return NO_CONNS;
  if (a === ALL_CONNS) return b;
  if (b === ALL_CONNS) return a;
  return connSet(intersectPorts(a.tcp, b.tcp), intersectPorts(a.udp, b.udp));
}

export function connSubtract(a: ConnSet, b: ConnSet): ConnSet {
  if (connIsEmpty(a) || connIsEmpty(b)) return a;
  return connSet(subtractPorts(a.tcp, b.tcp), subtractPorts(a.udp, b.udp));
}

/**
 * Canonical Connection records: one per protocol with ports, `null` for all ports of
 * that protocol, and a single `any`/`null` record for all connections.
 */
export function connectionsOf(src: string, dst: string, c: ConnSet): Connection[] {
  if (connIsAll(c)) return [{ src, dst, protocol: 'any', ports: null }];
  const out: Connection[] = [];
  if (c.tcp.length) out.push({ src, dst, protocol: 'tcp', ports: isAllPorts(c.tcp) ? null : c.tcp.map((r) => ({ ...r })) });
  if (c.udp.length) out.push({ src, dst, protocol: 'udp', ports: isAllPorts(c.udp) ? null : c.udp.map((r) => ({ ...r })) });
  return out;
}

/** Union of the connections described by records (of any one src/dst pair). */
export function connOfConnections(list: readonly Connection[]): ConnSet {
  let c = NO_CONNS;
  for (const conn of list) c = connUnion(c, connOf(conn.protocol, portSetOf(conn.ports)));
  return c;
}
