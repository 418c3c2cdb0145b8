/**
 * Connection lists in the form Kubernetes network-policy analyzers (np-guard's
 * netpol-analyzer `list`) print: one line per (src, dst) pair,
 * `src => dst : conn`, sorted; workloads as `ns/name[Kind]`, address ranges as
 * `a.b.c.d-e.f.g.h`, connections as `TCP 80,443`, `SCTP 5000,TCP 1000-2000,UDP 53` or
 * `All Connections` (every port of TCP, UDP and SCTP). The JSON form is `[{src, dst, conn}]` in the same order.
 */
import { connOfConnections, formatConnSet, type ConnSet } from './conn-set.js';
import type { Connection } from './types.js';

export type ConnlistStyle = 'txt' | 'json';

export interface ConnlistOptions {
  /**
   * Endpoint name -> workload kind (`k8sWorkloadKinds(imp)`), printed as `name[Kind]`.
   * An instance name `<service>-<n>` takes its service's kind.
   */
  kinds?: Readonly<Record<string, string>>;
}

/** One line: endpoints as printed (`ns/name[Kind]`, a range, `{ingress-controller}`) and the connections. */
export interface ConnlistEntry {
  src: string;
  dst: string;
  conn: string;
}

function connlistEntries(conns: readonly Connection[], opts: ConnlistOptions = {}): ConnlistEntry[] {
  const byPair = new Map<string, { src: string; dst: string; list: Connection[] }>();
  for (const c of conns) {
    const key = `${c.src}\u0000${c.dst}`;
    const pair = byPair.get(key);
    if (pair) pair.list.push(c);
    else byPair.set(key, { src: c.src, dst: c.dst, list: [c] });
  }
  const label = (name: string) => endpointLabel(name, opts.kinds);
  const out: ConnlistEntry[] = [];
  for (const { src, dst, list } of byPair.values()) {
    const conn = formatConn(connOfConnections(list));
    if (conn !== NO_CONNECTIONS) out.push({ src: label(src), dst: label(dst), conn });
  }
  return out.sort((a, b) => compare(lineOf(a), lineOf(b)));
}

export function formatConnlist(conns: readonly Connection[], style: ConnlistStyle, opts: ConnlistOptions = {}): string {
  return renderConnlist(connlistEntries(conns, opts), style);
}

/** Entries already labelled and sorted (as `k8sConnectivity` yields them); JSON as `JSON.stringify(entries, null, 2)` would print it. */
export function renderConnlist(entries: Iterable<ConnlistEntry>, style: ConnlistStyle): string {
  const parts: string[] = [];
  if (style === 'json') {
    const q = JSON.stringify;
    for (const e of entries) parts.push(`  {\n    "src": ${q(e.src)},\n    "dst": ${q(e.dst)},\n    "conn": ${q(e.conn)}\n  }`);
    return parts.length ? `[\n${parts.join(',\n')}\n]` : '[]';
  }
  // Lines are joined per source first, so the many short strings die young.
  let chunk: string[] = [];
  let src: string | undefined;
  for (const e of entries) {
    if (e.src !== src && chunk.length) {
      parts.push(chunk.join('\n'));
      chunk = [];
    }
    src = e.src;
    chunk.push(`${e.src} => ${e.dst} : ${e.conn}`);
  }
  if (chunk.length) parts.push(chunk.join('\n'));
  return parts.join('\n');
}

function formatConn(c: ConnSet): string {
  return formatConnSet(c) || NO_CONNECTIONS;
}

const NO_CONNECTIONS = 'No Connections';

function endpointLabel(name: string, kinds: Readonly<Record<string, string>> | undefined): string {
  if (!kinds) return name;
  if (Object.hasOwn(kinds, name)) return `${name}[${kinds[name]}]`;
  const m = /-\d+$/.exec(name);
  if (m) {
    const service = name.slice(0, m.index);
    if (Object.hasOwn(kinds, service)) return `${name}[${kinds[service]}]`;
  }
  return name;
}

function lineOf(e: ConnlistEntry): string {
  return `${e.src} => ${e.dst} : ${e.conn}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
