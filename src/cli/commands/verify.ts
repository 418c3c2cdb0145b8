import { formatConnlist, inferFirewall, loadRuleset, verifyRuleset, type Connection } from '../../firewall/index.js';
import type { CloudEnv } from '../attach.js';
import { EXIT_OK, EXIT_VIOLATIONS, need, type Io } from '../exit.js';
import { loadAppArg } from '../load.js';

export interface VerifyOptions {
  /** Verify this (hand-edited) ruleset instead of the inferred one. */
  rules?: string;
  /** Probe the running cloud instead (loads the local cloud only then). */
  live?: boolean;
  json?: boolean;
}

/** `cloud`: where `--live` finds the running deployment. */
export async function cmdVerify(io: Io, appArg: string, o: VerifyOptions, cloud: CloudEnv = {}): Promise<number> {
  if (o.live) return (await import('./verify-live.js')).cmdVerifyLive(io, appArg, o.json === true, cloud);
  const { app, addressing } = loadAppArg(appArg);
  const ruleset = o.rules ? need(loadRuleset(o.rules, app)) : inferFirewall(app);
  const report = verifyRuleset(ruleset, app, addressing);
  if (o.json) {
    io.out(JSON.stringify(report, null, 2));
    return report.ok ? EXIT_OK : EXIT_VIOLATIONS;
  }
  const show = (c: Connection) => formatConnlist([c], 'txt');
  io.out(`connectivity the rules allow (${o.rules ?? 'inferred ruleset'}):`);
  io.out(formatConnlist(report.allowed, 'txt') || '(nothing)');
  for (const c of report.missing) io.out(`MISSING  ${show(c)}  (required, but the rules deny it)`);
  for (const c of report.extra) io.out(`EXTRA    ${show(c)}  (allowed, but no requirement asks for it)`);
  for (const f of report.findings) io.out(`${f.kind.toUpperCase().padEnd(8)} ${f.direction} ${f.target}: ${f.message}`);
  io.out(
    report.ok
      ? `verified: ${report.allowed.length} allowed connection classes equal the ${app.requirements.length} requirements; no shadowed, redundant or conflicting rule`
      : `${report.missing.length} missing, ${report.extra.length} extra, ${report.findings.length} rule findings`,
  );
  return report.ok ? EXIT_OK : EXIT_VIOLATIONS;
}
