/**
 * Firewall inference (the VeriKube role): least-privilege allow rules derived from the
 * communication requirements only. Every instance is isolated in both directions, so
 * anything not required is denied by the chain default.
 */
import type { App, Requirement } from '../model/index.js';
import { EXTERNAL } from '../model/index.js';
import type { FirewallRule, Peer, Ruleset } from './types.js';

export interface InferOptions {
  /** Cluster resolver every instance may query (udp and tcp 53), if the app has one. */
  dns?: { ip: string; port: number };
}

export function inferFirewall(app: App, opts: InferOptions = {}): Ruleset {
  const instancesByService = new Map<string, string[]>();
  for (const inst of app.instances) {
    let list = instancesByService.get(inst.service);
    if (!list) {
      list = [];
      instancesByService.set(inst.service, list);
    }
    list.push(inst.name);
  }
  const services = new Map(app.services.map((s) => [s.name, s]));
  const portOf = (req: Requirement) => services.get(req.to)?.ports.find((p) => p.name === req.port);

  const ingress: FirewallRule[] = [];
  const egress: FirewallRule[] = [];
  // One L4 rule per (target, peer, protocol, port): L7 detail is the monitors' job.
  const seen = new Set<string>();
  const add = (list: FirewallRule[], r: Omit<FirewallRule, 'id'>) => {
    const key = `${r.direction}|${r.target}|${peerKey(r.peer)}|${r.protocol}|${r.ports?.[0]?.from}`;
    if (seen.has(key)) return;
    seen.add(key);
    list.push({ id: '', ...r });
  };

  for (const req of app.requirements) {
    const port = portOf(req);
    if (!port) continue; // the model loader has already rejected this requirement
    const ports = [{ from: port.port, to: port.port }];
    const fromExternal = req.from === EXTERNAL;
    const comment = `${req.from} -> ${req.to}:${req.port}`;
    for (const target of instancesByService.get(req.to) ?? []) {
      add(ingress, {
        direction: 'ingress',
        target,
        peer: fromExternal ? { kind: 'external' } : { kind: 'service', service: req.from },
        protocol: port.protocol,
        ports,
        action: 'accept',
        requirement: req.id,
        comment,
      });
    }
    if (fromExternal) continue;
    for (const source of instancesByService.get(req.from) ?? []) {
      add(egress, {
        direction: 'egress',
        target: source,
        peer: { kind: 'service', service: req.to },
        protocol: port.protocol,
        ports,
        action: 'accept',
        requirement: req.id,
        comment,
      });
    }
  }

  // Group by chain so a reader (and the renderer) sees each instance's rules together.
  const byChain = (a: FirewallRule, b: FirewallRule) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0);
  const rules = [...ingress.sort(byChain), ...egress.sort(byChain)];
  for (const [i, r] of rules.entries()) r.id = `r${i + 1}`;

  const all = app.instances.map((i) => i.name);
  return {
    tenant: app.tenant,
    app: app.name,
    network: app.network,
    isolated: { ingress: [...all], egress: [...all] },
    rules,
    base: { arp: true, established: true, ...(opts.dns ? { dns: opts.dns } : {}) },
  };
}

function peerKey(p: Peer): string {
  switch (p.kind) {
    case 'service':
      return `svc:${p.service}`;
    case 'instances':
      return `inst:${p.instances.join(',')}`;
    case 'cidr':
      return `cidr:${p.cidr}-${p.except.join(',')}`;
    default:
      return p.kind;
  }
}
