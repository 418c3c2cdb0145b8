/**
 * Reads one Kubernetes object of a kind flowtap models into its typed form,
 * applying Kubernetes' defaults (namespace `default`, protocol TCP, replicas 1,
 * policyTypes). Problems go to the reader's error list with their position.
 */
import { cidrContains, formatCidr, parseCidr, parseIpv4Cidr, type Ipv4Cidr } from '../../net/index.js';
import { childField } from '../field-path.js';
import { type FieldReader, isLabelKey } from './fields.js';
import {
  K8S_NAMESPACE_NAME_LABEL,
  type K8sContainerPort,
  type K8sIpBlock,
  type K8sLabelSelector,
  type K8sNamespace,
  type K8sNetworkPolicy,
  type K8sPolicyPeer,
  type K8sPolicyPort,
  type K8sPolicyRule,
  type K8sProtocol,
  type K8sSelectorRequirement,
  type K8sServiceObject,
  type K8sWorkload,
} from './types.js';
import type { RawK8sObject } from './yaml.js';

/** A workload as read, before bare pods are grouped under their controller. */
export interface ReadWorkload extends K8sWorkload {
  /** For a pod: the controller that owns it (ReplicaSet, DaemonSet, ...), from ownerReferences. */
  owner?: { kind: string; name: string };
}

export interface ReadObjects {
  namespaces: K8sNamespace[];
  workloads: ReadWorkload[];
  policies: K8sNetworkPolicy[];
  services: K8sServiceObject[];
}

/** IANA service name, the form of a named container port. */
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const WORKLOAD_WITH_TEMPLATE = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

export function readObject(obj: RawK8sObject, r: FieldReader, out: ReadObjects): 'read' | 'ignored' {
  const f = (path: string) => (obj.field ? `${obj.field}.${path}` : path);
  const body = obj.body;
  const meta = r.object(body.metadata, f('metadata')) ?? {};
  const loc = r.locate(obj.field);

  if (obj.kind === 'Namespace') {
    const name = r.name(meta.name, f('metadata.name'), 'label', true);
    if (name === undefined) return 'read';
    const labels = r.labels(meta.labels, f('metadata.labels'));
    labels[K8S_NAMESPACE_NAME_LABEL] = name; // Kubernetes sets it and overrides any other value
    out.namespaces.push({ name, labels, declared: true, loc });
    return 'read';
  }

  const isWorkload = obj.kind === 'Pod' || WORKLOAD_WITH_TEMPLATE.has(obj.kind);
  if (!isWorkload && obj.kind !== 'Service' && obj.kind !== 'NetworkPolicy') return 'ignored';

  const name = r.name(meta.name, f('metadata.name'), 'subdomain', true);
  const namespace = r.name(meta.namespace, f('metadata.namespace'), 'label', false) ?? 'default';
  const spec = r.object(body.spec, f('spec')) ?? {};
  if (name === undefined) return 'read';

  if (obj.kind === 'Pod') {
    const labels = r.labels(meta.labels, f('metadata.labels'));
    const ports = containerPorts(spec, f('spec'), r);
    const w: ReadWorkload = { id: `${namespace}/${name}`, namespace, name, kind: 'Pod', labels, ports, replicas: 1, loc };
    const owner = controllerOf(meta, f('metadata'), r);
    if (owner) w.owner = owner;
    out.workloads.push(w);
  } else if (isWorkload) {
    const template = r.object(spec.template, f('spec.template')) ?? {};
    const tmeta = r.object(template.metadata, f('spec.template.metadata')) ?? {};
    const labels = r.labels(tmeta.labels, f('spec.template.metadata.labels'));
    const tspec = r.object(template.spec, f('spec.template.spec')) ?? {};
    const ports = containerPorts(tspec, f('spec.template.spec'), r);
    // A DaemonSet runs one pod per node; the manifests do not say how many nodes, so one.
    const countField = obj.kind === 'Job' ? 'parallelism' : 'replicas';
    const count = obj.kind === 'DaemonSet' ? 1 : (r.integer(spec[countField], f(`spec.${countField}`), 0, 100000, 'E_REPLICAS') ?? 1);
    out.workloads.push({ id: `${namespace}/${name}`, namespace, name, kind: obj.kind, labels, ports, replicas: count, loc });
  } else if (obj.kind === 'Service') {
    const type = r.string(spec.type, f('spec.type')) ?? 'ClusterIP';
    const selector = r.labels(spec.selector, f('spec.selector'));
    out.services.push({ namespace, name, type, selector, loc });
  } else {
    const policy = readPolicy(spec, f('spec'), r);
    out.policies.push({ namespace, name, ...policy, loc });
  }
  return 'read';
}

