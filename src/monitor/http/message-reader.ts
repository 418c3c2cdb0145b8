import {
  CR,
  HT,
  LF,
  LINE_PARTIAL,
  LINE_TOO_LONG,
  LineReader,
  SP,
  indexOfByte,
  isTchar,
  latin1,
  printable,
  skipWs,
  trimWsEnd,
  type Dir,
} from '../stream/index.js';
import { BodyDecoder, CODING_NONE, DECODE_BOMB, DECODE_OK, canDecode, contentCoding } from './content-coding.js';
import { CL_NONE, CHUNK_INVALID, CHUNK_TOO_LARGE, foldContentLength, parseChunkSize } from './framing.js';
import { knownHeaderName } from './header-names.js';
import { HTTP_WEIRDS as W, type HttpHeader, type HttpOptions, type HttpTransaction } from './types.js';

/** Waiting for a start line (blank lines between messages are skipped). */
export const S_START = 0;
export const S_HEADERS = 1;
export const S_BODY = 2;
export const S_CHUNK_SIZE = 3;
export const S_CHUNK_DATA = 4;
/** After chunk data: expecting CR LF (or a bare LF). */
export const S_CHUNK_END = 5;
export const S_CHUNK_END_LF = 6;
export const S_TRAILERS = 7;
const S_TILL_CLOSE = 8;
/** Lost sync: looking for a line that is a request line with a version. */
export const S_RESYNC = 9;
/** First bytes of a reply to an HTTP/0.9 request: a status line or raw content. */
const S_PEEK09 = 10;
/** Client bytes after CONNECT, before its reply says whether they are tunnelled. */
export const S_HOLD = 11;
export const S_TUNNEL = 12;
const S_DEAD = 13;

/** What a reader needs from the connection: the HTTP semantics that differ between directions. */
export interface MessageOwner {
  /** Whether a message starting now answers an HTTP/0.9 request (so may have no status line). */
  expects09(r: MessageReader): boolean;
  /** Decides the next state; `line[s, e)` is a non-blank start line (or a resync candidate). */
  startLine(r: MessageReader, line: Buffer, s: number, e: number): void;
  /** The empty line after the headers; chooses the body framing. */
  headersDone(r: MessageReader): void;
  body(r: MessageReader, buf: Buffer, s: number, e: number): void;
  /** The message is complete (or ended early, with `incomplete` set on the transaction). */
  done(r: MessageReader): void;
  /** A reply to HTTP/0.9 without a status line: raw content until close. */
  begin09(r: MessageReader): void;
  /** A gap where the framing cannot be followed. */
  lostSync(r: MessageReader, len: number): void;
  /** The body's framing is broken (`name`: the weird): report it and look for the next message. */
  framingError(r: MessageReader, name: string, detail: string): void;
  /** The head of the current message will never complete (end of connection, gap): report what was seen. */
  headCut(r: MessageReader): void;
  weird(name: string, detail: string, dir: Dir, ts: number): void;
}

const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f];
/** Completes a partial line at the end of the connection, to parse what was seen of it. */
const LF_ONLY = Buffer.from('\n');
/** The body's decoding stopped: it is counted as sent (see abandonDecoding). */
const ABANDONED = -1;

/** Bytes of a piece decoded at a time for header fields. */
const TEXT_WINDOW = 512;

/**
 * The framing of one direction of HTTP/1.x: start line, headers, then a body delimited by
 * Content-Length, chunked coding or the end of the connection. It knows nothing of requests versus
 * responses; the owner decides at the start line and after the headers.
 */
export class MessageReader {
  state = S_START;
  readonly lines: LineReader;
  /** Discarding up to the next LF (an overlong line while resyncing). */
  skipping = false;
  ts = 0;
  tx: HttpTransaction | null = null;

  headers: HttpHeader[] = [];
  headBytes = 0;
  headerCount = 0;
  inTrailers = false;
  contentLength = CL_NONE;
  contentLengthRaw = '';
  transferEncoding = '';
  contentEncoding = '';
  host = '';
  userAgent = '';
  /** Start-line fields of a response, kept until its headers are complete. */
  status = 0;
  reason = '';
  version = '';

