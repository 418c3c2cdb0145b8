import { diag, type Diagnostic, type Location } from '../../diagnostics/index.js';
import { fieldOf, type CheckContext } from './context.js';
import { didYouMean } from '../suggest.js';
import type { App, AppProtocol } from '../types.js';

/** Application protocols that only run over TCP. */
const TCP_ONLY: ReadonlySet<AppProtocol> = new Set(['http', 'postgres', 'mysql', 'nats']);

/** Nodes, services, ports, placement and monitors are consistent with each other. */
export function checkTopology(app: App, ctx: CheckContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const { locate, damaged } = ctx;

  if (app.nodes.length === 0 && !damaged.nodesSection && damaged.nodes.size === 0) {
    out.push(diag('E_NO_NODES', 'expected at least one node to run the services on', locate('nodes')));
  }
  if (app.services.length === 0 && !damaged.servicesSection && damaged.services.size === 0) {
    out.push(diag('E_NO_SERVICES', 'expected at least one service', locate('services')));
  }

  const nodeAt = new Map<string, Location | undefined>();
  app.nodes.forEach((n, i) => {
    const field = `${fieldOf(n, `nodes[${i}]`)}.name`;
    if (nodeAt.has(n.name)) {
      out.push(diag('E_DUP_NODE', `node "${n.name}" is defined twice${seeAlso(nodeAt.get(n.name))}`, locate(field)));
    } else nodeAt.set(n.name, n.loc);
  });
  const nodeNames = [...nodeAt.keys()];
  // With no usable node at all, E_NO_NODES (or the structural error) already says it all.
  const nodeKnown = (name: string): boolean => damaged.nodesSection || nodeAt.size === 0 || nodeAt.has(name) || damaged.nodes.has(name);
  const unknownNode = (name: string, field: string): Diagnostic =>
    diag(
      'E_UNKNOWN_NODE',
      `unknown node "${name}"; defined nodes: ${nodeNames.join(', ') || '(none)'}${didYouMean(name, nodeNames)}`,
      locate(field),
    );

  for (const s of app.services) {
    const field = fieldOf(s, `services.${s.name}`);
    if (!Number.isInteger(s.replicas) || s.replicas < 1) {
      out.push(diag('E_REPLICAS', `replicas must be a whole number of at least 1; got ${s.replicas}`, locate(`${field}.replicas`)));
    }

    const portNames = new Map<string, number>();
    const portNumbers = new Map<string, number>();
    s.ports.forEach((p, i) => {
      const pf = `${field}.ports[${i}]`;
      const inRange = Number.isInteger(p.port) && p.port >= 1 && p.port <= 65535;
      if (!inRange) out.push(diag('E_PORT_RANGE', `port must be a whole number from 1 to 65535; got ${p.port}`, locate(`${pf}.port`)));
      if (TCP_ONLY.has(p.app) && p.protocol !== 'tcp') {
        out.push(diag('E_PORT_APP', `${p.app} runs over tcp, but port "${p.name}" is ${p.protocol}`, locate(`${pf}.protocol`)));
      }
      const first = portNames.get(p.name);
      if (first !== undefined) {
        out.push(
          diag('E_DUP_PORT_NAME', `service "${s.name}" already has a port named "${p.name}" (ports[${first}])`, locate(`${pf}.name`)),
        );
      } else portNames.set(p.name, i);
      const key = `${p.protocol}/${p.port}`;
      const same = portNumbers.get(key);
      if (same !== undefined) {
        out.push(diag('E_DUP_PORT_NUMBER', `service "${s.name}" already listens on ${key} (ports[${same}])`, locate(`${pf}.port`)));
      } else if (inRange) portNumbers.set(key, i);
    });

    const placed = new Set<string>();
    s.placement.forEach((node, i) => {
      const pf = `${field}.placement[${i}]`;
      if (!nodeKnown(node)) out.push(unknownNode(node, pf));
      if (placed.has(node)) {
        out.push(diag('E_DUP_PLACEMENT', `node "${node}" is listed twice in the placement of "${s.name}"`, locate(pf)));
      }
      placed.add(node);
    });
  }

  const monitorAt = new Map<string, Location | undefined>();
  app.monitors.forEach((m, i) => {
    const field = fieldOf(m, `monitors[${i}]`);
    if (monitorAt.has(m.name)) {
      out.push(diag('E_DUP_MONITOR', `monitor "${m.name}" is defined twice${seeAlso(monitorAt.get(m.name))}`, locate(`${field}.name`)));
    } else monitorAt.set(m.name, m.loc);
    if (!nodeKnown(m.node)) out.push(unknownNode(m.node, `${field}.node`));
    if (!Number.isFinite(m.capacity) || m.capacity <= 0) {
      out.push(diag('E_CAPACITY', `capacity is in Mbit/s and must be a positive number; got ${m.capacity}`, locate(`${field}.capacity`)));
    }
  });
  return out;
}

export const seeAlso = (loc: Location | undefined): string => (loc?.line !== undefined ? ` (first at line ${loc.line})` : '');
