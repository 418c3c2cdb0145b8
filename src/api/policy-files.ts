/**
 * Monitoring policies written through the API live beside the deployment's run files, one
 * file a policy: `STATE/APP/policies/NAME.dl`. A write is undone when the deployment refuses
 * the new set, so what is on disk under a name in force is always what is in force.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export function policyDir(stateDir: string, app: string): string {
  return join(stateDir, app, 'policies');
}

/** A policy's name as the API shows it: its file name without `.dl`. */
export function policyName(path: string): string {
  return basename(path).replace(/\.dl$/, '');
}

export function readPolicy(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // A policy file gone since the deployment was made: shown empty, the spec still names it.
    return '';
  }
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Writes the policies; returns their paths and how to put back what was there before. */
export function savePolicies(dir: string, policies: readonly { name: string; text: string }[]): { paths: string[]; undo: () => void } {
  mkdirSync(dir, { recursive: true });
  const before = new Map<string, string | null>();
  const paths: string[] = [];
  for (const p of policies) {
    const path = join(dir, `${p.name}.dl`);
    let old: string | null = null;
    try {
      old = readFileSync(path, 'utf8');
    } catch {
      old = null;
    }
    before.set(path, old);
    writeAtomically(path, p.text);
    paths.push(path);
  }
  const undo = () => {
    for (const [path, old] of before)
      if (old === null) rmSync(path, { force: true });
      else writeAtomically(path, old);
  };
  return { paths, undo };
}
