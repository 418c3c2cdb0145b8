/** PostgreSQL access through a small connection pool; every statement uses parameters. */
import pg from 'pg';
import { bad, good, type Checked } from './checked.js';
import { errorMessage, type Logger } from './log.js';

export type Pool = pg.Pool;
export type DbClient = pg.PoolClient;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Opens a pool and waits (up to `waitMs`) until the database answers, so a service that an
 * orchestrator starts before its database does not crash-loop.
 */
export async function openDatabase(url: string, log: Logger, waitMs = 30_000): Promise<Checked<Pool>> {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
  // An idle client losing its server emits here; without a listener the process would die.
  pool.on('error', (err) => log.error(`database connection lost: ${errorMessage(err)}`));
  const deadline = Date.now() + waitMs;
  let last = '';
  for (;;) {
    try {
      await pool.query('SELECT 1');
      return good(pool);
    } catch (err) {
      last = errorMessage(err);
    }
    if (Date.now() >= deadline) {
      await pool.end().catch(() => undefined);
      return bad(`database ${redact(url)} not reachable within ${waitMs} ms: ${last}`);
    }
    await sleep(500);
  }
}

/** Runs `work` in one transaction; rolls back when it throws or returns `{ commit: false }`. */
export async function inTransaction<T>(pool: Pool, work: (client: DbClient) => Promise<{ commit: boolean; value: T }>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const outcome = await work(client);
    await client.query(outcome.commit ? 'COMMIT' : 'ROLLBACK');
    return outcome.value;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The SQLSTATE of a PostgreSQL error, if it is one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}
