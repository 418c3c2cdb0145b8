import type { Addressing, App } from '../../model/index.js';
import { isProbeSourcePort } from '../../net/index.js';
import { AppView } from './app-view.js';
import { evaluateConnection, type ConnContext } from './connection-policy.js';
import { headerValue, httpIdentity, sqlIdentity, traceIdOf, type Header } from './identity.js';
import {
  DEFAULT_INTEGRITY_OPTIONS,
  IntegrityTracker,
  type IntegrityOptions,
  type IntegrityStats,
  type TrackedRequest,
} from './integrity.js';
import { describeRequirements, type DecisionSink } from './decision.js';
import type { ConnId, Notice, NoticeSink, NoticeTypeName } from './notice.js';
import { protocolMismatch } from './protocol-mismatch.js';
import { requestSmuggling } from './request-smuggling.js';
import { checkHttpRequest, checkNatsSubject, checkSqlQuery, type RequestVerdict } from './request-policy.js';
import { Suppressor } from './suppressor.js';
import { DEFAULT_SYN_FLOOD_OPTIONS, SynFloodDetector, type SynFloodOptions } from './syn-flood.js';

export interface PolicyOptions {
  synFlood: SynFloodOptions;
  integrity: IntegrityOptions;
  /** Seconds an identical Unauthorized_Connection (same source, target and port) is not repeated (Zeek's default is an hour). */
  connectionSuppress: number;
  /** Seconds an identical request notice (same source, target and request) is not repeated. */
  requestSuppress: number;
}

export const DEFAULT_POLICY_OPTIONS: PolicyOptions = {
  synFlood: DEFAULT_SYN_FLOOD_OPTIONS,
  integrity: DEFAULT_INTEGRITY_OPTIONS,
  connectionSuppress: 3600,
  requestSuppress: 60,
};

export interface PolicyStats {
  notices: Partial<Record<NoticeTypeName, number>>;
  suppressed: number;
  halfOpen: number;
  integrity: IntegrityStats;
}

export interface HttpRequestInput {
  ts: number;
  method: string;
  uri: string;
  headers: readonly Header[];
  /** First bytes of the body. */
  body?: Uint8Array;
}

/**
 * Every policy of one monitor, built from the application model: the connection policy,
 * request-specific policies (HTTP, SQL, NATS), request integrity and SYN-flood detection.
 * The engine reports what it parsed; notices go to `sink`. Without a model only the SYN-flood
 * check runs (it needs no requirements).
 */
export class MonitorPolicy {
  readonly view: AppView | null;
  readonly opts: PolicyOptions;
  private readonly integrity: IntegrityTracker;
  private readonly synFlood: SynFloodDetector;
  private readonly suppressor = new Suppressor();
  private readonly counts: Partial<Record<NoticeTypeName, number>> = {};
  private readonly emit: NoticeSink;
  /** Receives every verdict as it is taken (an inline monitor); null when nobody needs them. */
  decisions: DecisionSink | null = null;

  constructor(model: { app: App; addressing: Addressing } | null, sink: NoticeSink, opts: Partial<PolicyOptions> = {}) {
    this.opts = { ...DEFAULT_POLICY_OPTIONS, ...opts };
    this.view = model ? new AppView(model.app, model.addressing) : null;
    this.emit = (n: Notice) => {
      this.counts[n.note] = (this.counts[n.note] ?? 0) + 1;
      sink(n);
    };
    this.integrity = new IntegrityTracker(this.emit, this.opts.integrity);
    this.synFlood = new SynFloodDetector(this.emit, this.opts.synFlood);
  }

  /** A connection started: the connection policy decides, once. */
  connection(uid: string, id: ConnId, ts: number): ConnContext | null {
    if (!this.view) return null;
    const { ctx, notice } = evaluateConnection(this.view, uid, id, ts);
    if (this.decisions && ctx.inScope && (id.proto === 'tcp' || id.proto === 'udp'))
      this.decisions({
        ts,
        uid,
        id,
        kind: 'connection',
        request: `${id.proto} connection`,
        allowed: ctx.authorized,
        reason: notice ? notice.msg : `allowed by ${describeRequirements(ctx.allowed)}`,
      });
    // flowtap's own probe is reported every time and suppresses nothing (see net/probe-ports.ts).
    if (notice && isProbeSourcePort(id.origP)) this.emit(notice);
    else if (notice)
      this.raise(
        notice,
        `${ctx.orig.instance ?? ctx.orig.ip}>${ctx.resp.instance ?? ctx.resp.ip}:${id.proto}/${id.respP}`,
        this.opts.connectionSuppress,
      );
    return ctx;
  }

  /** A connection ended with Zeek conn_state `state` (an attempt that failed: as soon as that is final). */
  connectionClosed(uid: string, id: ConnId, state: string, startTs: number, history = ''): void {
    this.synFlood.closed(uid, id, state, startTs, { service: this.view?.peerOf(id.respH).service ?? 'host' }, history);
  }

  /**
   * An HTTP request's head is complete: the moment a server may act on it, so the moment an
   * inline monitor needs the verdict (notices wait for the body, see httpRequest).
   */
  httpHead(ctx: ConnContext | null, ts: number, method: string, uri: string): void {
    if (!this.decisions || !ctx?.inScope) return;
    this.decide(ctx, ts, 'http', `${method} ${uri}`, checkHttpRequest(ctx, ts, method, uri));
  }