function controllerOf(meta: Record<string, unknown>, field: string, r: FieldReader): { kind: string; name: string } | undefined {
  const refs = r.list(meta.ownerReferences, `${field}.ownerReferences`) ?? [];
  for (let i = 0; i < refs.length; i++) {
    const ref = r.object(refs[i], `${field}.ownerReferences[${i}]`);
    if (ref?.controller !== true) continue;
    const kind = r.string(ref.kind, `${field}.ownerReferences[${i}].kind`, true);
    const name = r.name(ref.name, `${field}.ownerReferences[${i}].name`, 'subdomain', true);
    if (kind !== undefined && name !== undefined) return { kind, name };
  }
  return undefined;
}

function containerPorts(spec: Record<string, unknown>, field: string, r: FieldReader): K8sContainerPort[] {
  const out: K8sContainerPort[] = [];
  const seen = new Set<string>();
  const containers = r.list(spec.containers, `${field}.containers`) ?? [];
  containers.forEach((c, ci) => {
    const cf = `${field}.containers[${ci}]`;
    const container = r.object(c, cf);
    if (!container) return;
    const ports = r.list(container.ports, `${cf}.ports`) ?? [];
    ports.forEach((p, pi) => {
      const pf = `${cf}.ports[${pi}]`;
      const port = r.object(p, pf);
      if (!port) return;
      const number =
        port.containerPort == null
          ? r.error('E_MISSING_KEY', '"containerPort" is required', `${pf}.containerPort`)
          : r.integer(port.containerPort, `${pf}.containerPort`, 1, 65535, 'E_K8S_PORT');
      const protocol = readProtocol(port.protocol, `${pf}.protocol`, r);
      const name = portName(port.name, `${pf}.name`, r);
      if (number === undefined || protocol === undefined) return;
      const entry: K8sContainerPort = { port: number, protocol };
      if (name !== undefined) {
        if (seen.has(name))
          r.note('W_K8S_DUP_PORT_NAME', `port name "${name}" is already used in this pod; named ports resolve to the first`, `${pf}.name`);
        else entry.name = name;
        seen.add(name);
      }
      out.push(entry);
    });
  });
  return out;
}

function portName(v: unknown, field: string, r: FieldReader): string | undefined {
  const s = r.string(v, field);
  if (s === undefined) return undefined;
  if (s.length > 15 || !PORT_NAME.test(s)) {
    return r.error('E_K8S_PORT', `"${s}" is not a port name (at most 15 of a-z, 0-9, "-", with a letter)`, field);
  }
  return s;
}

function readProtocol(v: unknown, field: string, r: FieldReader): K8sProtocol | undefined {
  const s = r.string(v, field);
  if (s === undefined) return v === undefined || v === null ? 'TCP' : undefined;
  if (s === 'TCP' || s === 'UDP' || s === 'SCTP') return s;
  return r.error('E_ENUM', `protocol "${s}" is not one of TCP, UDP, SCTP`, field);
}

function readPolicy(spec: Record<string, unknown>, field: string, r: FieldReader): Omit<K8sNetworkPolicy, 'namespace' | 'name' | 'loc'> {
  // A missing podSelector is the empty selector (every pod of the namespace), as the API server reads it.
  const podSelector = readSelector(spec.podSelector, `${field}.podSelector`, r) ?? { matchLabels: {}, matchExpressions: [] };
  const ingress = readRules(spec.ingress, `${field}.ingress`, 'from', r);
  const egress = readRules(spec.egress, `${field}.egress`, 'to', r);
  const declaresEgress = Array.isArray(spec.egress) && spec.egress.length > 0;
  let policyTypes: Array<'Ingress' | 'Egress'>;
  const types = r.list(spec.policyTypes, `${field}.policyTypes`);
  if (types) {
    policyTypes = [];
    types.forEach((t, i) => {
      if (t === 'Ingress' || t === 'Egress') {
        if (!policyTypes.includes(t)) policyTypes.push(t);
      } else r.error('E_ENUM', `policy type ${JSON.stringify(t)} is not Ingress or Egress`, `${field}.policyTypes[${i}]`);
    });
  } else {
    policyTypes = declaresEgress ? ['Ingress', 'Egress'] : ['Ingress'];
  }
  return { podSelector, policyTypes, ingress, egress };
}

