/**
 * Reads AdminNetworkPolicy and BaselineAdminNetworkPolicy objects
 * (policy.networking.k8s.io/v1alpha1): cluster-scoped, a subject, and ordered rules whose
 * action is Allow, Deny or Pass (Pass only in AdminNetworkPolicies). The shapes the API's
 * schema refuses (two subject forms, a peer with none, a port with two) are errors: their
 * meaning cannot be guessed.
 */
import { formatCidr, parseCidr } from '../../net/index.js';
import type { FieldReader } from './fields.js';
import { KNOWN } from './known-fields.js';
import type {
  K8sAdminAction,
  K8sAdminPeer,
  K8sAdminPolicy,
  K8sAdminPort,
  K8sAdminRule,
  K8sAdminSubject,
  K8sNamespacedPods,
} from './types.js';
import { portName, readCidr, readProtocol, readSelector } from './value-readers.js';

/** The API's bounds: priorities 0..1000, at most 100 rules per direction. */
const MAX_PRIORITY = 1000;
const MAX_RULES = 100;
const EMPTY_SELECTOR = { matchLabels: {}, matchExpressions: [] };

export function readAdminPolicy(
  kind: K8sAdminPolicy['kind'],
  spec: Record<string, unknown>,
  field: string,
  r: FieldReader,
): Omit<K8sAdminPolicy, 'name' | 'loc'> | undefined {
  const admin = kind === 'AdminNetworkPolicy';
  r.known(spec, field, admin ? KNOWN.adminPolicySpec : KNOWN.baselinePolicySpec);
  let priority: number | undefined;
  if (admin) {
    priority =
      spec.priority == null
        ? r.error('E_MISSING_KEY', '"priority" is required', `${field}.priority`)
        : r.integer(spec.priority, `${field}.priority`, 0, MAX_PRIORITY, 'E_K8S_ADMIN_POLICY');
  }
  const subject = readSubject(spec.subject, `${field}.subject`, r);
  const actions: readonly K8sAdminAction[] = admin ? ['Allow', 'Deny', 'Pass'] : ['Allow', 'Deny'];
  const ingress = readRules(spec.ingress, `${field}.ingress`, 'from', actions, r);
  const egress = readRules(spec.egress, `${field}.egress`, 'to', actions, r);
  if (!subject || (admin && priority === undefined)) return undefined;
  return { kind, ...(priority !== undefined ? { priority } : {}), subject, ingress, egress };
}

function readSubject(v: unknown, field: string, r: FieldReader): K8sAdminSubject | undefined {
  if (v == null) return r.error('E_MISSING_KEY', '"subject" is required', field);
  const subject = r.object(v, field);
  if (!subject) return undefined;
  r.known(subject, field, KNOWN.adminSubject);
  if ((subject.namespaces == null) === (subject.pods == null))
    return r.error('E_K8S_ADMIN_POLICY', 'a subject has exactly one of "namespaces" and "pods"', field);
  if (subject.namespaces != null) {
    const namespaces = readSelector(subject.namespaces, `${field}.namespaces`, r);
    return namespaces ? { namespaces } : undefined;
  }
  const pods = readNamespacedPods(subject.pods, `${field}.pods`, r);
  return pods ? { pods } : undefined;
}

function readNamespacedPods(v: unknown, field: string, r: FieldReader): K8sNamespacedPods | undefined {
  const pods = r.object(v, field);
  if (!pods) return undefined;
  r.known(pods, field, KNOWN.namespacedPods);
  // Both are required by the API; an absent one is read as the empty selector (everything).
  const namespaceSelector = readSelector(pods.namespaceSelector, `${field}.namespaceSelector`, r) ?? EMPTY_SELECTOR;
  const podSelector = readSelector(pods.podSelector, `${field}.podSelector`, r) ?? EMPTY_SELECTOR;
  return { namespaceSelector, podSelector };
}

function readRules(v: unknown, field: string, peersKey: 'from' | 'to', actions: readonly K8sAdminAction[], r: FieldReader): K8sAdminRule[] {
  const list = r.list(v, field) ?? [];
  if (list.length > MAX_RULES) r.error('E_K8S_ADMIN_POLICY', `${list.length} rules; the API allows at most ${MAX_RULES}`, field);
  const out: K8sAdminRule[] = [];
  list.forEach((item, i) => {
    const rf = `${field}[${i}]`;
    const rule = r.object(item, rf);
    if (!rule) return;
    r.known(rule, rf, peersKey === 'from' ? KNOWN.adminIngressRule : KNOWN.adminEgressRule);
    const name = r.string(rule.name, `${rf}.name`) ?? `#${i}`;
    const actionText = r.string(rule.action, `${rf}.action`, true);
    let action: K8sAdminAction | undefined;
    if (actionText !== undefined) {
      if ((actions as readonly string[]).includes(actionText)) action = actionText as K8sAdminAction;
      else r.error('E_ENUM', `action "${actionText}" is not one of ${actions.join(', ')}`, `${rf}.action`);
    }
    const rawPeers = r.list(rule[peersKey], `${rf}.${peersKey}`);
    if (!rawPeers || rawPeers.length === 0) {
      if (rule[peersKey] == null || Array.isArray(rule[peersKey]))
        r.error('E_K8S_ADMIN_POLICY', `"${peersKey}" needs at least one peer`, `${rf}.${peersKey}`);
      return;
    }
    const peers: K8sAdminPeer[] = [];
    rawPeers.forEach((p, j) => {
      const peer = readPeer(p, `${rf}.${peersKey}[${j}]`, peersKey === 'to', r);
      if (peer) peers.push(peer);
    });
    const ports = readPorts(rule.ports, `${rf}.ports`, r);
    if (action === undefined || ports === undefined) return;
    out.push({ name, action, peers, ports, loc: r.where(rf) });
  });
  return out;
}

