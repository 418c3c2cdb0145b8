import type { Addressing, App, AppProtocol, Requirement } from './types.js';

/**
 * A ground Datalog atom. Defined here structurally so the model does not
 * depend on the policy language; policy's own fact type accepts these as is.
 */
export interface Fact {
  pred: string;
  args: (string | number)[];
}

/** Stands for "any" in fact arguments (any method, path, statement kind, table, protocol). */
const ANY = '*';
/** NATS's own "every subject" wildcard: `*` would match one token only. */
const ANY_SUBJECT = '>';

const SQL_APPS: ReadonlySet<AppProtocol> = new Set(['postgres', 'mysql']);

/**
 * The model as facts for policies (predicates and their meaning: docs/facts.md).
 * With `addressing`, facts about addresses, interfaces and MACs are included.
 * The order is deterministic: the descriptor's order, section by section.
 */
export function modelFacts(app: App, addressing?: Addressing): Fact[] {
  const out: Fact[] = [];
  const f = (pred: string, ...args: (string | number)[]): void => void out.push({ pred, args });

  f('tenant', app.name, app.tenant);
  f('network', app.name, app.network);
  for (const n of app.nodes) {
    f('node', n.name);
    const u = addressing?.nodes[n.name];
    if (u) {
      f('underlay', n.name, u.ip);
      f('node_subnet', n.name, u.subnet, u.gateway);
    }
  }

  const appOfPort = new Map<string, AppProtocol>();
  for (const s of app.services) {
    f('service', s.name);
    f(s.exposure, s.name);
    f('replicas', s.name, s.replicas);
    for (const p of s.ports) {
      f('port', s.name, p.name, p.protocol, p.port, p.app);
      appOfPort.set(`${s.name}:${p.name}`, p.app);
    }
    for (const [k, v] of Object.entries(s.labels)) f('label', s.name, k, v);
  }

  for (const i of app.instances) {
    f('instance', i.name, i.service, i.node);
    const a = addressing?.instances[i.name];
    if (a) {
      f('address', i.name, a.ip);
      f('attach', i.name, a.port);
      f('mac', i.name, a.mac);
    }
  }

  for (const m of app.monitors) {
    f('monitor', m.name, m.node, m.capacity);
    for (const p of m.inspects) f('inspects', m.name, p === 'any' ? ANY : p);
    const a = addressing?.monitors[m.name];
    if (a) {
      f('monitor_address', m.name, a.ip);
      f('monitor_attach', m.name, a.port);
      f('mac', m.name, a.mac);
    }
  }

  for (const r of app.requirements) {
    f('requirement', r.id, r.from, r.to, r.port);
    requirementL7Facts(r, appOfPort.get(`${r.to}:${r.port}`), f);
    if (r.note !== undefined) f('note', r.id, r.note);
  }
  return out;
}

/**
 * What a requirement allows at the application layer. A requirement without a
 * constraint on a port whose protocol monitors parse allows everything, and
 * says so with wildcards, so a policy never has to treat "no facts" as "any".
 */
function requirementL7Facts(r: Requirement, app: AppProtocol | undefined, f: (pred: string, ...args: (string | number)[]) => void): void {
  const id = r.id;
  const anyIfEmpty = (list: readonly string[]): readonly string[] => (list.length ? list : [ANY]);

  if (r.http) {
    f('constrained', id, 'http');
    for (const m of anyIfEmpty(r.http.methods)) for (const p of anyIfEmpty(r.http.paths)) f('http_allow', id, m, p);
    if (r.http.identity) f('identity', id, r.http.identity.kind, r.http.identity.name);
  } else if (app === 'http') f('http_allow', id, ANY, ANY);

  if (r.sql) {
    f('constrained', id, 'sql');
    for (const k of anyIfEmpty(r.sql.statements)) for (const t of anyIfEmpty(r.sql.tables)) f('sql_allow', id, k, t);
    if (r.sql.identity) f('identity', id, r.sql.identity.kind, r.sql.identity.name);
  } else if (app !== undefined && SQL_APPS.has(app)) f('sql_allow', id, ANY, ANY);

  if (r.nats) {
    f('constrained', id, 'nats');
    for (const s of r.nats.publish) f('nats_allow', id, 'pub', s);
    for (const s of r.nats.subscribe) f('nats_allow', id, 'sub', s);
  } else if (app === 'nats') {
    f('nats_allow', id, 'pub', ANY_SUBJECT);
    f('nats_allow', id, 'sub', ANY_SUBJECT);
  }
}
