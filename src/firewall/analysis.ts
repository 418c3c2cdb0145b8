/**
 * Rule analysis per chain: rules that never take effect because an earlier rule with the
 * other action decides all they match (shadowed), rules whose removal changes nothing
 * (redundant), and rules that partly overlap an earlier rule with the other action, so
 * their order decides the outcome (conflicting).
 *
 * Each chain is evaluated over "peer atoms": every instance its rules name, one instance
 * they do not name, and one address of every outside segment that the chain's blocks
 * induce. Every peer of the same atom class is treated alike by the chain, so checking
 * one representative per class is exact.
 */
import type { App, Addressing } from '../model/index.js';
import { compileRuleset, type CompiledRule, type CompiledRuleset } from './chain-eval.js';
import { connIntersect, connIsEmpty, connEquals, connSubtract, connUnion, ALL_CONNS, NO_CONNS, type ConnSet } from './conn-set.js';
import { parseIpv4 } from '../net/index.js';
import { ipSetContains, partitionByBlocks, subtractIps, ALL_IPV4, type IpInterval } from './ip-range.js';
import type { Direction, Ruleset } from './types.js';

type FindingKind = 'shadowed' | 'redundant' | 'conflicting';

export interface RuleFinding {
  kind: FindingKind;
  rule: string;
  target: string;
  direction: Direction;
  /** Earlier rules involved (the shadowing, covering or conflicting ones). */
  by: string[];
  message: string;
}

interface Atom {
  instance?: string;
  service?: string;
  /** Address as an unsigned 32-bit number; absent for an abstract outside peer. */
  ip?: number;
}

export function analyzeRules(ruleset: Ruleset, app: App, addressing: Addressing): RuleFinding[] {
  const compiled = compileRuleset(ruleset);
  const serviceOf = new Map(app.instances.map((i) => [i.name, i.service]));
  const members = new Map<string, string[]>();
  for (const i of app.instances) {
    const list = members.get(i.service) ?? [];
    list.push(i.name);
    members.set(i.service, list);
  }
  const ipOf = (inst: string) => {
    const a = addressing.instances[inst];
    return a ? parseIpv4(a.ip) : undefined;
  };
  const findings: RuleFinding[] = [];
  for (const [key, indices] of compiled.chains) {
    const direction: Direction = key.startsWith('i ') ? 'ingress' : 'egress';
    const target = key.slice(2);
    const atoms = chainAtoms(compiled, indices, app, members, serviceOf, ipOf);
    findings.push(...analyzeChain(compiled, indices, atoms, target, direction));
  }
  return findings;
}

function chainAtoms(
  compiled: CompiledRuleset,
  indices: readonly number[],
  app: App,
  members: Map<string, string[]>,
  serviceOf: Map<string, string>,
  ipOf: (i: string) => number | undefined,
): Atom[] {
  const named = new Set<string>();
  const blocks: IpInterval[] = [];
  for (const i of indices) {
    const r = compiled.rules[i];
    if (r.peer.kind === 'service') for (const m of members.get(r.peer.service) ?? []) named.add(m);
    if (r.peer.kind === 'instances') for (const m of r.peer.instances) named.add(m);
    if (r.ips) blocks.push(...r.ips);
  }
  const atoms: Atom[] = [...named].map((instance) => ({ instance, service: serviceOf.get(instance), ip: ipOf(instance) }));
  const unnamed = app.instances.find((i) => !named.has(i.name));
  if (unnamed) atoms.push({ instance: unnamed.name, service: unnamed.service, ip: ipOf(unnamed.name) });
  if (blocks.length) {
    const outside = subtractIps(ALL_IPV4, compiled.network);
    for (const seg of partitionByBlocks(blocks)) {
      if (outside.some((o) => o.lo <= seg.lo && seg.lo <= o.hi)) atoms.push({ ip: seg.lo });
    }
    for (const o of outside)
      if (!atoms.some((a) => a.ip !== undefined && a.instance === undefined && a.ip >= o.lo && a.ip <= o.hi)) atoms.push({ ip: o.lo });
  } else {
    atoms.push({});
  }
  return atoms;
}

