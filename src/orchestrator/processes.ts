/**
 * Long-running processes inside namespaces. `ip netns exec` execs the command, so the pid
 * we record is the service's own; each gets its own process group so a stop reaches its
 * children too.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface StartedProcess {
  pid: number;
  ns: string;
  argv: string[];
  log: string;
}

export function startInNamespace(ns: string, argv: string[], env: Record<string, string>, log: string, cwd: string): StartedProcess {
  const fd = openSync(log, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      cwd,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')} in ${ns}`);
    return { pid: child.pid, ns, argv, log };
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** TERM every process (and its group) at once, then KILL whatever is left after the grace period. */
export async function stopProcesses(pids: number[], graceMs = 3000): Promise<void> {
  const live = pids.filter(isAlive);
  for (const pid of live) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && live.some(isAlive)) await new Promise((r) => setTimeout(r, 25));
  for (const pid of live) if (isAlive(pid)) signal(pid, 'SIGKILL');
}

export function stopProcess(pid: number, graceMs = 3000): Promise<void> {
  return stopProcesses([pid], graceMs);
}
