/**
 * Reads CiliumNetworkPolicies (the export's, or hand-written ones of the same shape) back into
 * a checked form the evaluator runs, and into flat allowances: client, server, port, method
 * regex, path regex.
 *
 * The reader models endpoint and entity peers, ports and HTTP method/path rules. A field that
 * would change what is allowed but is not modelled (CIDR peers, deny sections, headers, other
 * L7 protocols, named ports) is an error naming it: evaluating without it would be wrong, and
 * silently so. Other kinds in the input are skipped.
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import { K8sExportCode } from './codes.js';
import { K8S_NAME_LABEL } from './labels.js';
import { type CompiledRegex, compileRegex } from './regex/index.js';
import { CILIUM_NAMESPACE_LABEL, labelKey, type LabelSelector, type SelectorOperator } from './selector.js';
import { type Locate, plainLocate, yamlDocuments } from './yaml-documents.js';

export type CnpPeer = { kind: 'endpoints'; selector: LabelSelector } | { kind: 'entity'; entity: string };

export interface ReadPort {
  /** null: every port. */
  port: number | null;
  endPort: number | null;
  protocol: 'TCP' | 'UDP' | 'SCTP' | 'ANY';
}

export interface ReadHttpRule {
  /** null: any method / any path. */
  method: CompiledRegex | null;
  path: CompiledRegex | null;
}

export interface ReadPortRule {
  /** Empty: every port. */
  ports: ReadPort[];
  /** null: L4 only, any request. */
  http: ReadHttpRule[] | null;
}

export interface ReadRule {
  /** null: the rule names no peer, so it applies to every peer (when it has toPorts). */
  peers: CnpPeer[] | null;
  /** null: every port. */
  toPorts: ReadPortRule[] | null;
}

export interface ReadCnp {
  name: string;
  namespace: string;
  endpointSelector: LabelSelector;
  /** null: the policy has no such section and leaves that direction alone. */
  ingress: ReadRule[] | null;
  egress: ReadRule[] | null;
  /** `enableDefaultDeny`: whether selecting an endpoint puts that direction in default deny (true unless turned off). */
  defaultDeny: { ingress: boolean; egress: boolean };
}

