/**
 * Whether CiliumNetworkPolicies let one request through, as Cilium decides it: the client's
 * egress and the server's ingress are each checked; a direction is in default deny once a
 * policy with a section for it selects the endpoint, and then a rule must allow the peer,
 * the port and (when the port has HTTP rules) the method and path, matched whole. Rules add
 * up: an L4-only rule for a peer and port allows every request even if another rule has HTTP
 * rules for them, as Cilium merges them.
 */
import { EXTERNAL } from '../../model/index.js';
import type { ReadCnp, ReadPortRule, ReadRule } from './cilium-read.js';
import { K8S_NAME_LABEL } from './labels.js';
import { type Endpoint, selectorMatches } from './selector.js';

/** `external` is the world; `ns/name` or `name` are a service's pods by `app.kubernetes.io/name`. */
export type CnpParty = string | Endpoint;

export interface CnpRequest {
  from: CnpParty;
  to: CnpParty;
  port: number;
  /** Default TCP. */
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  /** Absent for traffic that is not HTTP, which ports with HTTP rules refuse. */
  method?: string;
  /** The request target as sent (path and query). */
  path?: string;
}

export interface CnpEvalOptions {
  /** Namespace of parties named without one (default: the policies' namespace when they share one, else `default`). */
  namespace?: string;
  /**
   * Resolve dot segments (also percent-encoded) before matching, as Envoy's `normalize_path`
   * does in Cilium's proxy. Off by default: the exported regexes must hold without it.
   */
  normalize?: boolean;
}

export interface CnpDecision {
  allowed: boolean;
  /** Which side refused, or why it passed; for people reading test failures and explain output. */
  reason: string;
}

type Party = { world: true } | { world: false; endpoint: Endpoint };

export function cnpAllows(policies: readonly ReadCnp[], req: CnpRequest, opts: CnpEvalOptions = {}): boolean {
  return cnpDecide(policies, req, opts).allowed;
}

export function cnpDecide(policies: readonly ReadCnp[], req: CnpRequest, opts: CnpEvalOptions = {}): CnpDecision {
  const namespaces = [...new Set(policies.map((p) => p.namespace))];
  const ns = opts.namespace ?? (namespaces.length === 1 ? namespaces[0] : 'default');
  const from = party(req.from, ns);
  const to = party(req.to, ns);
  const path = req.path !== undefined && opts.normalize ? normalizeRequestPath(req.path) : req.path;
  const request = { ...req, protocol: req.protocol ?? 'TCP', path };
  if (!from.world) {
    const verdict = side(policies, 'egress', from.endpoint, to, request);
    if (!verdict.allowed) return { allowed: false, reason: `egress of the client: ${verdict.reason}` };
  }
  if (!to.world) {
    const verdict = side(policies, 'ingress', to.endpoint, from, request);
    if (!verdict.allowed) return { allowed: false, reason: `ingress of the server: ${verdict.reason}` };
  }
  return { allowed: true, reason: 'allowed' };
}

function party(p: CnpParty, ns: string): Party {
  if (typeof p !== 'string') return { world: false, endpoint: p };
  if (p === EXTERNAL) return { world: true };
  const slash = p.indexOf('/');
  const [namespace, name] = slash >= 0 ? [p.slice(0, slash), p.slice(slash + 1)] : [ns, p];
  return { world: false, endpoint: { namespace, labels: { [K8S_NAME_LABEL]: name } } };
}

type Request = CnpRequest & { protocol: 'TCP' | 'UDP' | 'SCTP' };

function side(policies: readonly ReadCnp[], dir: 'ingress' | 'egress', self: Endpoint, peer: Party, req: Request): CnpDecision {
  const selecting = policies.filter((p) => p[dir] !== null && selectorMatches(p.endpointSelector, self, p.namespace));
  if (!selecting.some((p) => p.defaultDeny[dir])) return { allowed: true, reason: 'not in default deny' };
  for (const p of selecting)
    for (const rule of p[dir]!)
      if (peerMatches(rule, peer, p.namespace) && portAndRequestMatch(rule, req))
        return { allowed: true, reason: `${p.namespace}/${p.name}` };
  const names = selecting.map((p) => `${p.namespace}/${p.name}`).join(', ');
  return { allowed: false, reason: `no rule of ${names} allows it` };
}

function peerMatches(rule: ReadRule, peer: Party, policyNamespace: string): boolean {
  // A rule naming no peer applies to all of them, but only if it says which ports: `{}` is deny-all.
  if (rule.peers === null) return rule.toPorts !== null;
  return rule.peers.some((p) => {
    if (p.kind === 'entity') return p.entity === 'all' || (peer.world ? p.entity === 'world' : p.entity === 'cluster');
    return !peer.world && selectorMatches(p.selector, peer.endpoint, policyNamespace);
  });
}

function portAndRequestMatch(rule: ReadRule, req: Request): boolean {
  if (rule.toPorts === null) return true;
  return rule.toPorts.some((pr) => portMatches(pr, req) && requestMatches(pr, req));
}

function portMatches(pr: ReadPortRule, req: Request): boolean {
  if (pr.ports.length === 0) return true;
  return pr.ports.some(
    (p) =>
      (p.protocol === 'ANY' || p.protocol === req.protocol) &&
      (p.port === null || (p.endPort === null ? req.port === p.port : req.port >= p.port && req.port <= p.endPort)),
  );
}

function requestMatches(pr: ReadPortRule, req: Request): boolean {
  if (pr.http === null) return true;
  if (req.method === undefined || req.path === undefined) return false;
  const { method, path } = req;
  return pr.http.some((h) => (h.method === null || h.method.test(method)) && (h.path === null || h.path.test(path)));
}

/**
 * RFC 3986 dot-segment removal with `%2e` read as a dot, which is what path normalisation
 * in Envoy does to the path before filters see it; the query is kept as it is.
 */
export function normalizeRequestPath(target: string): string {
  const q = target.search(/[?#]/);
  const path = q >= 0 ? target.slice(0, q) : target;
  const rest = q >= 0 ? target.slice(q) : '';
  if (!path.startsWith('/')) return target;
  const out: string[] = [];
  const segments = path.slice(1).split('/');
  let trailingSlash = false;
  for (const seg of segments) {
    const d = seg.replace(/%2e/gi, '.');
    trailingSlash = d === '.' || d === '..';
    if (d === '.') continue;
    if (d === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}${trailingSlash && out.length ? '/' : ''}${rest}`;
}
