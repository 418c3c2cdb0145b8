/**
 * Verification: the reachability a ruleset actually allows (computed by evaluating its
 * rules) against the reachability the requirements ask for, plus the rule analysis.
 */
import { EXTERNAL, type Addressing, type App } from '../model/index.js';
import { analyzeRules, type RuleFinding } from './analysis.js';
import { connectionsOf, connIsEmpty, connOf, connSubtract, connUnion, type ConnSet } from './conn-set.js';
import { portSetOf } from './port-set.js';
import { computeReachability } from './reachability.js';
import type { Connection, Ruleset } from './types.js';

/** The connections the descriptor requires, at service level. */
export function requiredConnections(app: App): Connection[] {
  const out: Connection[] = [];
  const services = new Map(app.services.map((s) => [s.name, s]));
  for (const r of app.requirements) {
    const port = services.get(r.to)?.ports.find((p) => p.name === r.port);
    if (!port) continue;
    out.push({ src: r.from, dst: r.to, protocol: port.protocol, ports: [{ from: port.port, to: port.port }] });
  }
  return out;
}

export interface VerifyReport {
  ok: boolean;
  /** Required but not allowed. */
  missing: Connection[];
  /** Allowed but not required. */
  extra: Connection[];
  findings: RuleFinding[];
  /** Everything the rules allow. */
  allowed: Connection[];
}

function bySide(list: Connection[], name: (x: string) => string): Map<string, { src: string; dst: string; conns: ConnSet }> {
  const m = new Map<string, { src: string; dst: string; conns: ConnSet }>();
  for (const c of list) {
    const src = name(c.src);
    const dst = name(c.dst);
    const key = `${src}\u0000${dst}`;
    const cur = m.get(key);
    const add = connOf(c.protocol, portSetOf(c.ports));
    if (cur) cur.conns = connUnion(cur.conns, add);
    else m.set(key, { src, dst, conns: add });
  }
  return m;
}

export function diffConnections(required: Connection[], allowed: Connection[], serviceOfInstance: (x: string) => string) {
  const req = bySide(required, (x) => x);
  const act = bySide(allowed, serviceOfInstance);
  const missing: Connection[] = [];
  const extra: Connection[] = [];
  for (const [key, r] of req) {
    const a = act.get(key);
    const miss = a ? connSubtract(r.conns, a.conns) : r.conns;
    if (!connIsEmpty(miss)) missing.push(...connectionsOf(r.src, r.dst, miss));
  }
  for (const [key, a] of act) {
    const r = req.get(key);
    const more = r ? connSubtract(a.conns, r.conns) : a.conns;
    if (!connIsEmpty(more)) extra.push(...connectionsOf(a.src, a.dst, more));
  }
  return { missing, extra };
}

export function verifyRuleset(ruleset: Ruleset, app: App, addressing: Addressing): VerifyReport {
  const allowed = computeReachability(ruleset, app, addressing);
  const svc = new Map(app.instances.map((i) => [i.name, i.service]));
  const { missing, extra } = diffConnections(requiredConnections(app), allowed, (x) => (x === EXTERNAL ? x : (svc.get(x) ?? x)));
  const findings = analyzeRules(ruleset, app, addressing);
  return { ok: !missing.length && !extra.length && !findings.length, missing, extra, findings, allowed };
}
