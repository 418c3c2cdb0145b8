/**
 * Pods as the adapter sees them (phase, address, node, the workload they belong to), read
 * defensively: their spec and status come off the network unchecked.
 */
import { selectorMatches } from '../firewall/index.js';
import type { K8sLabelSelector, K8sSelectorRequirement } from '../model/index.js';
import { QUARANTINE_LABEL } from './annotations.js';
import { isRecord, type KubeObject } from './watch/index.js';

export interface PodView {
  name: string;
  namespace: string;
  phase: string;
  ip?: string;
  node?: string;
  hostIP?: string;
  labels: Record<string, string>;
  /** Being deleted (its deletion timestamp is set). */
  terminating: boolean;
  /** Its Ready condition holds. */
  ready: boolean;
  quarantined: boolean;
  /** Containers whose state is `running`. */
  runningContainers: number;
  ports: { name?: string; port: number; protocol: string }[];
}

export function podView(p: KubeObject): PodView {
  const spec = p.spec ?? {};
  const status = p.status ?? {};
  const labels = p.metadata.labels ?? {};
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  const states = Array.isArray(status.containerStatuses) ? status.containerStatuses : [];
  const ports: PodView['ports'] = [];
  for (const c of Array.isArray(spec.containers) ? spec.containers : []) {
    if (!isRecord(c) || !Array.isArray(c.ports)) continue;
    for (const port of c.ports) {
      if (!isRecord(port) || typeof port.containerPort !== 'number') continue;
      const entry: PodView['ports'][number] = {
        port: port.containerPort,
        protocol: typeof port.protocol === 'string' ? port.protocol : 'TCP',
      };
      if (typeof port.name === 'string') entry.name = port.name;
      ports.push(entry);
    }
  }
  let running = 0;
  for (const st of states) if (isRecord(st) && isRecord(st.state) && isRecord(st.state.running)) running++;
  // Built field by field: object spreads here cost more than all the rest of a watch event.
  const v: PodView = {
    name: p.metadata.name,
    namespace: p.metadata.namespace ?? 'default',
    // The API server sets Pending on creation; a pod without a phase has not been looked at yet.
    phase: str(status.phase) ?? 'Pending',
    labels,
    terminating: p.metadata.deletionTimestamp !== undefined && p.metadata.deletionTimestamp !== null,
    ready: conditions.some((c) => isRecord(c) && c.type === 'Ready' && c.status === 'True'),
    quarantined: labels[QUARANTINE_LABEL] === 'true',
    runningContainers: running,
    ports,
  };
  const ip = str(status.podIP);
  if (ip) v.ip = ip;
  const node = str(spec.nodeName);
  if (node) v.node = node;
  const hostIP = str(status.hostIP);
  if (hostIP) v.hostIP = hostIP;
  return v;
}

/** Running with an address: what `deployed` means for a pod. */
export function isUp(v: PodView): boolean {
  return v.phase === 'Running' && v.ip !== undefined && !v.terminating;
}

export interface WorkloadRef {
  /** Deployment, StatefulSet, DaemonSet; ReplicaSet, Job, ... when no known workload stands above; Pod for a bare pod. */
  kind: string;
  name: string;
}

export interface ObjectLookup {
  get(kind: string, key: string): KubeObject | undefined;
  objects(kind: string): Iterable<KubeObject>;
}

/** Kinds whose pod template the adapter restarts and whose name names a flowtap service. */
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;

/**
 * The workload a pod belongs to, as high up as the cache knows: a Deployment's pods are
 * owned by a ReplicaSet named `<deployment>-<pod-template-hash>`, which the adapter does not
 * follow, so the name (or else the Deployment's selector) leads up to the Deployment.
 */
export function workloadOf(pod: KubeObject, look: ObjectLookup): WorkloadRef {
  const ns = pod.metadata.namespace ?? 'default';
  const owner = (pod.metadata.ownerReferences ?? []).find((o) => o.controller === true);
  if (!owner) return { kind: 'Pod', name: pod.metadata.name };
  if (owner.kind !== 'ReplicaSet') return { kind: owner.kind, name: owner.name };
  const hash = pod.metadata.labels?.['pod-template-hash'];
  if (hash && owner.name.endsWith(`-${hash}`)) {
    const name = owner.name.slice(0, -hash.length - 1);
    if (look.get('Deployment', `${ns}/${name}`)) return { kind: 'Deployment', name };
  }
  const labels = pod.metadata.labels ?? {};
  for (const d of look.objects('Deployment')) {
    if ((d.metadata.namespace ?? 'default') !== ns) continue;
    const sel = selectorOf(d);
    if (sel && (Object.keys(sel.matchLabels).length || sel.matchExpressions.length) && selectorMatches(sel, labels))
      return { kind: 'Deployment', name: d.metadata.name };
  }
  return { kind: 'ReplicaSet', name: owner.name };
}

/** A workload's `spec.selector`, when it is one. */
export function selectorOf(o: KubeObject): K8sLabelSelector | undefined {
  const sel = o.spec?.selector;
  if (!isRecord(sel)) return undefined;
  const matchLabels: Record<string, string> = {};
  if (isRecord(sel.matchLabels)) for (const [k, v] of Object.entries(sel.matchLabels)) if (typeof v === 'string') matchLabels[k] = v;
  const matchExpressions: K8sSelectorRequirement[] = [];
  for (const e of Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []) {
    if (!isRecord(e) || typeof e.key !== 'string') continue;
    if (e.operator !== 'In' && e.operator !== 'NotIn' && e.operator !== 'Exists' && e.operator !== 'DoesNotExist') continue;
    matchExpressions.push({
      key: e.key,
      operator: e.operator,
      values: Array.isArray(e.values) ? e.values.filter((v): v is string => typeof v === 'string') : [],
    });
  }
  return { matchLabels, matchExpressions };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