function readPeer(v: unknown, field: string, egress: boolean, r: FieldReader): K8sAdminPeer | undefined {
  const peer = r.object(v, field);
  if (!peer) return undefined;
  r.known(peer, field, egress ? KNOWN.adminEgressPeer : KNOWN.adminIngressPeer);
  const forms = (egress ? ['namespaces', 'pods', 'nodes', 'networks'] : ['namespaces', 'pods']).filter((k) => peer[k] != null);
  if (forms.length !== 1) {
    const names = egress ? '"namespaces", "pods", "nodes" and "networks"' : '"namespaces" and "pods"';
    return r.error('E_K8S_ADMIN_POLICY', `a peer has exactly one of ${names}`, field);
  }
  if (peer.namespaces != null) {
    const namespaces = readSelector(peer.namespaces, `${field}.namespaces`, r);
    return namespaces ? { namespaces } : undefined;
  }
  if (peer.pods != null) {
    const pods = readNamespacedPods(peer.pods, `${field}.pods`, r);
    return pods ? { pods } : undefined;
  }
  if (peer.nodes != null) {
    r.note(
      'W_K8S_NODES_PEER',
      'node peers are not modelled (manifests do not say where pods run); this peer matches nothing',
      `${field}.nodes`,
    );
    return undefined;
  }
  const networks: string[] = [];
  (r.list(peer.networks, `${field}.networks`) ?? []).forEach((n, i) => {
    const nf = `${field}.networks[${i}]`;
    const text = r.string(n, nf, true);
    if (text === undefined) return;
    const parsed = parseCidr(text, { hostBits: 'clear' });
    if (parsed.ok && parsed.cidr.version === 6) {
      r.note('W_K8S_IPV6', `IPv6 block ${text} is not modelled; it matches nothing here`, nf);
      return;
    }
    const cidr = readCidr(text, nf, r);
    if (cidr) networks.push(formatCidr(cidr));
  });
  return networks.length ? { networks } : undefined;
}

/** undefined when a port is malformed (reported); null when the field is absent (every port). */
function readPorts(v: unknown, field: string, r: FieldReader): K8sAdminPort[] | null | undefined {
  if (v == null) return null;
  const list = r.list(v, field);
  if (!list) return undefined;
  const out: K8sAdminPort[] = [];
  let bad = false;
  list.forEach((item, i) => {
    const pf = `${field}[${i}]`;
    const port = r.object(item, pf);
    if (!port) {
      bad = true;
      return;
    }
    r.known(port, pf, KNOWN.adminPort);
    const forms = ['portNumber', 'namedPort', 'portRange'].filter((k) => port[k] != null);
    if (forms.length !== 1) {
      r.error('E_K8S_ADMIN_POLICY', 'a port has exactly one of "portNumber", "namedPort" and "portRange"', pf);
      bad = true;
      return;
    }
    const read = readPort(port, pf, r);
    if (read) out.push(read);
    else bad = true;
  });
  return bad ? undefined : out;
}

function readPort(port: Record<string, unknown>, field: string, r: FieldReader): K8sAdminPort | undefined {
  if (port.namedPort != null) {
    const name = portName(port.namedPort, `${field}.namedPort`, r);
    return name === undefined ? undefined : { name };
  }
  if (port.portNumber != null) {
    const nf = `${field}.portNumber`;
    const number = r.object(port.portNumber, nf);
    if (!number) return undefined;
    r.known(number, nf, KNOWN.adminPortNumber);
    const protocol = readProtocol(number.protocol, `${nf}.protocol`, r);
    const value =
      number.port == null
        ? r.error('E_MISSING_KEY', '"port" is required', `${nf}.port`)
        : r.integer(number.port, `${nf}.port`, 1, 65535, 'E_K8S_PORT');
    return protocol === undefined || value === undefined ? undefined : { protocol, port: value };
  }
  const rf = `${field}.portRange`;
  const range = r.object(port.portRange, rf);
  if (!range) return undefined;
  r.known(range, rf, KNOWN.adminPortRange);
  const protocol = readProtocol(range.protocol, `${rf}.protocol`, r);
  const bound = (key: 'start' | 'end') =>
    range[key] == null
      ? r.error('E_MISSING_KEY', `"${key}" is required`, `${rf}.${key}`)
      : r.integer(range[key], `${rf}.${key}`, 1, 65535, 'E_K8S_PORT');
  const start = bound('start');
  const end = bound('end');
  if (protocol === undefined || start === undefined || end === undefined) return undefined;
  if (end < start) return r.error('E_K8S_PORT', `end ${end} is below start ${start}`, `${rf}.end`);
  return { protocol, port: start, endPort: end };
}
