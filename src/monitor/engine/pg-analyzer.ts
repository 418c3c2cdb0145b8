import { SQL_LOG } from '../logs/index.js';
import { createPgParser, type PgOptions, type PgQuery, type PgResult } from '../postgres/index.js';
import { classifySql } from '../sql/index.js';
import type { StreamParser } from '../stream/index.js';
import type { AnalyzerEnv } from './analyzer-env.js';
import type { ConnSession } from './conn-session.js';

/** PostgreSQL on one connection: sql.log rows (one per result) and the SQL policies. */
export class PgAnalyzer implements StreamParser {
  private readonly parser: StreamParser;
  private user = '';
  private database = '';
  /** Queries sent and not yet answered, logged at the end if no result comes. */
  private readonly unanswered = new Set<PgQuery>();

  constructor(
    private readonly s: ConnSession,
    private readonly env: AnalyzerEnv,
    opts: Partial<PgOptions> = {},
  ) {
    this.parser = createPgParser(
      {
        startup: (st) => {
          s.service = 'postgresql';
          this.user = st.user;
          this.database = st.database;
        },
        query: (q) => {
          s.service = 'postgresql';
          this.unanswered.add(q);
          env.policy.sqlQuery(s.ctx, q.ts, q.sql, q.params);
        },
        result: (r) => {
          if (r.query) this.unanswered.delete(r.query);
          this.logResult(r.query, r.ts, r);
        },
        weird: (name, detail, _dir, ts) => env.weird(s, name, detail, ts, 'POSTGRESQL'),
      },
      opts,
    );
  }

  data(dir: 0 | 1, buf: Uint8Array, off: number, len: number, ts: number): void {
    this.parser.data(dir, buf, off, len, ts);
  }

  gap(dir: 0 | 1, len: number): void {
    this.parser.gap(dir, len);
  }

  end(ts: number): void {
    this.parser.end(ts);
    for (const q of this.unanswered) this.logResult(q, ts, null);
    this.unanswered.clear();
  }

  private logResult(q: PgQuery | undefined, ts: number, r: PgResult | null): void {
    const c = q ? classifySql(q.sql) : null;
    let error: string | null = null;
    if (r?.error) error = `${r.error.code} ${r.error.message}`;
    else if (r?.skipped) error = 'skipped after an earlier error in the batch';
    this.env.log(SQL_LOG, [
      q ? q.ts : ts,
      this.s.uid,
      ...this.s.idValues,
      this.user || null,
      this.database || null,
      q ? q.sql : null,
      c ? c.kind : null,
      c ? c.tables : null,
      r ? !r.error && !r.skipped : null,
      r ? (r.affected ?? r.rows) : null,
      error,
    ]);
  }
}
