/**
 * Reads one Kubernetes object of a kind flowtap models into its typed form,
 * applying Kubernetes' defaults (namespace `default`, protocol TCP, replicas 1,
 * policyTypes). Problems go to the reader's error list with their position; what the
 * API server would refuse but can still be analysed (bad names, unknown fields) goes
 * to its notes.
 */
import { cidrContains, formatCidr, parseCidr } from '../../net/index.js';
import { readAdminPolicy } from './admin-policies.js';
import type { FieldReader } from './fields.js';
import { readIngress } from './ingresses.js';
import { KNOWN } from './known-fields.js';
import { portName, readCidr, readProtocol, readSelector } from './value-readers.js';
import {
  K8S_NAMESPACE_NAME_LABEL,
  type K8sAdminPolicy,
  type K8sContainerPort,
  type K8sIngress,
  type K8sIpBlock,
  type K8sNamespace,
  type K8sNetworkPolicy,
  type K8sPolicyPeer,
  type K8sPolicyPort,
  type K8sPolicyRule,
  type K8sServiceObject,
  type K8sServicePort,
  type K8sWorkload,
} from './types.js';
import type { RawK8sObject } from './yaml.js';

/** A workload as read, before pods and ReplicaSets are grouped under their top controller. */
export interface ReadWorkload extends K8sWorkload {
  /** The controller that owns it (ReplicaSet, Deployment, Job, ...), from ownerReferences. */
  owner?: { kind: string; name: string };
}

export interface ReadObjects {
  namespaces: K8sNamespace[];
  workloads: ReadWorkload[];
  policies: K8sNetworkPolicy[];
  services: K8sServiceObject[];
  adminPolicies: K8sAdminPolicy[];
  ingresses: K8sIngress[];
}

const WORKLOAD_WITH_TEMPLATE = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob']);
const ADMIN_KINDS = new Set(['AdminNetworkPolicy', 'BaselineAdminNetworkPolicy']);
const NAMESPACED_KINDS = new Set(['Pod', 'Service', 'NetworkPolicy', 'Ingress', ...WORKLOAD_WITH_TEMPLATE]);

export function readObject(obj: RawK8sObject, r: FieldReader, out: ReadObjects): 'read' | 'ignored' {
  const isNamespace = obj.kind === 'Namespace';
  if (!isNamespace && !NAMESPACED_KINDS.has(obj.kind) && !ADMIN_KINDS.has(obj.kind)) return 'ignored';
  const f = (path: string) => (obj.field ? `${obj.field}.${path}` : path);
  const body = obj.body;
  r.known(body, obj.field, KNOWN.object);
  const meta = r.object(body.metadata, f('metadata')) ?? {};
  r.known(meta, f('metadata'), KNOWN.metadata);
  const loc = r.where(obj.field);

  if (isNamespace) {
    const name = r.name(meta.name, f('metadata.name'), 'label', true);
    if (name === undefined) return 'read';
    const labels = r.labels(meta.labels, f('metadata.labels'));
    labels[K8S_NAMESPACE_NAME_LABEL] = name; // Kubernetes sets it and overrides any other value
    out.namespaces.push({ name, labels, declared: true, loc });
    return 'read';
  }

  const name = r.name(meta.name, f('metadata.name'), 'subdomain', true);
  const spec = r.object(body.spec, f('spec')) ?? {};
  if (ADMIN_KINDS.has(obj.kind)) {
    const policy = readAdminPolicy(obj.kind as K8sAdminPolicy['kind'], spec, f('spec'), r);
    if (name !== undefined && policy) out.adminPolicies.push({ ...policy, name, loc });
    return 'read';
  }
  const namespace = r.name(meta.namespace, f('metadata.namespace'), 'label', false) ?? 'default';
  if (name === undefined) return 'read';

  if (obj.kind === 'Pod') {
    const labels = r.labels(meta.labels, f('metadata.labels'));
    const ports = containerPorts(spec, f('spec'), r);
    const w: ReadWorkload = { id: `${namespace}/${name}`, namespace, name, kind: 'Pod', labels, ports, replicas: 1, loc };
    const owner = controllerOf(meta, f('metadata'), r);
    if (owner) w.owner = owner;
    out.workloads.push(w);
  } else if (WORKLOAD_WITH_TEMPLATE.has(obj.kind)) {
    // A CronJob's pods come from the template of the Jobs it creates.
    const templateField = obj.kind === 'CronJob' ? 'spec.jobTemplate.spec.template' : 'spec.template';
    const jobTemplate = obj.kind === 'CronJob' ? r.object(spec.jobTemplate, f('spec.jobTemplate')) : undefined;
    const jobSpec = obj.kind === 'CronJob' ? (r.object(jobTemplate?.spec, f('spec.jobTemplate.spec')) ?? {}) : spec;
    const template = r.object(jobSpec.template, f(templateField)) ?? {};
    const tmeta = r.object(template.metadata, f(`${templateField}.metadata`)) ?? {};
    const labels = r.labels(tmeta.labels, f(`${templateField}.metadata.labels`));
    const tspec = r.object(template.spec, f(`${templateField}.spec`)) ?? {};
    const ports = containerPorts(tspec, f(`${templateField}.spec`), r);
    // A DaemonSet runs one pod per node; the manifests do not say how many nodes, so one.
    const countField = obj.kind === 'Job' ? 'parallelism' : 'replicas';
    const count =
      obj.kind === 'DaemonSet' || obj.kind === 'CronJob'
        ? 1
        : (r.integer(spec[countField], f(`spec.${countField}`), 0, 100000, 'E_REPLICAS') ?? 1);
    const w: ReadWorkload = { id: `${namespace}/${name}`, namespace, name, kind: obj.kind, labels, ports, replicas: count, loc };
    const owner = controllerOf(meta, f('metadata'), r);
    if (owner) w.owner = owner;
    out.workloads.push(w);
  } else if (obj.kind === 'Service') {
    r.known(spec, f('spec'), KNOWN.serviceSpec);
    const type = r.string(spec.type, f('spec.type')) ?? 'ClusterIP';
    const selector = r.labels(spec.selector, f('spec.selector'));
    const ports = servicePorts(spec, f('spec'), r);
    out.services.push({ namespace, name, type, selector, ports, loc });
  } else if (obj.kind === 'Ingress') {
    out.ingresses.push({ namespace, name, backends: readIngress(spec, f('spec'), r), loc });
  } else {
    const policy = readPolicy(spec, f('spec'), r);
    out.policies.push({ namespace, name, ...policy, loc });
  }
  return 'read';
}

