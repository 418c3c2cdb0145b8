/**
 * Renders an application's requirements as CiliumNetworkPolicies (cilium.io/v2), one per
 * service, with the requirements' HTTP constraints as L7 rules enforced by Cilium's proxy.
 *
 * - Ingress: per client, `fromEndpoints` (or `fromEntities: [world]` for `external`) and one
 *   `toPorts` entry per port; a port's HTTP rules are the requirement's methods × paths, one
 *   rule per pair rather than a method alternation: each rule then reads as one allowance,
 *   Hubble names the one rule that matched, and the reader gets the pairs back without taking
 *   regexes apart. A requirement without HTTP constraints (or with SQL or NATS ones, which
 *   Cilium cannot parse) gives an L4-only entry; if one requirement of a client and port has
 *   no HTTP constraint, the port is L4-only for that client, as Cilium would merge it anyway.
 * - Egress: per server, `toEndpoints` with its ports, L4 only (the server's ingress already
 *   checks the request; proxying it on both sides would buy nothing), plus DNS to kube-dns,
 *   since selecting a pod for egress puts it in default deny.
 * - A service nothing may reach gets `ingress: [{}]`, Cilium's deny-all, so being selected
 *   by a policy with only egress does not leave its ingress open.
 */
import { stringify } from 'yaml';
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import { type App, EXTERNAL, type PortSpec } from '../../model/index.js';
import { K8sExportCode } from './codes.js';
import { K8S_NAME_LABEL, K8S_PART_OF_LABEL, k8sName } from './labels.js';
import { methodRegex, pathPatternRegex } from './path-regex.js';

export const CILIUM_API_VERSION = 'cilium.io/v2';

export interface CnpSelector {
  matchLabels: Record<string, string>;
}
export interface CnpPortProtocol {
  /** Cilium's schema types the port as a string. */
  port: string;
  protocol: 'TCP' | 'UDP' | 'ANY';
}
export interface CnpHttpRule {
  method?: string;
  path?: string;
}
export interface CnpPortRule {
  ports: CnpPortProtocol[];
  rules?: { http: CnpHttpRule[] };
}
export interface CnpIngressRule {
  fromEndpoints?: CnpSelector[];
  fromEntities?: string[];
  toPorts?: CnpPortRule[];
}
export interface CnpEgressRule {
  toEndpoints?: CnpSelector[];
  toPorts?: CnpPortRule[];
}
export interface CiliumNetworkPolicy {
  apiVersion: typeof CILIUM_API_VERSION;
  kind: 'CiliumNetworkPolicy';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { description: string; endpointSelector: CnpSelector; ingress: CnpIngressRule[]; egress: CnpEgressRule[] };
}

export interface CiliumRenderOptions {
  namespace?: string;
  /** Allow DNS to kube-dns from every service (default true). */
  dns?: boolean;
}

export interface CiliumExport {
  policies: CiliumNetworkPolicy[];
  /** Requirement constraints Cilium cannot carry (SQL, NATS, identity checks): the monitors keep enforcing them. */
  notes: string[];
}

/** kube-dns as Cilium's own guides select it. */
const KUBE_DNS_SELECTOR: CnpSelector = {
  matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' },
};

const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

interface PortAllowance {
  port: PortSpec;
  /** null: any request (L4 only). */
  http: CnpHttpRule[] | null;
}

