/**
 * What Ingress objects route to: for each pod class, the connections the ingress
 * controller makes to it, namely the target ports of the Service ports that Ingress
 * backends name (a numeric targetPort, or a container port name resolved per pod; the
 * Service port's own number when targetPort is absent), on the Service port's protocol.
 */
import { diag, type Diagnostic, type Location } from '../../diagnostics/index.js';
import type { K8sImport, K8sIngressBackend, K8sServiceObject } from '../../model/index.js';
import { NO_CONNS, connOf, connUnion, type ConnSet } from '../conn-set.js';
import { portSetOf } from '../port-set.js';
import type { PodClass } from './endpoints.js';
import type { SelectorIndex } from './selector-index.js';

const PROTOCOL = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' } as const;

export interface IngressTarget {
  conn: ConnSet;
  /** `namespace/name` of the Ingresses that route here. */
  ingresses: string[];
  /** The first backend that routes here. */
  loc?: Location;
}

/** Class index -> connections some Ingress routes to it; warnings for backends that reach no pod. */
export function ingressTargets(
  imp: K8sImport,
  classes: readonly PodClass[],
  index: SelectorIndex,
  notes: Diagnostic[],
): Map<number, IngressTarget> {
  const services = new Map<string, K8sServiceObject>();
  for (const s of imp.services) services.set(`${s.namespace}/${s.name}`, s);
  const out = new Map<number, IngressTarget>();
  for (const ing of imp.ingresses ?? []) {
    const name = `${ing.namespace}/${ing.name}`;
    for (const backend of ing.backends) {
      const warn = (why: string) =>
        notes.push(
          diag('W_K8S_INGRESS_BACKEND', `Ingress ${name}: backend ${backendText(backend)} ${why}; no connection from it`, backend.loc),
        );
      const svc = services.get(`${ing.namespace}/${backend.service}`);
      if (!svc) {
        warn(`names Service ${ing.namespace}/${backend.service}, which the manifests do not have`);
        continue;
      }
      const port = (svc.ports ?? []).find((p) => (typeof backend.port === 'number' ? p.port === backend.port : p.name === backend.port));
      if (!port) {
        warn(`names a port that Service ${ing.namespace}/${svc.name} does not have`);
        continue;
      }
      if (Object.keys(svc.selector).length === 0) {
        warn(`goes to Service ${ing.namespace}/${svc.name}, which has no selector (its endpoints are managed by hand)`);
        continue;
      }
      const selected = index.pods(ing.namespace, { matchLabels: svc.selector, matchExpressions: [] });
      let reached = 0;
      selected.forEach((c) => {
        const cls = classes[c];
        const target = typeof port.targetPort === 'number' ? port.targetPort : cls.named.get(port.targetPort)?.port;
        if (target === undefined) return;
        reached++;
        const conn = connOf(PROTOCOL[port.protocol], portSetOf([{ from: target, to: target }]));
        const prior = out.get(c);
        if (prior) {
          prior.conn = connUnion(prior.conn, conn);
          if (!prior.ingresses.includes(name)) prior.ingresses.push(name);
        } else out.set(c, { conn: connUnion(NO_CONNS, conn), ingresses: [name], ...(backend.loc ? { loc: backend.loc } : {}) });
      });
      if (reached === 0)
        warn(`goes to Service ${ing.namespace}/${svc.name}, which selects no workload with target port ${port.targetPort}`);
    }
  }
  return out;
}

function backendText(b: K8sIngressBackend): string {
  return `${b.service}:${b.port}`;
}
