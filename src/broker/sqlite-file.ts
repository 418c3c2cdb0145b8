/**
 * One SQLite database file shared by the embedded store and the embedded bus (one connection:
 * better-sqlite3 is synchronous, so sharing it serialises their writes for free). The file is
 * created private to its owner, since it holds the security context of every application.
 */
import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { diag, fail, ok, type Result } from '../diagnostics/index.js';

export type SqliteDb = Database.Database;
export type SqliteStatement = Database.Statement<unknown[], unknown>;

export const MEMORY_PATH = ':memory:';

/** Format of the file (store and bus tables); a file of another format is refused, not altered. */
const FILE_FORMAT = 1;

/** The writer checkpoints by itself only past this many log pages (the worker usually has). */
const BACKSTOP_PAGES = 16384;
/** Without a worker, the writer checkpoints as SQLite does by default (4 MiB of log at 4 KiB pages; 16 MiB here). */
const WRITER_PAGES = 1000;
const CHECKPOINT_EVERY_MS = 100;

interface Checkpointer {
  stop(): Promise<void>;
}

function startCheckpointer(path: string): Checkpointer | null {
  let w: Worker;
  try {
    w = new Worker(new URL('./checkpointer.js', import.meta.url), { workerData: { path, everyMs: CHECKPOINT_EVERY_MS } });
  } catch {
    return null;
  }
  const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
  // Never what keeps a process alive; a failing worker only leaves checkpoints to the writer.
  w.unref();
  w.on('error', () => undefined);
  return {
    async stop() {
      w.postMessage('stop');
      const timer = setTimeout(() => void w.terminate(), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface SqliteFile {
  readonly db: SqliteDb;
  readonly path: string;
  /** Each user (store, bus) closes its share; the connection closes with the last. */
  retain(): void;
  release(): Promise<void>;
  /** Called by writers: the background checkpointer starts with the first write, so a process that only reads never runs one. */
  writing(): void;
}

/**
 * Who copies the log into the database: `background`, a worker thread (for the processes that
 * write much: the controller, the API, a shared broker); `writer`, SQLite's own automatic
 * checkpoint inside a commit every WRITER_PAGES pages (for processes that write a few records a
 * period, a node agent: a worker's timer, isolate and syncs cost more there than the
 * checkpoints they move off the main thread, and every writer of a shared file running one
 * makes them race each other).
 */
export type CheckpointMode = 'background' | 'writer';

export function openSqliteFile(path: string, checkpoints: CheckpointMode = 'background'): Result<SqliteFile> {
  let db: SqliteDb;
  try {
    if (path !== MEMORY_PATH) {
      mkdirSync(dirname(path), { recursive: true });
      // Created 0600 here because SQLite would create it with the umask's mode.
      closeSync(openSync(path, 'a', 0o600));
    }
    db = new Database(path);
    // Checked before anything writes: a file of another format stays exactly as it was.
    const format = db.pragma('user_version', { simple: true }) as number;
    if (format !== 0 && format !== FILE_FORMAT) {
      db.close();
      return fail(
        diag('E_BROKER_UNAVAILABLE', `SQLite database ${path} has broker format ${format}; this flowtap reads format ${FILE_FORMAT}`, {
          file: path,
        }),
      );
    }
    // Only takes effect on a new file. Chunks are a few KiB each: with 16 KiB pages most fit in
    // one page, and a batch's commit writes a quarter of the log frames.
    db.pragma('page_size = 16384');
    db.pragma('journal_mode = WAL');
    // WAL with NORMAL: a commit is durable against a process crash; a power loss may lose the
    // last transactions, never corrupt the file.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 10000');
    db.pragma('cache_size = -65536');
    db.pragma('temp_store = MEMORY');
    if (path !== MEMORY_PATH) db.pragma(`wal_autocheckpoint = ${checkpoints === 'background' ? BACKSTOP_PAGES : WRITER_PAGES}`);
    if (format === 0) db.pragma(`user_version = ${FILE_FORMAT}`);
  } catch (e) {
    return fail(diag('E_BROKER_UNAVAILABLE', `cannot open SQLite database ${path}: ${(e as Error).message}`, { file: path }));
  }
  let checkpointer: Checkpointer | null = null;
  let started = path === MEMORY_PATH || checkpoints === 'writer';
  let users = 0;
  return ok({
    db,
    path,
    retain() {
      users++;
    },
    writing() {
      if (started) return;
      started = true;
      checkpointer = startCheckpointer(path);
    },
    async release() {
      if (--users > 0 || !db.open) return;
      // The worker goes first, so this connection is the file's last: its close checkpoints
      // and removes the log, and nothing touches the file once close() has returned.
      if (checkpointer) await checkpointer.stop();
      try {
        db.pragma('optimize');
      } catch {
        // Only statistics for the planner; closing matters more.
      }
      db.close();
    },
  });
}

/** A SQLite failure as the broker's diagnostic, for the caller's edge. */
export function sqliteError(path: string, what: string, e: unknown): ReturnType<typeof diag> {
  return diag('E_BROKER_IO', `SQLite ${path}: ${what} failed: ${(e as Error).message}`, { file: path });
}
