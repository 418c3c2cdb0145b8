/**
 * Seeded random probes for a simulation: mostly plausible traffic (instances talking to
 * instances on their ports), mixed with what a firewall must get right too (wrong ports, spoofed
 * sources, the node's own addresses, the outside, other protocols, fragments, TTL 1).
 */
import { defaultPacket, ETH_TYPE_ARP, ETH_TYPE_IP, ETH_TYPE_IPV6, IPPROTO_ICMP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, seededRng, type PacketSpec, type Rng } from '../../flowtap/index.js';
import type { Simulation } from './model.js';
import type { SimCtState, SimInlineVerdict, SimOptions, SimProbe } from './types.js';

export interface RandomProbe {
  probe: SimProbe;
  opts: SimOptions;
}

export interface RandomProbeOptions {
  seed?: number;
  /** Vary conntrack state, sampling, budgets and inline monitors' verdicts too (default true). */
  varyOptions?: boolean;
}

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const VERDICTS: readonly SimInlineVerdict[] = ['pass', 'pass', 'block', 'monitor-down'];

/** Everything the random probes draw from, computed once per simulation. */
interface Pools {
  live: string[];
  instanceIps: number[];
  nodeIps: number[];
  nodes: string[];
  ports: number[];
  portsOf: Map<number, number[]>;
  network: { lo: number; hi: number };
  externalIp: number;
}

function pools(sim: Simulation): Pools {
  const live = [...sim.instances.values()].filter((p) => p.live);
  const ports = new Set<number>([53, 80, 443]);
  const portsOf = new Map<number, number[]>();
  for (const p of live) {
    const inst = sim.app.instances.find((i) => i.name === p.instance);
    const svc = sim.app.services.find((s) => s.name === inst?.service);
    const list = (svc?.ports ?? []).map((x) => x.port);
    portsOf.set(p.ip, list);
    for (const x of list) ports.add(x);
  }
  for (const lr of sim.linearRules) for (const r of lr.rule.ports ?? []) ports.add(r.from).add(r.to).add(Math.min(65535, r.to + 1)).add(Math.max(0, r.from - 1));
  return {
    live: live.map((p) => p.instance),
    instanceIps: [...sim.instances.values()].map((p) => p.ip),
    nodeIps: sim.nodes.flatMap((n) => [n.gateway, n.underlayIp, ...(n.overlayIp >= 0 ? [n.overlayIp] : [])]),
    nodes: sim.nodes.map((n) => n.name),
    ports: [...ports],
    portsOf,
    network: sim.network,
    externalIp: sim.externalIp,
  };
}

function randomIp(r: Rng, p: Pools): number {
  const x = r();
  if (x < 0.6 && p.instanceIps.length) return pick(r, p.instanceIps);
  if (x < 0.7) return pick(r, p.nodeIps);
  if (x < 0.8) return p.externalIp;
  if (x < 0.9) return p.network.lo + Math.floor(r() * (p.network.hi - p.network.lo + 1));
  return Math.floor(r() * 0x100000000) >>> 0;
}

const WIDE_FIELDS = ['dl_src', 'dl_dst', 'ipv6_src', 'ipv6_dst', 'arp_sha', 'arp_tha', 'tun_id'] as const;
const SHARED_ZEROS = new Map<number, readonly number[]>();

/** defaultPacket, with its all-zero wide fields shared: the simulator only reads packets, and a pool of a million stays small. */
function basePacket(dlType: number, proto = 0): PacketSpec {
  const pkt = defaultPacket(dlType, proto);
  for (const f of WIDE_FIELDS) {
    const n = pkt[f].length;
    let z = SHARED_ZEROS.get(n);
    if (!z) SHARED_ZEROS.set(n, (z = Object.freeze(new Array<number>(n).fill(0))));
    pkt[f] = z as number[];
  }
  return pkt;
}

function randomPacket(r: Rng, p: Pools, src: number): PacketSpec {
  const kind = r();
  if (kind < 0.03) return basePacket(pick(r, [ETH_TYPE_ARP, ETH_TYPE_IPV6, 0x88cc]));
  const proto = kind < 0.5 ? IPPROTO_TCP : kind < 0.85 ? IPPROTO_UDP : kind < 0.95 ? IPPROTO_ICMP : IPPROTO_SCTP;
  const pkt = basePacket(ETH_TYPE_IP, proto);
  pkt.nw_src = src >>> 0;
  const dst = randomIp(r, p);
  pkt.nw_dst = dst;
  if (proto !== IPPROTO_ICMP) {
    const own = p.portsOf.get(dst);
    const y = r();
    pkt.tp_dst = own && own.length && y < 0.55 ? pick(r, own) : y < 0.85 ? pick(r, p.ports) : Math.floor(r() * 65536);
    pkt.tp_src = 1024 + Math.floor(r() * 64000);
    if (proto === IPPROTO_TCP) pkt.tcp_flags = pick(r, [0x002, 0x010, 0x018, 0x012, 0x004]);
  } else {
    pkt.icmp_type = pick(r, [0, 3, 8, 11]);
  }
  const f = r();
  pkt.ip_frag = f < 0.02 ? 3 : f < 0.03 ? 1 : 0;
  const t = r();
  pkt.nw_ttl = t < 0.03 ? 1 : t < 0.05 ? 2 : 64;
  pkt.nw_tos = pick(r, [0, 0, 0, 0x28, 0xb8]);
  return pkt;
}

/** `count` random probes (and options) for a simulation, reproducible from the seed. */
export function randomProbes(sim: Simulation, count: number, o: RandomProbeOptions = {}): RandomProbe[] {
  const r = seededRng(o.seed ?? 1);
  // Verdicts from a stream of their own: the packets a seed gave before verdicts existed stay the same.
  const rv = seededRng(((o.seed ?? 1) ^ 0x5eed1e) >>> 0);
  const p = pools(sim);
  const vary = o.varyOptions ?? true;
  const contracts = sim.linearTaps.map((t) => t.tap.id);
  const out: RandomProbe[] = [];
  for (let i = 0; i < count; i++) {
    let probe: SimProbe;
    if (p.live.length && r() < 0.85) {
      const instance = pick(r, p.live);
      const own = sim.instances.get(instance)!.ip;
      probe = { from: { kind: 'instance', instance }, packet: randomPacket(r, p, r() < 0.9 ? own : randomIp(r, p)) };
    } else {
      const src = r() < 0.7 ? p.externalIp : randomIp(r, p);
      const packet = randomPacket(r, p, src);
      probe = { from: packet.dl_type === ETH_TYPE_IP && r() < 0.8 ? { kind: 'outside' } : { kind: 'outside', node: pick(r, p.nodes) }, packet };
    }
    // Every option present in every probe: one object shape, so reading them stays cheap.
    const opts: SimOptions = { ctState: 'new', sampleHit: true, overBudget: false, inlineVerdict: 'pass' };
    if (vary) {
      const c = r();
      opts.ctState = (c < 0.8 ? 'new' : c < 0.9 ? 'established' : c < 0.95 ? 'related' : 'invalid') as SimCtState;
      opts.sampleHit = r() >= 0.2;
      const b = r();
      opts.overBudget = b < 0.1 ? true : b < 0.2 && contracts.length ? [pick(r, contracts)] : false;
      opts.inlineVerdict = pick(rv, VERDICTS);
    }
    out.push({ probe, opts });
  }
  return out;
}