  remaining = 0;
  bodyLen = 0;
  /** Body bytes were lost (gap) or the connection ended inside the body. */
  incomplete = false;
  private readonly prefix: Uint8Array;
  prefixLen = 0;
  /** Content coding of the current body (CODING_*, or ABANDONED), its decoder once bytes arrive. */
  private coding = CODING_NONE;
  private decoder: BodyDecoder | null = null;
  /** Encoded bytes of the current body so far (a coded body only). */
  private wireLen = 0;
  /** The connection ended inside the start line: parse it as far as it goes. */
  cut = false;
  /** Bytes discarded while holding after CONNECT. */
  held = 0;
  private readonly peek = Buffer.alloc(5);
  private peekLen = 0;
  /** The piece being parsed and its latin1 text, decoded at most once and only if a field needs it. */
  private piece: Buffer = Buffer.alloc(0);
  private pieceText: string | null = null;
  private pieceTextBase = 0;
  private pieceTextNul = false;
  private lineTextNul = false;
  /** Whether the text the last `textOf` sliced from contains a NUL: lets fields skip their own check. */
  private textNul = false;
  /** The text of the current line when it was assembled from several pieces. */
  private lineText: string | null = null;
  /** Bound once so start-line parsers can decode fields without allocating a closure per line. */
  readonly text = (s: number, e: number): string => this.textOf(s, e);

  constructor(
    readonly dir: Dir,
    readonly opts: HttpOptions,
    private readonly owner: MessageOwner,
  ) {
    this.lines = new LineReader(opts.maxHeaderBytes);
    this.prefix = new Uint8Array(dir === 0 ? Math.max(0, opts.bodyPrefixBytes | 0) : 0);
  }

  /** A copy of the first body bytes of the current message. */
  prefixCopy(): Uint8Array {
    return this.prefix.slice(0, this.prefixLen);
  }

  /**
   * Field text of the current line. Decoding a whole piece (or a whole reassembled line) once and
   * slicing it is far cheaper than one native decode per field.
   */
  private textOf(s: number, e: number): string {
    if (e <= s) return '';
    const { line } = this.lines;
    if (line === this.piece) {
      let t = this.pieceText;
      let base = this.pieceTextBase;
      if (t === null || s < base || e > base + t.length) {
        // A window from the current line on: big enough for a typical head, small enough not to
        // copy the body bytes that usually follow it in the same piece.
        base = Math.min(s, this.lines.start);
        t = this.pieceText = latin1(line, base, Math.min(line.length, Math.max(e, base + TEXT_WINDOW)));
        this.pieceTextBase = base;
        this.pieceTextNul = t.indexOf('\0') >= 0;
      }
      this.textNul = this.pieceTextNul;
      return t.slice(s - base, e - base);
    }
    const base = this.lines.start;
    if (this.lineText === null) {
      this.lineText = latin1(line, base, this.lines.end);
      this.lineTextNul = this.lineText.indexOf('\0') >= 0;
    }
    this.textNul = this.lineTextNul;
    return this.lineText.slice(s - base, e - base);
  }

  weird(name: string, detail: string): void {
    this.owner.weird(name, detail, this.dir, this.ts);
  }

  /** Reports why and stops parsing this direction for good. */
  die(name: string, detail: string): void {
    this.weird(name, detail);
    this.state = S_DEAD;
    this.lines.reset();
  }

  /** Clears per-message fields before a new start line. */
  beginMessage(): void {
    this.headers = [];
    this.headBytes = 0;
    this.headerCount = 0;
    this.inTrailers = false;
    this.contentLength = CL_NONE;
    this.contentLengthRaw = '';
    this.transferEncoding = '';
    this.contentEncoding = '';
    this.host = '';
    this.userAgent = '';
    this.remaining = 0;
    this.bodyLen = 0;
    this.incomplete = false;
    this.prefixLen = 0;
    this.endBody();
  }

