import type { App, Instance, Service } from './types.js';

/** Nodes a service's instances go on, in round-robin order. */
function candidateNodes(app: Pick<App, 'nodes'>, service: Service): string[] {
  return service.placement.length > 0 ? service.placement : app.nodes.map((n) => n.name);
}

/**
 * Instances `<service>-<ordinal>`, ordinal 0..replicas-1, placed round robin on
 * the service's candidate nodes. Ordered by service then ordinal, so the same
 * descriptor always yields the same list.
 */
export function placeInstances(app: Pick<App, 'nodes' | 'services'>): Instance[] {
  const out: Instance[] = [];
  for (const s of app.services) {
    const nodes = candidateNodes(app, s);
    if (nodes.length === 0) continue;
    for (let ordinal = 0; ordinal < s.replicas; ordinal++) {
      out.push({ name: `${s.name}-${ordinal}`, service: s.name, ordinal, node: nodes[ordinal % nodes.length] });
    }
  }
  return out;
}

/**
 * Instances per node, computed without creating them, so a descriptor asking
 * for a billion replicas is rejected before anything is allocated. Services
 * with invalid replica counts are skipped (they are reported elsewhere).
 */
export function instanceCounts(app: Pick<App, 'nodes' | 'services'>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of app.services) {
    if (!Number.isInteger(s.replicas) || s.replicas < 1) continue;
    const nodes = candidateNodes(app, s);
    const n = nodes.length;
    nodes.forEach((node, j) => {
      const here = Math.floor(s.replicas / n) + (j < s.replicas % n ? 1 : 0);
      counts.set(node, (counts.get(node) ?? 0) + here);
    });
  }
  return counts;
}
