/** Helpers for integration tests that drive the real `flowtap` CLI against the local cloud. */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { importK8sManifests, type K8sImport } from '../src/model/index.js';

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

/** Requests an instance's web server logged (one JSON line each), as `METHOD path`. */
export function servedBy(app: string, instance: string): string[] {
  const file = join(stateDir, app, instance, 'process.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { method?: string; path?: string })
    .filter((x) => x.method)
    .map((x) => `${x.method} ${x.path}`);
}

export interface Fetched {
  status: number;
  /** curl's exit code. */
  rc: number;
  ms: number;
  body: string;
  err: string;
}

/** One HTTP GET with curl from a namespace: status, time and body. */
export async function curlFrom(ns: string, url: string, timeoutS = 4): Promise<Fetched> {
  const r = await inNs(ns, 'curl', ['-sS', '-m', String(timeoutS), '-w', '\n%{http_code} %{time_total}', url]);
  const lines = r.stdout.split('\n');
  const [code, secs] = (lines.pop() ?? '').split(' ');
  return { status: Number(code) || 0, rc: r.code, ms: Number(secs) * 1000, body: lines.join('\n'), err: r.stderr };
}

/** A folder of test/fixtures/k8s. */
export const k8sFixture = (name: string): string => join(ROOT, 'test', 'fixtures', 'k8s', name);

/** A folder of test/fixtures/k8s imported, which must import without an error. */
export function loadK8sFixture(name: string): K8sImport {
  const r = importK8sManifests(k8sFixture(name));
  if (!r.ok) throw new Error(`${name}: ${JSON.stringify(r.errors, null, 1)}`);
  return r.value;
}