  /** Frees the decoder of the body that just ended (or was abandoned). */
  endBody(): void {
    this.coding = CODING_NONE;
    if (this.decoder !== null) {
      this.decoder.close();
      this.decoder = null;
    }
  }

  private startBody(): void {
    this.coding = this.contentEncoding === '' || !canDecode ? CODING_NONE : contentCoding(this.contentEncoding);
    this.wireLen = 0;
  }

  /**
   * Decoding stopped (a bomb, a broken stream, a gap): from here the body is measured as sent,
   * from its first byte, and no more content is handed on. Where decoding stopped depends on how
   * the stream was cut; the encoded length does not, so the log does not either.
   */
  private abandonDecoding(): void {
    this.bodyLen = this.wireLen;
    if (this.decoder !== null) {
      this.decoder.close();
      this.decoder = null;
    }
    this.coding = ABANDONED;
  }

  beginBody(length: number): void {
    if (length > 0) {
      this.startBody();
      this.remaining = length;
      this.state = S_BODY;
    } else this.owner.done(this);
  }

  beginChunked(): void {
    this.startBody();
    this.state = S_CHUNK_SIZE;
  }

  beginTillClose(): void {
    this.startBody();
    this.state = S_TILL_CLOSE;
  }

  /** A header line cut short (no LF yet) is taken as it stands: the head will not get more. */
  takePartialHeader(): void {
    if (this.state !== S_HEADERS || this.lines.pending === 0) return;
    if (this.lines.next(LF_ONLY, 0) >= 0 && this.lines.end > this.lines.start) {
      this.lineText = null;
      this.headerLine(this.lines.line, this.lines.start, this.lines.end);
    }
  }

  /** Looks for the next start line, line by line (after a framing error or a gap). */
  resync(): void {
    this.endBody();
    this.lines.reset();
    this.skipping = false;
    this.state = S_RESYNC;
  }

  feed(b: Buffer, ts: number): void {
    this.ts = ts;
    this.piece = b;
    this.pieceText = null;
    let pos = 0;
    while (pos < b.length) {
      switch (this.state) {
        case S_START:
          if (this.lines.pending === 0 && this.owner.expects09(this)) {
            this.state = S_PEEK09;
            this.peekLen = 0;
            break;
          }
          pos = this.readStart(b, pos);
          break;
        case S_HEADERS:
        case S_TRAILERS:
          pos = this.readHeader(b, pos);
          break;
        case S_BODY:
        case S_CHUNK_DATA:
          pos = this.readCounted(b, pos);
          break;
        case S_CHUNK_SIZE:
          pos = this.readChunkSize(b, pos);
          break;
        case S_CHUNK_END:
        case S_CHUNK_END_LF:
          pos = this.readChunkEnd(b, pos);
          break;
        case S_TILL_CLOSE:
          this.deliver(b, pos, b.length);
          pos = b.length;
          break;
        case S_RESYNC:
          pos = this.readResync(b, pos);
          break;
        case S_PEEK09:
          pos = this.readPeek09(b, pos);
          break;
        case S_HOLD:
          this.held += b.length - pos;
          pos = b.length;
          break;
        default:
          return;
      }
    }
  }

  private readStart(b: Buffer, pos: number): number {
    const r = this.lines.next(b, pos);
    if (r === LINE_PARTIAL) return b.length;
    if (r === LINE_TOO_LONG) {
      // A server with larger limits may still act on what follows: skip the line, keep looking.
      this.weird(W.lineTooLong, `start line longer than ${this.opts.maxHeaderBytes} bytes`);
      this.resync();
      this.skipping = true;
      return pos;
    }
    this.lineText = null;
    const { line, start, end } = this.lines;
    if (end === start) return r;
    this.beginMessage();
    this.headBytes = this.lines.raw;
    this.owner.startLine(this, line, start, end);
    return r;
  }

