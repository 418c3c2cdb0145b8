import { EMPTY_BYTES, printable, printableText, viewOf, type Dir, type StreamParser } from '../stream/index.js';
import { CL_CONFLICT, CL_INVALID, CL_NONE, chunkedIsFinal } from './framing.js';
import {
  MessageReader,
  S_BODY,
  S_CHUNK_DATA,
  S_CHUNK_END,
  S_CHUNK_END_LF,
  S_CHUNK_SIZE,
  S_HEADERS,
  S_HOLD,
  S_RESYNC,
  S_START,
  S_TRAILERS,
  S_TUNNEL,
  type MessageOwner,
} from './message-reader.js';
import { LOOSE_LEADING_WS, LOOSE_VERSION, parseRequestLine, parseStatusLine, type RequestLine } from './start-line.js';
import { DEFAULT_HTTP_OPTIONS, HTTP_WEIRDS as W, type HttpOptions, type HttpSink, type HttpTransaction, type TunnelKind } from './types.js';

function newTransaction(rl: RequestLine | null, ts: number): HttpTransaction {
  return {
    depth: 0,
    ts,
    method: rl ? rl.method : '',
    uri: rl ? rl.uri : '',
    version: rl ? rl.version : '',
    headers: [],
    host: '',
    userAgent: '',
    requestBodyLen: 0,
    requestTrailers: [],
    requestIncomplete: false,
    status: 0,
    reason: '',
    responseVersion: '',
    responseHeaders: [],
    responseTs: 0,
    responseBodyLen: 0,
    responseTrailers: [],
    responseIncomplete: false,
  };
}

/** Zeek's list of methods (HTTP::http_methods) and PATCH; others are logged and flagged. */
const KNOWN_METHODS = new Set([
  'GET',
  'POST',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
  'TRACE',
  'CONNECT',
  'PATCH',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'POLL',
  'REPORT',
  'SUBSCRIBE',
  'BMOVE',
  'SEARCH',
]);

function inBody(state: number): boolean {
  return (
    state === S_BODY ||
    state === S_CHUNK_SIZE ||
    state === S_CHUNK_DATA ||
    state === S_CHUNK_END ||
    state === S_CHUNK_END_LF ||
    state === S_TRAILERS
  );
}

/**
 * HTTP/1.x over one TCP connection: requests from the originator, responses from the responder,
 * paired first-in first-out as pipelining requires.
 */
class HttpParser implements StreamParser, MessageOwner {
  private readonly req: MessageReader;
  private readonly res: MessageReader;
  /** Requests whose head is complete and whose final response has not started; `head` is the front. */
  private pending: HttpTransaction[] = [];
  private head = 0;
  private depth = 0;
  private tunnelled = false;
  private ended = false;
  private overflowReported = false;

  constructor(
    private readonly sink: HttpSink,
    readonly opts: HttpOptions,
  ) {
    this.req = new MessageReader(0, opts, this);
    this.res = new MessageReader(1, opts, this);
  }

  data(dir: Dir, buf: Uint8Array, off: number, len: number, ts: number): void {
    if (this.ended) return;
    const b = viewOf(buf, off, len);
    if (b.length > 0) (dir === 0 ? this.req : this.res).feed(b, ts);
  }

  gap(dir: Dir, len: number): void {
    if (this.ended || !(len > 0)) return;
    (dir === 0 ? this.req : this.res).gap(len);
  }

  end(ts: number): void {
    if (this.ended) return;
    this.ended = true;
    this.req.ts = ts;
    this.res.ts = ts;
    this.req.end();
    this.res.end();
  }

  weird(name: string, detail: string, dir: Dir, ts: number): void {
    this.sink.weird?.(name, detail, dir, ts);
  }

  private front(): HttpTransaction | undefined {
    return this.head < this.pending.length ? this.pending[this.head] : undefined;
  }

