/** Test support: queue workers that record what the monitor told them, driven by the test. */
import type { WorkerEvents, WorkerHandle, WorkerLauncher } from './launcher.js';
import type { FromWorker, ToWorker } from './messages.js';

export interface RecordedWorker {
  index: number;
  pid: number;
  sent: ToWorker[];
  killed: string[];
  events: WorkerEvents;
  /** The worker says something (a message the real one would send, or anything at all). */
  says(m: FromWorker | unknown): void;
  /** The worker's process ends. */
  ends(code: number | null, signal: string | null): void;
}

export class RecordingLauncher implements WorkerLauncher {
  readonly workers: RecordedWorker[] = [];

  /** `onStart`: what each worker does when told to start (default: nothing until the test says). */
  constructor(private readonly onStart?: (w: RecordedWorker, m: ToWorker) => void) {}

  launch(index: number, events: WorkerEvents): WorkerHandle {
    let ended = false;
    const w: RecordedWorker = {
      index,
      pid: 1000 + index,
      sent: [],
      killed: [],
      events,
      says: (m) => events.message(m),
      ends: (code, signal) => {
        if (ended) return;
        ended = true;
        events.exit(code, signal);
      },
    };
    this.workers.push(w);
    return {
      pid: w.pid,
      send: (m) => {
        if (ended) return;
        w.sent.push(m);
        this.onStart?.(w, m);
      },
      kill: (signal) => {
        w.killed.push(signal);
        w.ends(null, signal);
      },
    };
  }
}
