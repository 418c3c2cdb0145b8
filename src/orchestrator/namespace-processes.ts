/**
 * The processes living in a namespace, whoever started them: servers that daemonise
 * (PostgreSQL, nats-server) leave the pid we started, but never their namespace.
 */
import type { System } from '../system/index.js';

export async function namespacePids(system: System, ns: string): Promise<number[]> {
  const r = await system.run(['ip', 'netns', 'pids', ns]);
  if (r.code !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((p) => Number.isInteger(p) && p > 0);
}

/** Stops every process in a namespace; how many there were. */
export async function stopNamespace(system: System, ns: string, graceMs = 3000): Promise<number> {
  const pids = await namespacePids(system, ns);
  if (pids.length) await system.stop(pids, graceMs);
  return pids.length;
}
