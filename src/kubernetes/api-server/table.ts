/**
 * Server-side printing: `kubectl get` asks for a meta.k8s.io Table and prints its columns as
 * they come. The columns here are those of the real server for the kinds flowtap uses (pods'
 * READY, STATUS, RESTARTS, AGE, and IP and NODE under -o wide ...); any other kind gets the
 * real server's default, NAME and CREATED AT.
 */
import { at, isMap, type KubeObject, mapAt, stringMap } from './object.js';
import type { ResourceType } from './resources.js';

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format: string;
  description: string;
  priority: number;
}

const col = (name: string, type: Column['type'] = 'string', priority = 0, format = ''): Column => ({
  name,
  type,
  format,
  description: name,
  priority,
});
const NAME = col('Name', 'string', 0, 'name');
const AGE = col('Age');

/** A duration as kubectl shows ages: `45s`, `3m20s`, `2h5m`, `6d`, coarser as it grows. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  const withRest = (big: number, unit: string, rest: number, restUnit: string) =>
    rest ? `${big}${unit}${rest}${restUnit}` : `${big}${unit}`;
  if (m < 10) return withRest(m, 'm', s % 60, 's');
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return withRest(h, 'h', m % 60, 'm');
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return withRest(d, 'd', h % 24, 'h');
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return withRest(y, 'y', d % 365, 'd');
  return `${y}y`;
}

function age(obj: KubeObject, now: Date): string {
  const t = Date.parse(obj.metadata.creationTimestamp ?? '');
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now.getTime() - t);
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown, none = '<none>'): string => (typeof v === 'string' && v !== '' ? v : none);
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** A LabelSelector as kubectl prints it: `app=web,tier in (a,b)`. */
export function selectorText(selector: unknown): string {
  if (!isMap(selector)) return '<none>';
  const parts = Object.entries(stringMap(selector.matchLabels))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`);
  for (const e of list(selector.matchExpressions)) {
    if (!isMap(e)) continue;
    const values = list(e.values).join(',');
    const op = String(e.operator);
    parts.push(op === 'Exists' ? String(e.key) : op === 'DoesNotExist' ? `!${e.key}` : `${e.key} ${op.toLowerCase()} (${values})`);
  }
  return parts.length ? parts.join(',') : '<none>';
}

function mapText(m: unknown): string {
  const entries = Object.entries(stringMap(m)).sort(([a], [b]) => (a < b ? -1 : 1));
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
}

function containers(obj: KubeObject, path: string): [string, string] {
  const cs = list(at(obj, path)).filter(isMap);
  return [cs.map((c) => String(c.name)).join(',') || '<none>', cs.map((c) => String(c.image)).join(',') || '<none>'];
}

function podStatus(pod: KubeObject): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  for (const cs of list(at(pod, 'status.containerStatuses')).filter(isMap)) {
    const waiting = at(cs, 'state.waiting.reason');
    if (typeof waiting === 'string') return waiting;
  }
  return str(at(pod, 'status.reason'), str(at(pod, 'status.phase'), 'Pending'));
}

function servicePorts(svc: KubeObject): string {
  const ports = list(at(svc, 'spec.ports'))
    .filter(isMap)
    .map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`));
  return ports.length ? ports.join(',') : '<none>';
}

function externalIp(svc: KubeObject): string {
  const type = at(svc, 'spec.type');
  const ingress = list(at(svc, 'status.loadBalancer.ingress'))
    .filter(isMap)
    .map((i) => str(i.ip, str(i.hostname, '')))
    .filter(Boolean);
  const external = list(at(svc, 'spec.externalIPs')).map(String);
  if (type === 'ExternalName') return str(at(svc, 'spec.externalName'));
  if (type === 'LoadBalancer') return [...ingress, ...external].join(',') || '<pending>';
  return external.join(',') || '<none>';
}

function nodeReady(node: KubeObject): string {
  const ready = list(at(node, 'status.conditions')).find((c) => isMap(c) && c.type === 'Ready');
  const status = isMap(ready) ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown';
  return at(node, 'spec.unschedulable') === true ? `${status},SchedulingDisabled` : status;
}

function nodeRoles(node: KubeObject): string {
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length));
  return roles.length ? roles.sort().join(',') : '<none>';
}

function nodeAddress(node: KubeObject, type: string): string {
  const a = list(at(node, 'status.addresses')).find((x) => isMap(x) && x.type === type);
  return isMap(a) ? str(a.address) : '<none>';
}

interface Printer {
  columns: Column[];
  cells(obj: KubeObject, now: Date): unknown[];
}

