/**
 * Level 3: the monitors' log rows. Each JSON row (Zeek's flat keys, `ts` in seconds) becomes a
 * 'monitor-log' record whose provenance is the row's connection uid, so a notice, the rows of
 * its connection and the reaction to it can be joined; notice rows are also 'notice' records.
 */
import { join } from 'node:path';
import type { Collector, CollectResult, Draft } from './collector.js';
import type { InstanceSpec, MonitorSpec } from './options.js';
import { FileTail } from './tail.js';

const MONITOR_LOGS = ['conn', 'http', 'sql', 'nats', 'notice', 'weird'];

/** The records of one log line; a line that is not a JSON row is shipped as it is, marked. */
export function monitorRowDrafts(monitor: string, log: string, line: string, byIp: Map<string, InstanceSpec>, now: number): Draft[] {
  if (line.startsWith('#')) return [];
  let row: Record<string, unknown>;
  try {
    const parsed = JSON.parse(line) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    row = parsed as Record<string, unknown>;
  } catch {
    return [{ kind: 'monitor-log', ts: now, data: { monitor, log, unparsed: line } }];
  }
  const ts = typeof row.ts === 'number' ? Math.round(row.ts * 1000) : now;
  const uid = typeof row.uid === 'string' ? row.uid : undefined;
  const orig = typeof row['id.orig_h'] === 'string' ? byIp.get(row['id.orig_h']) : undefined;
  const resp = typeof row['id.resp_h'] === 'string' ? byIp.get(row['id.resp_h']) : undefined;
  // A row is about the instance that opened the connection; failing that, the one it reached.
  const inst = orig ?? resp;
  const about = inst ? { instance: inst.name, service: inst.service } : {};
  const out: Draft[] = [{ kind: 'monitor-log', ts, ...about, ...(uid ? { provenance: uid } : {}), data: { monitor, log, row } }];
  if (log === 'notice')
    out.push({
      kind: 'notice',
      ts,
      ...about,
      ...(uid ? { provenance: uid } : {}),
      data: {
        monitor,
        note: row.note,
        msg: row.msg,
        sub: row.sub,
        src: row.src ?? row['id.orig_h'],
        dst: row.dst ?? row['id.resp_h'],
        p: row.p ?? row['id.resp_p'],
      },
    });
  return out;
}

export function monitorLogsCollector(monitors: MonitorSpec[], instances: InstanceSpec[], logs: string[] = MONITOR_LOGS): Collector {
  const byIp = new Map(instances.filter((i) => i.ip).map((i) => [i.ip!, i]));
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
