/**
 * `/metrics` in Prometheus' text format (0.0.4): per tap packets and bytes, and what it did not
 * copy or divert (over budget, or dropped for a fail-closed monitor that is down); per firewall
 * rule hits (the data plane's counters as the orchestrator reads them back); per monitor
 * packets (its taps' sum), what its capture took and what the kernel dropped (its stats.log
 * rows), and analysis lag (those rows, and its last overload notice); notices by kind,
 * reactions by action and state, agent cost per collector and level (each agent's latest
 * report), and the broker's ingest and retention. Every series carries tenant and app; a
 * tenant's scrape holds only its own applications, and a store's figures only when no other
 * tenant's application ships to that store.
 *
 * Notices, reactions, agent costs and monitor stats are tallied incrementally: each scrape
 * reads only the records after the last one it read, so a long history is read once, not
 * every 15 seconds.
 *
 * A monitor's capture counts are cumulative per capture process (`run`); a restarted monitor
 * starts from 0. The counters sum across runs: a new run adds the last figures of the one
 * before, so they never go down, and their labels do not grow with every restart.
 */
import type { StoredRecord } from '../broker/index.js';
import { noticeView } from '../controller/index.js';
import { tapCounterOf, type TapDropReason } from '../dataplane/index.js';
import type { AppRef, Fleet } from './fleet.js';

type Labels = Record<string, string | number>;

interface Family {
  help: string;
  type: 'counter' | 'gauge';
  samples: { labels: Labels; value: number }[];
}

/** Label values: backslash, double quote and line feed escaped, as the format asks. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

class Exposition {
  private readonly families = new Map<string, Family>();

  add(name: string, type: Family['type'], help: string, labels: Labels, value: number): void {
    let f = this.families.get(name);
    if (!f) {
      f = { help, type, samples: [] };
      this.families.set(name, f);
    }
    f.samples.push({ labels, value });
  }

  text(): string {
    const lines: string[] = [];
    for (const [name, f] of this.families) {
      lines.push(`# HELP ${name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${f.type}`);
      for (const s of f.samples) {
        const labels = Object.entries(s.labels)
          .map(([k, v]) => `${k}="${escapeLabel(String(v))}"`)
          .join(',');
        lines.push(`${name}{${labels}} ${formatValue(s.value)}`);
      }
    }
    return lines.length ? `${lines.join('\n')}\n` : '';
  }
}

interface Tally {
  afterId: number;
  notices: Map<string, number>;
  reactions: Map<string, { action: string; state: string; deployment: string }>;
  /** `node|collector` -> the latest report. */
  cost: Map<string, { node: string; collector: string; level: number; cpuPercent: number; bytesPerSec: number; recordsPerSec: number }>;
  /** Monitor -> seconds behind, from its latest overload notice. */
  lag: Map<string, number>;
  /** Monitor stats rows are read by a query of their own, from here. */
  statsAfterId: number;
  /** `node|monitor` -> its capture counts. */
  capture: Map<string, CaptureTally>;
}

interface CaptureCounts {
  captured: number;
  dropped: number;
}

interface CaptureTally {
  node: string;
  monitor: string;
  /** The capture run of the latest row, and its counts. */
  run: string;
  latest: CaptureCounts;
  /** What the runs before it counted. */
  earlier: CaptureCounts;
  /** Runs already over (the last few): a row of one that comes late changes nothing. */
  ended: string[];
  /** The latest row's time (ms) and packet lag (s; null when no packet came in its interval). */
  ts: number;
  packetLag: number | null;
}

const ENDED_RUNS = 16;
/** The stats rows among the monitor rows: the store's text filter, then the log field checked. */
const STATS_TEXT = '"log":"stats"';