  private shift(): void {
    this.head++;
    if (this.head > 32 && this.head * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
  }

  private emitRequest(r: MessageReader, tx: HttpTransaction): void {
    tx.depth = ++this.depth;
    if (this.pending.length - this.head >= this.opts.maxPendingRequests) {
      // Typically a tap that sees one direction only: forget the oldest rather than grow.
      this.shift();
      if (!this.overflowReported) {
        this.overflowReported = true;
        r.weird(W.pendingOverflow, `more than ${this.opts.maxPendingRequests} requests without a response`);
      }
    }
    this.pending.push(tx);
    this.sink.request?.(tx);
  }

  expects09(r: MessageReader): boolean {
    return r.dir === 1 && this.front()?.version === '0.9';
  }

  startLine(r: MessageReader, line: Buffer, s: number, e: number): void {
    if (r.dir === 1) {
      const resyncing = r.state === S_RESYNC;
      const st = parseStatusLine(line, s, e, r.text);
      if (!st) {
        if (!resyncing) {
          r.weird(W.badReply, printable(line, s, e));
          r.resync();
        }
        return;
      }
      if (resyncing) r.weird(W.replyResynced, `resumed at ${printable(line, s, e)}`);
      if (st.loose & LOOSE_VERSION) r.weird(W.looseVersion, printable(line, s, e));
      r.status = st.status;
      r.reason = st.reason;
      r.version = st.version;
      r.state = S_HEADERS;
      return;
    }
    const resyncing = r.state === S_RESYNC;
    const cut = r.cut;
    r.cut = false;
    const rl = parseRequestLine(line, s, e, r.text, cut);
    if (!rl || (resyncing && rl.version === '0.9')) {
      if (!resyncing && !cut) {
        r.weird(W.badRequest, printable(line, s, e));
        r.resync();
      }
      return;
    }
    if (resyncing) r.weird(W.resynced, `resumed at ${printable(line, s, e)}`);
    if (rl.loose !== 0) {
      if (rl.loose & LOOSE_VERSION) r.weird(W.looseVersion, printable(line, s, e));
      if (rl.loose & LOOSE_LEADING_WS) r.weird(W.leadingWhitespace, printable(line, s, e));
    }
    if (!KNOWN_METHODS.has(rl.method)) r.weird(W.unknownMethod, printableText(rl.method));
    if (rl.uriHasWhitespace) r.weird(W.whitespaceInUri, printableText(rl.uri));
    const tx = newTransaction(rl, r.ts);
    r.tx = tx;
    if (rl.version === '0.9') {
      this.emitRequest(r, tx);
      this.done(r);
    } else r.state = S_HEADERS;
  }

  headersDone(r: MessageReader): void {
    if (r.dir === 0) {
      const tx = r.tx;
      if (!tx) return;
      tx.headers = r.headers;
      tx.host = r.host;
      tx.userAgent = r.userAgent;
      this.emitRequest(r, tx);
      this.frameBody(r);
      return;
    }
    const status = r.status;
    const q = this.req;
    if (this.head >= this.pending.length && q.state === S_HEADERS && q.tx) {
      // The server answers a head the monitor has not seen end (a client that half-closed, a
      // server that stops reading): the server acted on what it had, so that is the request.
      q.weird(W.truncatedHeader, 'the reply began before the request head was complete');
      this.headCut(q);
    }
    let tx = this.front();
    const matched = tx !== undefined;
    if (!tx) {
      r.weird(W.unmatchedReply, `${status} ${printableText(r.reason)}`);
      tx = newTransaction(null, r.ts);
      tx.depth = ++this.depth;
    }
    r.tx = tx;
    if (status < 200 && status !== 101) {
      this.sink.informational?.(tx, status, r.reason, r.headers);
      r.tx = null;
      r.state = S_START;
      return;
    }
    if (matched) this.shift();
    tx.status = status;
    tx.reason = r.reason;
    tx.responseVersion = r.version;
    tx.responseHeaders = r.headers;
    tx.responseTs = r.ts;
    this.sink.response?.(tx, status, r.reason, r.headers);
    if (status === 101) {
      this.done(r);
      this.startTunnel(tx, 'upgrade');
      return;
    }
    if (tx.method === 'CONNECT') {
      if (status < 300) {
        this.done(r);
        this.startTunnel(tx, 'connect');
        return;
      }
      this.releaseHold();
    }
    if (tx.method === 'HEAD' || status === 204 || status === 304) r.beginBody(0);
    else this.frameBody(r);
  }

  /** RFC 9112 §6.3: Transfer-Encoding, then Content-Length, then none (no body / until close). */
  private frameBody(r: MessageReader): void {
    const te = r.transferEncoding;
    if (te !== '') {
      if (r.contentLength !== CL_NONE) {
        const detail = `transfer-encoding: ${printableText(te)}; content-length: ${printableText(r.contentLengthRaw)}`;
        // A front end reading the length and a back end reading the chunks (or the reverse) see
        // different requests: neither reading can be trusted, so look for request lines in both.
        if (r.dir === 0) {
          this.framingError(r, W.teAndCl, detail);
          return;
        }
        r.weird(W.teAndCl, detail);
      }
      if (chunkedIsFinal(te)) r.beginChunked();
      else if (r.dir === 0) this.framingError(r, W.badTransferEncoding, printableText(te));
      else r.beginTillClose();
      return;
    }
    const cl = r.contentLength;
    if (cl === CL_INVALID) this.framingError(r, W.badContentLength, printableText(r.contentLengthRaw));
    else if (cl === CL_CONFLICT) this.framingError(r, W.conflictingContentLength, printableText(r.contentLengthRaw));
    else if (cl === CL_NONE) {
      if (r.dir === 0) r.beginBody(0);
      else r.beginTillClose();
    } else r.beginBody(cl);
  }

  body(r: MessageReader, buf: Buffer, s: number, e: number): void {
    const tx = r.tx;
    if (!tx) return;
    if (r.dir === 0) {
      if (this.sink.requestBody) this.sink.requestBody(tx, buf.subarray(s, e));
    } else if (this.sink.responseBody) this.sink.responseBody(tx, buf.subarray(s, e));
  }

  /**
   * The framing of `r`'s message is broken: the message ends here (incomplete) and the reader
   * looks for the next start line. On requests this is how smuggling works, so the sink hears.
   */
  framingError(r: MessageReader, name: string, detail: string): void {
    r.weird(name, detail);
    const tx = r.tx;
    if (r.dir === 0) this.sink.desync?.(tx, name, detail, r.ts);
    if (tx) {
      r.incomplete = true;
      this.done(r);
    }
    if (!this.tunnelled) r.resync();
  }

  /** What was seen of a head that will not complete is still a request (or response) to report. */
  headCut(r: MessageReader): void {
    if (r.state !== S_HEADERS) return;
    if (r.dir === 0) {
      const tx = r.tx;
      if (!tx) return;
      r.takePartialHeader();
      tx.headers = r.headers;
      tx.host = r.host;
      tx.userAgent = r.userAgent;
      this.emitRequest(r, tx);
      r.incomplete = true;
      this.done(r);
      return;
    }
    if (r.status === 0) return;
    let tx = this.front();
    if (tx) this.shift();
    else {
      tx = newTransaction(null, r.ts);
      tx.depth = ++this.depth;
    }
    r.tx = tx;
    tx.status = r.status;
    tx.reason = r.reason;
    tx.responseVersion = r.version;
    tx.responseHeaders = r.headers;
    tx.responseTs = r.ts;
    this.sink.response?.(tx, r.status, r.reason, r.headers);
    r.incomplete = true;
    this.done(r);
  }

  done(r: MessageReader): void {
    const tx = r.tx;
    r.tx = null;
    r.endBody();
    if (r.dir === 0) {
      r.state = this.tunnelled ? S_TUNNEL : tx?.method === 'CONNECT' ? S_HOLD : S_START;
      r.held = 0;
      if (!tx) return;
      tx.requestBodyLen = r.bodyLen;
      tx.requestIncomplete = r.incomplete;
      const onDone = this.sink.requestDone;
      if (onDone) onDone.call(this.sink, tx, r.bodyLen, r.prefixLen > 0 ? r.prefixCopy() : EMPTY_BYTES);
    } else {
      r.state = this.tunnelled ? S_TUNNEL : S_START;
      if (!tx) return;
      tx.responseBodyLen = r.bodyLen;
      tx.responseIncomplete = r.incomplete;
      this.sink.responseDone?.(tx, r.bodyLen);
    }
  }

  begin09(r: MessageReader): void {
    const tx = this.front();
    if (!tx) return;
    this.shift();
    tx.responseVersion = '0.9';
    tx.responseTs = r.ts;
    r.tx = tx;
    this.sink.response?.(tx, 0, '', tx.responseHeaders);
  }

  /** A CONNECT was refused: what the client sent meanwhile was HTTP after all, but is lost. */
  private releaseHold(): void {
    const q = this.req;
    if (q.state !== S_HOLD) return;
    if (q.held > 0) q.weird(W.dataBeforeConnectReply, `${q.held} bytes sent before the CONNECT reply were not parsed`);
    q.held = 0;
    q.state = S_START;
  }

  private startTunnel(tx: HttpTransaction, kind: TunnelKind): void {
    if (this.req.tx && inBody(this.req.state)) {
      this.req.incomplete = true;
      this.done(this.req);
    }
    this.tunnelled = true;
    this.req.state = S_TUNNEL;
    this.res.state = S_TUNNEL;
    this.req.lines.reset();
    this.res.lines.reset();
    this.sink.tunnel?.(tx, kind);
  }

  lostSync(r: MessageReader, len: number): void {
    if (r.tx && inBody(r.state)) {
      r.incomplete = true;
      this.done(r);
    } else this.headCut(r);
    r.tx = null;
    const what = r.dir === 0 ? 'requests; looking for the next request line' : 'replies; looking for the next status line';
    r.weird(W.gapLostSync, `${len} byte gap in ${what}`);
    r.resync();
  }
}

/** An HTTP/1.x parser for one connection; `opts` overrides the defaults field by field. */
export function createHttpParser(sink: HttpSink, opts: Partial<HttpOptions> = {}): StreamParser {
  return new HttpParser(sink, { ...DEFAULT_HTTP_OPTIONS, ...opts });
}
