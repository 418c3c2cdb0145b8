/**
 * Reachability of a ruleset: which connections its RULES allow (never what the
 * requirements ask for), at service level.
 *
 * A connection src -> dst is allowed on a port iff src's egress chain and dst's
 * ingress chain both allow it; outside sources need only the ingress chain, outside
 * destinations only the egress chain.
 *
 * Cost: each chain is evaluated once per peer it names (through `service` or
 * `instances` rules), once per outside address class, and once for "every other
 * instance" (per address block when the chain has `cidr` rules). Pairs of instances
 * are then enumerated only where a chain names the peer, or where both sides let
 * unnamed peers through: an isolated ruleset costs O(rules), not O(instances^2).
 *
 * Endpoints are the app's instances (rules whose target is no instance of `app` are not
 * evaluated); an instance never connects to itself, but replicas of one service do.
 *
 * Outside the application:
 * - `externalAs: 'peer'` (default): one peer, `external`; its connections are the union
 *   over all outside addresses (what some outside address can do).
 * - `externalAs: 'ip-ranges'`: the IPv4 space cut at every `cidr`/`except` boundary the
 *   rules mention (as Kubernetes network-policy analyzers print it). A range is named by
 *   its whole interval even when the application network lies inside it; addresses of
 *   the application network are instances and reported by name, never as a range.
 */
import type { Addressing, App } from '../model/index.js';
import {
  chainKey,
  compileRuleset,
  finishWalk,
  startWalk,
  stepWalk,
  walkChain,
  type CompiledRule,
  type CompiledRuleset,
} from './chain-eval.js';
import { ALL_CONNS, NO_CONNS, connEquals, connIntersect, connIsEmpty, connUnion, connectionsOf, type ConnSet } from './conn-set.js';
import { formatInterval, ipSetContains, partitionByBlocks, subtractIps, type IpInterval } from './ip-range.js';
import { parseIpv4 } from '../net/index.js';
import type { Connection, Direction, Ruleset } from './types.js';

export interface ReachabilityOptions {
  externalAs?: 'peer' | 'ip-ranges';
}

const EXTERNAL_PEER = 'external';

/** What one chain allows, per kind of peer. */
interface ChainSummary {
  /** Peers the chain's rules name (instance index -> allowed). */
  named: Map<number, ConnSet> | null;
  /** Any other instance, when no `cidr` rule can tell instances apart by address. */
  other: ConnSet;
  /** Any other instance, per address segment, when the chain has `cidr` rules. */
  otherBySegment: Map<number, ConnSet> | null;
  /** Per outside address class. */
  outside: readonly ConnSet[];
}

interface OutsideClass {
  label: string;
  /** One outside address of the class; every address of the class is treated alike. */
  representative: number;
}

interface Context {
  compiled: CompiledRuleset;
  names: string[];
  indexOf: Map<string, number>;
  serviceOf: Int32Array;
  serviceNames: string[];
  serviceIndex: Map<string, number>;
  members: number[][];
  ips: Float64Array;
  segmentOf: Int32Array;
  /** Segment -> an address of some instance in it (every address of a segment matches the same blocks). */
  segmentProbe: Map<number, number>;
  outside: OutsideClass[];
  /** Shared per-class results of chains that decide every outside address by their default. */
  outsideNone: readonly ConnSet[];
  outsideAll: readonly ConnSet[];
}