const PRINTERS: Readonly<Record<string, Printer>> = {
  Pod: {
    columns: [
      NAME,
      col('Ready'),
      col('Status'),
      col('Restarts', 'integer'),
      AGE,
      col('IP', 'string', 1),
      col('Node', 'string', 1),
      col('Nominated Node', 'string', 1),
      col('Readiness Gates', 'string', 1),
    ],
    cells: (o, now) => {
      const statuses = list(at(o, 'status.containerStatuses')).filter(isMap);
      const total = list(at(o, 'spec.containers')).length;
      const ready = statuses.filter((c) => c.ready === true).length;
      const restarts = statuses.reduce((n, c) => n + num(c.restartCount), 0);
      return [
        o.metadata.name,
        `${ready}/${total}`,
        podStatus(o),
        restarts,
        age(o, now),
        str(at(o, 'status.podIP')),
        str(at(o, 'spec.nodeName')),
        str(at(o, 'status.nominatedNodeName')),
        '<none>',
      ];
    },
  },
  Deployment: {
    columns: [
      NAME,
      col('Ready'),
      col('Up-to-date', 'integer'),
      col('Available', 'integer'),
      AGE,
      col('Containers', 'string', 1),
      col('Images', 'string', 1),
      col('Selector', 'string', 1),
    ],
    cells: (o, now) => [
      o.metadata.name,
      `${num(at(o, 'status.readyReplicas'))}/${num(at(o, 'spec.replicas'))}`,
      num(at(o, 'status.updatedReplicas')),
      num(at(o, 'status.availableReplicas')),
      age(o, now),
      ...containers(o, 'spec.template.spec.containers'),
      selectorText(at(o, 'spec.selector')),
    ],
  },
  ReplicaSet: {
    columns: [
      NAME,
      col('Desired', 'integer'),
      col('Current', 'integer'),
      col('Ready', 'integer'),
      AGE,
      col('Containers', 'string', 1),
      col('Images', 'string', 1),
      col('Selector', 'string', 1),
    ],
    cells: (o, now) => [
      o.metadata.name,
      num(at(o, 'spec.replicas')),
      num(at(o, 'status.replicas')),
      num(at(o, 'status.readyReplicas')),
      age(o, now),
      ...containers(o, 'spec.template.spec.containers'),
      selectorText(at(o, 'spec.selector')),
    ],
  },
  StatefulSet: {
    columns: [NAME, col('Ready'), AGE, col('Containers', 'string', 1), col('Images', 'string', 1)],
    cells: (o, now) => [
      o.metadata.name,
      `${num(at(o, 'status.readyReplicas'))}/${num(at(o, 'spec.replicas'))}`,
      age(o, now),
      ...containers(o, 'spec.template.spec.containers'),
    ],
  },
  DaemonSet: {
    columns: [
      NAME,
      col('Desired', 'integer'),
      col('Current', 'integer'),
      col('Ready', 'integer'),
      col('Up-to-date', 'integer'),
      col('Available', 'integer'),
      col('Node Selector'),
      AGE,
      col('Containers', 'string', 1),
      col('Images', 'string', 1),
      col('Selector', 'string', 1),
    ],
    cells: (o, now) => [
      o.metadata.name,
      num(at(o, 'status.desiredNumberScheduled')),
      num(at(o, 'status.currentNumberScheduled')),
      num(at(o, 'status.numberReady')),
      num(at(o, 'status.updatedNumberScheduled')),
      num(at(o, 'status.numberAvailable')),
      mapText(at(o, 'spec.template.spec.nodeSelector')),
      age(o, now),
      ...containers(o, 'spec.template.spec.containers'),
      selectorText(at(o, 'spec.selector')),
    ],
  },
  Service: {
    columns: [NAME, col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), AGE, col('Selector', 'string', 1)],
    cells: (o, now) => [
      o.metadata.name,
      str(at(o, 'spec.type'), 'ClusterIP'),
      str(at(o, 'spec.clusterIP')),
      externalIp(o),
      servicePorts(o),
      age(o, now),
      mapText(at(o, 'spec.selector')),
    ],
  },
  Namespace: {
    columns: [NAME, col('Status'), AGE],
    cells: (o, now) => [o.metadata.name, str(at(o, 'status.phase'), 'Active'), age(o, now)],
  },
  Node: {
    columns: [
      NAME,
      col('Status'),
      col('Roles'),
      AGE,
      col('Version'),
      col('Internal-IP', 'string', 1),
      col('External-IP', 'string', 1),
      col('OS-Image', 'string', 1),
      col('Kernel-Version', 'string', 1),
      col('Container-Runtime', 'string', 1),
    ],
    cells: (o, now) => [
      o.metadata.name,
      nodeReady(o),
      nodeRoles(o),
      age(o, now),
      str(at(o, 'status.nodeInfo.kubeletVersion'), ''),
      nodeAddress(o, 'InternalIP'),
      nodeAddress(o, 'ExternalIP'),
      str(at(o, 'status.nodeInfo.osImage'), '<unknown>'),
      str(at(o, 'status.nodeInfo.kernelVersion'), '<unknown>'),
      str(at(o, 'status.nodeInfo.containerRuntimeVersion'), '<unknown>'),
    ],
  },
  NetworkPolicy: {
    columns: [NAME, col('Pod-Selector'), AGE],
    cells: (o, now) => [o.metadata.name, selectorText(at(o, 'spec.podSelector')), age(o, now)],
  },
  ConfigMap: {
    columns: [NAME, col('Data', 'integer'), AGE],
    cells: (o, now) => [o.metadata.name, Object.keys(mapAt(o, 'data')).length + Object.keys(mapAt(o, 'binaryData')).length, age(o, now)],
  },
  Endpoints: {
    columns: [NAME, col('Endpoints'), AGE],
    cells: (o, now) => {
      const eps = list(o.subsets)
        .filter(isMap)
        .flatMap((s) => list(s.addresses).flatMap((a) => list(s.ports).map((p) => `${isMap(a) ? a.ip : ''}:${isMap(p) ? p.port : ''}`)));
      const shown = eps.slice(0, 3).join(',');
      return [o.metadata.name, eps.length > 3 ? `${shown} + ${eps.length - 3} more...` : shown || '<none>', age(o, now)];
    },
  },
  EndpointSlice: {
    columns: [NAME, col('AddressType'), col('Ports'), col('Endpoints'), AGE],
    cells: (o, now) => {
      const ports = list(o.ports)
        .filter(isMap)
        .map((p) => String(p.port ?? ''));
      const addrs = list(o.endpoints)
        .filter(isMap)
        .flatMap((e) => list(e.addresses).map(String));
      const shown = addrs.slice(0, 3).join(',');
      return [
        o.metadata.name,
        str(o.addressType),
        ports.join(',') || '<unset>',
        addrs.length > 3 ? `${shown} + ${addrs.length - 3} more...` : shown || '<unset>',
        age(o, now),
      ];
    },
  },
  Ingress: {
    columns: [NAME, col('Class'), col('Hosts'), col('Address'), col('Ports'), AGE],
    cells: (o, now) => {
      const hosts = list(at(o, 'spec.rules'))
        .filter(isMap)
        .map((r) => str(r.host, '*'));
      const address = list(at(o, 'status.loadBalancer.ingress'))
        .filter(isMap)
        .map((i) => str(i.ip, str(i.hostname, '')))
        .join(',');
      const ports = list(at(o, 'spec.tls')).length ? '80, 443' : '80';
      return [o.metadata.name, str(at(o, 'spec.ingressClassName')), hosts.join(',') || '*', address, ports, age(o, now)];
    },
  },
  AdminNetworkPolicy: {
    columns: [NAME, col('Priority', 'string'), AGE],
    cells: (o, now) => [o.metadata.name, String(at(o, 'spec.priority') ?? ''), age(o, now)],
  },
  BaselineAdminNetworkPolicy: {
    columns: [NAME, AGE],
    cells: (o, now) => [o.metadata.name, age(o, now)],
  },
};

const DEFAULT: Printer = {
  columns: [NAME, col('Created At', 'date')],
  cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
};

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableOptions {
  /** meta.k8s.io version the client asked for. */
  version: 'v1' | 'v1beta1';
  includeObject: IncludeObject;
  now: Date;
  /** Leave out the column definitions (every watch event after the first). */
  noHeaders?: boolean;
}

function rowObject(o: KubeObject, include: IncludeObject, version: string): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: o.metadata };
}

/** A Table of `objects` (each with kind and apiVersion set) and the list metadata given. */
export function toTable(r: ResourceType, objects: readonly KubeObject[], listMeta: Record<string, unknown>, opts: TableOptions): object {
  const printer = PRINTERS[r.kind] ?? DEFAULT;
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${opts.version}`,
    metadata: listMeta,
    columnDefinitions: opts.noHeaders ? null : printer.columns,
    rows: objects.map((o) => {
      const row: Record<string, unknown> = { cells: printer.cells(o, opts.now) };
      const object = rowObject(o, opts.includeObject, opts.version);
      if (object !== undefined) row.object = object;
      return row;
    }),
  };
}
