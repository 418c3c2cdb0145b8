/**
 * What `up` made, on disk, so `status` and `down` work from another shell. Written after
 * every step that creates something, so a crash mid-`up` still leaves an accurate record.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Addressing } from '../model/index.js';

export interface ProcessRecord {
  /** Instance or monitor name, or `db-0/postgres` style for servers started by scripts. */
  owner: string;
  ns: string;
  pid: number;
  argv: string[];
  log: string;
}

export interface CloudState {
  app: string;
  tenant: string;
  descriptor: string;
  createdAt: string;
  addressing: Addressing;
  namespaces: string[];
  processes: ProcessRecord[];
  /** Instances currently quarantined. */
  isolated: string[];
  /** Instances terminated (namespace removed, not redeployed yet). */
  terminated: string[];
  mode: 'enforce' | 'audit';
  /** Tap policy files in force, if any. */
  policies: string[];
  phase: 'creating' | 'running' | 'failed' | 'stopping';
}

export function stateDir(): string {
  return process.env.FLOWTAP_STATE_DIR ?? '/var/lib/flowtap';
}

export function stateFile(app: string): string {
  return join(stateDir(), `${app}.json`);
}

export function appRunDir(app: string): string {
  return join(stateDir(), app);
}

export function saveState(s: CloudState): void {
  mkdirSync(stateDir(), { recursive: true });
  const file = stateFile(s.app);
  writeFileSync(file + '.tmp', JSON.stringify(s, null, 2));
  renameSync(file + '.tmp', file);
}

export function loadState(app: string): CloudState | null {
  const file = stateFile(app);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as CloudState;
}

export function removeState(app: string): void {
  rmSync(stateFile(app), { force: true });
}