export function computeReachability(ruleset: Ruleset, app: App, addressing: Addressing, opts: ReachabilityOptions = {}): Connection[] {
  const ctx = buildContext(ruleset, app, addressing, opts.externalAs ?? 'peer');
  const n = ctx.names.length;
  const egress: ChainSummary[] = new Array(n);
  const ingress: ChainSummary[] = new Array(n);
  for (let i = 0; i < n; i++) {
    egress[i] = summarize(ctx, i, 'egress');
    ingress[i] = summarize(ctx, i, 'ingress');
  }

  const value = (s: number, d: number): ConnSet => connIntersect(peerValue(egress[s], d, ctx), peerValue(ingress[d], s, ctx));

  // First pass: per service pair, is every instance pair alike? Only a summary is kept.
  const S = ctx.serviceNames.length;
  const pairs = new Map<number, { conn: ConnSet; count: number; uniform: boolean }>();
  const record = (s: number, d: number, c: ConnSet) => {
    if (connIsEmpty(c)) return;
    const key = ctx.serviceOf[s] * S + ctx.serviceOf[d];
    const agg = pairs.get(key);
    if (!agg) pairs.set(key, { conn: c, count: 1, uniform: true });
    else {
      agg.count++;
      if (agg.uniform && !connEquals(agg.conn, c)) agg.uniform = false;
    }
  };

  for (let s = 0; s < n; s++) {
    const named = egress[s].named;
    if (!named) continue;
    for (const [d, e] of named) if (d !== s) record(s, d, connIntersect(e, peerValue(ingress[d], s, ctx)));
  }
  for (let d = 0; d < n; d++) {
    const named = ingress[d].named;
    if (!named) continue;
    for (const [s, i] of named) {
      if (s === d || egress[s].named?.has(d)) continue;
      record(s, d, connIntersect(otherValue(egress[s], d, ctx), i));
    }
  }
  const openEgress: number[] = [];
  const openIngress: number[] = [];
  for (let i = 0; i < n; i++) {
    if (letsOthersThrough(egress[i])) openEgress.push(i);
    if (letsOthersThrough(ingress[i])) openIngress.push(i);
  }
  for (const s of openEgress) {
    const namedE = egress[s].named;
    for (const d of openIngress) {
      if (s === d || namedE?.has(d) || ingress[d].named?.has(s)) continue;
      record(s, d, connIntersect(otherValue(egress[s], d, ctx), otherValue(ingress[d], s, ctx)));
    }
  }

  const out: Connection[] = [];
  for (const [key, agg] of pairs) {
    const ss = Math.floor(key / S);
    const ds = key % S;
    const srcMembers = ctx.members[ss];
    const dstMembers = ctx.members[ds];
    const expected = srcMembers.length * dstMembers.length - (ss === ds ? srcMembers.length : 0);
    if (agg.uniform && agg.count === expected) {
      out.push(...connectionsOf(ctx.serviceNames[ss], ctx.serviceNames[ds], agg.conn));
    } else {
      out.push(...splitPair(ctx, srcMembers, dstMembers, ctx.serviceNames[ss], ctx.serviceNames[ds], value));
    }
  }

  // Outside peers: only the instance's own chain decides.
  const classes: Array<{ label: string; pick: (sum: ChainSummary) => ConnSet }> =
    opts.externalAs === 'ip-ranges'
      ? ctx.outside.map((cl, c) => ({ label: cl.label, pick: (sum) => sum.outside[c] }))
      : ctx.outside.length
        ? [{ label: EXTERNAL_PEER, pick: (sum) => sum.outside.reduce(connUnion, NO_CONNS) }]
        : [];
  for (const cl of classes) {
    for (let sv = 0; sv < S; sv++) {
      const members = ctx.members[sv];
      if (members.length === 0) continue;
      const inbound = members.map((d) => cl.pick(ingress[d]));
      out.push(...aggregateOutside(ctx, members, inbound, sv, (x) => [cl.label, x]));
      const outbound = members.map((s) => cl.pick(egress[s]));
      out.push(...aggregateOutside(ctx, members, outbound, sv, (x) => [x, cl.label]));
    }
  }

  return out.sort(compareConnections);
}

function buildContext(ruleset: Ruleset, app: App, addressing: Addressing, mode: 'peer' | 'ip-ranges'): Context {
  const compiled = compileRuleset(ruleset);
  const names = app.instances.map((i) => i.name);
  const indexOf = new Map<string, number>();
  for (const [i, name] of names.entries()) indexOf.set(name, i);

  const serviceIndex = new Map<string, number>();
  const serviceNames: string[] = [];
  const members: number[][] = [];
  const addService = (name: string) => {
    let idx = serviceIndex.get(name);
    if (idx === undefined) {
      idx = serviceNames.length;
      serviceIndex.set(name, idx);
      serviceNames.push(name);
      members.push([]);
    }
    return idx;
  };
  for (const s of app.services) addService(s.name);
  const serviceOf = new Int32Array(names.length);
  app.instances.forEach((inst, i) => {
    const sv = addService(inst.service);
    serviceOf[i] = sv;
    members[sv].push(i);
  });

  const ips = new Float64Array(names.length);
  names.forEach((name, i) => {
    const text = addressing.instances[name]?.ip;
    const ip = text !== undefined ? parseIpv4(text) : undefined;
    ips[i] = ip ?? -1;
  });

  // Instance address segments: the same cut as outside classes, so a `cidr` rule either
  // contains a whole segment or none of it.
  const segments = compiled.blocks.length ? partitionByBlocks(compiled.blocks) : [{ lo: 0, hi: 0xffffffff }];
  const segmentOf = new Int32Array(names.length);
  const segmentProbe = new Map<number, number>();
  for (let i = 0; i < names.length; i++) {
    segmentOf[i] = ips[i] < 0 ? -1 : findSegment(segments, ips[i]);
    if (!segmentProbe.has(segmentOf[i])) segmentProbe.set(segmentOf[i], ips[i]);
  }

  const outside = outsideClasses(compiled, mode);
  return {
    compiled,
    names,
    indexOf,
    serviceOf,
    serviceNames,
    serviceIndex,
    members,
    ips,
    segmentOf,
    segmentProbe,
    outside,
    outsideNone: outside.map(() => NO_CONNS),
    outsideAll: outside.map(() => ALL_CONNS),
  };
}

