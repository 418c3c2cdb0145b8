/**
 * Turns the objects read from manifests into flowtap's model: one service per
 * workload (`namespace/name`), instances placed on as many virtual nodes as the
 * local cloud's address layout needs, and deterministic pod addresses from it.
 */
import { diag, type Diagnostic } from '../../diagnostics/index.js';
import { planAddresses } from '../addressing.js';
import type { ReadObjects, ReadWorkload } from './objects.js';
import { K8S_NAMESPACE_NAME_LABEL, type K8sAdminPolicy, type K8sImport, type K8sNamespace, type K8sWorkload } from './types.js';
import { parseIpv4Cidr } from '../../net/index.js';
import { blocksIn, HOSTS_PER_NODE, MAX_NODES } from '../layout.js';
import { placeInstances } from '../placement.js';
import { DEFAULT_NETWORK } from '../schema.js';
import type { AppProtocol, App, NodeSpec, PortSpec, Service } from '../types.js';

export interface K8sImportOptions {
  tenant?: string;
  /** Application name; default `k8s`. */
  name?: string;
  /** Network pod addresses are planned in; default the descriptor default (10.77.0.0/16). */
  network?: string;
}

export type AssembleResult = { ok: true; value: Omit<K8sImport, 'notes'> } | { ok: false; errors: Diagnostic[] };

export function assembleImport(read: ReadObjects, notes: Diagnostic[], opts: K8sImportOptions): AssembleResult {
  const errors: Diagnostic[] = [];
  const workloads = groupPods(read.workloads, notes, errors);
  if (errors.length) return { ok: false, errors };
  workloads.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const namespaces = new Map<string, K8sNamespace>();
  for (const ns of read.namespaces) {
    if (namespaces.has(ns.name)) errors.push(diag('E_K8S_DUP_OBJECT', `namespace "${ns.name}" is declared twice`, ns.loc));
    else namespaces.set(ns.name, ns);
  }
  const seen = new Set<string>();
  for (const o of [
    ...read.policies.map((p) => ({ kind: 'NetworkPolicy', ...p })),
    ...read.services.map((s) => ({ kind: 'Service', ...s })),
    ...read.ingresses.map((s) => ({ kind: 'Ingress', ...s })),
    ...read.adminPolicies.map((p) => ({ ...p, namespace: '' })),
  ]) {
    const key = o.namespace ? `${o.kind} ${o.namespace}/${o.name}` : `${o.kind} ${o.name}`;
    if (seen.has(key)) errors.push(diag('E_K8S_DUP_OBJECT', `${key} is declared twice`, o.loc));
    seen.add(key);
  }
  const { adminPolicies, baselinePolicy } = adminTiers(read.adminPolicies, notes, errors);
  const implicit = (name: string) => {
    if (!namespaces.has(name)) namespaces.set(name, { name, labels: { [K8S_NAMESPACE_NAME_LABEL]: name }, declared: false });
  };
  for (const w of workloads) implicit(w.namespace);
  for (const p of read.policies) implicit(p.namespace);

  const publicIds = new Set<string>();
  for (const svc of read.services) {
    if (svc.type !== 'LoadBalancer' && svc.type !== 'NodePort') continue;
    if (Object.keys(svc.selector).length === 0) continue; // selects no pods (endpoints managed by hand)
    for (const w of workloads) {
      if (w.namespace === svc.namespace && Object.entries(svc.selector).every(([k, v]) => w.labels[k] === v)) publicIds.add(w.id);
    }
  }

  const services: Service[] = workloads.map((w) => ({
    name: w.id,
    exposure: publicIds.has(w.id) ? 'public' : 'internal',
    replicas: w.replicas,
    ports: modelPorts(w),
    placement: [],
    labels: { ...w.labels },
    ...(w.loc ? { loc: w.loc } : {}),
  }));
  const network = opts.network ?? DEFAULT_NETWORK;
  const nodes = placeOnNodes(services, network, errors);
  if (errors.length) return { ok: false, errors };

  const app: App = {
    tenant: opts.tenant ?? 'default',
    name: opts.name ?? 'k8s',
    network,
    nodes,
    services,
    monitors: [],
    requirements: [],
    instances: [],
  };
  app.instances = placeInstances(app);
  const addressing = planAddresses(app);
  if (!addressing.ok) return addressing;

  return {
    ok: true,
    value: {
      app,
      addressing: addressing.value,
      namespaces: [...namespaces.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      workloads,
      policies: read.policies,
      services: read.services,
      adminPolicies,
      ...(baselinePolicy ? { baselinePolicy } : {}),
      ingresses: read.ingresses,
    },
  };
}

/**
 * AdminNetworkPolicies in evaluation order (lower priority number first). Kubernetes leaves
 * the order of equal priorities undefined; flowtap takes them by name and says so. Only one
 * BaselineAdminNetworkPolicy can exist, and the API accepts it only under the name `default`.
 */
function adminTiers(
  read: readonly K8sAdminPolicy[],
  notes: Diagnostic[],
  errors: Diagnostic[],
): { adminPolicies: K8sAdminPolicy[]; baselinePolicy?: K8sAdminPolicy } {
  const adminPolicies = read
    .filter((p) => p.kind === 'AdminNetworkPolicy')
    .sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < adminPolicies.length; i++) {
    const [a, b] = [adminPolicies[i - 1], adminPolicies[i]];
    if (a.priority === b.priority && a.name !== b.name)
      notes.push(
        diag(
          'W_K8S_ANP_PRIORITY',
          `AdminNetworkPolicies ${a.name} and ${b.name} share priority ${b.priority}; Kubernetes leaves their order undefined, so ${a.name} (by name) is taken first`,
          b.loc,
        ),
      );
  }
  const baselines = read.filter((p) => p.kind === 'BaselineAdminNetworkPolicy');
  if (baselines.length > 1)
    for (const extra of baselines.slice(1))
      errors.push(
        diag(
          'E_K8S_DUP_OBJECT',
          `a second BaselineAdminNetworkPolicy (${extra.name}); a cluster has at most one, named default`,
          extra.loc,
        ),
      );
  const baselinePolicy = baselines[0];
  if (baselinePolicy && baselinePolicy.name !== 'default')
    notes.push(
      diag(
        'W_K8S_NAME',
        `BaselineAdminNetworkPolicy "${baselinePolicy.name}": the API server accepts only the name "default"; analysed as the baseline`,
        baselinePolicy.loc,
      ),
    );
  return baselinePolicy ? { adminPolicies, baselinePolicy } : { adminPolicies };
}

