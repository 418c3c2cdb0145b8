/**
 * Ruleset rules as the rendered chains match them: the peer as the addresses nft compares
 * (`ip saddr` for ingress chains, `ip daddr` for egress), the protocol, the comment. Two
 * resolutions of each peer, made separately on purpose: an address set for the index, and a
 * plain description for the linear scan, so that the scan checks the index rather than
 * repeating it.
 */
import { ALL_IPV4, cidrInterval, cidrSet, subtractIps, type FirewallRule, type IpInterval, type IpSet } from '../../firewall/index.js';
import { parseIpv4 } from '../../net/index.js';
import type { Addressing, App } from '../../model/index.js';
import { PROTO_ANY, PROTO_TCP, PROTO_UDP } from './indexed.js';
import type { LinearPeer } from './model.js';
import { ruleComment } from '../nft/index.js';

/** The comment renderNftFirewall gives a rule (its ruleComment, then nftString's stripping). */
/** The comment as nft stores it (nftString drops quotes, backslashes and newlines). */
export function renderedRuleComment(r: FirewallRule): string {
  return ruleComment(r).replace(/["\\\n]/g, '');
}

export function protoOf(p: FirewallRule['protocol']): number {
  return p === 'tcp' ? PROTO_TCP : p === 'udp' ? PROTO_UDP : PROTO_ANY;
}

export function pointSet(ips: readonly number[]): IpSet {
  const sorted = [...new Set(ips)].sort((a, b) => a - b);
  return sorted.map((ip) => ({ lo: ip, hi: ip }));
}

export interface PeerResolver {
  /** The peer's addresses, sorted and disjoint; null for a block nft would refuse. */
  addresses(r: FirewallRule): IpSet | null;
  linear(r: FirewallRule): LinearPeer;
}

/**
 * Service sets hold every instance of the app that has an address, whatever its status, as
 * the renderer's `svc_<service>` sets do; an empty instance selector is 0.0.0.0/32, as rendered.
 */
export function peerResolver(app: App, addressing: Addressing, network: IpInterval): PeerResolver {
  const ipOf = (instance: string): number | undefined => {
    const at = Object.hasOwn(addressing.instances, instance) ? addressing.instances[instance] : undefined;
    return at ? parseIpv4(at.ip) : undefined;
  };
  const known = (x: number | undefined): x is number => x !== undefined;
  const svcIps = new Map<string, number[]>();
  for (const inst of app.instances) {
    const ip = ipOf(inst.name);
    if (ip === undefined) continue;
    let list = svcIps.get(inst.service);
    if (!list) {
      list = [];
      svcIps.set(inst.service, list);
    }
    list.push(ip);
  }
  const outside = subtractIps(ALL_IPV4, [network]);
  const nothing: IpInterval = { lo: 1, hi: 0 };
  return {
    addresses(r) {
      const p = r.peer;
      switch (p.kind) {
        case 'any':
          return ALL_IPV4;
        case 'external':
          return outside;
        case 'service':
          return pointSet(svcIps.get(p.service) ?? []);
        case 'instances': {
          const ips = p.instances.map(ipOf).filter(known);
          return pointSet(ips.length ? ips : [0]);
        }
        case 'cidr':
          return cidrSet(p.cidr, p.except);
      }
    },
    linear(r) {
      const p = r.peer;
      switch (p.kind) {
        case 'any':
          return { kind: 'any' };
        case 'external':
          return { kind: 'outside', lo: network.lo, hi: network.hi };
        case 'service':
          return {
            kind: 'list',
            ips: app.instances
              .filter((i) => i.service === p.service)
              .map((i) => ipOf(i.name))
              .filter(known),
          };
        case 'instances': {
          const ips = p.instances.map(ipOf).filter(known);
          return { kind: 'list', ips: ips.length ? ips : [0] };
        }
        case 'cidr': {
          const base = cidrInterval(p.cidr) ?? nothing;
          return { kind: 'block', lo: base.lo, hi: base.hi, except: p.except.map((e) => cidrInterval(e) ?? nothing) };
        }
      }
    },
  };
}
