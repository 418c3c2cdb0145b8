/**
 * Level 3: the monitors' log rows. Each JSON row (Zeek's flat keys, `ts` in seconds) becomes a
 * 'monitor-log' record whose provenance is the row's connection uid, so a notice, the rows of
 * its connection and the reaction to it can be joined. Notice rows are 'monitor-log' records
 * here too; their 'notice' records come from the notices path (notices.ts), which runs at
 * every level and ships each one as soon as it is written. stats.log rows (the capture's
 * counts and kernel drops, about no connection, what `/metrics` reads monitor drops from) are
 * counters: the level-1 collector ships them (counters.ts).
 */
import { join } from 'node:path';
import type { Collector, CollectResult, Draft } from './collector.js';
import { instancesByIp, parseRow, rowAbout, rowTs } from './monitor-row.js';
import type { InstanceSpec, MonitorSpec } from './options.js';
import { FileTail } from './tail.js';

const MONITOR_LOGS = ['conn', 'http', 'sql', 'nats', 'notice', 'weird'];

/** The record of one log line; a line that is not a JSON row is shipped as it is, marked. */
export function monitorRowDrafts(monitor: string, log: string, line: string, byIp: Map<string, InstanceSpec>, now: number): Draft[] {
  if (line.startsWith('#')) return [];
  const row = parseRow(line);
  if (row === null) return [{ kind: 'monitor-log', ts: now, data: { monitor, log, unparsed: line } }];
  return [{ kind: 'monitor-log', ts: rowTs(row, now), ...rowAbout(row, byIp), data: { monitor, log, row } }];
}

export function monitorLogsCollector(monitors: MonitorSpec[], instances: InstanceSpec[], logs: string[] = MONITOR_LOGS): Collector {
  const byIp = instancesByIp(instances);
  let tails: { monitor: string; log: string; tail: FileTail }[] = [];
  return {
    name: 'monitor-logs',
    async start() {
      tails = monitors.flatMap((m) => logs.map((log) => ({ monitor: m.name, log, tail: new FileTail(join(m.logDir, `${log}.log`)) })));
      await Promise.all(tails.map((t) => t.tail.begin()));
    },
    async collect(_setting, now): Promise<CollectResult> {
      const records: Draft[] = [];
      for (const t of tails) for (const l of await t.tail.read()) records.push(...monitorRowDrafts(t.monitor, t.log, l.text, byIp, now));
      return { records };
    },
  };
}