  private readResync(b: Buffer, pos: number): number {
    if (this.skipping) {
      const r = this.lines.skipLine(b, pos);
      if (r === LINE_PARTIAL) return b.length;
      this.skipping = false;
      return r;
    }
    const r = this.lines.next(b, pos);
    if (r === LINE_PARTIAL) return b.length;
    if (r === LINE_TOO_LONG) {
      this.skipping = true;
      return pos;
    }
    this.lineText = null;
    const { line, start, end } = this.lines;
    if (end > start) {
      this.beginMessage();
      this.headBytes = this.lines.raw;
      this.owner.startLine(this, line, start, end);
    }
    return r;
  }

  private tooLarge(): void {
    const what = this.inTrailers ? 'trailers' : 'message head';
    this.abandonHead(W.headerTooLarge, `${what} larger than ${this.opts.maxHeaderBytes} bytes`);
  }

  /**
   * A head past the limits: report what was seen of it and look for the next message, since a
   * server with larger limits would carry on (going blind here would be an evasion).
   */
  private abandonHead(name: string, detail: string): void {
    this.weird(name, detail);
    // The line that broke the limit is dropped whole, wherever the stream was cut.
    this.lines.reset();
    if (this.inTrailers) {
      this.incomplete = true;
      this.owner.done(this);
    } else this.owner.headCut(this);
    this.resync();
  }

  private readHeader(b: Buffer, pos: number): number {
    const r = this.lines.next(b, pos);
    if (r === LINE_PARTIAL) {
      // +1: the LF still to come; keeps the verdict independent of where the stream was cut.
      if (this.headBytes + this.lines.pending + 1 > this.opts.maxHeaderBytes) {
        this.tooLarge();
        this.skipping = true;
      }
      return b.length;
    }
    if (r === LINE_TOO_LONG) {
      this.tooLarge();
      this.skipping = true;
      return pos;
    }
    this.headBytes += this.lines.raw;
    if (this.headBytes > this.opts.maxHeaderBytes) {
      this.tooLarge();
      return r;
    }
    this.lineText = null;
    const { line, start, end } = this.lines;
    if (end === start) {
      if (this.inTrailers) this.owner.done(this);
      else this.owner.headersDone(this);
      return r;
    }
    if (++this.headerCount > this.opts.maxHeaders) {
      this.abandonHead(W.tooManyHeaders, `more than ${this.opts.maxHeaders} header lines`);
      return r;
    }
    this.headerLine(line, start, end);
    return r;
  }

  private headerLine(line: Buffer, s: number, e: number): void {
    const list = this.inTrailers ? this.trailerList() : this.headers;
    if (line[s] === SP || line[s] === HT) {
      const last = list[list.length - 1];
      const vs = skipWs(line, s, e);
      if (!last) {
        this.weird(W.obsFold, 'continuation line before any header');
        return;
      }
      this.weird(W.obsFold, last[0]);
      last[1] = last[1] + ' ' + this.textOf(vs, trimWsEnd(line, vs, e));
      return;
    }
    // One pass over the name: token characters, noting whether any needs lower-casing.
    let i = s;
    let upper = false;
    while (i < e) {
      const c = line[i];
      if (!isTchar(c)) break;
      if (c >= 0x41 && c <= 0x5a) upper = true;
      i++;
    }
    const nameEnd = i;
    if (i >= e || line[i] !== 0x3a) {
      const colon = indexOfByte(line, 0x3a, i, e);
      if (colon < 0) {
        this.weird(W.headerNoColon, printable(line, s, e));
        return;
      }
      const trimmed = trimWsEnd(line, s, colon);
      if (trimmed !== nameEnd || trimmed === s) {
        this.weird(W.badHeaderName, printable(line, s, colon));
        return;
      }
      this.weird(W.whitespaceBeforeColon, printable(line, s, nameEnd));
      i = colon;
    } else if (nameEnd === s) {
      this.weird(W.badHeaderName, printable(line, s, i));
      return;
    }
    const vs = skipWs(line, i + 1, e);
    const ve = trimWsEnd(line, vs, e);
    let name = knownHeaderName(line, s, nameEnd);
    if (name === undefined) {
      name = this.textOf(s, nameEnd);
      if (upper) name = name.toLowerCase();
    }
    const value = this.textOf(vs, ve);
    if (this.textNul && value.indexOf('\0') >= 0) this.weird(W.nulInHeader, printable(line, s, nameEnd));
    list.push([name, value]);
    if (this.inTrailers) return;
    switch (name) {
      case 'content-length':
        this.contentLength = foldContentLength(this.contentLength, value, this.opts.maxBodyLength);
        this.contentLengthRaw = this.contentLengthRaw ? this.contentLengthRaw + ', ' + value : value;
        break;
      case 'transfer-encoding':
        this.transferEncoding = this.transferEncoding ? this.transferEncoding + ', ' + value : value;
        break;
      case 'content-encoding':
        this.contentEncoding = this.contentEncoding ? this.contentEncoding + ', ' + value : value;
        break;
      case 'host':
        if (!this.host) this.host = value;
        break;
      case 'user-agent':
        if (!this.userAgent) this.userAgent = value;
        break;
    }
  }

