/** Synthetic applications for benchmarks: deterministic for a seed. */
import { seededRng } from '../src/random/index.js';
import type { App, Requirement, Service } from '../src/model/index.js';

export function generateApp(services: number, requirements: number, nodes = 100, seed = 1): App {
  const rnd = seededRng(seed);
  const svcs: Service[] = [];
  for (let i = 0; i < services; i++) {
    svcs.push({
      name: `s${i}`,
      exposure: i % 50 === 0 ? 'public' : 'internal',
      replicas: 1,
      ports: [
        { name: 'http', protocol: 'tcp', port: 8080, app: 'http' },
        { name: 'metrics', protocol: 'tcp', port: 9100 + (i % 7), app: 'other' },
      ],
      placement: [],
      labels: {},
    });
  }
  const reqs: Requirement[] = [];
  const seen = new Set<string>();
  while (reqs.length < requirements) {
    const to = Math.floor(rnd() * services);
    const external = svcs[to].exposure === 'public' && rnd() < 0.3;
    const from = external ? -1 : Math.floor(rnd() * services);
    if (from === to) continue;
    const port = rnd() < 0.8 ? 'http' : 'metrics';
    const key = `${from}|${to}|${port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    reqs.push({ id: reqs.length, from: from < 0 ? 'external' : `s${from}`, to: `s${to}`, port });
  }
  const nodeList = Array.from({ length: nodes }, (_, i) => ({ name: `n${i}` }));
  return {
    tenant: 'bench',
    name: 'generated',
    network: '10.0.0.0/8',
    nodes: nodeList,
    services: svcs,
    monitors: [],
    requirements: reqs,
    instances: svcs.map((s, i) => ({ name: `${s.name}-0`, service: s.name, ordinal: 0, node: nodeList[i % nodes].name })),
  };
}