/**
 * Pods, ReplicaSets and Jobs that name a controller in ownerReferences are that controller's
 * replicas, named after the top of the chain as the API writes it (Pod -> ReplicaSet ->
 * Deployment is `ns/deployment[Deployment]`); a top controller the manifests declare stands
 * for everything below it. A ReplicaSet the manifests lack is traced to its Deployment
 * through the pod's `pod-template-hash` label, which the Deployment controller appends to
 * the ReplicaSet's name.
 */
function groupPods(read: ReadWorkload[], notes: Diagnostic[], errors: Diagnostic[]): K8sWorkload[] {
  const byId = new Map<string, K8sWorkload>();
  const strip = ({ owner: _owner, ...w }: ReadWorkload): K8sWorkload => w;
  const declared = new Map<string, ReadWorkload>();
  for (const w of read) declared.set(`${w.namespace}/${w.kind}/${w.name}`, w);
  for (const w of read) {
    if (w.owner) continue;
    const prior = byId.get(w.id);
    if (prior) {
      errors.push(
        diag('E_K8S_DUP_WORKLOAD', `${w.kind} ${w.id} has the same namespace and name as ${prior.kind} ${prior.id}${where(prior)}`, w.loc),
      );
      continue;
    }
    byId.set(w.id, strip(w));
  }

  const topOf = (w: ReadWorkload): { kind: string; name: string; declared?: ReadWorkload } => {
    let member = w;
    let ref = w.owner!;
    for (let hops = 0; hops < 10; hops++) {
      const owner = declared.get(`${w.namespace}/${ref.kind}/${ref.name}`);
      if (!owner) {
        const hash = member.labels['pod-template-hash'];
        if (ref.kind === 'ReplicaSet' && hash && ref.name.endsWith(`-${hash}`) && ref.name.length > hash.length + 1)
          return { kind: 'Deployment', name: ref.name.slice(0, -(hash.length + 1)) };
        return ref;
      }
      if (!owner.owner) return { kind: owner.kind, name: owner.name, declared: owner };
      member = owner;
      ref = owner.owner;
    }
    return ref; // an ownership cycle: no API server writes one; stop at a bounded depth
  };

  const grouped = new Map<string, { w: K8sWorkload; pods: number }>();
  for (const member of read) {
    if (!member.owner) continue;
    const top = topOf(member);
    const id = `${member.namespace}/${top.name}`;
    if (top.declared) {
      const standing = byId.get(id);
      if (member.kind === 'Pod' && standing && !sameLabels(standing.labels, member.labels))
        notes.push(diag('W_K8S_OWNED_POD', `pod ${member.id} belongs to ${standing.kind} ${id}, which stands for it`, member.loc));
      continue;
    }
    const group = grouped.get(id);
    const isPod = member.kind === 'Pod';
    if (!group) {
      grouped.set(id, { w: { ...strip(member), id, name: top.name, kind: top.kind }, pods: isPod ? 1 : 0 });
    } else if (sameLabels(group.w.labels, member.labels)) {
      // Pods are what runs; a ReplicaSet's count matters only when its pods are not listed.
      if (isPod) group.w.replicas = ++group.pods;
      else if (group.pods === 0) group.w.replicas += member.replicas;
    } else {
      // Members of one controller with different labels are policy-wise different.
      byId.set(member.id, strip(member));
    }
  }
  for (const [id, { w }] of grouped) {
    const prior = byId.get(id);
    if (prior)
      errors.push(diag('E_K8S_DUP_WORKLOAD', `${w.kind} ${id} (owner of pods) has the same name as ${prior.kind} ${prior.id}`, w.loc));
    else byId.set(id, w);
  }
  return [...byId.values()];
}

