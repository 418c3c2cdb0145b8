/**
 * What a deployment tells the context broker about itself: its topology — services, nodes,
 * instances with their addresses and ports, monitors, and the tap contracts with where they
 * are placed — and its lifecycle events. Pure: values in, records out; the command that
 * deploys appends them.
 */
import type { BrokerRecord } from '../broker/index.js';
import { printFlow, type FlowTap } from '../flowtap/index.js';
import type { Addressing, App } from '../model/index.js';

export interface TopologyInput {
  app: App;
  addressing: Addressing;
  contracts: readonly FlowTap[];
}

/**
 * One snapshot of the topology: a record per service, node, instance, monitor and tap, all with
 * the same provenance (`topology:<ts>`), so a reader takes a whole snapshot at once.
 */
export function topologyRecords(input: TopologyInput, ts: number): BrokerRecord[] {
  const { app, addressing } = input;
  const base = { ts, kind: 'topology' as const, tenant: app.tenant, app: app.name, provenance: `topology:${ts}` };
  const out: BrokerRecord[] = [];
  for (const s of app.services)
    out.push({
      ...base,
      service: s.name,
      data: {
        type: 'service',
        name: s.name,
        exposure: s.exposure,
        ports: s.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port, app: p.app })),
        instances: app.instances.filter((i) => i.service === s.name).map((i) => i.name),
      },
    });
  for (const n of app.nodes) {
    const a = addressing.nodes[n.name];
    out.push({
      ...base,
      node: n.name,
      data: { type: 'node', name: n.name, ...(a ? { ip: a.ip, subnet: a.subnet, gateway: a.gateway } : {}) },
    });
  }
  for (const i of app.instances) {
    const a = addressing.instances[i.name];
    const node = a?.node ?? i.node;
    out.push({
      ...base,
      node,
      service: i.service,
      instance: i.name,
      data: { type: 'instance', name: i.name, service: i.service, node, ...(a ? { ip: a.ip, port: a.port, mac: a.mac } : {}) },
    });
  }
  for (const m of app.monitors) {
    const a = addressing.monitors[m.name];
    const node = a?.node ?? m.node;
    out.push({
      ...base,
      node,
      data: { type: 'monitor', name: m.name, node, capacity: m.capacity, inspects: m.inspects, ...(a ? { port: a.port } : {}) },
    });
  }
  for (const c of input.contracts) {
    const src = addressing.instances[c.src];
    const dst = addressing.monitors[c.dst];
    const inst = app.instances.find((i) => i.name === c.src);
    out.push({
      ...base,
      ...(src ? { node: src.node } : {}),
      ...(inst ? { service: inst.service, instance: inst.name } : {}),
      data: {
        type: 'tap',
        id: c.id,
        src: c.src,
        dst: c.dst,
        flow: printFlow(c.flow),
        action: c.action,
        direction: c.direction,
        // Placement: where the tapped port is and where its monitor is; they differ when copies cross nodes.
        srcNode: src?.node ?? null,
        dstNode: dst?.node ?? null,
        ...(c.origin?.policyFile ? { policy: c.origin.policyFile, rule: c.origin.rule ?? null } : {}),
      },
    });
  }
  return out;
}

export interface LifecycleInput {
  type: string;
  instance?: string;
  service?: string;
  node?: string;
  /** ISO time of the event. */
  ts: string;
  detail?: string;
}

/** An orchestrator event (or the deployment's own: up, down) as a record. */
export function lifecycleRecord(tenant: string, app: string, e: LifecycleInput, extra: Record<string, unknown> = {}): BrokerRecord {
  const ts = Date.parse(e.ts);
  return {
    ts: Number.isFinite(ts) ? ts : Date.now(),
    kind: 'lifecycle',
    tenant,
    app,
    ...(e.node ? { node: e.node } : {}),
    ...(e.service ? { service: e.service } : {}),
    ...(e.instance ? { instance: e.instance } : {}),
    data: { type: e.type, ...(e.detail ? { detail: e.detail } : {}), ...extra },
  };
}