export function ciliumPolicies(app: App, opts: CiliumRenderOptions = {}): Result<CiliumExport> {
  const namespace = k8sName(opts.namespace ?? app.name);
  const errors: Diagnostic[] = [];
  const notes: string[] = [];
  const services = new Map(app.services.map((s) => [s.name, s]));
  // server -> client -> "port/protocol" -> allowance, in requirement order for stable output.
  const ingress = new Map<string, Map<string, Map<string, PortAllowance>>>();
  const egress = new Map<string, Map<string, Map<string, PortSpec>>>();

  for (const r of app.requirements) {
    const where = { ...r.loc, field: `requirements[${r.id}]` };
    const server = services.get(r.to);
    if (!server) {
      errors.push(diag(K8sExportCode.UNKNOWN_SERVICE, `requirement ${r.id} names unknown service "${r.to}"`, where));
      continue;
    }
    if (r.from !== EXTERNAL && !services.has(r.from)) {
      errors.push(diag(K8sExportCode.UNKNOWN_SERVICE, `requirement ${r.id} names unknown client service "${r.from}"`, where));
      continue;
    }
    const port = server.ports.find((p) => p.name === r.port);
    if (!port) {
      errors.push(diag(K8sExportCode.UNKNOWN_PORT, `requirement ${r.id}: service ${r.to} has no port named "${r.port}"`, where));
      continue;
    }
    const http = r.http ? httpRules(r.http.methods, r.http.paths, port, r.id, where, errors) : null;
    if (r.http && http === undefined) continue;
    if (r.sql || r.nats || r.http?.identity)
      notes.push(
        `requirement ${r.id} (${r.from} -> ${r.to}:${r.port}): its ${[r.sql && 'SQL', r.nats && 'NATS', r.http?.identity && 'identity'].filter(Boolean).join(' and ')} constraints are not expressible in Cilium and stay with the flowtap monitors`,
      );

    const byClient = getOr(ingress, r.to, () => new Map<string, Map<string, PortAllowance>>());
    const byPort = getOr(byClient, r.from, () => new Map<string, PortAllowance>());
    const key = `${port.port}/${port.protocol}`;
    const prev = byPort.get(key);
    if (!prev) byPort.set(key, { port, http: http ?? null });
    else if (prev.http && http) prev.http.push(...http.filter((h) => !prev.http!.some((p) => p.method === h.method && p.path === h.path)));
    else prev.http = null;

    if (r.from !== EXTERNAL)
      getOr(
        getOr(egress, r.from, () => new Map()),
        r.to,
        () => new Map(),
      ).set(key, port);
  }
  if (errors.length) return fail(errors);

  const policies = app.services.map((s): CiliumNetworkPolicy => {
    const ingressRules: CnpIngressRule[] = [...(ingress.get(s.name) ?? [])].map(([client, ports]) => ({
      ...(client === EXTERNAL ? { fromEntities: ['world'] } : { fromEndpoints: [selectorOf(client)] }),
      toPorts: [...ports.values()].map(({ port, http }) => ({
        ports: [portProtocol(port)],
        ...(http?.length ? { rules: { http } } : {}),
      })),
    }));
    const egressRules: CnpEgressRule[] = [...(egress.get(s.name) ?? [])].map(([server, ports]) => ({
      toEndpoints: [selectorOf(server)],
      toPorts: [{ ports: [...ports.values()].map(portProtocol) }],
    }));
    if (opts.dns !== false)
      egressRules.push({
        toEndpoints: [{ matchLabels: { ...KUBE_DNS_SELECTOR.matchLabels } }],
        toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }] }],
      });
    return {
      apiVersion: CILIUM_API_VERSION,
      kind: 'CiliumNetworkPolicy',
      metadata: { name: `${k8sName(s.name)}-flowtap`.slice(0, 63), namespace, labels: { [K8S_PART_OF_LABEL]: k8sName(app.name) } },
      spec: {
        description: `flowtap: what may reach and leave ${s.name} of ${app.tenant}/${app.name}`,
        endpointSelector: selectorOf(s.name),
        ingress: ingressRules.length ? ingressRules : [{}],
        egress: egressRules.length ? egressRules : [{}],
      },
    };
  });
  return ok({ policies, notes });
}

/** The policies as multi-document YAML, the notes as comments on top. */
export function renderCiliumPolicies(app: App, opts: CiliumRenderOptions = {}): Result<string> {
  const r = ciliumPolicies(app, opts);
  if (!r.ok) return r;
  const head = r.value.notes.map((n) => `# ${n}\n`).join('');
  return ok(head + r.value.policies.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n'));
}

/** undefined after reporting an error; null when the constraint leaves every request allowed. */
function httpRules(
  methods: readonly string[],
  paths: readonly string[],
  port: PortSpec,
  id: number,
  where: { field: string },
  errors: Diagnostic[],
): CnpHttpRule[] | null | undefined {
  if (port.protocol !== 'tcp') {
    errors.push(
      diag(
        K8sExportCode.UNSUPPORTED,
        `requirement ${id}: HTTP rules on ${port.protocol} port ${port.name}; Cilium parses HTTP over TCP only`,
        where,
      ),
    );
    return undefined;
  }
  const bad = methods.find((m) => !HTTP_TOKEN.test(m));
  if (bad !== undefined) {
    errors.push(
      diag(K8sExportCode.HTTP_METHOD, `requirement ${id}: "${bad}" is not an HTTP method token`, { field: `${where.field}.http.methods` }),
    );
    return undefined;
  }
  const regexes: Array<string | null> = [];
  for (const p of paths) {
    const r = pathPatternRegex(p);
    if (!r.ok) {
      errors.push(diag(K8sExportCode.HTTP_PATH, `requirement ${id}: path "${p}" ${r.problem}`, { field: `${where.field}.http.paths` }));
      return undefined;
    }
    regexes.push(r.regex);
  }
  // `*` allows every path: the other patterns add nothing.
  const pathList: Array<string | undefined> = regexes.length === 0 || regexes.includes(null) ? [undefined] : (regexes as string[]);
  const methodList: Array<string | undefined> = methods.length ? [...new Set(methods)].map(methodRegex) : [undefined];
  const rules: CnpHttpRule[] = [];
  for (const method of methodList)
    for (const path of pathList)
      if (!rules.some((r) => r.method === method && r.path === path))
        rules.push({ ...(method !== undefined ? { method } : {}), ...(path !== undefined ? { path } : {}) });
  // A rule with neither field constrains nothing: say so with L4 only, which Cilium reads the same.
  return rules.length === 1 && rules[0].method === undefined && rules[0].path === undefined ? null : rules;
}

function selectorOf(service: string): CnpSelector {
  return { matchLabels: { [K8S_NAME_LABEL]: k8sName(service) } };
}

function portProtocol(p: PortSpec): CnpPortProtocol {
  return { port: String(p.port), protocol: p.protocol === 'udp' ? 'UDP' : 'TCP' };
}

function getOr<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = make();
    m.set(k, v);
  }
  return v;
}
