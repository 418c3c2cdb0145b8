/**
 * First-match lookup tables for one firewall chain, built once so that classifying a packet
 * costs two binary searches instead of a scan of the chain.
 *
 * A rendered chain rule matches on (layer-4 protocol, destination port, one peer address):
 *   protocol any, no ports  -> every packet
 *   protocol any, ports P   -> `meta l4proto { tcp, udp } th dport P`
 *   tcp/udp, no ports       -> `meta l4proto tcp|udp`
 *   tcp/udp, ports P        -> `tcp|udp dport P`
 * and a port test never matches a packet whose transport header nft cannot read (a later
 * fragment). So the packet picks a table by protocol (and port, through sorted port cuts), and
 * the table maps every address interval to the first rule, in chain order, that covers it.
 */
import type { IpSet } from '../../firewall/index.js';

export const PROTO_ANY = 0;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

/** What the index needs of a rule: the rest (verdict, comment) stays with the caller. */
export interface IndexableRule {
  /** PROTO_ANY, PROTO_TCP or PROTO_UDP. */
  proto: number;
  /** Inclusive destination port ranges; null = no port test. */
  ports: ReadonlyArray<{ from: number; to: number }> | null;
  /** Peer addresses (source for ingress chains, destination for egress), sorted and disjoint. */
  ips: IpSet;
}

/**
 * Address interval starts (ascending, the first is 0) and the first matching rule of each, or -1.
 * Plain arrays, not typed ones: small tables then sit next to their object in the heap, which
 * matters more for a lookup than the element type.
 */
interface IpTable {
  starts: number[];
  slots: number[];
}

/** Port interval starts (ascending, the first is 0) and the address table of each. */
interface PortTable {
  starts: number[];
  tables: IpTable[];
}

export interface ChainIndex {
  tcp: PortTable;
  udp: PortTable;
  /** TCP / UDP packets without a readable port: only port-less rules can match. */
  tcpNoPort: IpTable;
  udpNoPort: IpTable;
  /** Any other protocol (ICMP, SCTP, ...): only rules for every protocol without ports. */
  other: IpTable;
}

const NO_MATCH: IpTable = { starts: [0], slots: [-1] };

/** Index of the last start <= x (starts[0] is 0, so there is one). */
function floorIndex(starts: readonly number[], x: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function lookupIp(t: IpTable, ip: number): number {
  return t.slots.length === 1 ? t.slots[0] : t.slots[floorIndex(t.starts, ip)];
}

/**
 * The first rule (its index in the chain) that matches, or -1. `port` is ignored unless
 * `portReadable`; `ip` is the peer address as an unsigned 32-bit number.
 */
export function lookupChain(ix: ChainIndex, proto: number, port: number, portReadable: boolean, ip: number): number {
  let t: IpTable;
  if (proto === PROTO_TCP) t = portReadable ? portLookup(ix.tcp, port) : ix.tcpNoPort;
  else if (proto === PROTO_UDP) t = portReadable ? portLookup(ix.udp, port) : ix.udpNoPort;
  else t = ix.other;
  return lookupIp(t, ip);
}

function portLookup(p: PortTable, port: number): IpTable {
  return p.tables.length === 1 ? p.tables[0] : p.tables[floorIndex(p.starts, port)];
}

/** A tiny binary min-heap of rule indices, with lazy deletion by the caller. */
class MinHeap {
  private a: number[] = [];
  push(x: number): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= x) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = x;
  }
  peek(): number {
    return this.a.length ? this.a[0] : -1;
  }
  pop(): void {
    const a = this.a;
    const last = a.pop()!;
    if (!a.length) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && a[r] < a[l] ? r : l;
      if (a[c] >= last) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = last;
  }
}

/**
 * Sweeps the address line over the candidates' intervals: at each boundary the first active
 * candidate (lowest index, i.e. earliest in the chain) is the match. O(b log b) in boundaries.
 */
function buildIpTable(rules: readonly IndexableRule[], candidates: readonly number[]): IpTable {
  if (candidates.length === 0) return NO_MATCH;
  const events: number[] = [];
  // Packed as [position, +candidate+1 | -(candidate+1)] pairs.
  for (const c of candidates) {
    for (const iv of rules[c].ips) {
      events.push(iv.lo, c + 1);
      if (iv.hi < 0xffffffff) events.push(iv.hi + 1, -(c + 1));
    }
  }
  const order = Array.from({ length: events.length / 2 }, (_, i) => i);
  order.sort((x, y) => events[2 * x] - events[2 * y]);
  const active = new Uint8Array(rules.length);
  const heap = new MinHeap();
  const starts: number[] = [0];
  const slots: number[] = [-1];
  for (let k = 0; k < order.length; ) {
    const pos = events[2 * order[k]];
    for (; k < order.length && events[2 * order[k]] === pos; k++) {
      const e = events[2 * order[k] + 1];
      if (e > 0) {
        active[e - 1] = 1;
        heap.push(e - 1);
      } else active[-e - 1] = 0;
    }
    while (heap.peek() >= 0 && !active[heap.peek()]) heap.pop();
    const slot = heap.peek();
    if (starts[starts.length - 1] === pos) slots[slots.length - 1] = slot;
    else if (slots[slots.length - 1] !== slot) {
      starts.push(pos);
      slots.push(slot);
    }
  }
  return { starts, slots };
}

function buildPortTable(rules: readonly IndexableRule[], proto: number, memo: Map<string, IpTable>): PortTable {
  const applicable: number[] = [];
  const cuts = new Set<number>([0]);
  rules.forEach((r, i) => {
    if (r.proto !== PROTO_ANY && r.proto !== proto) return;
    applicable.push(i);
    for (const p of r.ports ?? []) {
      cuts.add(Math.max(0, p.from));
      if (p.to < 65535) cuts.add(p.to + 1);
    }
  });
  const starts = [...cuts].filter((c) => c <= 65535).sort((a, b) => a - b);
  const tables: IpTable[] = [];
  for (const s of starts) {
    const candidates = applicable.filter((i) => {
      const ports = rules[i].ports;
      return ports === null || ports.some((p) => p.from <= s && s <= p.to);
    });
    tables.push(memoTable(rules, candidates, memo));
  }
  // Neighbouring port intervals with the same candidates share a table: merge them.
  const outStarts: number[] = [];
  const outTables: IpTable[] = [];
  starts.forEach((s, i) => {
    if (i > 0 && tables[i] === outTables[outTables.length - 1]) return;
    outStarts.push(s);
    outTables.push(tables[i]);
  });
  return { starts: outStarts, tables: outTables };
}

function memoTable(rules: readonly IndexableRule[], candidates: number[], memo: Map<string, IpTable>): IpTable {
  const key = candidates.join(',');
  let t = memo.get(key);
  if (!t) {
    t = buildIpTable(rules, candidates);
    memo.set(key, t);
  }
  return t;
}

export function buildChainIndex(rules: readonly IndexableRule[]): ChainIndex {
  const memo = new Map<string, IpTable>();
  const portless = (proto: number) =>
    rules.flatMap((r, i) => (r.ports === null && (r.proto === PROTO_ANY || r.proto === proto) ? [i] : []));
  return {
    tcp: buildPortTable(rules, PROTO_TCP, memo),
    udp: buildPortTable(rules, PROTO_UDP, memo),
    tcpNoPort: memoTable(rules, portless(PROTO_TCP), memo),
    udpNoPort: memoTable(rules, portless(PROTO_UDP), memo),
    other: memoTable(rules, portless(-1), memo),
  };
}
