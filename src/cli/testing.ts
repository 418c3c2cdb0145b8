/**
 * Helpers of the integration tests and benches that run the agents for real: the dvd-rental
 * application under a name of the test's own (the local cloud names namespaces after the app,
 * so two tests deploying it at once would collide), private broker servers started by the
 * project's own script on free ports, and the way to run this build's `flowtap` as a process.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Io } from './exit.js';

/** The repository (the tests run from a build folder below it). */
export function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'scripts', 'broker-servers.sh'))) return dir;
    if (dirname(dir) === dir) throw new Error('repository root not found');
  }
}

/** `flowtap ARGS...` of this build, as a process. */
export function flowtapArgv(...args: string[]): string[] {
  return [process.execPath, fileURLToPath(new URL('./entry.js', import.meta.url)), ...args];
}

export interface RenamedApp {
  name: string;
  descriptor: string;
  policies: string[];
}

/** dvd-rental as `name`: the same services, nodes, monitors and policies (its run specs are relative to the project root). */
export function renamedDvdRental(name: string): RenamedApp {
  const src = join(repoRoot(), 'examples', 'dvd-rental');
  const dir = mkdtempSync(join(tmpdir(), `flowtap-${name}-`));
  const yaml = readFileSync(join(src, 'app.yaml'), 'utf8').replace(/^app: dvd-rental$/m, `app: ${name}`);
  if (!yaml.includes(`app: ${name}`)) throw new Error('examples/dvd-rental/app.yaml has no `app: dvd-rental` line');
  writeFileSync(join(dir, 'app.yaml'), yaml);
  cpSync(join(src, 'policies'), join(dir, 'policies'), { recursive: true });
  return { name, descriptor: join(dir, 'app.yaml'), policies: ['database.dl', 'public-http.dl'].map((p) => join(dir, 'policies', p)) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Why the broker servers cannot run here, or null. */
export function missingBrokerServers(): string | null {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql') : [];
  if (!process.env.PG_BIN && !versions.some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)))
    return 'needs the PostgreSQL server (run scripts/setup.sh)';
  const path = (process.env.PATH ?? '').split(':');
  if (!process.env.NATS_SERVER && !path.some((d) => d && existsSync(join(d, 'nats-server'))) && !existsSync('/usr/sbin/nats-server'))
    return 'needs nats-server (run scripts/setup.sh)';
  return null;
}

export interface BrokerServers {
  /** postgres://… and nats://… of the private servers. */
  pg: string;
  nats: string;
  dir: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A private PostgreSQL and nats-server (not the shared ones CI starts), on free ports, in a
 * folder of their own; `stop` and `start` again keep their data.
 */
export async function privateBrokerServers(): Promise<BrokerServers> {
  // Directly under /tmp and traversable: as root, PostgreSQL runs as the postgres user.
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-brokersrv-'));
  mkdirSync(dir, { recursive: true });
  const pgPort = await freePort();
  const natsPort = await freePort();
  const env = { ...process.env, FLOWTAP_PG_PORT: String(pgPort), FLOWTAP_NATS_PORT: String(natsPort) };
  const run = (cmd: string) =>
    new Promise<string>((resolve, reject) =>
      execFile('bash', [join(repoRoot(), 'scripts', 'broker-servers.sh'), cmd, dir], { timeout: 120_000, env }, (err, stdout, stderr) =>
        err ? reject(new Error(`broker-servers.sh ${cmd}: ${stderr || err.message}`)) : resolve(stdout),
      ),
    );
  const out = await run('start');
  const pg = /FLOWTAP_TEST_PG=(\S+)/.exec(out)?.[1];
  const nats = /FLOWTAP_TEST_NATS=(\S+)/.exec(out)?.[1];
  if (!pg || !nats) throw new Error(`broker-servers.sh start printed no addresses: ${out}`);
  return {
    pg,
    nats,
    dir,
    start: async () => void (await run('start')),
    stop: async () => void (await run('stop')),
  };
}

/** The network namespace (inode) a process runs in. */
export function netnsOf(pid: number | 'self'): number {
  return statSync(`/proc/${pid}/ns/net`).ino;
}

/** An Io that keeps what a command prints: `out_` (stdout lines) and `err_` (stderr lines). */
export function captureIo(): Io & { out_: string[]; err_: string[] } {
  const out_: string[] = [];
  const err_: string[] = [];
  return { out_, err_, out: (s) => out_.push(s), err: (s) => err_.push(s) };
}