function readRules(v: unknown, field: string, peersKey: 'from' | 'to', r: FieldReader): K8sPolicyRule[] {
  const list = r.list(v, field) ?? [];
  const out: K8sPolicyRule[] = [];
  list.forEach((item, i) => {
    const rf = `${field}[${i}]`;
    // `- {}` (or `- `) is a rule with no restriction at all.
    const rule = item === null ? {} : r.object(item, rf);
    if (!rule) return;
    const peers: K8sPolicyPeer[] = [];
    let skipped = 0;
    (r.list(rule[peersKey], `${rf}.${peersKey}`) ?? []).forEach((p, j) => {
      const peer = readPeer(p, `${rf}.${peersKey}[${j}]`, r);
      if (peer === 'skip') skipped++;
      else if (peer) peers.push(peer);
    });
    // Every peer was an IPv6 block: the rule allows nothing here. Keeping it with no peers
    // would read as "all peers", so it goes (the notes say why).
    if (skipped > 0 && peers.length === 0) return;
    const ports: K8sPolicyPort[] = [];
    (r.list(rule.ports, `${rf}.ports`) ?? []).forEach((p, j) => {
      const port = readPolicyPort(p, `${rf}.ports[${j}]`, r);
      if (port) ports.push(port);
    });
    out.push({ peers, ports, loc: r.locate(rf) });
  });
  return out;
}

function readPeer(v: unknown, field: string, r: FieldReader): K8sPolicyPeer | 'skip' | undefined {
  const peer = r.object(v, field);
  if (!peer) {
    if (v === null || v === undefined) r.error('E_K8S_PEER', 'a peer needs podSelector, namespaceSelector or ipBlock', field);
    return undefined;
  }
  const hasIp = peer.ipBlock !== undefined && peer.ipBlock !== null;
  const podSelector = readSelector(peer.podSelector, `${field}.podSelector`, r);
  const namespaceSelector = readSelector(peer.namespaceSelector, `${field}.namespaceSelector`, r);
  if (hasIp) {
    if (peer.podSelector != null || peer.namespaceSelector != null) {
      return r.error('E_K8S_PEER', 'ipBlock cannot be combined with podSelector or namespaceSelector in one peer', field);
    }
    const block = readIpBlock(peer.ipBlock, `${field}.ipBlock`, r);
    return block === 'ipv6' ? 'skip' : block ? { ipBlock: block } : undefined;
  }
  if (peer.podSelector == null && peer.namespaceSelector == null) {
    return r.error('E_K8S_PEER', 'a peer needs podSelector, namespaceSelector or ipBlock', field);
  }
  const out: K8sPolicyPeer = {};
  if (podSelector) out.podSelector = podSelector;
  if (namespaceSelector) out.namespaceSelector = namespaceSelector;
  return podSelector || namespaceSelector ? out : undefined;
}

function readIpBlock(v: unknown, field: string, r: FieldReader): K8sIpBlock | 'ipv6' | undefined {
  const block = r.object(v, field);
  if (!block) return undefined;
  const cidrText = r.string(block.cidr, `${field}.cidr`, true);
  if (cidrText === undefined) return undefined;
  const parsed = parseCidr(cidrText, { hostBits: 'clear' });
  if (parsed.ok && parsed.cidr.version === 6) {
    r.note('W_K8S_IPV6', `IPv6 block ${cidrText} is not modelled; this peer matches nothing here`, `${field}.cidr`);
    return 'ipv6';
  }
  const cidr = readCidr(cidrText, `${field}.cidr`, r);
  const except: string[] = [];
  (r.list(block.except, `${field}.except`) ?? []).forEach((e, i) => {
    const ef = `${field}.except[${i}]`;
    const text = r.string(e, ef, true);
    if (text === undefined) return;
    const ex = readCidr(text, ef, r);
    if (!ex || !cidr) return;
    if (ex.prefix <= cidr.prefix || !cidrContains({ version: 4, ...cidr }, { version: 4, ...ex })) {
      r.error('E_K8S_EXCEPT', `except ${text} must lie strictly inside cidr ${cidrText}`, ef);
      return;
    }
    except.push(formatCidr(ex));
  });
  if (!cidr) return undefined;
  return { cidr: formatCidr(cidr), except };
}

