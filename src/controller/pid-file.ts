/**
 * The pid file of a deployment's security controller (`STATE/APP/controller/controller.pid`):
 * it keeps a second controller off the application, and tells another process (the API)
 * whether a controller serves it, so a change goes through the controller rather than past it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { realSystem } from '../system/index.js';

export function controllerPidFile(stateDir: string, app: string): string {
  return join(stateDir, app, 'controller', 'controller.pid');
}

/** Running, not a zombie: the real system's answer (a pid file is about real processes). */
const alive = (pid: number): boolean => realSystem.alive(pid);

/** The pid the file names when that process lives; null when there is no file or its process is gone. */
export function liveControllerPid(file: string): number | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : null;
}