function outsideClasses(compiled: CompiledRuleset, mode: 'peer' | 'ip-ranges'): OutsideClass[] {
  const network = compiled.network;
  const net = network[0];
  // A block inside the application network (the network itself included) tells no two
  // outside addresses apart, so it cuts nothing: ranges stay the ones analyzers print,
  // and a range may span the network, whose addresses are reported as instances.
  const blocks = net ? compiled.blocks.filter((b) => !(b.lo >= net.lo && b.hi <= net.hi)) : compiled.blocks;
  const pieces: IpInterval[] = partitionByBlocks(blocks);
  const out: OutsideClass[] = [];
  for (const piece of pieces) {
    const outsidePart = subtractIps([piece], network);
    if (outsidePart.length === 0) continue;
    out.push({ label: mode === 'ip-ranges' ? formatInterval(piece) : EXTERNAL_PEER, representative: outsidePart[0].lo });
  }
  return out;
}

function findSegment(segments: readonly IpInterval[], ip: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid].lo <= ip) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function summarize(ctx: Context, self: number, direction: Direction): ChainSummary {
  const { compiled } = ctx;
  const name = ctx.names[self];
  const indices = compiled.chains.get(chainKey(direction, name));
  const isolated = compiled.isolated[direction].has(name);
  const fallback = isolated ? NO_CONNS : ALL_CONNS;
  const outsideFallback = isolated ? ctx.outsideNone : ctx.outsideAll;
  if (!indices) return { named: null, other: fallback, otherBySegment: null, outside: outsideFallback };

  const generic: number[] = [];
  const perInstance = new Map<number, number[]>();
  let hasCidr = false;
  const mention = (m: number | undefined, i: number) => {
    if (m === undefined) return;
    const list = perInstance.get(m);
    if (!list) perInstance.set(m, [i]);
    else if (list[list.length - 1] !== i) list.push(i);
  };
  for (const i of indices) {
    const peer = compiled.rules[i].peer;
    if (peer.kind === 'service') {
      const sv = ctx.serviceIndex.get(peer.service);
      if (sv !== undefined) for (const m of ctx.members[sv]) mention(m, i);
    } else if (peer.kind === 'instances') {
      for (const inst of peer.instances) mention(ctx.indexOf.get(inst), i);
    } else {
      if (peer.kind === 'cidr') hasCidr = true;
      generic.push(i);
    }
  }

  let named: Map<number, ConnSet> | null = null;
  if (perInstance.size) {
    named = new Map();
    for (const [m, list] of perInstance) {
      named.set(
        m,
        walkMerged(compiled, list, generic, isolated, (r) => instanceMatchesGeneric(r, ctx.ips[m])),
      );
    }
  }

  let other: ConnSet = fallback;
  let otherBySegment: Map<number, ConnSet> | null = null;
  if (!hasCidr) {
    other = walkChain(compiled, generic, isolated, (r) => r.peer.kind === 'any');
  } else {
    otherBySegment = new Map();
    for (const [seg, probe] of ctx.segmentProbe) {
      otherBySegment.set(
        seg,
        walkChain(compiled, generic, isolated, (r) => instanceMatchesGeneric(r, probe)),
      );
    }
  }

  const outside = generic.length
    ? ctx.outside.map((cl) =>
        walkChain(compiled, generic, isolated, (r) => {
          const kind = r.peer.kind;
          return kind === 'any' || kind === 'external' || (kind === 'cidr' && ipSetContains(r.ips!, cl.representative));
        }),
      )
    : outsideFallback;

  return { named, other, otherBySegment, outside };
}

