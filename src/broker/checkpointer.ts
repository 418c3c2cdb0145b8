/**
 * Worker thread: checkpoints a SQLite file's write-ahead log in the background (PASSIVE: never
 * blocks the writer), so the process that appends does not pay for copying the log into the
 * database and syncing it inside its commits. The writer keeps SQLite's own automatic
 * checkpoint as a backstop at a larger log size.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { path, everyMs } = workerData as { path: string; everyMs: number };
const db = new Database(path);
db.pragma('busy_timeout = 50');
let stopped = false;
let timer: NodeJS.Timeout | null = null;

function tick(): void {
  if (stopped) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or locked: the next tick tries again; the writer's backstop bounds the log.
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
