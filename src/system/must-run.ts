import { diag, FlowtapError } from '../diagnostics/index.js';
import type { RunOptions, System } from './system.js';

/** Runs a step and turns failure into a diagnostic that shows the command and what it said. */
export async function mustRun(system: System, argv: string[], opts?: RunOptions): Promise<string> {
  const r = await system.run(argv, opts);
  if (r.code !== 0) {
    const where = opts?.ns ? ` in ${opts.ns}` : '';
    throw new FlowtapError(
      diag('E_SYSTEM', `\`${argv.join(' ')}\`${where} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`),
    );
  }
  return r.stdout;
}
