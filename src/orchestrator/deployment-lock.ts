/**
 * One deployment changed by one process at a time. A controller, an API server and a shell's
 * `flowtap isolate` each hold the deployment's state in memory; without this, the last to save
 * would silently undo what another did. The lock is a file created exclusively (`wx`) holding
 * the owner's pid: a lock whose owner died (kill -9) is taken over, never waited on forever.
 * Reentrant within a process, since one operation calls another (redeploy terminates first).
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { OrchestratorCode } from './codes.js';
import { realSystem } from '../system/index.js';

const held = new Map<string, number>();

/** Running, not a zombie: the real system's answer (a pid file is about real processes). */
const alive = (pid: number): boolean => realSystem.alive(pid);

function tryTake(file: string): boolean {
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  let owner = Number.NaN;
  try {
    owner = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return false; // removed meanwhile: the next try takes it
  }
  // A file being written has no pid yet; only a pid that is gone frees it.
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && !alive(owner)) rmSync(file, { force: true });
  return false;
}

/** Runs `fn` holding the lock `file`; waits at most `timeoutMs` for another process to release it. */
export async function withDeploymentLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const depth = held.get(file) ?? 0;
  if (depth === 0) {
    const deadline = Date.now() + timeoutMs;
    while (!tryTake(file)) {
      if (Date.now() > deadline) {
        let owner = '?';
        try {
          owner = readFileSync(file, 'utf8').trim();
        } catch {}
        throw new FlowtapError(
          diag(OrchestratorCode.LOCKED, `another process (pid ${owner}) has been changing this deployment for ${timeoutMs / 1000} s`, {
            file,
          }),
        );
      }
      await sleep(20);
    }
  }
  held.set(file, depth + 1);
  try {
    return await fn();
  } finally {
    const left = (held.get(file) ?? 1) - 1;
    if (left === 0) {
      held.delete(file);
      rmSync(file, { force: true });
    } else held.set(file, left);
  }
}
