import { HTTP_LOG } from '../logs/index.js';
import { createHttpParser, type HttpOptions, type HttpTransaction } from '../http/index.js';
import type { StreamParser } from '../stream/index.js';
import type { TrackedRequest } from '../policy/index.js';
import type { AnalyzerEnv } from './analyzer-env.js';
import type { ConnSession } from './conn-session.js';
import { httpRow } from './log-rows.js';

interface TxState {
  handle: TrackedRequest | null;
  requestDone: boolean;
  infoCode: number;
  infoMsg: string;
}

/**
 * HTTP on one connection: http.log rows (one per transaction, written when its response ends,
 * or when the connection ends without one) and the HTTP policies.
 */
export class HttpAnalyzer implements StreamParser {
  private readonly parser: StreamParser;
  /** Transactions seen and not yet logged, in order. */
  private readonly open = new Map<HttpTransaction, TxState>();

  constructor(
    private readonly s: ConnSession,
    private readonly env: AnalyzerEnv,
    opts: Partial<HttpOptions> = {},
  ) {
    this.parser = createHttpParser(
      {
        request: (tx) => {
          s.service = 'http';
          env.policy.httpHead(s.ctx, tx.ts, tx.method, tx.uri);
          this.open.set(tx, { handle: null, requestDone: false, infoCode: 0, infoMsg: '' });
        },
        requestDone: (tx, _len, prefix) => {
          const st = this.state(tx);
          st.requestDone = true;
          st.handle = env.policy.httpRequest(s.ctx, { ts: tx.ts, method: tx.method, uri: tx.uri, headers: tx.headers, body: prefix });
          // The server may answer before the body is complete.
          if (tx.status !== 0) env.policy.httpResponse(st.handle, tx.responseTs, tx.responseHeaders);
        },
        informational: (tx, status, reason) => {
          const st = this.state(tx);
          st.infoCode = status;
          st.infoMsg = reason;
        },
        response: (tx, _status, _reason, headers) => {
          const st = this.state(tx);
          if (st.requestDone) env.policy.httpResponse(st.handle, tx.responseTs, headers);
        },
        responseDone: (tx) => this.finishTx(tx, tx.responseTs),
        tunnel: (tx) => this.finishTx(tx, tx.responseTs),
        weird: (name, detail, _dir, ts) => env.weird(s, name, detail, ts, 'HTTP'),
        desync: (tx, name, detail, ts) => env.policy.httpSmuggling(s.uid, s.id, ts, name, detail, tx ? `${tx.method} ${tx.uri}` : ''),
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
    for (const tx of [...this.open.keys()]) this.finishTx(tx, ts);
  }

  private state(tx: HttpTransaction): TxState {
    let st = this.open.get(tx);
    if (!st) {
      // A response with no request (capture started mid-connection).
      st = { handle: null, requestDone: false, infoCode: 0, infoMsg: '' };
      this.open.set(tx, st);
    }
    return st;
  }

  private finishTx(tx: HttpTransaction, ts: number): void {
    const st = this.open.get(tx);
    if (!st) return;
    this.open.delete(tx);
    if (tx.status === 0) this.env.policy.httpAbandoned(st.handle, ts);
    this.env.log(HTTP_LOG, httpRow(tx, this.s, { code: st.infoCode, msg: st.infoMsg }));
  }
}