function matches(rule: CompiledRule, atom: Atom, network: readonly IpInterval[]): boolean {
  const p = rule.peer;
  switch (p.kind) {
    case 'any':
      return true;
    case 'service':
      return atom.service === p.service;
    case 'instances':
      return atom.instance !== undefined && rule.instances!.has(atom.instance);
    case 'external':
      return atom.instance === undefined && (atom.ip === undefined || !ipSetContains(network, atom.ip));
    case 'cidr':
      return atom.ip !== undefined && ipSetContains(rule.ips!, atom.ip);
  }
}

/** What the chain allows this atom, optionally without one rule. */
function allowed(compiled: CompiledRuleset, indices: readonly number[], atom: Atom, isolated: boolean, skip: number): ConnSet {
  let accepted = NO_CONNS;
  let undecided = ALL_CONNS;
  for (const i of indices) {
    if (i === skip) continue;
    const r = compiled.rules[i];
    if (!matches(r, atom, compiled.network)) continue;
    const sel = connIntersect(undecided, r.conns);
    if (connIsEmpty(sel)) continue;
    if (r.accept) accepted = connUnion(accepted, sel);
    undecided = connSubtract(undecided, sel);
  }
  return isolated ? accepted : connUnion(accepted, undecided);
}

function analyzeChain(
  compiled: CompiledRuleset,
  indices: readonly number[],
  atoms: Atom[],
  target: string,
  direction: Direction,
): RuleFinding[] {
  const isolated = compiled.isolated[direction].has(target);
  const n = indices.length;
  const wins = new Array<boolean>(n).fill(false);
  const opposed = Array.from({ length: n }, () => new Set<string>());
  const sameCover = Array.from({ length: n }, () => new Set<string>());
  for (const atom of atoms) {
    // Per earlier rule, what it decided for this atom.
    const decided: { rule: CompiledRule; sel: ConnSet }[] = [];
    let undecided = ALL_CONNS;
    for (let k = 0; k < n; k++) {
      const r = compiled.rules[indices[k]];
      if (!matches(r, atom, compiled.network)) continue;
      for (const d of decided) {
        if (connIsEmpty(connIntersect(d.sel, r.conns))) continue;
        (d.rule.accept === r.accept ? sameCover : opposed)[k].add(d.rule.rule.id);
      }
      const sel = connIntersect(undecided, r.conns);
      if (!connIsEmpty(sel)) {
        wins[k] = true;
        undecided = connSubtract(undecided, sel);
        decided.push({ rule: r, sel });
      }
    }
  }
  const out: RuleFinding[] = [];
  for (let k = 0; k < n; k++) {
    const r = compiled.rules[indices[k]].rule;
    const base = { rule: r.id, target, direction };
    if (!wins[k] && opposed[k].size) {
      const by = [...opposed[k]];
      out.push({
        ...base,
        kind: 'shadowed',
        by,
        message: `${r.id} (${r.action}) never takes effect: ${by.join(', ')} decide${by.length > 1 ? '' : 's'} everything it matches the other way`,
      });
      continue;
    }
    const unchanged = atoms.every((a) =>
      connEquals(allowed(compiled, indices, a, isolated, -1), allowed(compiled, indices, a, isolated, indices[k])),
    );
    if (unchanged) {
      const by = [...sameCover[k]];
      out.push({
        ...base,
        kind: 'redundant',
        by,
        message: `${r.id} (${r.action}) can be removed without changing what the chain allows${by.length ? `: ${by.join(', ')} already cover${by.length > 1 ? '' : 's'} it` : ' (the chain default does the same)'}`,
      });
      continue;
    }
    if (opposed[k].size) {
      const by = [...opposed[k]];
      out.push({
        ...base,
        kind: 'conflicting',
        by,
        message: `${r.id} (${r.action}) overlaps ${by.join(', ')} with the other action; rule order decides part of what it matches`,
      });
    }
  }
  return out;
}