/**
 * The managing controller. A Node owns the mirror pods of static pods: those stay pods,
 * as analyzers print them.
 */
function controllerOf(meta: Record<string, unknown>, field: string, r: FieldReader): { kind: string; name: string } | undefined {
  const refs = r.list(meta.ownerReferences, `${field}.ownerReferences`) ?? [];
  for (let i = 0; i < refs.length; i++) {
    const rf = `${field}.ownerReferences[${i}]`;
    const ref = r.object(refs[i], rf);
    if (!ref) continue;
    r.known(ref, rf, KNOWN.ownerReference);
    if (ref.controller !== true) continue;
    const kind = r.string(ref.kind, `${rf}.kind`, true);
    const name = r.name(ref.name, `${rf}.name`, 'subdomain', true);
    if (kind === 'Node') return undefined;
    if (kind !== undefined && name !== undefined) return { kind, name };
  }
  return undefined;
}

function servicePorts(spec: Record<string, unknown>, field: string, r: FieldReader): K8sServicePort[] {
  const out: K8sServicePort[] = [];
  (r.list(spec.ports, `${field}.ports`) ?? []).forEach((p, i) => {
    const pf = `${field}.ports[${i}]`;
    const port = r.object(p, pf);
    if (!port) return;
    r.known(port, pf, KNOWN.servicePort);
    const number =
      port.port == null
        ? r.error('E_MISSING_KEY', '"port" is required', `${pf}.port`)
        : r.integer(port.port, `${pf}.port`, 1, 65535, 'E_K8S_PORT');
    const protocol = readProtocol(port.protocol, `${pf}.protocol`, r);
    const name = r.string(port.name, `${pf}.name`);
    let target: number | string | undefined;
    if (typeof port.targetPort === 'string') target = portName(port.targetPort, `${pf}.targetPort`, r);
    else if (port.targetPort != null) target = r.integer(port.targetPort, `${pf}.targetPort`, 1, 65535, 'E_K8S_PORT');
    if (number === undefined || protocol === undefined || (port.targetPort != null && target === undefined)) return;
    const entry: K8sServicePort = { port: number, targetPort: target ?? number, protocol };
    if (name !== undefined) entry.name = name;
    out.push(entry);
  });
  return out;
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
      r.known(port, pf, KNOWN.containerPort);
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

function readPolicy(spec: Record<string, unknown>, field: string, r: FieldReader): Omit<K8sNetworkPolicy, 'namespace' | 'name' | 'loc'> {
  r.known(spec, field, KNOWN.networkPolicySpec);
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
    r.known(rule, rf, peersKey === 'from' ? KNOWN.ingressRule : KNOWN.egressRule);
    const peers: K8sPolicyPeer[] = [];
    let skipped = 0;
    (r.list(rule[peersKey], `${rf}.${peersKey}`) ?? []).forEach((p, j) => {
      const peer = readPeer(p, `${rf}.${peersKey}[${j}]`, r);
      if (peer === 'skip') skipped++;
      else if (peer) peers.push(peer);
    });
    // Every peer was an IPv6 block or only misspelled fields: the rule allows nothing here.
    // Keeping it with no peers would read as "all peers", so it goes (the notes say why).
    if (skipped > 0 && peers.length === 0) return;
    const ports: K8sPolicyPort[] = [];
    (r.list(rule.ports, `${rf}.ports`) ?? []).forEach((p, j) => {
      const port = readPolicyPort(p, `${rf}.ports[${j}]`, r);
      if (port) ports.push(port);
    });
    out.push({ peers, ports, loc: r.where(rf) });
  });
  return out;
}

function readPeer(v: unknown, field: string, r: FieldReader): K8sPolicyPeer | 'skip' | undefined {
  const peer = r.object(v, field);
  if (!peer) {
    if (v === null || v === undefined) r.error('E_K8S_PEER', 'a peer needs podSelector, namespaceSelector or ipBlock', field);
    return undefined;
  }
  r.known(peer, field, KNOWN.policyPeer);
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
    // Only unknown keys (warned about): the peer the author meant is unknown, so it matches nothing.
    if (Object.keys(peer).length > 0) return 'skip';
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
  r.known(block, field, KNOWN.ipBlock);
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

function readPolicyPort(v: unknown, field: string, r: FieldReader): K8sPolicyPort | undefined {
  const p = v === null ? {} : r.object(v, field);
  if (!p) return undefined;
  r.known(p, field, KNOWN.policyPort);
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
  return out;
}