const SPEC_KEYS = new Set(['endpointSelector', 'ingress', 'egress', 'description', 'labels', 'enableDefaultDeny']);
const SPEC_UNMODELLED = new Set(['ingressDeny', 'egressDeny', 'nodeSelector']);
const INGRESS_PEERS = { endpoints: 'fromEndpoints', entities: 'fromEntities' } as const;
const EGRESS_PEERS = { endpoints: 'toEndpoints', entities: 'toEntities' } as const;
const RULE_UNMODELLED = [
  'fromCIDR',
  'fromCIDRSet',
  'fromRequires',
  'fromGroups',
  'fromNodes',
  'toCIDR',
  'toCIDRSet',
  'toRequires',
  'toServices',
  'toFQDNs',
  'toGroups',
  'toNodes',
  'icmps',
  'authentication',
];
const PORT_RULE_UNMODELLED = ['listener', 'terminatingTLS', 'originatingTLS', 'serverNames'];
const HTTP_UNMODELLED = ['host', 'headers', 'headerMatches'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ANY'] as const;
const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** Reads every CiliumNetworkPolicy in multi-document YAML text. */
export function parseCiliumPolicies(text: string, file: string): Result<ReadCnp[]> {
  const { docs, errors } = yamlDocuments(text, file);
  if (errors.length) return fail(errors);
  return readCiliumPolicies(docs);
}

/** Reads CiliumNetworkPolicy objects (from YAML, or the export's objects directly). */
export function readCiliumPolicies(objects: ReadonlyArray<unknown | { value: unknown; locate: Locate }>): Result<ReadCnp[]> {
  const errors: Diagnostic[] = [];
  const out: ReadCnp[] = [];
  for (const [i, o] of objects.entries()) {
    const wrapped = isRecord(o) && 'locate' in o && typeof o.locate === 'function';
    const value = wrapped ? (o as { value: unknown }).value : o;
    const locate = wrapped ? (o as { locate: Locate }).locate : (f: string) => plainLocate(f ? `[${i}].${f}` : `[${i}]`);
    const items =
      isRecord(value) && value.kind === 'List' && Array.isArray(value.items)
        ? value.items.map((v, k) => [v, `items[${k}]`] as const)
        : [[value, ''] as const];
    for (const [item, base] of items) {
      if (!isRecord(item) || typeof item.kind !== 'string') {
        errors.push(diag(K8sExportCode.NOT_OBJECT, 'not a Kubernetes object: expected a mapping with a "kind"', locate(base)));
        continue;
      }
      if (item.kind !== 'CiliumNetworkPolicy') continue;
      const r = new Reader(locate, base, errors);
      const policy = r.policy(item);
      if (policy) out.push(policy);
    }
  }
  return errors.length ? fail(errors) : ok(out);
}

class Reader {
  constructor(
    readonly locate: Locate,
    readonly base: string,
    readonly errors: Diagnostic[],
  ) {}

  at(field: string) {
    return this.locate(this.base ? (field ? `${this.base}.${field}` : this.base) : field);
  }
  error(code: (typeof K8sExportCode)[keyof typeof K8sExportCode], message: string, field: string): null {
    this.errors.push(diag(code, message, this.at(field)));
    return null;
  }

  policy(o: Record<string, unknown>): ReadCnp | null {
    const before = this.errors.length;
    if (o.apiVersion !== 'cilium.io/v2')
      this.error(K8sExportCode.ENUM, `apiVersion must be cilium.io/v2, got ${describe(o.apiVersion)}`, 'apiVersion');
    const meta = this.record(o.metadata, 'metadata');
    const name = meta && typeof meta.name === 'string' && meta.name ? meta.name : null;
    if (meta && !name) this.error(K8sExportCode.MISSING_KEY, 'metadata.name is missing or not a string', 'metadata.name');
    const namespace = meta?.namespace === undefined ? 'default' : meta.namespace;
    if (typeof namespace !== 'string' || !namespace)
      this.error(K8sExportCode.TYPE, 'metadata.namespace must be a string', 'metadata.namespace');
    if (o.specs !== undefined)
      this.error(K8sExportCode.UNSUPPORTED, '"specs" (several rules in one policy) is not modelled; use one policy per rule', 'specs');
    const spec = this.record(o.spec, 'spec');
    if (!spec) return null;
    for (const key of Object.keys(spec)) {
      if (SPEC_UNMODELLED.has(key))
        this.error(K8sExportCode.UNSUPPORTED, `spec.${key} is not modelled by flowtap's CiliumNetworkPolicy reader`, `spec.${key}`);
      else if (!SPEC_KEYS.has(key)) this.error(K8sExportCode.UNKNOWN_KEY, `unknown key spec.${key}`, `spec.${key}`);
    }
    const endpointSelector =
      spec.endpointSelector === undefined
        ? this.error(K8sExportCode.MISSING_KEY, 'spec.endpointSelector is required', 'spec')
        : this.selector(spec.endpointSelector, 'spec.endpointSelector');
    const ingress = this.rules(spec.ingress, 'spec.ingress', INGRESS_PEERS);
    const egress = this.rules(spec.egress, 'spec.egress', EGRESS_PEERS);
    const dd = spec.enableDefaultDeny === undefined ? {} : this.record(spec.enableDefaultDeny, 'spec.enableDefaultDeny');
    const defaultDeny = {
      ingress: this.bool(dd?.ingress, 'spec.enableDefaultDeny.ingress'),
      egress: this.bool(dd?.egress, 'spec.enableDefaultDeny.egress'),
    };
    if (this.errors.length > before || !endpointSelector || !name) return null;
    return { name, namespace: namespace as string, endpointSelector, ingress, egress, defaultDeny };
  }

  bool(v: unknown, field: string): boolean {
    if (v === undefined) return true;
    if (typeof v !== 'boolean') this.error(K8sExportCode.TYPE, `${field} must be true or false`, field);
    return v !== false;
  }

  rules(v: unknown, field: string, keys: { endpoints: string; entities: string }): ReadRule[] | null {
    if (v === undefined || v === null) return null;
    if (!Array.isArray(v)) return this.error(K8sExportCode.TYPE, `${field} must be a list of rules`, field);
    // Cilium treats an empty list as no section at all.
    if (v.length === 0) return null;
    const out: ReadRule[] = [];
    for (const [i, item] of v.entries()) {
      const f = `${field}[${i}]`;
      const rule = this.record(item, f);
      if (!rule) continue;
      for (const key of Object.keys(rule)) {
        if (RULE_UNMODELLED.includes(key))
          this.error(K8sExportCode.UNSUPPORTED, `${key} is not modelled by flowtap's CiliumNetworkPolicy reader`, `${f}.${key}`);
        else if (key !== keys.endpoints && key !== keys.entities && key !== 'toPorts')
          this.error(K8sExportCode.UNKNOWN_KEY, `unknown key ${key} in a rule`, `${f}.${key}`);
      }
      const peers: CnpPeer[] = [];
      let named = false;
      const endpoints = rule[keys.endpoints];
      if (endpoints !== undefined && endpoints !== null) {
        if (!Array.isArray(endpoints))
          this.error(K8sExportCode.TYPE, `${keys.endpoints} must be a list of selectors`, `${f}.${keys.endpoints}`);
        else {
          named ||= endpoints.length > 0;
          for (const [k, s] of endpoints.entries()) {
            const sel = this.selector(s, `${f}.${keys.endpoints}[${k}]`);
            if (sel) peers.push({ kind: 'endpoints', selector: sel });
          }
        }
      }
      const entities = rule[keys.entities];
      if (entities !== undefined && entities !== null) {
        if (!Array.isArray(entities) || entities.some((e) => typeof e !== 'string'))
          this.error(K8sExportCode.TYPE, `${keys.entities} must be a list of entity names`, `${f}.${keys.entities}`);
        else {
          named ||= entities.length > 0;
          for (const e of entities as string[]) peers.push({ kind: 'entity', entity: e });
        }
      }
      const toPorts = rule.toPorts === undefined || rule.toPorts === null ? null : this.portRules(rule.toPorts, `${f}.toPorts`);
      out.push({ peers: named ? peers : null, toPorts });
    }
    return out;
  }

  portRules(v: unknown, field: string): ReadPortRule[] | null {
    if (!Array.isArray(v)) return this.error(K8sExportCode.TYPE, 'toPorts must be a list', field);
    const out: ReadPortRule[] = [];
    for (const [i, item] of v.entries()) {
      const f = `${field}[${i}]`;
      const pr = this.record(item, f);
      if (!pr) continue;
      for (const key of Object.keys(pr)) {
        if (PORT_RULE_UNMODELLED.includes(key))
          this.error(K8sExportCode.UNSUPPORTED, `${key} is not modelled by flowtap's CiliumNetworkPolicy reader`, `${f}.${key}`);
        else if (key !== 'ports' && key !== 'rules') this.error(K8sExportCode.UNKNOWN_KEY, `unknown key ${key} in toPorts`, `${f}.${key}`);
      }
      const ports: ReadPort[] = [];
      if (pr.ports !== undefined && pr.ports !== null) {
        if (!Array.isArray(pr.ports)) this.error(K8sExportCode.TYPE, 'ports must be a list', `${f}.ports`);
        else for (const [k, p] of pr.ports.entries()) ports.push(...this.port(p, `${f}.ports[${k}]`));
      }
      out.push({ ports, http: pr.rules === undefined || pr.rules === null ? null : this.l7(pr.rules, `${f}.rules`) });
    }
    return out;
  }

  port(v: unknown, field: string): ReadPort[] {
    const p = this.record(v, field);
    if (!p) return [];
    for (const key of Object.keys(p))
      if (key !== 'port' && key !== 'endPort' && key !== 'protocol')
        this.error(K8sExportCode.UNKNOWN_KEY, `unknown key ${key} in a port`, `${field}.${key}`);
    const protocol = p.protocol === undefined ? 'ANY' : p.protocol;
    if (!PROTOCOLS.includes(protocol as never)) {
      this.error(K8sExportCode.ENUM, `protocol must be one of ${PROTOCOLS.join(', ')}, got ${describe(protocol)}`, `${field}.protocol`);
      return [];
    }
    let port: number | null = null;
    if (p.port !== undefined) {
      const text = String(p.port);
      if (typeof p.port !== 'string' && typeof p.port !== 'number')
        this.error(K8sExportCode.TYPE, 'port must be a string or number', `${field}.port`);
      else if (!/^\d+$/.test(text))
        this.error(
          K8sExportCode.UNSUPPORTED,
          `named port "${text}" is not modelled (it needs the pods' container ports); use the number`,
          `${field}.port`,
        );
      else if (Number(text) > 65535) this.error(K8sExportCode.PORT, `port ${text} is out of range 0..65535`, `${field}.port`);
      else port = Number(text) === 0 ? null : Number(text);
    }
    let endPort: number | null = null;
    if (p.endPort !== undefined) {
      if (typeof p.endPort !== 'number' || !Number.isInteger(p.endPort) || p.endPort > 65535 || port === null || p.endPort < port)
        this.error(K8sExportCode.PORT, 'endPort must be a whole number from port to 65535', `${field}.endPort`);
      else endPort = p.endPort;
    }
    return [{ port, endPort, protocol: protocol as ReadPort['protocol'] }];
  }

  l7(v: unknown, field: string): ReadHttpRule[] | null {
    const rules = this.record(v, field);
    if (!rules) return null;
    for (const key of Object.keys(rules))
      if (key !== 'http') this.error(K8sExportCode.UNSUPPORTED, `L7 rules "${key}" are not modelled; only http`, `${field}.${key}`);
    if (rules.http === undefined || rules.http === null) return null;
    if (!Array.isArray(rules.http)) return this.error(K8sExportCode.TYPE, 'http must be a list of rules', `${field}.http`);
    // An empty list constrains nothing.
    if (rules.http.length === 0) return null;
    const out: ReadHttpRule[] = [];
    for (const [i, item] of rules.http.entries()) {
      const f = `${field}.http[${i}]`;
      const h = this.record(item, f);
      if (!h) continue;
      for (const key of Object.keys(h)) {
        if (HTTP_UNMODELLED.includes(key))
          this.error(K8sExportCode.UNSUPPORTED, `HTTP ${key} rules are not modelled by flowtap's reader`, `${f}.${key}`);
        else if (key !== 'method' && key !== 'path')
          this.error(K8sExportCode.UNKNOWN_KEY, `unknown key ${key} in an HTTP rule`, `${f}.${key}`);
      }
      out.push({ method: this.regex(h.method, `${f}.method`), path: this.regex(h.path, `${f}.path`) });
    }
    return out;
  }

  regex(v: unknown, field: string): CompiledRegex | null {
    // Cilium: empty or omitted allows everything.
    if (v === undefined || v === null || v === '') return null;
    if (typeof v !== 'string') return this.error(K8sExportCode.TYPE, 'must be a regular expression (a string)', field);
    const r = compileRegex(v);
    return r.ok ? r.regex : this.error(K8sExportCode.REGEX, `regular expression ${JSON.stringify(v.slice(0, 80))}: ${r.message}`, field);
  }

  selector(v: unknown, field: string): LabelSelector | null {
    const s = this.record(v, field);
    if (!s) return null;
    for (const key of Object.keys(s))
      if (key !== 'matchLabels' && key !== 'matchExpressions')
        this.error(K8sExportCode.SELECTOR, `unknown selector key ${key}`, `${field}.${key}`);
    const matchLabels: Record<string, string> = {};
    if (s.matchLabels !== undefined && s.matchLabels !== null) {
      const ml = this.record(s.matchLabels, `${field}.matchLabels`);
      for (const [k, val] of Object.entries(ml ?? {})) {
        if (typeof val !== 'string') this.error(K8sExportCode.SELECTOR, `label ${k} must have a string value`, `${field}.matchLabels.${k}`);
        else matchLabels[k] = val;
      }
    }
    const matchExpressions: LabelSelector['matchExpressions'] = [];
    if (s.matchExpressions !== undefined && s.matchExpressions !== null) {
      if (!Array.isArray(s.matchExpressions))
        this.error(K8sExportCode.SELECTOR, 'matchExpressions must be a list', `${field}.matchExpressions`);
      else
        for (const [i, e] of s.matchExpressions.entries()) {
          const f = `${field}.matchExpressions[${i}]`;
          const ex = this.record(e, f);
          if (!ex) continue;
          const op = ex.operator as SelectorOperator;
          const values = ex.values === undefined || ex.values === null ? [] : ex.values;
          if (typeof ex.key !== 'string' || !ex.key) this.error(K8sExportCode.SELECTOR, 'a requirement needs a key', f);
          else if (!OPERATORS.includes(op))
            this.error(
              K8sExportCode.SELECTOR,
              `unknown operator ${describe(ex.operator)} (In, NotIn, Exists, DoesNotExist)`,
              `${f}.operator`,
            );
          else if (!Array.isArray(values) || values.some((x) => typeof x !== 'string'))
            this.error(K8sExportCode.SELECTOR, 'values must be a list of strings', `${f}.values`);
          else if ((op === 'In' || op === 'NotIn') !== values.length > 0)
            this.error(K8sExportCode.SELECTOR, `${op} ${op === 'In' || op === 'NotIn' ? 'needs' : 'takes no'} values`, `${f}.values`);
          else matchExpressions.push({ key: ex.key, operator: op, values: values as string[] });
        }
    }
    return { matchLabels, matchExpressions };
  }

  record(v: unknown, field: string): Record<string, unknown> | null {
    if (isRecord(v)) return v;
    return this.error(K8sExportCode.TYPE, `${field || 'the object'} must be a mapping, got ${describe(v)}`, field);
  }
}

/** One thing a policy allows, with the peers named as the export names them. */
export interface CnpAllowance {
  /** The policy's direction: ingress rules allow clients to reach the selected server, egress rules the reverse. */
  direction: 'ingress' | 'egress';
  policy: string;
  /** A service name (`app.kubernetes.io/name`), `external` for the world entity, `*` for any peer, or a selector/entity description. */
  client: string;
  server: string;
  /** null: every port. */
  port: number | null;
  endPort: number | null;
  protocol: ReadPort['protocol'];
  /** Regex sources; null allows any. */
  method: string | null;
  path: string | null;
}

export function cnpAllowances(policies: readonly ReadCnp[]): CnpAllowance[] {
  const out: CnpAllowance[] = [];
  for (const p of policies) {
    const self = selectorName(p.endpointSelector);
    for (const direction of ['ingress', 'egress'] as const) {
      for (const rule of p[direction] ?? []) {
        const peers = rule.peers === null ? (rule.toPorts ? ['*'] : []) : rule.peers.map(peerName);
        for (const peer of peers) {
          const [client, server] = direction === 'ingress' ? [peer, self] : [self, peer];
          const base = { direction, policy: `${p.namespace}/${p.name}`, client, server };
          const portRules = rule.toPorts ?? [{ ports: [], http: null }];
          for (const pr of portRules) {
            const ports = pr.ports.length ? pr.ports : [{ port: null, endPort: null, protocol: 'ANY' as const }];
            for (const port of ports)
              for (const h of pr.http ?? [{ method: null, path: null }])
                out.push({ ...base, ...port, method: h.method?.source ?? null, path: h.path?.source ?? null });
          }
        }
      }
    }
  }
  return out;
}

function peerName(peer: CnpPeer): string {
  if (peer.kind === 'entity') return peer.entity === 'world' ? 'external' : `entity:${peer.entity}`;
  return selectorName(peer.selector);
}

/** The service a selector names when it is exactly the export's form, else a readable rendering. */
function selectorName(s: LabelSelector): string {
  const keys = Object.keys(s.matchLabels).filter((k) => labelKey(k) !== CILIUM_NAMESPACE_LABEL);
  if (keys.length === 1 && labelKey(keys[0]) === K8S_NAME_LABEL && s.matchExpressions.length === 0) return s.matchLabels[keys[0]];
  const parts = [
    ...Object.entries(s.matchLabels).map(([k, v]) => `${k}=${v}`),
    ...s.matchExpressions.map((e) => `${e.key} ${e.operator}${e.values.length ? ` (${e.values.join(',')})` : ''}`),
  ];
  return `{${parts.join(', ')}}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v).slice(0, 40)}`;
}
