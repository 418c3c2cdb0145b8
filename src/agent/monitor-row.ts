/**
 * A monitor's log row as the agent reads it: one JSON object per line with Zeek's flat keys
 * (`id.orig_h`), `ts` in seconds. Both the level-3 row collector and the notices path read
 * rows this way, so a row is attributed to the same instance whichever ships it.
 */
import type { InstanceSpec } from './options.js';

export type MonitorRow = Record<string, unknown>;

/** The row on a line; null for a line that is not a JSON object. */
export function parseRow(line: string): MonitorRow | null {
  try {
    const parsed = JSON.parse(line) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as MonitorRow) : null;
  } catch {
    return null;
  }
}

/** The row's time in ms, or `fallback` when it has none. */
export function rowTs(row: MonitorRow, fallback: number): number {
  return typeof row.ts === 'number' && Number.isFinite(row.ts) ? Math.round(row.ts * 1000) : fallback;
}

/**
 * The instance a row is about: the one that opened the connection, failing that the one it
 * reached; and the connection uid as provenance, so a notice, the rows of its connection and
 * the reaction to it can be joined.
 */
export function rowAbout(row: MonitorRow, byIp: Map<string, InstanceSpec>): { instance?: string; service?: string; provenance?: string } {
  const orig = typeof row['id.orig_h'] === 'string' ? byIp.get(row['id.orig_h']) : undefined;
  const resp = typeof row['id.resp_h'] === 'string' ? byIp.get(row['id.resp_h']) : undefined;
  const inst = orig ?? resp;
  return {
    ...(inst ? { instance: inst.name, service: inst.service } : {}),
    ...(typeof row.uid === 'string' ? { provenance: row.uid } : {}),
  };
}

export function instancesByIp(instances: InstanceSpec[]): Map<string, InstanceSpec> {
  return new Map(instances.filter((i) => i.ip).map((i) => [i.ip!, i]));
}
