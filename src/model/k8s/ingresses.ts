/**
 * Reads networking.k8s.io/v1 Ingress objects down to what decides connectivity: the
 * Services (and their ports, by number or name) that the default backend and every
 * rule path route to. Hosts, paths and TLS only choose among those backends.
 */
import type { FieldReader } from './fields.js';
import { KNOWN } from './known-fields.js';
import type { K8sIngressBackend } from './types.js';

export function readIngress(spec: Record<string, unknown>, field: string, r: FieldReader): K8sIngressBackend[] {
  r.known(spec, field, KNOWN.ingressSpec);
  const out: K8sIngressBackend[] = [];
  const add = (b: K8sIngressBackend | undefined) => {
    if (b) out.push(b);
  };
  if (spec.defaultBackend != null) add(readBackend(spec.defaultBackend, `${field}.defaultBackend`, r));
  (r.list(spec.rules, `${field}.rules`) ?? []).forEach((item, i) => {
    const rf = `${field}.rules[${i}]`;
    const rule = r.object(item, rf);
    if (!rule) return;
    r.known(rule, rf, KNOWN.ingressHostRule);
    const http = r.object(rule.http, `${rf}.http`);
    if (!http) return;
    r.known(http, `${rf}.http`, KNOWN.ingressHttp);
    (r.list(http.paths, `${rf}.http.paths`) ?? []).forEach((p, j) => {
      const pf = `${rf}.http.paths[${j}]`;
      const path = r.object(p, pf);
      if (!path) return;
      r.known(path, pf, KNOWN.ingressPath);
      if (path.backend == null) r.error('E_MISSING_KEY', '"backend" is required', `${pf}.backend`);
      else add(readBackend(path.backend, `${pf}.backend`, r));
    });
  });
  return out;
}

function readBackend(v: unknown, field: string, r: FieldReader): K8sIngressBackend | undefined {
  const backend = r.object(v, field);
  if (!backend) return undefined;
  r.known(backend, field, KNOWN.ingressBackend);
  if (backend.service == null) {
    if (backend.resource != null)
      r.note('W_K8S_INGRESS_BACKEND', 'a resource backend reaches no workload; no connection is inferred from it', `${field}.resource`);
    else r.error('E_MISSING_KEY', 'a backend needs "service" (or "resource")', field);
    return undefined;
  }
  const sf = `${field}.service`;
  const service = r.object(backend.service, sf);
  if (!service) return undefined;
  r.known(service, sf, KNOWN.ingressServiceBackend);
  const name = r.string(service.name, `${sf}.name`, true);
  const port = r.object(service.port, `${sf}.port`);
  if (service.port == null) r.error('E_MISSING_KEY', '"port" is required', `${sf}.port`);
  if (!port || name === undefined) return undefined;
  r.known(port, `${sf}.port`, KNOWN.ingressServicePort);
  if ((port.number == null) === (port.name == null)) {
    r.error('E_K8S_PORT', 'a backend port has exactly one of "number" and "name"', `${sf}.port`);
    return undefined;
  }
  const value =
    port.number != null ? r.integer(port.number, `${sf}.port.number`, 1, 65535, 'E_K8S_PORT') : r.string(port.name, `${sf}.port.name`);
  return value === undefined ? undefined : { service: name, port: value, loc: r.where(field) };
}
