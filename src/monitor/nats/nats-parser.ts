import {
  CR,
  EMPTY_BYTES,
  LF,
  LINE_PARTIAL,
  LINE_TOO_LONG,
  asciiLowerEquals,
  isWs,
  parseDecimal,
  printable,
  skipWs,
  trimWsEnd,
  utf8,
  viewOf,
  type Dir,
  type StreamParser,
} from '../stream/index.js';
import { parseHeaderBlock } from './headers.js';
import { NatsHalf, ST_CR, ST_LF, ST_LINE, ST_PAYLOAD, ST_STOPPED } from './nats-half.js';
import { bool, boolOr, num, parseJsonObject, present, str } from './json.js';
import { WILDCARD_IN_PUBLISH, subjectProblem } from './subject.js';
import { DEFAULT_NATS_OPTIONS, NATS_WEIRDS as W, type NatsHeader, type NatsMsg, type NatsOptions, type NatsSink } from './types.js';

const TLS_HANDSHAKE = 0x16;

class NatsParser implements StreamParser {
  private readonly halves: [NatsHalf, NatsHalf];
  private ts = 0;
  private ended = false;

  constructor(
    private readonly sink: NatsSink,
    private readonly opts: NatsOptions,
  ) {
    this.halves = [new NatsHalf(0, opts), new NatsHalf(1, opts)];
  }

  data(dir: Dir, buf: Uint8Array, off: number, len: number, ts: number): void {
    if (this.ended) return;
    this.ts = ts;
    const b = viewOf(buf, off, len);
    if (b.length > 0) this.feed(this.halves[dir], b);
  }

  gap(dir: Dir, len: number): void {
    if (this.ended || !(len > 0)) return;
    const h = this.halves[dir];
    if (h.state === ST_STOPPED) return;
    if (h.state === ST_PAYLOAD && len <= h.size - h.got) {
      this.weird(h, W.contentGap, `${len} bytes missing from a payload`);
      h.incomplete = true;
      h.got += len;
      if (h.got === h.size) this.payloadDone(h);
      return;
    }
    this.stop(h, W.gapLostSync, `${len} byte gap outside a payload; stopped parsing this direction`);
  }

  end(ts: number): void {
    if (this.ended) return;
    this.ended = true;
    this.ts = ts;
    for (const h of this.halves) {
      if (h.state === ST_PAYLOAD) this.weird(h, W.truncated, 'connection ended inside a payload');
      else if (h.state === ST_LINE && h.lines.pending > 0) this.weird(h, W.truncated, 'connection ended inside a control line');
    }
  }

  private weird(h: NatsHalf, name: string, detail: string): void {
    this.sink.weird?.(name, detail, h.dir, this.ts);
  }

  private stop(h: NatsHalf, name: string, detail: string): void {
    this.weird(h, name, detail);
    h.state = ST_STOPPED;
    h.lines.reset();
  }

  private feed(h: NatsHalf, b: Buffer): void {
    let pos = 0;
    while (pos < b.length) {
      switch (h.state) {
        case ST_LINE: {
          if (h.lines.pending === 0 && b[pos] === TLS_HANDSHAKE) {
            this.sink.tls?.(h.dir, this.ts);
            for (const x of this.halves) x.state = ST_STOPPED;
            return;
          }
          const r = h.lines.next(b, pos);
          if (r === LINE_PARTIAL) return;
          if (r === LINE_TOO_LONG) {
            this.stop(h, W.lineTooLong, `control line longer than ${this.opts.maxControlLine} bytes`);
            return;
          }
          pos = r;
          const { line, start, end } = h.lines;
          if (end > start) this.controlLine(h, line, start, end);
          break;
        }
        case ST_PAYLOAD: {
          const n = Math.min(h.size - h.got, b.length - pos);
          h.take(b, pos, n);
          pos += n;
          if (h.got === h.size) this.payloadDone(h);
          break;
        }
        case ST_CR:
        case ST_LF: {
          const c = b[pos];
          if (h.state === ST_CR && c === CR) h.state = ST_LF;
          else if (c === LF) h.state = ST_LINE;
          else {
            this.stop(h, W.missingTerminator, `expected CRLF after the payload, got ${printable(b, pos, pos + 1)}`);
            return;
          }
          pos++;
          break;
        }
        default:
          return;
      }
    }
  }

