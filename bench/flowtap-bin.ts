/**
 * The command line the benches run, as a user would: bin/flowtap.js when this bench is part of
 * dist/ (the tree bin/ starts), else the same entry compiled into this bench's own build, so a
 * bench built elsewhere times the code it was built with. FLOWTAP_BIN overrides both.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function flowtapBin(): string {
  if (process.env.FLOWTAP_BIN) return resolve(process.env.FLOWTAP_BIN);
  const build = fileURLToPath(new URL('..', import.meta.url));
  if (resolve(build) === resolve(ROOT, 'dist')) return resolve(ROOT, 'bin', 'flowtap.js');
  return fileURLToPath(new URL('./flowtap-cli.js', import.meta.url));
}

/** The path as printed in a bench's header: relative to the project when it lies inside it. */
export const shownPath = (p: string) => (p.startsWith(ROOT) ? p.slice(ROOT.length) : p);
