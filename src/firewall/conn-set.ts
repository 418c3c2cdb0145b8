/**
 * A set of connections between two endpoints: allowed ports per transport protocol.
 * TCP, UDP and SCTP are the protocols Kubernetes policies name, so "all ports of all
 * three" is "All Connections" (as network-policy analyzers print it).
 *
 * Rulesets name `tcp`, `udp` or `any`: `any` without ports is every protocol, while `any`
 * with ports selects TCP and UDP on those ports (SCTP has no such rule form, and the
 * nftables renderer matches `meta l4proto { tcp, udp }` for it).
 */
import {
  ALL_PORTS,
  NO_PORTS,
  formatPorts,
  intersectPorts,
  isAllPorts,
  portSetOf,
  portsEqual,
  subtractPorts,
  unionPorts,
  type PortSet,
} from './port-set.js';
import type { Connection } from './types.js';

export type ConnProtocol = 'tcp' | 'udp' | 'sctp';

export interface ConnSet {
  readonly tcp: PortSet;
  readonly udp: PortSet;
  readonly sctp: PortSet;
}

export const NO_CONNS: ConnSet = Object.freeze({ tcp: NO_PORTS, udp: NO_PORTS, sctp: NO_PORTS });
export const ALL_CONNS: ConnSet = Object.freeze({ tcp: ALL_PORTS, udp: ALL_PORTS, sctp: ALL_PORTS });

function connSet(tcp: PortSet, udp: PortSet, sctp: PortSet): ConnSet {
  if (tcp.length === 0 && udp.length === 0 && sctp.length === 0) return NO_CONNS;
  if (isAllPorts(tcp) && isAllPorts(udp) && isAllPorts(sctp)) return ALL_CONNS;
  return { tcp, udp, sctp };
}

/** The connections a rule's or record's (protocol, ports) selects. */
export function connOf(protocol: ConnProtocol | 'any', ports: PortSet): ConnSet {
  switch (protocol) {
    case 'tcp':
      return connSet(ports, NO_PORTS, NO_PORTS);
    case 'udp':
      return connSet(NO_PORTS, ports, NO_PORTS);
    case 'sctp':
      return connSet(NO_PORTS, NO_PORTS, ports);
    case 'any':
      return isAllPorts(ports) ? ALL_CONNS : connSet(ports, ports, NO_PORTS);
  }
}

export function connIsEmpty(c: ConnSet): boolean {
  return c.tcp.length === 0 && c.udp.length === 0 && c.sctp.length === 0;
}

export function connIsAll(c: ConnSet): boolean {
  return c === ALL_CONNS || (isAllPorts(c.tcp) && isAllPorts(c.udp) && isAllPorts(c.sctp));
}

export function connEquals(a: ConnSet, b: ConnSet): boolean {
  return a === b || (portsEqual(a.tcp, b.tcp) && portsEqual(a.udp, b.udp) && portsEqual(a.sctp, b.sctp));
}

export function connUnion(a: ConnSet, b: ConnSet): ConnSet {
  if (connIsEmpty(a) || b === ALL_CONNS) return b;
  if (connIsEmpty(b) || a === ALL_CONNS) return a;
  return connSet(unionPorts(a.tcp, b.tcp), unionPorts(a.udp, b.udp), unionPorts(a.sctp, b.sctp));
}

export function connIntersect(a: ConnSet, b: ConnSet): ConnSet {
  if (connIsEmpty(a) || connIsEmpty(b)) return NO_CONNS;
  if (a === ALL_CONNS) return b;
  if (b === ALL_CONNS) return a;
  return connSet(intersectPorts(a.tcp, b.tcp), intersectPorts(a.udp, b.udp), intersectPorts(a.sctp, b.sctp));
}

export function connSubtract(a: ConnSet, b: ConnSet): ConnSet {
  if (connIsEmpty(a) || connIsEmpty(b)) return a;
  if (b === ALL_CONNS) return NO_CONNS;
  return connSet(subtractPorts(a.tcp, b.tcp), subtractPorts(a.udp, b.udp), subtractPorts(a.sctp, b.sctp));
}

/**
 * Canonical Connection records: one per protocol with ports, `null` for all ports of
 * that protocol, and a single `any`/`null` record for all connections.
 */
export function connectionsOf(src: string, dst: string, c: ConnSet): Connection[] {
  if (connIsAll(c)) return [{ src, dst, protocol: 'any', ports: null }];
  const out: Connection[] = [];
  for (const protocol of CONN_PROTOCOLS) {
    const ports = c[protocol];
    if (ports.length) out.push({ src, dst, protocol, ports: isAllPorts(ports) ? null : ports.map((r) => ({ ...r })) });
  }
  return out;
}

/** Union of the connections described by records (of any one src/dst pair). */
export function connOfConnections(list: readonly Connection[]): ConnSet {
  let c = NO_CONNS;
  for (const conn of list) c = connUnion(c, connOf(conn.protocol, portSetOf(conn.ports)));
  return c;
}

/** In the order analyzers print them: alphabetical. */
const CONN_PROTOCOLS: readonly ConnProtocol[] = ['sctp', 'tcp', 'udp'];

/** `All Connections`, or `SCTP 5000,TCP 80,443,UDP 53` (protocols in alphabetical order); '' when empty. */
export function formatConnSet(c: ConnSet): string {
  if (connIsAll(c)) return 'All Connections';
  let s = '';
  for (const protocol of CONN_PROTOCOLS) {
    const ports = c[protocol];
    if (ports.length === 0) continue;
    if (s) s += ',';
    s += `${protocol.toUpperCase()} ${formatPorts(ports)}`;
  }
  return s;
}
