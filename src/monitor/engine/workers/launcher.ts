import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ToWorker } from './messages.js';

/** What a launched worker reports: its messages, then its end (exit code or signal). */
export interface WorkerEvents {
  message(m: unknown): void;
  exit(code: number | null, signal: string | null): void;
}

export interface WorkerHandle {
  readonly pid: number | undefined;
  /** Lost without a word once the worker is gone: its end is reported by `exit`. */
  send(m: ToWorker): void;
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
}

/** The effect: a queue worker as a process (real: a fork of entry.js; fake: testing.ts). */
export interface WorkerLauncher {
  launch(index: number, events: WorkerEvents): WorkerHandle;
}

const ENTRY = fileURLToPath(new URL('./entry.js', import.meta.url));

/**
 * Queue workers as forks of this build; each inherits the namespace and stderr, not the node
 * flags (a monitor started by `node -e` would pass its `--input-type` to a file entry).
 */
export const forkWorkers: WorkerLauncher = {
  launch(index, events) {
    const child = fork(ENTRY, [String(index)], {
      execArgv: [],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let ended = false;
    const end = (code: number | null, signal: string | null) => {
      if (ended) return;
      ended = true;
      events.exit(code, signal);
    };
    child.on('message', (m) => events.message(m));
    // `close`, not `exit`: it comes after the IPC channel has delivered the worker's last messages.
    child.on('close', (code, signal) => end(code, signal));
    child.on('error', () => {
      // A fork that never started has no pid and may never close.
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) end(child.exitCode, child.signalCode);
    });
    return {
      pid: child.pid,
      send(m) {
        if (child.connected) child.send(m, (e) => void e);
      },
      kill(signal) {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
    };
  },
};
