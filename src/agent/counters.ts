/**
 * Level 1: the node's nft rule counters (firewall and taps), and the capture counters of the
 * node's monitors (their stats.log rows: packets taken, dropped by the kernel). Only rule
 * counters that moved since the previous period are shipped, with the increase: a quiet node
 * costs a few bytes.
 */
import { join } from 'node:path';
import { NODE_TABLES, parseCounters, TAPS_TABLE, type NftRuleCounter, type OwnedTable } from '../dataplane/index.js';
import type { Collector, CollectResult, Draft } from './collector.js';
import type { NodeAccess } from './netns.js';
import { NftLister } from './nft-lister.js';
import { monitorRowDrafts } from './monitor-logs.js';
import { instancesByIp } from './monitor-row.js';
import type { InstanceSpec, MonitorSpec } from './options.js';
import { FileTail } from './tail.js';

/** The tables flowtap owns on a node: the firewall and the taps. */
const DEFAULT_TABLES: readonly OwnedTable[] = NODE_TABLES;

const keyOf = (c: NftRuleCounter) => `${c.family}/${c.table}/${c.chain}/${c.handle}`;

/**
 * Counter records for what changed. A counter lower than before belongs to a rule that was
 * replaced (an atomic apply reuses handles): its whole value is the increase.
 */
function counterDrafts(previous: Map<string, NftRuleCounter>, current: NftRuleCounter[], tapsTable = TAPS_TABLE): Draft[] {
  const out: Draft[] = [];
  for (const c of current) {
    const key = keyOf(c);
    const before = previous.get(key);
    previous.set(key, c);
    const reset = before !== undefined && (c.packets < before.packets || c.bytes < before.bytes);
    const dPackets = before && !reset ? c.packets - before.packets : c.packets;
    const dBytes = before && !reset ? c.bytes - before.bytes : c.bytes;
    if (before && !reset && dPackets === 0 && dBytes === 0) continue;
    out.push({
      kind: 'counter',
      provenance: `nft:${key}`,
      data: {
        type: c.table === tapsTable ? 'tap' : 'rule',
        family: c.family,
        table: c.table,
        chain: c.chain,
        handle: c.handle,
        comment: c.comment,
        packets: c.packets,
        bytes: c.bytes,
        dPackets,
        dBytes,
      },
    });
  }
  return out;
}

/** The monitors' capture counters: the same 'monitor-log' records the level-3 collector would ship. */
const STATS_LOG_NAME = 'stats';

export function countersCollector(
  node: NodeAccess,
  tables: readonly OwnedTable[] = DEFAULT_TABLES,
  monitors: readonly MonitorSpec[] = [],
  instances: readonly InstanceSpec[] = [],
): Collector {
  let previous = new Map<string, NftRuleCounter>();
  const owned = new Set(tables.map((t) => `${t.family} ${t.name}`));
  let lister: NftLister | null = null;
  const byIp = instancesByIp([...instances]);
  let stats: { monitor: string; tail: FileTail }[] = [];
  return {
    name: 'counters',
    async start() {
      previous = new Map();
      lister ??= new NftLister(node);
      stats = monitors.map((m) => ({ monitor: m.name, tail: new FileTail(join(m.logDir, `${STATS_LOG_NAME}.log`)) }));
      await Promise.all(stats.map((t) => t.tail.begin()));
    },
    async stop() {
      await lister?.close();
      lister = null;
    },
    childPids: () => lister?.pids() ?? [],
    async collect(_setting, now): Promise<CollectResult> {
      const captured: Draft[] = [];
      for (const t of stats)
        for (const l of await t.tail.read()) captured.push(...monitorRowDrafts(t.monitor, STATS_LOG_NAME, l.text, byIp, now));
      // One listing of the whole ruleset rather than one per table, through one nft session:
      // starting nft each period cost more than the listing itself.
      lister ??= new NftLister(node);
      const r = await lister.list();
      if (r.code !== 0) return { records: captured, errors: [`nft -j list ruleset: ${r.stderr.trim() || `exit ${r.code}`}`] };
      let all: NftRuleCounter[];
      try {
        all = parseCounters(r.stdout);
      } catch (e) {
        return { records: captured, errors: [`nft -j list ruleset: ${(e as Error).message}`] };
      }
      const mine = all.filter((c) => owned.has(`${c.family} ${c.table}`));
      const records = counterDrafts(previous, mine);
      // Rules that disappeared must not shadow new ones later.
      previous = new Map(mine.map((c) => [keyOf(c), c]));
      return { records: [...records, ...captured] };
    },
  };
}
