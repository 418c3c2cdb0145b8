/**
 * Worker thread: checkpoints a SQLite file's write-ahead log in the background (PASSIVE: never
 * blocks the writer), so the process that appends does not pay for copying the log into the
 * database and syncing it inside its commits. The writer keeps SQLite's own automatic
 * checkpoint as a backstop at a larger log size.
 *
 * A checkpoint runs only when the log changed since the last one (its size or time, one stat):
 * a process that writes a few records a second (a node agent) then checkpoints about as often
 * as it writes, not ten times a second, which in locks and syncs cost more than its own work.
 */
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const { path, everyMs } = workerData as { path: string; everyMs: number };
const db = new Database(path);
db.pragma('busy_timeout = 50');
let stopped = false;
let timer: NodeJS.Timeout | null = null;
let seen = '';

/** The log's size and time; '' when there is none. */
function logStamp(): string {
  try {
    const s = statSync(`${path}-wal`, { bigint: true });
    return `${s.size}/${s.mtimeNs}`;
  } catch {
    return '';
  }
}

function tick(): void {
  if (stopped) return;
  const stamp = logStamp();
  if (stamp !== seen) {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
      // The stamp from before: a write that lands during the checkpoint changes it, and the next tick sees that.
      seen = stamp;
    } catch {
      // Busy or locked: the next tick tries again; the writer's backstop bounds the log.
    }
  }
  timer = setTimeout(tick, everyMs);
}

parentPort?.on('message', () => {
  stopped = true;
  if (timer) clearTimeout(timer);
  db.close();
  parentPort?.close();
});
tick();
