/** Helpers for integration tests that drive the real `flowtap` CLI against the local cloud. */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const stateDir = mkdtempSync(join(tmpdir(), 'flowtap-state-'));
// Servers started by the cloud (PostgreSQL runs as its own user) need to reach their run folders.
chmodSync(stateDir, 0o755);
const env = { ...process.env, FLOWTAP_STATE_DIR: stateDir };

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The command line of the build these tests were compiled into (dist/, or a helper's own
 * output folder), so a test exercises the code beside it rather than whatever dist/ holds.
 */
const CLI = new URL('../src/cli/index.js', import.meta.url).href;

/** argv that runs `flowtap ARGS...` (for tests that start it themselves). */
export function flowtapCommand(...args: string[]): string[] {
  const entry = `const { main } = await import(${JSON.stringify(CLI)}); process.exitCode = await main(process.argv.slice(1));`;
  return [process.execPath, '--input-type=module', '-e', entry, '--', ...args];
}

export function flowtap(...args: string[]): Promise<Ran> {
  const [cmd, ...rest] = flowtapCommand(...args);
  return run(cmd, rest);
}

export function run(cmd: string, args: string[], input?: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd: ROOT, env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export function inNs(ns: string, cmd: string, args: string[]): Promise<Ran> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args]);
}

export function namespaces(prefix: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(prefix));
}

/** Connect attempt from a namespace; true when the TCP handshake completes within `timeout` s. */
export async function canConnect(ns: string, ip: string, port: number, timeout = 1): Promise<boolean> {
  const r = await inNs(ns, 'nc', ['-z', '-w', String(timeout), ip, String(port)]);
  return r.code === 0;
}

/** A query as DVD rental's database user, from inside a namespace (through whatever lies between); its output. */
export async function psqlIn(ns: string, dbIp: string, sql: string): Promise<string> {
  const r = await inNs(ns, 'env', ['PGPASSWORD=dvdrental', 'psql', '-h', dbIp, '-U', 'dvdrental', '-d', 'dvdrental', '-tAc', sql]);
  if (r.code !== 0) throw new Error(`psql in ${ns}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Debian's Chromium: the only browser the tests use (never a downloaded one). */
const CHROMIUM = '/usr/bin/chromium';

/** Why a browser test cannot run here, or null. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `needs ${CHROMIUM} (apt-get install chromium, or run scripts/setup.sh as root)`;
}

/** Headless Chromium and one page at a laptop's size; the page's uncaught errors go to `errors`. */
export async function chromiumPage(errors: string[]): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking'],
    headless: true,
  });
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  page.on('pageerror', (e) => errors.push(e.message));
  return { browser, page };
}