  private subject(h: NatsHalf, line: Buffer, f: number, wildcards: boolean): string {
    const s = h.fs[f];
    const e = h.fe[f];
    const problem = subjectProblem(line, s, e, wildcards);
    if (problem) this.weird(h, problem === WILDCARD_IN_PUBLISH ? W.wildcardPublish : W.badSubject, `${problem}: ${printable(line, s, e)}`);
    return utf8(line, s, e);
  }

  /** A payload size field; reports and stops the direction if it is not usable. */
  private size(h: NatsHalf, line: Buffer, f: number): number {
    const s = h.fs[f];
    const e = h.fe[f];
    const v = parseDecimal(line, s, e, this.opts.maxPayload);
    if (v >= 0) return v;
    if (allDigits(line, s, e)) this.stop(h, W.payloadTooLarge, `size ${printable(line, s, e)} above ${this.opts.maxPayload}`);
    else this.stop(h, W.badSize, `size ${printable(line, s, e)}`);
    return -1;
  }

  private badArgs(h: NatsHalf, line: Buffer, s: number, e: number): void {
    this.stop(h, W.badArgs, printable(line, s, e));
  }

  private controlLine(h: NatsHalf, line: Buffer, s: number, e: number): void {
    const os = skipWs(line, s, e);
    let oe = os;
    while (oe < e && !isWs(line[oe])) oe++;
    const is = (op: string) => asciiLowerEquals(line, os, oe, op);
    const client = h.dir === 0;
    // Operations whose argument is the rest of the line (JSON, a quoted message) come first:
    // their blanks do not separate fields.
    if ((client && is('connect')) || (!client && is('info'))) {
      const js = skipWs(line, oe, e);
      const obj = parseJsonObject(utf8(line, js, trimWsEnd(line, js, e)));
      if (!obj) {
        this.weird(h, W.badJson, `${client ? 'CONNECT' : 'INFO'} ${printable(line, js, e)}`);
        return;
      }
      if (client) this.connect(obj);
      else this.info(obj);
      return;
    }
    if (!client && is('-err')) {
      const ms = skipWs(line, oe, e);
      let me = trimWsEnd(line, ms, e);
      let m = ms;
      if (me - m >= 2 && line[m] === 0x27 && line[me - 1] === 0x27) {
        m++;
        me--;
      }
      this.sink.err?.(utf8(line, m, me), this.ts);
      return;
    }
    if (!h.split(line, s, e)) {
      this.badArgs(h, line, s, e);
      return;
    }
    const args = h.nf - 1;
    if (is('ping') || is('pong')) {
      if (is('ping')) this.sink.ping?.(h.dir, this.ts);
      else this.sink.pong?.(h.dir, this.ts);
      return;
    }
    if (client && (is('pub') || is('hpub'))) {
      const headers = is('hpub') ? 1 : 0;
      if (args !== 2 + headers && args !== 3 + headers) return this.badArgs(h, line, s, e);
      const subject = this.subject(h, line, 1, false);
      const reply = args === 3 + headers ? this.subject(h, line, 2, false) : '';
      this.payload(h, line, subject, reply, '', headers === 1);
      return;
    }
    if (!client && (is('msg') || is('hmsg'))) {
      const headers = is('hmsg') ? 1 : 0;
      if (args !== 3 + headers && args !== 4 + headers) return this.badArgs(h, line, s, e);
      const subject = this.subject(h, line, 1, false);
      const sid = utf8(line, h.fs[2], h.fe[2]);
      const reply = args === 4 + headers ? this.subject(h, line, 3, false) : '';
      this.payload(h, line, subject, reply, sid, headers === 1);
      return;
    }
    if (client && is('sub')) {
      if (args !== 2 && args !== 3) return this.badArgs(h, line, s, e);
      const subject = this.subject(h, line, 1, true);
      const queue = args === 3 ? utf8(line, h.fs[2], h.fe[2]) : '';
      this.sink.sub?.({ ts: this.ts, subject, queue, sid: utf8(line, h.fs[args], h.fe[args]) });
      return;
    }
    if (client && is('unsub')) {
      if (args !== 1 && args !== 2) return this.badArgs(h, line, s, e);
      const max = args === 2 ? parseDecimal(line, h.fs[2], h.fe[2], Number.MAX_SAFE_INTEGER) : null;
      if (max === -1) this.weird(h, W.badArgs, `UNSUB max ${printable(line, h.fs[2], h.fe[2])}`);
      this.sink.unsub?.({ ts: this.ts, sid: utf8(line, h.fs[1], h.fe[1]), max: max === -1 ? null : max });
      return;
    }
    if (!client && is('+ok')) {
      this.sink.ok?.(this.ts);
      return;
    }
    const known = ['pub', 'hpub', 'sub', 'unsub', 'connect', 'info', 'msg', 'hmsg', '+ok', '-err'].some(is);
    this.stop(h, known ? W.unexpectedOp : W.unknownOp, printable(line, s, e));
  }

