/**
 * The one gate for tests that need root, namespaces or a server from Debian's packages. On a
 * developer machine without them such a test is reported as skipped, with the reason; where
 * FLOWTAP_REQUIRE_ROOT=1 (CI) it is mandatory and a missing capability fails it instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function rootRequired(): boolean {
  return process.env.FLOWTAP_REQUIRE_ROOT === '1';
}

function hasProgram(argv: string[]): boolean {
  try {
    execFileSync(argv[0], argv.slice(1), { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** node:test's `skip` value for a requirement: false when met; throws in CI when not. */
export function needs(missing: string | null): false | string {
  if (!missing) return false;
  if (rootRequired()) throw new Error(`FLOWTAP_REQUIRE_ROOT=1 but this machine cannot run this test: ${missing}`);
  return missing;
}

/** Programs a test runs (each given as a version command), root or not. */
export function needsPrograms(...programs: string[][]): false | string {
  for (const p of programs) if (!hasProgram(p)) return needs(`needs ${p[0]} (run scripts/setup.sh)`);
  return false;
}

/** Root, `nft` and `ip`, plus any extra programs (each given as a version command). */
export function needsRoot(...programs: string[][]): false | string {
  if (process.getuid?.() !== 0) return needs('needs root');
  for (const p of [['nft', '--version'], ['ip', '-V'], ...programs])
    if (!hasProgram(p)) return needs(`needs ${p[0]} (run scripts/setup.sh)`);
  return false;
}

/** scripts/ovs.sh, found from here upwards (the tests run from src/ or from a build directory). */
function ovsScript(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'scripts', 'ovs.sh');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return undefined;
}

/**
 * node:test's `skip` for a test on a real Open vSwitch: root, nft and ip, ovs-vsctl, and the
 * daemons running (started through scripts/ovs.sh when they are not). Under
 * FLOWTAP_REQUIRE_ROOT=1 any of it missing fails instead.
 */
export function needsOvs(): false | string {
  const root = needsRoot(['bash', '--version'], ['ovs-vsctl', '--version'], ['ethtool', '--version']);
  if (root) return root;
  const script = ovsScript();
  if (!script) return needs('scripts/ovs.sh not found');
  try {
    execFileSync('bash', [script, 'start'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return false;
  } catch (e) {
    return needs(`Open vSwitch does not start (scripts/ovs.sh start): ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`);
  }
}