  private trailerList(): HttpHeader[] {
    const tx = this.tx;
    if (!tx) return this.headers;
    return this.dir === 0 ? tx.requestTrailers : tx.responseTrailers;
  }

  private deliver(b: Buffer, s: number, e: number): void {
    if (e <= s) return;
    if (this.coding !== CODING_NONE) {
      if (this.coding === ABANDONED) this.bodyLen += e - s;
      else this.decode(b, s, e);
      return;
    }
    this.bodyLen += e - s;
    const room = this.prefix.length - this.prefixLen;
    if (room > 0 && !this.incomplete) {
      const n = Math.min(room, e - s);
      this.prefix.set(b.subarray(s, s + n), this.prefixLen);
      this.prefixLen += n;
    }
    this.owner.body(this, b, s, e);
  }

  /** Decoded bytes go where plain body bytes would: length, prefix, the owner. */
  private readonly decodedOut = (o: Buffer, n: number): void => {
    const coding = this.coding;
    this.coding = CODING_NONE;
    this.deliver(o, 0, n);
    this.coding = coding;
  };

  private decode(b: Buffer, s: number, e: number): void {
    let d = this.decoder;
    if (d === null) d = this.decoder = new BodyDecoder(this.coding, this.opts.maxDecodedBytes, this.opts.maxDecodeRatio);
    this.wireLen += e - s;
    const r = d.push(b, s, e, this.decodedOut);
    if (r === DECODE_OK) return;
    if (r === DECODE_BOMB) {
      const limit = `${this.opts.maxDecodedBytes} bytes or ${this.opts.maxDecodeRatio} times the encoded size`;
      this.weird(W.decompressionBomb, `inflates beyond ${limit}; measured as sent`);
    } else {
      this.weird(W.decompressionFailed, `${d.error}; measured as sent`);
      // zlib reports no output for the call that failed, so how much content came out before
      // depends on how the stream was cut: a broken body gives the policies no content at all.
      this.prefixLen = 0;
    }
    this.abandonDecoding();
  }

  private readCounted(b: Buffer, pos: number): number {
    const n = Math.min(this.remaining, b.length - pos);
    this.remaining -= n;
    this.deliver(b, pos, pos + n);
    if (this.remaining === 0) this.countedDone();
    return pos + n;
  }

  private countedDone(): void {
    if (this.state === S_CHUNK_DATA) this.state = S_CHUNK_END;
    else this.owner.done(this);
  }

  private readChunkSize(b: Buffer, pos: number): number {
    const r = this.lines.next(b, pos);
    if (r === LINE_PARTIAL) return b.length;
    if (r === LINE_TOO_LONG) {
      this.owner.framingError(this, W.badChunkSize, 'chunk-size line too long');
      // The rest of that line is not a start line either.
      this.skipping = this.state === S_RESYNC;
      return pos;
    }
    const { line, start, end } = this.lines;
    const size = parseChunkSize(line, start, end, this.opts.maxBodyLength);
    if (size === CHUNK_INVALID) {
      this.owner.framingError(this, W.badChunkSize, printable(line, start, end));
      return r;
    }
    if (size === CHUNK_TOO_LARGE) {
      this.owner.framingError(this, W.badChunkSize, `above ${this.opts.maxBodyLength}: ${printable(line, start, end)}`);
      return r;
    }
    if (size === 0) {
      this.state = S_TRAILERS;
      this.inTrailers = true;
      this.headBytes = 0;
      this.headerCount = 0;
    } else {
      this.remaining = size;
      this.state = S_CHUNK_DATA;
    }
    return r;
  }