const PAGE = 10_000;
const MAX_PAGES = 20;
const NO_ADDRESSES = new Map<string, { instance: string; service: string }>();
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function foldStats(t: Tally, r: StoredRecord): void {
  const d = r.data;
  const row = d.row as Record<string, unknown> | undefined;
  if (d.log !== 'stats' || typeof d.monitor !== 'string' || typeof row !== 'object' || row === null || typeof row.run !== 'string') return;
  const now: CaptureCounts = { captured: num(row.run_pkts_proc), dropped: num(row.run_pkts_dropped) };
  const node = r.node ?? '';
  const key = `${node}|${d.monitor}`;
  let c = t.capture.get(key);
  if (!c) {
    c = { node, monitor: d.monitor, run: row.run, latest: now, earlier: { captured: 0, dropped: 0 }, ended: [], ts: r.ts, packetLag: null };
    t.capture.set(key, c);
  }
  if (c.run !== row.run) {
    if (c.ended.includes(row.run)) return;
    c.ended = [...c.ended, c.run].slice(-ENDED_RUNS);
    c.run = row.run;
    c.earlier = { captured: c.earlier.captured + c.latest.captured, dropped: c.earlier.dropped + c.latest.dropped };
  } else if (now.captured < c.latest.captured || now.dropped < c.latest.dropped) {
    // A run's totals only grow; smaller ones start a count of their own, and what was counted stays.
    c.earlier = { captured: c.earlier.captured + c.latest.captured, dropped: c.earlier.dropped + c.latest.dropped };
  }
  c.latest = now;
  c.ts = r.ts;
  c.packetLag = typeof row.pkt_lag === 'number' && Number.isFinite(row.pkt_lag) ? row.pkt_lag : null;
}

function fold(t: Tally, r: StoredRecord): void {
  const d = r.data;
  if (r.kind === 'notice') {
    const n = noticeView(r, NO_ADDRESSES);
    const note = n?.note ?? 'unknown';
    t.notices.set(note, (t.notices.get(note) ?? 0) + 1);
    if (n && note === 'FlowTap::Monitor_Overload' && n.monitor && typeof n.evidence.lagMs === 'number')
      t.lag.set(n.monitor, n.evidence.lagMs / 1000);
  } else if (r.kind === 'reaction') {
    const x = d.reaction as { id?: unknown; state?: unknown; deployment?: unknown; action?: { kind?: unknown } } | undefined;
    if (x && typeof x.id === 'string' && typeof x.state === 'string')
      t.reactions.set(x.id, { action: String(x.action?.kind ?? 'unknown'), state: x.state, deployment: String(x.deployment ?? '') });
  } else if (r.kind === 'agent-cost' && r.node && typeof d.collector === 'string') {
    t.cost.set(`${r.node}|${d.collector}`, {
      node: r.node,
      collector: d.collector,
      level: num(d.level),
      cpuPercent: num(d.cpuPercent),
      bytesPerSec: num(d.bytesPerSec),
      recordsPerSec: num(d.recordsPerSec),
    });
  }
}

export class Metrics {
  private readonly tallies = new Map<string, Tally>();

  constructor(private readonly fleet: Fleet) {}

  private async tally(app: string): Promise<Tally> {
    let t = this.tallies.get(app);
    if (!t) {
      t = { afterId: 0, notices: new Map(), reactions: new Map(), cost: new Map(), lag: new Map(), statsAfterId: 0, capture: new Map() };
      this.tallies.set(app, t);
    }
    for (let i = 0; i < MAX_PAGES; i++) {
      const page = await this.fleet.records(app, { kinds: ['notice', 'reaction', 'agent-cost'], afterId: t.afterId, limit: PAGE });
      for (const r of page) fold(t, r);
      if (page.length) t.afterId = page[page.length - 1].id;
      if (page.length < PAGE) break;
    }
    // Stats rows are a few among many monitor rows: once read to the newest record, the rows
    // between are not searched again, whether or not a stats row was among them.
    const newest = (await this.fleet.records(app, { order: 'desc', limit: 1 }))[0]?.id ?? 0;
    for (let i = 0; i < MAX_PAGES; i++) {
      const page = await this.fleet.records(app, { kinds: ['monitor-log'], text: STATS_TEXT, afterId: t.statsAfterId, limit: PAGE });
      for (const r of page) foldStats(t, r);
      if (page.length) t.statsAfterId = page[page.length - 1].id;
      if (page.length < PAGE) {
        t.statsAfterId = Math.max(t.statsAfterId, newest);
        break;
      }
    }
    return t;
  }

  /** The exposition for a token: its tenant's applications, or every one (null: an operator). */
  async render(tenant: string | null): Promise<string> {
    const all = await this.fleet.apps();
    const mine = all.filter((a) => tenant === null || a.tenant === tenant);
    for (const name of this.tallies.keys()) if (!all.some((a) => a.name === name)) this.tallies.delete(name);
    const x = new Exposition();
    const stores = new Map<string, { tenants: Set<string>; figures: Awaited<ReturnType<Fleet['storeStats']>> }>();
    for (const a of all) {
      const s = await this.fleet.storeStats(a.name).catch(() => null);
      if (!s) continue;
      const known = stores.get(s.store) ?? { tenants: new Set<string>(), figures: s };
      known.tenants.add(a.tenant);
      stores.set(s.store, known);
    }
    for (const a of mine) await this.app(x, a, stores, tenant);
    return x.text();
  }