function where(w: K8sWorkload): string {
  return w.loc?.file ? ` (${w.loc.file}${w.loc.line !== undefined ? `:${w.loc.line}` : ''})` : '';
}

/** Labels controllers add per revision or per pod; they tell no two replicas apart policy-wise. */
const CONTROLLER_LABELS = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'pod-template-generation',
  'controller-uid',
  'job-name',
  'batch.kubernetes.io/controller-uid',
  'batch.kubernetes.io/job-name',
  'batch.kubernetes.io/job-completion-index',
]);

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).filter((k) => !CONTROLLER_LABELS.has(k));
  const kb = Object.keys(b).filter((k) => !CONTROLLER_LABELS.has(k));
  return ka.length === kb.length && ka.every((k) => a[k] === b[k]);
}

/** Container ports as model ports; unnamed ones are named `<protocol>-<port>`, SCTP is not modelled. */
function modelPorts(w: K8sWorkload): PortSpec[] {
  const out: PortSpec[] = [];
  const names = new Set<string>();
  const numbers = new Set<string>();
  for (const p of w.ports) {
    if (p.protocol === 'SCTP') continue;
    const protocol = p.protocol === 'TCP' ? 'tcp' : 'udp';
    const key = `${protocol}/${p.port}`;
    if (numbers.has(key)) continue;
    const name = p.name ?? `${protocol}-${p.port}`;
    if (names.has(name)) continue;
    numbers.add(key);
    names.add(name);
    out.push({ name, protocol, port: p.port, app: guessApp(name, protocol, p.port) });
  }
  return out;
}

/** Tells monitors which parser to try; a guess from the usual names and numbers. */
function guessApp(name: string, protocol: 'tcp' | 'udp', port: number): AppProtocol {
  const n = name.toLowerCase();
  if (port === 53 || n.startsWith('dns')) return 'dns';
  if (protocol === 'udp') return 'other';
  if (n.includes('postgres') || port === 5432) return 'postgres';
  if (n.includes('mysql') || port === 3306) return 'mysql';
  if (n.includes('nats') || port === 4222) return 'nats';
  if (n === 'http' || n.startsWith('http-') || n.endsWith('-http') || port === 80 || port === 8080) return 'http';
  return 'other';
}

/**
 * Each workload on one virtual node (placement), filling nodes in order; a workload with
 * more replicas than a node holds gets several. Keeps every node within the /24 the
 * local cloud's layout gives it.
 */
function placeOnNodes(services: Service[], network: string, errors: Diagnostic[]): NodeSpec[] {
  const nodes: NodeSpec[] = [];
  const room: number[] = [];
  const newNode = () => {
    nodes.push({ name: `k8s-node-${nodes.length + 1}` });
    room.push(HOSTS_PER_NODE);
    return nodes.length - 1;
  };
  for (const s of services) {
    if (s.replicas === 0) continue;
    if (s.replicas > HOSTS_PER_NODE) {
      const count = Math.ceil(s.replicas / HOSTS_PER_NODE);
      const own: string[] = [];
      for (let i = 0; i < count; i++) {
        const n = newNode();
        room[n] = HOSTS_PER_NODE - Math.ceil(s.replicas / count);
        own.push(nodes[n].name);
      }
      s.placement = own;
      continue;
    }
    let n = room.findIndex((free) => free >= s.replicas);
    if (n < 0) n = newNode();
    room[n] -= s.replicas;
    s.placement = [nodes[n].name];
  }
  if (nodes.length === 0) newNode();
  const parsed = parseIpv4Cidr(network);
  if (!parsed.ok) {
    errors.push(diag('E_CIDR', `network "${network}": ${parsed.reason}`, { field: 'network' }));
    return nodes;
  }
  // One /24 per node plus the top /24 for monitors.
  const fit = Math.min(MAX_NODES, blocksIn(parsed.cidr) - 1);
  if (nodes.length > fit) {
    errors.push(
      diag(
        'E_ADDRESS_SPACE',
        `the workloads need ${nodes.length} virtual nodes of ${HOSTS_PER_NODE} pods; network ${network} holds ${Math.max(fit, 0)}`,
        { field: 'network' },
      ),
    );
  }
  return nodes;
}
