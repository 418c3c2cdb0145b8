/**
 * The service graph the dashboard draws, built from what the deployment is (model, addressing,
 * management states, tap contracts) and what the broker saw lately (connection records,
 * monitor overload notices). Pure: values in, a Graph out.
 */
import type { StoredRecord } from '../broker/index.js';
import { noticeView } from '../controller/index.js';
import type { FlowTap } from '../flowtap/index.js';
import type { Addressing, App } from '../model/index.js';
import type { Graph } from './schemas.js';

export interface GraphInput {
  app: App;
  addressing: Addressing;
  mode: 'enforce' | 'audit';
  /** Instance -> management state; an instance not listed is running. */
  status: Record<string, 'running' | 'isolated' | 'terminated'>;
  /** Monitor -> whether its process runs; unknown monitors are drawn down. */
  monitors: Record<string, 'running' | 'down'>;
  contracts: readonly FlowTap[];
  /** 'flow' records of the last window, oldest first. */
  flows: readonly StoredRecord[];
  /** FlowTap::Monitor_Overload notices of the last window. */
  overloads: readonly StoredRecord[];
  windowMs: number;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** The tapped port, when the contract matches one exact destination port. */
function tappedPort(c: FlowTap): number | null {
  const p = c.flow.tp_dst;
  return p && p.mask === 0xffff && !p.range ? p.value : null;
}

function observedEdges(input: GraphInput): Graph['observed'] {
  const byIp = new Map(Object.values(input.addressing.instances).map((a) => [a.ip, a.instance]));
  // Per connection (its provenance): the first and the last record of the window.
  const seen = new Map<
    string,
    { key: string; from: string; to: string; port: number; first: number; last: number; packets: number; records: number }
  >();
  for (const r of input.flows) {
    const d = r.data;
    const to = byIp.get(String(d.dst));
    if (!to || typeof d.dport !== 'number') continue;
    const fromInst = byIp.get(String(d.src));
    const from = fromInst ? `inst:${fromInst}` : 'external';
    const bytes = num(d.origBytes) + num(d.replyBytes);
    const packets = num(d.origPackets) + num(d.replyPackets);
    const conn = r.provenance ?? `${d.src}>${d.dst}:${d.dport}`;
    const prev = seen.get(conn);
    if (prev) {
      prev.last = bytes;
      prev.packets = packets;
      prev.records++;
    } else
      seen.set(conn, {
        key: `${from}|inst:${to}|${d.dport}`,
        from,
        to: `inst:${to}`,
        port: d.dport,
        first: bytes,
        last: bytes,
        packets,
        records: 1,
      });
  }
  const edges = new Map<string, Graph['observed'][number]>();
  const seconds = Math.max(input.windowMs / 1000, 1);
  for (const c of seen.values()) {
    const e = edges.get(c.key) ?? { id: `obs:${c.key}`, from: c.from, to: c.to, port: c.port, packets: 0, bytes: 0, rateBps: 0 };
    e.packets += c.packets;
    e.bytes += c.last;
    // A connection seen once in the window is taken as new: all its bytes count towards the rate.
    e.rateBps += (c.records === 1 ? c.last : Math.max(0, c.last - c.first)) / seconds;
    edges.set(c.key, e);
  }
  return [...edges.values()].map((e) => ({ ...e, rateBps: Math.round(e.rateBps) }));
}

function lagByMonitor(overloads: readonly StoredRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of overloads) {
    const n = noticeView(r, new Map());
    if (n?.monitor && typeof n.evidence.lagMs === 'number') out.set(n.monitor, n.evidence.lagMs / 1000);
  }
  return out;
}

export function buildGraph(input: GraphInput): Graph {
  const { app, addressing } = input;
  const lag = lagByMonitor(input.overloads);
  const portOf = (service: string, port: string) => app.services.find((s) => s.name === service)?.ports.find((p) => p.name === port);
  return {
    mode: input.mode,
    nodes: app.nodes.map((n) => ({ id: `node:${n.name}`, kind: 'node' as const, label: n.name })),
    services: app.services.map((s) => ({
      id: `svc:${s.name}`,
      kind: 'service' as const,
      label: s.name,
      ...(s.labels.tier ? { tier: s.labels.tier } : {}),
      ports: s.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
    })),
    instances: app.instances.map((i) => {
      const a = addressing.instances[i.name];
      const status = input.status[i.name] ?? 'running';
      return {
        id: `inst:${i.name}`,
        kind: 'instance' as const,
        label: i.name,
        service: `svc:${i.service}`,
        node: `node:${a?.node ?? i.node}`,
        ip: a?.ip ?? '',
        status,
        quarantined: status === 'isolated',
      };
    }),
    monitors: app.monitors.map((m) => {
      const down = (input.monitors[m.name] ?? 'down') === 'down';
      const lagS = lag.get(m.name);
      return {
        id: `mon:${m.name}`,
        kind: 'monitor' as const,
        label: m.name,
        node: `node:${addressing.monitors[m.name]?.node ?? m.node}`,
        health: down ? ('down' as const) : lagS !== undefined ? ('overloaded' as const) : ('up' as const),
        ...(lagS !== undefined ? { lagS } : {}),
      };
    }),
    required: app.requirements.flatMap((r) => {
      const p = portOf(r.to, r.port);
      if (!p) return [];
      const from = r.from === 'external' ? 'external' : `svc:${r.from}`;
      return [{ id: `req:${r.id}`, from, to: `svc:${r.to}`, port: p.port }];
    }),
    observed: observedEdges(input),
    taps: input.contracts.map((c) => ({
      id: c.id,
      instance: `inst:${c.src}`,
      port: tappedPort(c),
      action: c.action,
      monitor: `mon:${c.dst}`,
      ...(c.options.failMode ? { failMode: c.options.failMode } : {}),
      ...(c.options.sample ? { sample: { every: c.options.sample.every, unit: c.options.sample.unit } } : {}),
    })),
  };
}