  private async app(x: Exposition, a: AppRef, stores: Map<string, { tenants: Set<string> }>, tenant: string | null): Promise<void> {
    const base = { tenant: a.tenant, app: a.name };
    let up = 1;
    const summary = await this.fleet.summary(a.name).catch(() => null);
    if (summary)
      x.add(
        'flowtap_app_info',
        'gauge',
        'A deployment the API serves (value 1), with its mode and strategy.',
        { ...base, mode: summary.mode, strategy: summary.strategy },
        1,
      );

    const taps = await this.fleet.taps(a.name).catch(() => null);
    const counters = await this.fleet.counters(a.name).catch(() => ({}));
    const tapOf = tapCounterOf(taps?.contracts ?? []);
    const monitorPackets = new Map<string, number>();
    const tapSums = new Map<string, { node: string; tap: string; monitor: string; action: string; packets: number; bytes: number }>();
    const dropSums = new Map<string, { node: string; contract: string; reason: TapDropReason; packets: number; bytes: number }>();
    const ruleSums = new Map<string, { node: string; table: string; chain: string; rule: string; packets: number; bytes: number }>();
    for (const [node, list] of Object.entries(counters)) {
      for (const c of list) {
        const hit = tapOf(c.comment);
        if (hit?.reason) {
          const k = `${node}|${hit.contract.id}|${hit.reason}`;
          const s = dropSums.get(k) ?? { node, contract: hit.contract.id, reason: hit.reason, packets: 0, bytes: 0 };
          s.packets += c.packets;
          s.bytes += c.bytes;
          dropSums.set(k, s);
          continue;
        }
        const tap = hit?.contract;
        if (tap) {
          const k = `${node}|${tap.id}`;
          const s = tapSums.get(k) ?? { node, tap: tap.id, monitor: tap.dst, action: tap.action, packets: 0, bytes: 0 };
          s.packets += c.packets;
          s.bytes += c.bytes;
          tapSums.set(k, s);
          monitorPackets.set(tap.dst, (monitorPackets.get(tap.dst) ?? 0) + c.packets);
        } else {
          const k = `${node}|${c.table}|${c.chain}|${c.comment}`;
          const s = ruleSums.get(k) ?? { node, table: c.table, chain: c.chain, rule: c.comment, packets: 0, bytes: 0 };
          s.packets += c.packets;
          s.bytes += c.bytes;
          ruleSums.set(k, s);
        }
      }
    }
    for (const s of tapSums.values()) {
      const l = { ...base, node: s.node, tap: s.tap, monitor: s.monitor, action: s.action };
      x.add(
        'flowtap_tap_packets_total',
        'counter',
        'Packets a tap copied (forward) or diverted (redirect) to its monitor, as its nftables rule counts them.',
        l,
        s.packets,
      );
      x.add('flowtap_tap_bytes_total', 'counter', 'Bytes a tap copied or diverted to its monitor.', l, s.bytes);
    }
    for (const s of dropSums.values()) {
      const l = { ...base, node: s.node, contract: s.contract, reason: s.reason };
      x.add(
        'flowtap_tap_dropped_packets_total',
        'counter',
        "Packets a tap matched but did not copy or divert: over its budget (a forward's go uncopied, a redirect's pass untouched), or dropped because its fail-closed monitor is down.",
        l,
        s.packets,
      );
      x.add(
        'flowtap_tap_dropped_bytes_total',
        'counter',
        'Bytes of the packets a tap matched but did not copy or divert, by reason.',
        l,
        s.bytes,
      );
    }
    for (const s of ruleSums.values()) {
      const l = { ...base, node: s.node, table: s.table, chain: s.chain, rule: s.rule };
      x.add(
        'flowtap_firewall_rule_packets_total',
        'counter',
        'Packets a counting data-plane rule matched (firewall, quarantine, restriction).',
        l,
        s.packets,
      );
      x.add('flowtap_firewall_rule_bytes_total', 'counter', 'Bytes a counting data-plane rule matched.', l, s.bytes);
    }
    for (const [monitor, packets] of monitorPackets)
      x.add(
        'flowtap_monitor_packets_total',
        'counter',
        "Packets delivered to a monitor: the sum of its taps' counters.",
        { ...base, monitor },
        packets,
      );

    const t = await this.tally(a.name).catch(() => null);
    if (!t) up = 0;
    else {
      for (const [monitor, lag] of t.lag)
        x.add(
          'flowtap_monitor_lag_seconds',
          'gauge',
          'How far a monitor was behind its capture at its latest overload notice.',
          { ...base, monitor },
          lag,
        );
      const now = Date.now();
      for (const c of t.capture.values()) {
        const l = { ...base, monitor: c.monitor, node: c.node };
        x.add(
          'flowtap_monitor_captured_packets_total',
          'counter',
          "Packets a monitor's live capture took (tcpdump's count), summed over its capture runs.",
          l,
          c.earlier.captured + c.latest.captured,
        );
        x.add(
          'flowtap_monitor_dropped_packets_total',
          'counter',
          "Packets the kernel dropped before a monitor's capture could take them (tcpdump's count), summed over its capture runs.",
          l,
          c.earlier.dropped + c.latest.dropped,
        );
        x.add(
          'flowtap_monitor_stats_age_seconds',
          'gauge',
          "Seconds since a monitor's latest stats row (one every 10 s while it captures): a growing age means it, its agent or shipping stalled.",
          l,
          Math.max(0, (now - c.ts) / 1000),
        );
        if (c.packetLag !== null)
          x.add(
            'flowtap_monitor_packet_lag_seconds',
            'gauge',
            "Wall clock minus the newest packet's time at a monitor's latest stats row (when packets came in its interval).",
            l,
            c.packetLag,
          );
      }
      for (const [note, n] of t.notices)
        x.add('flowtap_notices_total', 'counter', 'Notices the monitors raised, by kind.', { ...base, note }, n);
      const byActionState = new Map<string, number>();
      for (const r of t.reactions.values())
        if (!summary || r.deployment === summary.since)
          byActionState.set(`${r.action}|${r.state}`, (byActionState.get(`${r.action}|${r.state}`) ?? 0) + 1);
      for (const [k, n] of byActionState) {
        const [action, state] = k.split('|');
        x.add(
          'flowtap_reactions',
          'gauge',
          "Reactions of the deployment in force, by action and state (the controller's ledger).",
          { ...base, action, state },
          n,
        );
      }
      for (const c of t.cost.values()) {
        const l = { ...base, node: c.node, collector: c.collector, level: c.level };
        x.add(
          'flowtap_agent_cpu_percent',
          'gauge',
          "An agent collector's CPU (own and children's) in percent of one core, its latest report.",
          l,
          c.cpuPercent,
        );
        x.add(
          'flowtap_agent_bytes_per_second',
          'gauge',
          'Bytes an agent collector shipped per second, its latest report.',
          l,
          c.bytesPerSec,
        );
        x.add(
          'flowtap_agent_records_per_second',
          'gauge',
          'Records an agent collector shipped per second, its latest report.',
          l,
          c.recordsPerSec,
        );
      }
    }

    const s = await this.fleet.storeStats(a.name).catch(() => null);
    const shared = s ? (stores.get(s.store)?.tenants ?? new Set<string>()) : new Set<string>();
    // A tenant sees a store's figures only when they are all its own.
    if (s && (tenant === null || [...shared].every((x2) => x2 === tenant))) {
      const l = { ...base, store: s.store };
      x.add(
        'flowtap_broker_records',
        'gauge',
        "Records the deployment's store holds (every application shipping to it).",
        l,
        s.stats.records,
      );
      x.add('flowtap_broker_bytes', 'gauge', 'Bytes of the records the store holds, as retention by size counts them.', l, s.stats.bytes);
      x.add(
        'flowtap_broker_appended_total',
        'counter',
        'Records appended to the store since it was created (ingest).',
        l,
        s.stats.appended,
      );
      x.add(
        'flowtap_broker_dropped_total',
        'counter',
        'Records retention dropped, by reason.',
        { ...l, reason: 'age' },
        s.stats.droppedByAge,
      );
      x.add(
        'flowtap_broker_dropped_total',
        'counter',
        'Records retention dropped, by reason.',
        { ...l, reason: 'size' },
        s.stats.droppedBySize,
      );
    }
    x.add(
      'flowtap_app_records_readable',
      'gauge',
      "Whether the deployment's records could be read at this scrape (1) or not (0).",
      base,
      up,
    );
  }
}
