/**
 * The abstract firewall ruleset: backend-neutral, JSON-serialisable. Inference
 * produces it, imported Kubernetes NetworkPolicies convert to it, a person may
 * hand-edit it (`flowtap verify --rules FILE`), and every renderer reads it.
 *
 * Semantics (the same ones the nftables renderer implements):
 * - A connection from instance A to instance B on (protocol, port) is allowed iff
 *   A's egress chain allows it AND B's ingress chain allows it.
 * - A connection from outside the application (`external`) to B needs only B's ingress.
 * - A chain is evaluated first match wins over the rules for that (target, direction) in
 *   array order; if nothing matches, the chain's default applies: `drop` when the
 *   target is listed in `isolated[direction]`, else `accept` (Kubernetes' "not selected
 *   by any policy" case). Inferred rulesets isolate every instance in both directions.
 */
export type Direction = 'ingress' | 'egress';

export interface PortRange {
  from: number;
  to: number;
}

export type Peer =
  /** Every instance of a service of this application. */
  | { kind: 'service'; service: string }
  /** An explicit set of instances (Kubernetes selectors resolve to this). */
  | { kind: 'instances'; instances: string[] }
  /** An IPv4 block, minus exceptions (Kubernetes ipBlock). */
  | { kind: 'cidr'; cidr: string; except: string[] }
  /** Anything outside the application's network. */
  | { kind: 'external' }
  /** Anything at all. */
  | { kind: 'any' };

export interface FirewallRule {
  /** Stable id, e.g. `r17`, used by explain and by analysis reports. */
  id: string;
  direction: Direction;
  /** Instance whose port the rule sits on. */
  target: string;
  peer: Peer;
  protocol: 'tcp' | 'udp' | 'any';
  /** Destination ports (on the target for ingress, on the peer for egress); null = all. */
  ports: PortRange[] | null;
  action: 'accept' | 'drop';
  /** Requirement id (model) this rule was inferred from, for provenance. */
  requirement?: number;
  comment?: string;
}

export interface Ruleset {
  tenant: string;
  app: string;
  /** Application network; addresses outside it are `external`. */
  network: string;
  /** Instances whose chains default to drop, per direction. */
  isolated: { ingress: string[]; egress: string[] };
  rules: FirewallRule[];
  /**
   * Instances cut off completely, established connections included (quarantine). Their
   * ports keep their taps, so monitors still see what a compromised instance attempts.
   */
  quarantined?: string[];
  /** Traffic every instance needs regardless of requirements. */
  base: {
    arp: boolean;
    /** Return traffic of allowed connections (conntrack established/related). */
    established: boolean;
    /** The cluster resolver, if the application has one. */
    dns?: { ip: string; port: number };
  };
}

/** One allowed connection class, at service (or workload) level. */
export interface Connection {
  /** Service name, `external`, or an IP range `a.b.c.d-e.f.g.h` for imported policies. */
  src: string;
  dst: string;
  /** `sctp` only where a Kubernetes policy or an open chain lets SCTP through. */
  protocol: 'tcp' | 'udp' | 'sctp' | 'any';
  /** null = all ports. */
  ports: PortRange[] | null;
}
