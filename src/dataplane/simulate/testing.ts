/**
 * The DVD-rental deployment for the simulator's tests: descriptor, default addressing, inferred
 * firewall and the example policies compiled to contracts, plus packet builders, and an inline
 * policy whose redirects go to a monitor on the tapped port's node.
 */
import { readFileSync } from 'node:fs';
import { inferFirewall, type Ruleset } from '../../firewall/index.js';
import {
  compileTaps,
  defaultPacket,
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  IPPROTO_ICMP,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  parsePacketSpec,
  type FlowTap,
  type PacketSpec,
} from '../../flowtap/index.js';
import { unwrap } from '../../diagnostics/index.js';
import { loadApp, planAddresses, type Addressing, type App } from '../../model/index.js';
import type { BackendFixture, BackendHarness } from '../testing.js';
import { simulatorBackend, type SimNodeConfig } from './backend.js';
import { fromInstance, fromOutside } from './simulate.js';
import { seededRng, type Rng } from '../../random/index.js';
import type { Simulation } from './model.js';
import type { SimCtState, SimEntry, SimInlineVerdict, SimOptions, SimProbe } from './types.js';

const DVD = 'examples/dvd-rental';

export interface Deployment {
  app: App;
  addressing: Addressing;
  ruleset: Ruleset;
}

export function dvdRental(): Deployment {
  const r = loadApp(`${DVD}/app.yaml`);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return { app: r.value, addressing: unwrap(planAddresses(r.value)), ruleset: inferFirewall(r.value) };
}

/**
 * Same-node inline redirects on dvd-rental: mon-http is on node1 with user-create and
 * contract-update (the honeypot's mon-honeypot is on node2, dvd-return on node1: cross-node).
 */
export const SAME_NODE_INLINE_POLICY = `
// Requests to user-create's HTTP (and its replies) through mon-http; nothing passes while it is down.
tap(I, "mon-http", "tcp,tp_dst=8080", "redirect") :- instance(I, "user-create", _).
tap_failmode(I, "tcp,tp_dst=8080", "closed") :- instance(I, "user-create", _).
// user-create's database requests, diverted as they leave: the database is on node2.
tap(I, "mon-http", "tcp,tp_dst=5432", "redirect") :- instance(I, "user-create", _).
tap_direction(I, "tcp,tp_dst=5432", "egress") :- instance(I, "user-create", _).
// Whatever UDP user-create sends: the monitor has no request to judge in it.
tap(I, "mon-http", "udp", "redirect") :- instance(I, "user-create", _).
tap_direction(I, "udp", "egress") :- instance(I, "user-create", _).
// contract-update's calls to port 8080 (user-update, on node1), fail open.
tap(I, "mon-http", "tcp,tp_dst=8080", "redirect") :- instance(I, "contract-update", _).
tap_direction(I, "tcp,tp_dst=8080", "egress") :- instance(I, "contract-update", _).
tap_failmode(I, "tcp,tp_dst=8080", "open") :- instance(I, "contract-update", _).
`;

/** Contracts compiled from policy texts (file name, text). */
export function policyContracts(d: Deployment, sources: { file: string; text: string }[]): FlowTap[] {
  const r = compileTaps(d.app, d.addressing, sources);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.value.contracts;
}

/** Contracts compiled from examples/dvd-rental/policies/<name>.dl. */
export function dvdContracts(d: Deployment, ...policies: string[]): FlowTap[] {
  const sources = policies.map((p) => ({ file: `${DVD}/policies/${p}.dl`, text: readFileSync(`${DVD}/policies/${p}.dl`, 'utf8') }));
  const r = compileTaps(d.app, d.addressing, sources);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.value.contracts;
}

export function packet(text: string): PacketSpec {
  const r = parsePacketSpec(text);
  if (!r.ok) throw new Error(`${text}: ${r.errors.map((e) => e.message).join('; ')}`);
  return r.value;
}

/** A TCP SYN (or `proto` datagram) between two instances' addresses. */
export function between(d: Deployment, src: string, dst: string, port: number, proto: 'tcp' | 'udp' = 'tcp', extra = ''): PacketSpec {
  const s = d.addressing.instances[src].ip;
  const t = Object.hasOwn(d.addressing.instances, dst) ? d.addressing.instances[dst].ip : dst;
  return packet(`${proto},nw_src=${s},nw_dst=${t},tp_src=40000,tp_dst=${port}${proto === 'tcp' ? ',tcp_flags=0x002' : ''}${extra}`);
}

/**
 * Seeded random probes for a simulation: mostly plausible traffic (instances talking to
 * instances on their ports), mixed with what a firewall must get right too (wrong ports, spoofed
 * sources, the node's own addresses, the outside, other protocols, fragments, TTL 1).
 */
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
  for (const lr of sim.linearRules)
    for (const r of lr.rule.ports ?? [])
      ports
        .add(r.from)
        .add(r.to)
        .add(Math.min(65535, r.to + 1))
        .add(Math.max(0, r.from - 1));
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
    if (!z) {
      z = Object.freeze(new Array<number>(n).fill(0));
      SHARED_ZEROS.set(n, z);
    }
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
    pkt.tp_dst = own?.length && y < 0.55 ? pick(r, own) : y < 0.85 ? pick(r, p.ports) : Math.floor(r() * 65536);
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
      probe = {
        from: packet.dl_type === ETH_TYPE_IP && r() < 0.8 ? { kind: 'outside' } : { kind: 'outside', node: pick(r, p.nodes) },
        packet,
      };
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

/**
 * The shared backend suite's harness for the simulator: datagrams are injected, and what arrives
 * where is tallied from their traces (a monitor gets every copy and diversion sent to it).
 * No monitor process runs, as in the nftables harness: redirects meet the monitor namespace's
 * failMode fallback.
 */
export function simulatorHarness(f: BackendFixture): BackendHarness<SimNodeConfig> {
  const backend = simulatorBackend({ devices: (node) => (node === f.node ? f.devices : []) });
  const got = new Map<string, number>();
  const bump = (name: string) => got.set(name, (got.get(name) ?? 0) + 1);
  const send = (from: SimEntry, src: string, to: string, port: number, payload: number) => {
    const dst = f.addressing.instances[to].ip;
    const t = unwrap(
      backend.inject(
        { from, packet: unwrap(parsePacketSpec(`udp,nw_src=${src},nw_dst=${dst},tp_src=40000,tp_dst=${port}`)) },
        { length: 28 + payload, inlineVerdict: 'monitor-down' },
      ),
    );
    if (t.outcome.kind === 'delivered') bump(t.outcome.instance);
    for (const c of t.copies) bump(c.monitor);
    for (const d of t.diversions) bump(d.monitor);
  };
  return {
    backend,
    async sendUdp(from, to, port, payload) {
      send(fromInstance(from), f.addressing.instances[from].ip, to, port, payload);
    },
    async sendUdpFromOutside(source, to, port, payload) {
      send(fromOutside(), source, to, port, payload);
    },
    async received(name) {
      return got.get(name) ?? 0;
    },
    async close() {},
  };
}
