import { viewOf, type Dir, type StreamParser } from '../stream/index.js';
import { BACKEND_DECODED, BACKEND_TYPES, backendMessage } from './backend.js';
import { FieldReader } from './field-reader.js';
import { F_ANSWER, F_DONE, F_STOPPED, F_TYPED, F_UNTYPED, PgFramer, UNTYPED, printableType, type FramerOwner } from './framer.js';
import { FRONTEND_DECODED, FRONTEND_TYPES, frontendMessage, untypedMessage } from './frontend.js';
import { PgState } from './state.js';
import { DEFAULT_PG_OPTIONS, PG_WEIRDS as W, type PgOptions, type PgSink } from './types.js';

const TLS_HANDSHAKE = 0x16;

/** PostgreSQL frontend/backend protocol 3 over one TCP connection. */
class PgParser implements StreamParser, FramerOwner {
  private readonly st: PgState;
  private readonly front: PgFramer;
  private readonly back: PgFramer;
  private readonly reader = new FieldReader();
  private ended = false;

  constructor(sink: PgSink, opts: PgOptions) {
    this.st = new PgState(sink, opts);
    this.front = new PgFramer(0, F_UNTYPED, opts, this);
    this.back = new PgFramer(1, F_TYPED, opts, this);
  }

  data(dir: Dir, buf: Uint8Array, off: number, len: number, ts: number): void {
    if (this.ended) return;
    this.st.ts = ts;
    const b = viewOf(buf, off, len);
    if (b.length > 0) (dir === 0 ? this.front : this.back).feed(b);
  }

  gap(dir: Dir, len: number): void {
    if (this.ended || !(len > 0)) return;
    (dir === 0 ? this.front : this.back).gap(len);
  }

  end(ts: number): void {
    if (this.ended) return;
    this.ended = true;
    this.st.ts = ts;
    for (const f of [this.front, this.back]) {
      if (f.midMessage && f.state !== F_STOPPED) this.st.weird(W.endInsideMessage, 'connection ended inside a message', f.dir);
    }
  }

  weird(name: string, detail: string, dir: Dir): void {
    this.st.weird(name, detail, dir);
  }

  /** Encryption starts: nothing after this point is readable. */
  private stopAll(): void {
    this.front.stop();
    this.back.stop();
  }

  wants(dir: Dir, type: number): boolean {
    if (type === UNTYPED) return true;
    return dir === 0 ? FRONTEND_DECODED.has(type) : BACKEND_DECODED.has(type);
  }

  answer(byte: number): boolean {
    if (this.st.awaitingAnswers === 0) return false;
    if (byte !== 0x53 && byte !== 0x4e && byte !== 0x47) return false;
    this.st.awaitingAnswers--;
    const a = byte === 0x53 ? 'S' : byte === 0x4e ? 'N' : 'G';
    this.st.sink.sslResponse?.(a, this.st.ts);
    if (a !== 'N') this.stopAll();
    else if (this.st.awaitingAnswers === 0) this.back.state = F_TYPED;
    return true;
  }

  untypedStart(byte: number): void {
    if (byte === TLS_HANDSHAKE && this.st.encryptionRequested) {
      this.st.sink.tls?.(0, this.st.ts);
      this.stopAll();
      return;
    }
    if (FRONTEND_TYPES.has(byte)) {
      this.st.weird(W.midstream, `client message '${printableType(byte)}' before any startup`, 0);
      this.st.startupDone = true;
      this.front.state = F_TYPED;
      return;
    }
    this.st.weird(W.badStartup, `first byte 0x${byte.toString(16).padStart(2, '0')} cannot start a startup packet`, 0);
    this.front.stop();
  }

  message(dir: Dir, type: number, buf: Buffer, s: number, e: number, cut: boolean, bodyLen: number): void {
    const r = this.reader.reset(buf, s, e);
    const st = this.st;
    if (cut && this.wants(dir, type)) {
      st.weird(W.truncated, `message '${printableType(type)}' of ${bodyLen} bytes decoded from its first ${e - s}`, dir);
    }
    if (dir === 0) {
      if (type === UNTYPED) {
        const outcome = untypedMessage(st, r);
        if (outcome === 'encryption') {
          if (!st.backendSeen && !this.back.midMessage && this.back.state === F_TYPED) this.back.state = F_ANSWER;
        } else if (outcome === 'startup') this.front.state = F_TYPED;
        else if (outcome === 'cancel') this.front.state = F_DONE;
        else this.front.stop();
        return;
      }
      if (!FRONTEND_TYPES.has(type)) {
        st.weird(W.unknownMessage, `client message type '${printableType(type)}'`, 0);
        return;
      }
      if (frontendMessage(st, type, r, cut) === 'terminate') this.front.state = F_DONE;
      return;
    }
    if (!BACKEND_TYPES.has(type)) {
      st.weird(W.unknownMessage, `server message type '${printableType(type)}'`, 1);
      return;
    }
    backendMessage(st, type, r, cut);
  }
}

/** A PostgreSQL wire-protocol parser for one connection; `opts` overrides the defaults field by field. */
export function createPgParser(sink: PgSink, opts: Partial<PgOptions> = {}): StreamParser {
  return new PgParser(sink, { ...DEFAULT_PG_OPTIONS, ...opts });
}