/** Like Kubernetes, accepts host bits (`10.0.0.1/8` is `10.0.0.0/8`). */
function readCidr(text: string, field: string, r: FieldReader): Ipv4Cidr | undefined {
  const parsed = parseIpv4Cidr(text, { hostBits: 'clear' });
  if (!parsed.ok) return r.error('E_CIDR', `"${text}" is not an IPv4 CIDR block (a.b.c.d/n): ${parsed.reason}`, field);
  return parsed.cidr;
}

function readPolicyPort(v: unknown, field: string, r: FieldReader): K8sPolicyPort | undefined {
  const p = v === null ? {} : r.object(v, field);
  if (!p) return undefined;
  const protocol = readProtocol(p.protocol, `${field}.protocol`, r);
  let port: number | string | undefined;
  if (typeof p.port === 'string') port = portName(p.port, `${field}.port`, r);
  else if (p.port !== undefined && p.port !== null) port = r.integer(p.port, `${field}.port`, 1, 65535, 'E_K8S_PORT');
  const endPort = r.integer(p.endPort, `${field}.endPort`, 1, 65535, 'E_K8S_PORT');
  if (protocol === undefined || (p.port != null && port === undefined)) return undefined;
  const out: K8sPolicyPort = { protocol };
  if (port !== undefined) out.port = port;
  if (endPort !== undefined) {
    if (typeof port !== 'number') return r.error('E_K8S_PORT', 'endPort needs a numeric port to start the range', `${field}.endPort`);
    if (endPort < port) return r.error('E_K8S_PORT', `endPort ${endPort} is below port ${port}`, `${field}.endPort`);
    out.endPort = endPort;
  }
  if (protocol === 'SCTP') r.note('W_K8S_SCTP', 'SCTP is not modelled; this port allows nothing here', field);
  return out;
}

function readSelector(v: unknown, field: string, r: FieldReader): K8sLabelSelector | undefined {
  if (v === undefined || v === null) return undefined;
  const sel = r.object(v, field);
  if (!sel) return undefined;
  const matchLabels = r.labels(sel.matchLabels, `${field}.matchLabels`);
  const matchExpressions: K8sSelectorRequirement[] = [];
  (r.list(sel.matchExpressions, `${field}.matchExpressions`) ?? []).forEach((e, i) => {
    const ef = `${field}.matchExpressions[${i}]`;
    const expr = r.object(e, ef);
    if (!expr) return;
    const key = r.string(expr.key, `${ef}.key`, true);
    const operator = r.string(expr.operator, `${ef}.operator`, true);
    const valuesRaw = r.list(expr.values, `${ef}.values`) ?? [];
    const values: string[] = [];
    valuesRaw.forEach((val, j) => {
      if (typeof val === 'string') values.push(val);
      else r.error('E_TYPE', `selector values are strings; got ${JSON.stringify(val)} (quote it)`, childField(`${ef}.values`, j));
    });
    if (key === undefined || operator === undefined) return;
    if (!isLabelKey(key)) {
      r.error('E_K8S_NAME', `"${key}" is not a valid label key`, `${ef}.key`);
      return;
    }
    if (operator === 'In' || operator === 'NotIn') {
      if (values.length === 0) {
        r.error('E_K8S_SELECTOR', `operator ${operator} needs at least one value`, `${ef}.values`);
        return;
      }
    } else if (operator === 'Exists' || operator === 'DoesNotExist') {
      if (valuesRaw.length > 0) {
        r.error('E_K8S_SELECTOR', `operator ${operator} takes no values`, `${ef}.values`);
        return;
      }
    } else {
      r.error('E_K8S_SELECTOR', `operator "${operator}" is not one of In, NotIn, Exists, DoesNotExist`, `${ef}.operator`);
      return;
    }
    matchExpressions.push({ key, operator, values });
  });
  return { matchLabels, matchExpressions };
}