  private readChunkEnd(b: Buffer, pos: number): number {
    const c = b[pos];
    if (this.state === S_CHUNK_END && c === CR) {
      this.state = S_CHUNK_END_LF;
      return pos + 1;
    }
    if (c === LF) {
      this.state = S_CHUNK_SIZE;
      return pos + 1;
    }
    this.owner.framingError(this, W.badChunkTerminator, `expected CRLF after chunk data, got ${printable(b, pos, pos + 1)}`);
    return pos;
  }

  private readPeek09(b: Buffer, pos: number): number {
    while (pos < b.length && this.peekLen < 5) {
      const c = b[pos];
      if (c !== HTTP_SLASH[this.peekLen]) {
        this.begin09();
        return pos;
      }
      this.peek[this.peekLen++] = c;
      pos++;
    }
    if (this.peekLen === 5) {
      this.state = S_START;
      this.peekLen = 0;
      // The peeked bytes begin a status line: the line reader keeps them as a partial line,
      // which also stops S_START from peeking again.
      this.readStart(this.peek, 0);
    }
    return pos;
  }

  /** The reply to HTTP/0.9 has no status line: what was peeked is the start of its content. */
  private begin09(): void {
    this.beginMessage();
    this.owner.begin09(this);
    this.state = S_TILL_CLOSE;
    const n = this.peekLen;
    this.peekLen = 0;
    this.deliver(this.peek, 0, n);
  }

  gap(len: number): void {
    switch (this.state) {
      case S_BODY:
      case S_CHUNK_DATA:
        if (len <= this.remaining) {
          this.bodyGap(len);
          this.remaining -= len;
          if (this.remaining === 0) this.countedDone();
          return;
        }
        break;
      case S_TILL_CLOSE:
        this.bodyGap(len);
        return;
      case S_HOLD:
        this.held += len;
        return;
      case S_TUNNEL:
      case S_DEAD:
        return;
      case S_PEEK09:
        if (this.peekLen > 0) {
          this.begin09();
          this.bodyGap(len);
          return;
        }
        break;
    }
    this.lines.reset();
    this.skipping = false;
    this.owner.lostSync(this, len);
  }

  private bodyGap(len: number): void {
    // Decoding cannot resume after lost bytes.
    if (this.coding > CODING_NONE) this.abandonDecoding();
    this.bodyLen += len;
    this.incomplete = true;
    this.weird(W.contentGap, `${len} bytes missing from body`);
  }

  /** The connection ended: what was this direction in the middle of? */
  end(): void {
    switch (this.state) {
      case S_START:
        if (this.lines.pending > 0) {
          this.weird(W.truncatedHeader, 'connection ended inside a start line');
          if (this.dir === 0) {
            this.cut = true;
            this.readStart(LF_ONLY, 0);
            this.cut = false;
            if ((this.state as number) === S_HEADERS) this.owner.headCut(this);
          }
        }
        break;
      case S_HEADERS:
        this.weird(W.truncatedHeader, 'connection ended inside the headers');
        this.owner.headCut(this);
        break;
      case S_BODY:
      case S_CHUNK_SIZE:
      case S_CHUNK_DATA:
      case S_CHUNK_END:
      case S_CHUNK_END_LF:
      case S_TRAILERS:
        this.weird(W.truncatedBody, 'connection ended inside the body');
        this.incomplete = true;
        this.owner.done(this);
        break;
      case S_TILL_CLOSE:
        this.owner.done(this);
        break;
      case S_PEEK09:
        if (this.peekLen > 0) {
          this.begin09();
          this.owner.done(this);
        }
        break;
      case S_RESYNC:
        this.weird(W.resyncFailed, 'no request line found before the connection ended');
        break;
    }
    this.state = S_DEAD;
  }
}
