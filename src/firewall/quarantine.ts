/**
 * Quarantine: an isolated instance keeps its port (and so its taps) but its chains lose
 * every allow rule, so the default deny cuts it off in both directions.
 */
import type { Ruleset } from './types.js';

export function quarantine(ruleset: Ruleset, instances: readonly string[]): Ruleset {
  if (!instances.length) return ruleset;
  const q = new Set(instances);
  const add = (list: string[]) => [...new Set([...list, ...instances])];
  return {
    ...ruleset,
    isolated: { ingress: add(ruleset.isolated.ingress), egress: add(ruleset.isolated.egress) },
    rules: ruleset.rules.filter((r) => !q.has(r.target)),
    quarantined: add(ruleset.quarantined ?? []),
  };
}
