/**
 * The system driver: every effect flowtap has on the machine — a short command (`nft`, `ip`,
 * `sysctl`), a streaming child (`tcpdump`, `nft -i`), a long-lived server — goes through this
 * one interface, inside a network namespace or not. The real implementation runs them; the
 * recording fake answers from a script, so plans and operations are tested without root.
 */
import type { Readable, Writable } from 'node:stream';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Network namespace to run in (`ip netns exec NS ...`); none = the caller's. */
  ns?: string;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Killed (and reported as failed) after this long. */
  timeoutMs?: number;
}

export interface SpawnOptions {
  ns?: string;
  /** Which standard streams are pipes the caller reads or writes; the others are ignored. */
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  env?: Record<string, string>;
  cwd?: string;
}

export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

/** A child attached to this process: it dies with us, and its streams are ours to read. */
export interface Spawned {
  readonly pid: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Resolves when the child has exited; a child that could not start exits with code 127. */
  readonly exited: Promise<ExitStatus>;
  /** Set when the child could not be started at all (no such program). */
  readonly startError: Promise<Error | null>;
  kill(signal?: NodeJS.Signals): void;
}

export interface DaemonSpec {
  argv: string[];
  ns?: string;
  env?: Record<string, string>;
  cwd?: string;
  /** Appends the daemon's stdout and stderr here. */
  log: string;
}

export interface System {
  /** Runs a command to completion; never rejects (a missing program is code 127). */
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
  /** Starts a child whose streams the caller uses (a capture, an interactive nft). */
  spawn(argv: string[], opts?: SpawnOptions): Spawned;
  /** Starts a detached long-lived process in its own process group; it outlives us. */
  daemon(spec: DaemonSpec): { pid: number };
  /** Whether a process exists (and is not a zombie). */
  alive(pid: number): boolean;
  /** TERM every process (and its group), then KILL what is left after the grace period. */
  stop(pids: number[], graceMs?: number): Promise<void>;
}

/** `ip netns exec NS argv...` when a namespace is given. */
export function inNamespace(ns: string | undefined, argv: string[]): string[] {
  return ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
}
