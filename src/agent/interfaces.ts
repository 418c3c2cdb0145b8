/**
 * Level 1: interface statistics of the node's namespace. In the node's namespace /proc/net/dev
 * is read in place (no process started); from outside, `ip -s -j link` runs there.
 */
import type { Collector, CollectResult, Draft } from './collector.js';
import type { NodeAccess } from './netns.js';
import type { InstanceSpec } from './options.js';

export interface IfStats {
  name: string;
  operstate?: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

const COUNTERS = ['rxBytes', 'rxPackets', 'rxErrors', 'rxDropped', 'txBytes', 'txPackets', 'txErrors', 'txDropped'] as const;

/** `ip -s -j link`: one object per link with stats64.rx / stats64.tx. */
export function parseIpLink(json: string): IfStats[] {
  const links = JSON.parse(json) as Array<Record<string, any>>;
  return links.map((l) => {
    const s = l.stats64 ?? l.stats ?? {};
    const rx = s.rx ?? {};
    const tx = s.tx ?? {};
    return {
      name: String(l.ifname),
      operstate: l.operstate,
      rxBytes: rx.bytes ?? 0,
      rxPackets: rx.packets ?? 0,
      rxErrors: rx.errors ?? 0,
      rxDropped: rx.dropped ?? 0,
      txBytes: tx.bytes ?? 0,
      txPackets: tx.packets ?? 0,
      txErrors: tx.errors ?? 0,
      txDropped: tx.dropped ?? 0,
    };
  });
}

/** /proc/net/dev: two header lines, then `name: rx(bytes packets errs drop ...) tx(bytes packets errs drop ...)`. */
export function parseProcNetDev(text: string): IfStats[] {
  const out: IfStats[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.includes('|')) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    out.push({
      name: line.slice(0, colon).trim(),
      rxBytes: f[0],
      rxPackets: f[1],
      rxErrors: f[2],
      rxDropped: f[3],
      txBytes: f[8],
      txPackets: f[9],
      txErrors: f[10],
      txDropped: f[11],
    });
  }
  return out;
}

/** Records for interfaces whose counters moved, with the increase; an interface seen anew ships whole. */
export function interfaceDrafts(previous: Map<string, IfStats>, current: IfStats[], byIface: Map<string, InstanceSpec>): Draft[] {
  const out: Draft[] = [];
  for (const s of current) {
    const before = previous.get(s.name);
    const reset = before !== undefined && COUNTERS.some((k) => s[k] < before[k]);
    const delta = Object.fromEntries(
      COUNTERS.map((k) => [`d${k[0].toUpperCase()}${k.slice(1)}`, before && !reset ? s[k] - before[k] : s[k]]),
    );
    if (before && !reset && Object.values(delta).every((v) => v === 0) && before.operstate === s.operstate) continue;
    const inst = byIface.get(s.name);
    out.push({
      kind: 'interface',
      ...(inst ? { instance: inst.name, service: inst.service } : {}),
      provenance: `if:${s.name}`,
      data: { ...s, ...delta },
    });
  }
  previous.clear();
  for (const s of current) previous.set(s.name, s);
  return out;
}

export function interfacesCollector(node: NodeAccess, instances: InstanceSpec[]): Collector {
  const previous = new Map<string, IfStats>();
  const byIface = new Map(instances.filter((i) => i.iface).map((i) => [i.iface!, i]));
  return {
    name: 'interfaces',
    async start() {
      previous.clear();
    },
    async collect(): Promise<CollectResult> {
      let stats: IfStats[];
      if (!node.ns) {
        const text = await node.readProcNet('dev');
        if (text === null) return { records: [], errors: ['cannot read /proc/net/dev'] };
        stats = parseProcNetDev(text);
      } else {
        const r = await node.run(['ip', '-s', '-j', 'link']);
        if (r.code !== 0) return { records: [], errors: [`ip -s -j link: ${r.stderr.trim()}`] };
        stats = parseIpLink(r.stdout);
      }
      return { records: interfaceDrafts(previous, stats, byIface) };
    },
  };
}