  private payload(h: NatsHalf, line: Buffer, subject: string, reply: string, sid: string, withHeaders: boolean): void {
    const last = h.nf - 1;
    const total = this.size(h, line, last);
    if (total < 0) return;
    let hdr = 0;
    if (withHeaders) {
      hdr = this.size(h, line, last - 1);
      if (hdr < 0) return;
      if (hdr > total) {
        this.stop(h, W.badArgs, `header size ${hdr} above total size ${total}`);
        return;
      }
    }
    h.beginPayload(subject, reply, sid, hdr, total);
    if (total === 0) this.payloadDone(h);
  }

  private payloadDone(h: NatsHalf): void {
    let headers: NatsHeader[] = [];
    let status = '';
    if (h.hdrSize > 0) {
      if (h.hdrSize > this.opts.maxHeaderBytes) {
        this.weird(h, W.headersTooLarge, `${h.hdrSize} header bytes not parsed`);
      } else if (h.headerKept === h.hdrSize) {
        const block = parseHeaderBlock(h.headerBlock(), 0, h.hdrSize);
        if (block.problem) this.weird(h, W.badHeaders, block.problem);
        headers = block.headers;
        status = block.status;
      }
    }
    const m: NatsMsg = {
      ts: this.ts,
      subject: h.subject,
      reply: h.reply,
      sid: h.sid,
      size: h.size,
      headerSize: h.hdrSize,
      status,
      headers,
      payloadPrefix: h.prefixLen > 0 ? h.prefix.slice(0, h.prefixLen) : EMPTY_BYTES,
      incomplete: h.incomplete,
    };
    h.state = ST_CR;
    if (h.dir === 0) {
      const { sid: _sid, ...pub } = m;
      this.sink.pub?.(pub);
    } else this.sink.msg?.(m);
  }

  private connect(o: Record<string, unknown>): void {
    this.sink.connect?.({
      ts: this.ts,
      name: str(o, 'name'),
      user: str(o, 'user'),
      lang: str(o, 'lang'),
      version: str(o, 'version'),
      protocol: num(o, 'protocol'),
      verbose: bool(o, 'verbose'),
      pedantic: bool(o, 'pedantic'),
      headers: bool(o, 'headers'),
      echo: boolOr(o, 'echo', true),
      tlsRequired: bool(o, 'tls_required'),
      hasPassword: present(o, 'pass'),
      hasToken: present(o, 'auth_token'),
      hasJwt: present(o, 'jwt'),
      hasNkey: present(o, 'nkey'),
    });
  }

  private info(o: Record<string, unknown>): void {
    this.sink.info?.({
      ts: this.ts,
      serverId: str(o, 'server_id'),
      serverName: str(o, 'server_name'),
      version: str(o, 'version'),
      host: str(o, 'host'),
      port: num(o, 'port'),
      headers: bool(o, 'headers'),
      maxPayload: num(o, 'max_payload'),
      proto: num(o, 'proto'),
      authRequired: bool(o, 'auth_required'),
      tlsRequired: bool(o, 'tls_required'),
      tlsAvailable: bool(o, 'tls_available'),
      clientId: num(o, 'client_id'),
      clientIp: str(o, 'client_ip'),
      raw: o,
    });
  }
}

function allDigits(buf: Uint8Array, s: number, e: number): boolean {
  if (e <= s) return false;
  for (let i = s; i < e; i++) if (buf[i] < 0x30 || buf[i] > 0x39) return false;
  return true;
}

/** A NATS client-protocol parser for one connection; `opts` overrides the defaults field by field. */
export function createNatsParser(sink: NatsSink, opts: Partial<NatsOptions> = {}): StreamParser {
  return new NatsParser(sink, { ...DEFAULT_NATS_OPTIONS, ...opts });
}
