/** The real system driver: node's child_process, `ip netns exec` for namespaces. */
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import {
  inNamespace,
  type DaemonSpec,
  type ExitStatus,
  type RunOptions,
  type RunResult,
  type SpawnOptions,
  type Spawned,
  type System,
} from './system.js';

function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const full = inNamespace(opts.ns, argv);
  return new Promise((resolve) => {
    const child = execFile(full[0], full.slice(1), { maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 0 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown; killed?: boolean }) | null;
      const code = !e ? 0 : typeof e.code === 'number' ? e.code : e.killed ? 124 : 127;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (e && (code === 127 || code === 124) ? e.message : '') });
    });
    // A child that exits before reading its input must not crash us with EPIPE.
    child.stdin?.on('error', () => {});
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

function spawnChild(argv: string[], opts: SpawnOptions = {}): Spawned {
  const full = inNamespace(opts.ns, argv);
  const child = spawn(full[0], full.slice(1), {
    cwd: opts.cwd,
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
    stdio: [opts.stdin ? 'pipe' : 'ignore', opts.stdout ? 'pipe' : 'ignore', opts.stderr ? 'pipe' : 'ignore'],
  });
  child.stdin?.on('error', () => {});
  let startError: Error | null = null;
  const started = new Promise<Error | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', (e) => {
      startError = e;
      resolve(e);
    });
  });
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('close', (code, signal) => resolve({ code: startError ? 127 : code, signal }));
  });
  return {
    pid: child.pid,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    startError: started,
    kill: (sig) => {
      child.kill(sig);
    },
  };
}

function daemon(spec: DaemonSpec): { pid: number } {
  const full = inNamespace(spec.ns, spec.argv);
  const fd = openSync(spec.log, 'a');
  try {
    const child = spawn(full[0], full.slice(1), {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.on('error', () => {});
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${spec.argv.join(' ')}`);
    return { pid: child.pid };
  } finally {
    closeSync(fd);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A zombie (exited, not yet reaped by its parent) still answers signal 0 but is not running.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

async function stop(pids: number[], graceMs = 3000): Promise<void> {
  const live = pids.filter(alive);
  for (const pid of live) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && live.some(alive)) await new Promise((r) => setTimeout(r, 25));
  for (const pid of live) if (alive(pid)) signal(pid, 'SIGKILL');
}

export const realSystem: System = { run, spawn: spawnChild, daemon, alive, stop };
