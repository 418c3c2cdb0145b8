/**
 * The firewall bench's baseline: the simple way to answer "which (source, destination, port)
 * does this ruleset let through" — decide each one by walking the two chains, first match wins,
 * as the data plane would. Honest, not slow on purpose: chains are indexed by (direction,
 * target) and every set (ports, instances, address blocks, the network and the space outside
 * it) is built once, when the evaluator is made. The same semantics as `evaluateChain`.
 */
import {
  ALL_IPV4,
  cidrSet,
  ipSetContains,
  ipSetCovers,
  portSetOf,
  containsPort,
  subtractIps,
  type Direction,
  type IpSet,
  type PortSet,
  type Ruleset,
} from '../src/firewall/index.js';
import { parseIpv4 } from '../src/net/index.js';
import type { Addressing, App } from '../src/model/index.js';

interface Rule {
  accept: boolean;
  protocol: 'tcp' | 'udp' | 'any';
  ports: PortSet | null;
  kind: 'any' | 'service' | 'instances' | 'external' | 'cidr';
  service?: string;
  instances?: ReadonlySet<string>;
  /** A `cidr` peer's addresses (empty when the block does not parse) and whether they cover everything outside the network. */
  ips?: IpSet;
  coversOutside?: boolean;
}

/** Who is on the other side: an instance (with its service and address) or an outside address. */
export interface Party {
  instance: string;
  service: string;
  ip: number | null;
}

export class SimpleEvaluator {
  private readonly chains = new Map<string, Rule[]>();
  private readonly isolated: Record<Direction, ReadonlySet<string>>;

  constructor(ruleset: Ruleset) {
    const outside = subtractIps(ALL_IPV4, cidrSet(ruleset.network) ?? []);
    for (const r of ruleset.rules) {
      const key = `${r.direction} ${r.target}`;
      let chain = this.chains.get(key);
      if (!chain) {
        chain = [];
        this.chains.set(key, chain);
      }
      const rule: Rule = {
        accept: r.action === 'accept',
        protocol: r.protocol,
        ports: r.ports === null ? null : portSetOf(r.ports),
        kind: r.peer.kind,
      };
      if (r.peer.kind === 'service') rule.service = r.peer.service;
      else if (r.peer.kind === 'instances') rule.instances = new Set(r.peer.instances);
      else if (r.peer.kind === 'cidr') {
        rule.ips = cidrSet(r.peer.cidr, r.peer.except) ?? [];
        rule.coversOutside = rule.ips.length > 0 && ipSetCovers(rule.ips, outside);
      }
      chain.push(rule);
    }
    this.isolated = { ingress: new Set(ruleset.isolated.ingress), egress: new Set(ruleset.isolated.egress) };
  }

  /** Whether `target`'s chain in `direction` accepts a packet with `peer` (null: any outside address) on the other side. */
  accepts(target: string, direction: Direction, peer: Party | null, protocol: 'tcp' | 'udp', port: number): boolean {
    const chain = this.chains.get(`${direction} ${target}`);
    if (chain)
      for (const r of chain) {
        if (r.protocol !== 'any' && r.protocol !== protocol) continue;
        if (r.ports !== null && !containsPort(r.ports, port)) continue;
        if (!this.matches(r, peer)) continue;
        return r.accept;
      }
    return !this.isolated[direction].has(target);
  }

  private matches(r: Rule, peer: Party | null): boolean {
    switch (r.kind) {
      case 'any':
        return true;
      case 'service':
        return peer !== null && peer.service === r.service;
      case 'instances':
        return peer !== null && r.instances!.has(peer.instance);
      case 'external':
        // An instance is never outside, whatever its address.
        return peer === null;
      case 'cidr':
        if (peer === null) return r.coversOutside!;
        return peer.ip !== null && ipSetContains(r.ips!, peer.ip);
    }
  }
}

/** Every (source, destination instance, declared port) the ruleset lets through, sources being the outside and every instance. */
export function allowedTriples(app: App, addressing: Addressing, ruleset: Ruleset): number {
  const ev = new SimpleEvaluator(ruleset);
  const parties: Party[] = app.instances.map((i) => ({
    instance: i.name,
    service: i.service,
    ip: addressing.instances[i.name] ? (parseIpv4(addressing.instances[i.name].ip) ?? null) : null,
  }));
  const ports = new Map(app.services.map((s) => [s.name, s.ports]));
  let allowed = 0;
  for (const src of [null, ...parties])
    for (const dst of parties) {
      if (src && src.instance === dst.instance) continue;
      for (const p of ports.get(dst.service) ?? []) {
        if (src && !ev.accepts(src.instance, 'egress', dst, p.protocol, p.port)) continue;
        if (ev.accepts(dst.instance, 'ingress', src, p.protocol, p.port)) allowed++;
      }
    }
  return allowed;
}
