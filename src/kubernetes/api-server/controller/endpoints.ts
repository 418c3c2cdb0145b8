/**
 * The endpoints controllers: for every Service with a selector, an Endpoints object of the
 * same name and one EndpointSlice (`<service>-<5 chars>`, labelled kubernetes.io/service-name,
 * owned by the Service) listing the pods that match and have an address. Ports are resolved
 * against the first such pod (a named targetPort is looked up in its containers), so pods that
 * name their ports differently are not modelled; the real controllers split slices by port set.
 */
import { at, isMap, type JsonMap, jsonEqual, type KubeObject, stringMap } from '../object.js';
import { labelsMatch, mapSelectorQuery } from '../selectors.js';
import { type Access, ownerRef, podReady } from './owners.js';

const SERVICE_NAME = 'kubernetes.io/service-name';
const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
const MANAGER = 'endpointslice-controller.k8s.io';

function targetPort(port: JsonMap, pod: KubeObject | undefined): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (typeof target !== 'string' || !pod) return undefined;
  const containers = at(pod, 'spec.containers');
  for (const c of Array.isArray(containers) ? containers : [])
    for (const p of isMap(c) && Array.isArray(c.ports) ? c.ports : [])
      if (isMap(p) && p.name === target && typeof p.containerPort === 'number') return p.containerPort;
  return undefined;
}

export class Endpoints {
  constructor(private readonly a: Access) {}

  /** Every Service of a namespace: a pod there changed. */
  namespace(ns: string): void {
    for (const svc of this.a.all('Service', ns)) this.service(svc);
  }

  service(svc: KubeObject): void {
    const query = mapSelectorQuery(at(svc, 'spec.selector'));
    if (!query) return;
    const ns = svc.metadata.namespace!;
    const pods = this.a
      .all('Pod', ns)
      .filter((p) => !p.metadata.deletionTimestamp && typeof at(p, 'status.podIP') === 'string' && labelsMatch(query, p.metadata.labels))
      .sort((x, y) => (x.metadata.name! < y.metadata.name! ? -1 : 1));
    const specPorts = (Array.isArray(at(svc, 'spec.ports')) ? (at(svc, 'spec.ports') as unknown[]) : []).filter(isMap);
    const ports = specPorts
      .map((p) => ({ name: p.name, port: targetPort(p, pods[0]), protocol: p.protocol ?? 'TCP' }))
      .filter((p) => p.port !== undefined)
      .map((p) => (p.name === undefined ? { port: p.port, protocol: p.protocol } : p));
    const targetRef = (p: KubeObject) => ({ kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid });
    const address = (p: KubeObject) => ({ ip: at(p, 'status.podIP'), nodeName: at(p, 'spec.nodeName'), targetRef: targetRef(p) });
    const ready = pods.filter(podReady);
    const notReady = pods.filter((p) => !podReady(p));
    const subset: JsonMap = { ports };
    if (ready.length) subset.addresses = ready.map(address);
    if (notReady.length) subset.notReadyAddresses = notReady.map(address);
    const subsets = pods.length && ports.length ? [subset] : undefined;
    this.endpointsObject(svc, subsets);
    this.slice(
      svc,
      pods.map((p) => ({
        addresses: [at(p, 'status.podIP')],
        conditions: { ready: podReady(p), serving: podReady(p), terminating: false },
        nodeName: at(p, 'spec.nodeName'),
        targetRef: targetRef(p),
      })),
      ports,
    );
  }

  serviceDeleted(svc: KubeObject): void {
    const ep = this.a.get('Endpoints', svc.metadata.namespace, svc.metadata.name!);
    if (ep) this.a.delete('Endpoints', ep);
  }

  private endpointsObject(svc: KubeObject, subsets: JsonMap[] | undefined): void {
    const name = svc.metadata.name!;
    const ns = svc.metadata.namespace;
    const labels = stringMap(svc.metadata.labels);
    const existing = this.a.get('Endpoints', ns, name);
    if (!existing) {
      const created: KubeObject = { metadata: { name, labels } };
      if (subsets) created.subsets = subsets;
      this.a.create('Endpoints', ns, created);
      return;
    }
    // Comparing first spares copying a large object only to find nothing changed.
    if (jsonEqual(existing.subsets, subsets) && jsonEqual(existing.metadata.labels ?? {}, labels)) return;
    this.a.update('Endpoints', existing, (e) => {
      e.metadata.labels = labels;
      if (subsets) e.subsets = subsets;
      else delete e.subsets;
    });
  }

  private slice(svc: KubeObject, endpoints: JsonMap[], ports: JsonMap[]): void {
    const ns = svc.metadata.namespace;
    const labels = { ...stringMap(svc.metadata.labels), [SERVICE_NAME]: svc.metadata.name!, [MANAGED_BY]: MANAGER };
    const existing = this.a
      .all('EndpointSlice', ns)
      .find((s) => s.metadata.labels?.[SERVICE_NAME] === svc.metadata.name && s.metadata.labels?.[MANAGED_BY] === MANAGER);
    if (!existing) {
      this.a.create('EndpointSlice', ns, {
        metadata: { generateName: `${svc.metadata.name}-`, labels, ownerReferences: [ownerRef(svc)] },
        addressType: 'IPv4',
        endpoints,
        ports,
      });
      return;
    }
    if (jsonEqual(existing.endpoints, endpoints) && jsonEqual(existing.ports, ports) && jsonEqual(existing.metadata.labels, labels)) return;
    this.a.update('EndpointSlice', existing, (s) => {
      s.metadata.labels = labels;
      s.endpoints = endpoints;
      s.ports = ports;
    });
  }
}
