/**
 * The naive classifier: every rule of the ruleset, in order, matched straight from the rule,
 * with no index. It is the oracle the indexed classifier is tested against and the baseline
 * the benchmark measures it against, so it shares with the index nothing but the input.
 */
import { matchesPacket, type PacketSpec } from '../../flowtap/index.js';
import type { CChain, CTap, LinearPeer, Simulation } from './model.js';
import { PROTO_ANY, PROTO_TCP, PROTO_UDP } from './indexed.js';

function peerMatches(p: LinearPeer, ip: number): boolean {
  switch (p.kind) {
    case 'any':
      return true;
    case 'list':
      return p.ips.includes(ip);
    case 'outside':
      return ip < p.lo || ip > p.hi;
    case 'block':
      return ip >= p.lo && ip <= p.hi && !p.except.some((e) => ip >= e.lo && ip <= e.hi);
  }
}

/** Position of the first matching rule in `chain` (as the index numbers them), or -1. */
export function linearChainSlot(sim: Simulation, chain: CChain, proto: number, port: number, portReadable: boolean, ip: number): number {
  const l4 = proto === PROTO_TCP || proto === PROTO_UDP;
  if (chain.direction === 'egress' && sim.dns && l4 && portReadable && port === sim.dns.port && ip === sim.dns.ip) return 0;
  for (const lr of sim.linearRules) {
    const r = lr.rule;
    if (r.target !== chain.instance || r.direction !== chain.direction) continue;
    if (lr.proto !== PROTO_ANY && lr.proto !== proto) continue;
    if (r.ports !== null) {
      if (!l4 || !portReadable) continue;
      let inside = false;
      for (const range of r.ports) {
        if (range.from <= port && port <= range.to) {
          inside = true;
          break;
        }
      }
      if (!inside) continue;
    }
    if (!peerMatches(lr.peer, ip)) continue;
    return lr.slot;
  }
  return -1;
}

/**
 * The tap rules of an instance's port that match, in the order its netdev chain lists them:
 * every contract in input order, forwards in a first pass and redirects in a second. Fills
 * `out` from 0 and returns how many matched.
 */
export function linearTapMatches(
  sim: Simulation,
  instance: string,
  sent: boolean,
  pkt: PacketSpec,
  laterFragment: boolean,
  out: CTap[],
): number {
  let n = 0;
  for (const forwards of [true, false]) {
    for (const lt of sim.linearTaps) {
      if (lt.tap.forward !== forwards || lt.instance !== instance) continue;
      if (!(sent ? lt.egress : lt.ingress)) continue;
      if (laterFragment && lt.tap.l4) continue;
      if (matchesPacket(lt.tap.contract.flow, pkt)) out[n++] = lt.tap;
    }
  }
  return n;
}