function instanceMatchesGeneric(rule: CompiledRule, ip: number): boolean {
  const kind = rule.peer.kind;
  if (kind === 'any') return true;
  if (kind === 'cidr') return ip >= 0 && ipSetContains(rule.ips!, ip);
  return false; // `external` never matches an instance of the application
}

/** Walks two ascending lists of rule indices of one chain in ruleset order. */
function walkMerged(
  compiled: CompiledRuleset,
  namedRules: readonly number[],
  generic: readonly number[],
  isolated: boolean,
  genericMatches: (r: CompiledRule) => boolean,
): ConnSet {
  const walk = startWalk();
  let a = 0;
  let b = 0;
  while (a < namedRules.length || b < generic.length) {
    if (b >= generic.length || (a < namedRules.length && namedRules[a] < generic[b])) {
      if (stepWalk(walk, compiled.rules[namedRules[a++]])) break;
    } else {
      const rule = compiled.rules[generic[b++]];
      if (genericMatches(rule) && stepWalk(walk, rule)) break;
    }
  }
  return finishWalk(walk, isolated);
}

function otherValue(sum: ChainSummary, peer: number, ctx: Context): ConnSet {
  if (!sum.otherBySegment) return sum.other;
  return sum.otherBySegment.get(ctx.segmentOf[peer]) ?? sum.other;
}

function peerValue(sum: ChainSummary, peer: number, ctx: Context): ConnSet {
  return sum.named?.get(peer) ?? otherValue(sum, peer, ctx);
}

function letsOthersThrough(sum: ChainSummary): boolean {
  if (!sum.otherBySegment) return !connIsEmpty(sum.other);
  for (const c of sum.otherBySegment.values()) if (!connIsEmpty(c)) return true;
  return false;
}

/**
 * Instances of a service pair disagree: report per source instance if each source
 * treats all destinations alike, else per destination instance, else per pair.
 */
function splitPair(
  ctx: Context,
  srcs: readonly number[],
  dsts: readonly number[],
  srcService: string,
  dstService: string,
  value: (s: number, d: number) => ConnSet,
): Connection[] {
  const matrix = srcs.map((s) => dsts.map((d) => (s === d ? null : value(s, d))));
  const uniform = (cells: Array<ConnSet | null>): ConnSet | undefined => {
    let first: ConnSet | undefined;
    for (const c of cells) {
      if (c === null) continue;
      if (first === undefined) first = c;
      else if (!connEquals(first, c)) return undefined;
    }
    return first ?? NO_CONNS;
  };
  const out: Connection[] = [];
  const rows = matrix.map(uniform);
  if (rows.every((r) => r !== undefined)) {
    for (const [i, c] of rows.entries()) out.push(...connectionsOf(ctx.names[srcs[i]], dstService, c!));
    return out;
  }
  const cols = dsts.map((_, j) => uniform(matrix.map((row) => row[j])));
  if (cols.every((c) => c !== undefined)) {
    for (const [j, c] of cols.entries()) out.push(...connectionsOf(srcService, ctx.names[dsts[j]], c!));
    return out;
  }
  for (const [i, row] of matrix.entries()) {
    for (const [j, c] of row.entries()) if (c) out.push(...connectionsOf(ctx.names[srcs[i]], ctx.names[dsts[j]], c));
  }
  return out;
}

function aggregateOutside(
  ctx: Context,
  members: readonly number[],
  values: readonly ConnSet[],
  service: number,
  ends: (inside: string) => [string, string],
): Connection[] {
  if (values.every((v) => connEquals(v, values[0]))) {
    const [src, dst] = ends(ctx.serviceNames[service]);
    return connectionsOf(src, dst, values[0]);
  }
  const out: Connection[] = [];
  members.forEach((m, i) => {
    const [src, dst] = ends(ctx.names[m]);
    out.push(...connectionsOf(src, dst, values[i]));
  });
  return out;
}

const PROTOCOL_ORDER = { any: 0, sctp: 1, tcp: 2, udp: 3 } as const;

function compareConnections(a: Connection, b: Connection): number {
  if (a.src !== b.src) return a.src < b.src ? -1 : 1;
  if (a.dst !== b.dst) return a.dst < b.dst ? -1 : 1;
  return PROTOCOL_ORDER[a.protocol] - PROTOCOL_ORDER[b.protocol];
}
