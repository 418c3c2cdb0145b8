/** Level 2: what the instances write to their logs, line by line, from when the level was raised. */
import type { Collector, CollectResult, Draft } from './collector.js';
import type { InstanceSpec } from './options.js';
import type { CollectorSetting } from './settings.js';
import { FileTail } from './tail.js';

export function instanceLogsCollector(instances: InstanceSpec[]): Collector {
  let tails: { inst: InstanceSpec; tail: FileTail }[] = [];
  return {
    name: 'logs',
    async start() {
      tails = instances.filter((i) => i.logFile).map((inst) => ({ inst, tail: new FileTail(inst.logFile!) }));
      await Promise.all(tails.map((t) => t.tail.begin()));
    },
    async collect(setting: CollectorSetting, now: number): Promise<CollectResult> {
      const records: Draft[] = [];
      for (const { inst, tail } of tails) {
        // A filtered-out instance's lines are skipped, not kept for later: the filter says they are not wanted.
        const lines = await tail.read();
        if (setting.instances && !setting.instances.includes(inst.name)) continue;
        for (const l of lines)
          records.push({
            kind: 'log',
            ts: now,
            instance: inst.name,
            service: inst.service,
            data: { line: l.text, ...(l.truncated ? { truncated: true } : {}) },
          });
      }
      return { records };
    },
  };
}
