/** Test helpers for the Kubernetes exports: a small application built in code. */
import type { App, PortSpec, Requirement, Service } from '../../model/index.js';

/** Services: `name:port/proto` strings, e.g. `api:8080/tcp,9090/tcp`; the first port of each is named `http`, then `p2`... */
export function miniApp(services: string[], requirements: Array<Omit<Requirement, 'id'>>, tenant = 'acme', name = 'shop'): App {
  const svcs: Service[] = services.map((spec) => {
    const [svc, ports] = spec.split(':');
    return {
      name: svc,
      exposure: 'public',
      replicas: 1,
      placement: [],
      labels: {},
      ports: (ports ? ports.split(',') : []).map((p, i): PortSpec => {
        const [port, protocol] = p.split('/');
        return {
          name: i === 0 ? 'http' : `p${i + 1}`,
          port: Number(port),
          protocol: protocol as 'tcp' | 'udp',
          app: i === 0 ? 'http' : 'other',
        };
      }),
    };
  });
  return {
    tenant,
    name,
    network: '10.77.0.0/16',
    nodes: [{ name: 'n1' }],
    services: svcs,
    monitors: [],
    requirements: requirements.map((r, id) => ({ ...r, id })),
    instances: svcs.map((s) => ({ name: `${s.name}-0`, service: s.name, ordinal: 0, node: 'n1' })),
  };
}