  /** An HTTP request's head and body prefix were parsed. Returns a handle for its response. */
  httpRequest(ctx: ConnContext | null, req: HttpRequestInput): TrackedRequest | null {
    if (!ctx?.inScope) return null;
    const v = checkHttpRequest(ctx, req.ts, req.method, req.uri);
    if (v.notice) this.raiseRequest(v.notice);
    return this.integrity.request({
      uid: ctx.uid,
      id: ctx.id,
      kind: 'http',
      ts: req.ts,
      from: ctx.orig,
      to: ctx.resp,
      traceId: traceIdOf(headerValue(req.headers, 'traceparent')),
      describe: `${req.method} ${req.uri}`,
      identity: v.identity ? httpIdentity(v.identity, req) : undefined,
      field: v.identity,
    });
  }

  httpResponse(handle: TrackedRequest | null, ts: number, headers: readonly Header[]): void {
    if (handle) this.integrity.response(handle, ts, traceIdOf(headerValue(headers, 'traceparent')));
  }

  /** A request that never got its response (the connection ended). */
  httpAbandoned(handle: TrackedRequest | null, ts: number): void {
    if (handle) this.integrity.response(handle, ts, undefined);
  }

  /** A SQL query was sent (simple Query, or Execute of a bound statement with its parameters). */
  sqlQuery(ctx: ConnContext | null, ts: number, sql: string, params: readonly (string | null)[]): void {
    if (!ctx?.inScope) return;
    const v = checkSqlQuery(ctx, ts, sql);
    this.decide(ctx, ts, 'sql', clip(sql), v);
    if (v.notice) this.raiseRequest(v.notice);
    if (ctx.orig.instance === undefined || v.statements.every((s) => s.control)) return;
    this.integrity.request({
      uid: ctx.uid,
      id: ctx.id,
      kind: 'sql',
      ts,
      from: ctx.orig,
      to: ctx.resp,
      traceId: undefined,
      describe: clip(sql),
      identity: v.identity ? sqlIdentity(v.identity, params) : undefined,
      field: v.identity,
    });
  }

  natsPublish(ctx: ConnContext | null, ts: number, subject: string): void {
    if (!ctx?.inScope) return;
    const v = checkNatsSubject(ctx, ts, 'publish', subject);
    this.decide(ctx, ts, 'nats', `PUB ${subject}`, v);
    if (v.notice) this.raiseRequest(v.notice);
  }

  natsSubscribe(ctx: ConnContext | null, ts: number, subject: string): void {
    if (!ctx?.inScope) return;
    const v = checkNatsSubject(ctx, ts, 'subscribe', subject);
    this.decide(ctx, ts, 'nats', `SUB ${subject}`, v);
    if (v.notice) this.raiseRequest(v.notice);
  }

  /** A message delivered by the server to the client (the connection's originator). */
  natsDelivered(ctx: ConnContext | null, ts: number, subject: string, headers: readonly Header[]): void {
    if (!ctx?.inScope) return;
    this.integrity.message({
      uid: ctx.uid,
      id: ctx.id,
      ts,
      from: ctx.resp,
      to: ctx.orig,
      traceId: traceIdOf(headerValue(headers, 'traceparent')),
      describe: `MSG ${subject}`,
    });
  }

  /**
   * An HTTP request's framing is ambiguous (see request-smuggling.ts); once per connection per
   * `requestSuppress`, with or without a model.
   */
  httpSmuggling(uid: string, id: ConnId, ts: number, weird: string, detail: string, request: string): void {
    this.raise(requestSmuggling(uid, id, ts, weird, detail, request), uid, this.opts.requestSuppress);
  }

  /** A connection's first bytes are not the protocol its port promises (the engine asks once per connection). */
  protocolMismatch(ctx: ConnContext, ts: number, expected: string, seen: string): void {
    this.emit(protocolMismatch(ctx, ts, expected, seen));
  }

  tick(now: number): void {
    this.integrity.tick(now);
  }

  finish(now: number): void {
    this.integrity.finish(now);
  }

  stats(): PolicyStats {
    return {
      notices: { ...this.counts },
      suppressed: this.suppressor.suppressed,
      halfOpen: this.synFlood.halfOpen,
      integrity: { ...this.integrity.stats },
    };
  }

  private decide(ctx: ConnContext, ts: number, kind: 'http' | 'sql' | 'nats', request: string, v: RequestVerdict): void {
    if (!this.decisions) return;
    const allowed = ctx.authorized && v.notice === undefined;
    const reason = v.notice
      ? v.notice.msg
      : !ctx.authorized
        ? 'the connection itself is not allowed'
        : `allowed by ${describeRequirements(v.allowedBy)}`;
    this.decisions({ ts, uid: ctx.uid, id: ctx.id, kind, request, allowed, reason });
  }

  private raise(n: Notice, key: string, interval: number): void {
    if (!this.suppressor.allow(`${n.note}|${key}`, n.ts, interval)) return;
    n.suppressFor = interval;
    this.emit(n);
  }

  private raiseRequest(n: Notice): void {
    this.raise(n, `${n.id?.origH}>${n.id?.respH}:${n.id?.respP}|${n.evidence.request ?? ''}`, this.opts.requestSuppress);
  }
}

function clip(s: string, max = 200): string {
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
