/** Test support: TCP conversations built packet by packet, on one shared clock. */
import type { PcapRecord } from '../capture/index.js';
import * as B from './packets.js';

export class Clock {
  constructor(
    public ts = 1_700_000_000,
    readonly step = 0.001,
  ) {}
  next(): number {
    this.ts += this.step;
    return this.ts;
  }
}

/**
 * One TCP connection between a client and a server, appended to a shared record list as
 * the calls are made (so several flows interleave in call order).
 */
export class TcpFlow {
  private cseq = 1000;
  private sseq = 5000;

  constructor(
    readonly out: PcapRecord[],
    readonly clock: Clock,
    readonly client: string,
    readonly cport: number,
    readonly server: string,
    readonly sport: number,
  ) {}

  private push(fromClient: boolean, flags: string, payload?: Uint8Array | string, seqOverride?: number): void {
    const data = B.tcpFrame(
      fromClient
        ? {
            src: this.client,
            dst: this.server,
            sport: this.cport,
            dport: this.sport,
            flags,
            seq: seqOverride ?? this.cseq,
            ack: this.sseq,
            payload,
          }
        : {
            src: this.server,
            dst: this.client,
            sport: this.sport,
            dport: this.cport,
            flags,
            seq: seqOverride ?? this.sseq,
            ack: this.cseq,
            payload,
          },
    );
    this.out.push({ ts: this.clock.next(), data });
  }

  handshake(): this {
    this.push(true, 'S');
    this.cseq++;
    this.push(false, 'SA');
    this.sseq++;
    this.push(true, 'A');
    return this;
  }

  /** A SYN the server never answers. */
  synOnly(): this {
    this.push(true, 'S');
    return this;
  }

  /** A SYN refused with RST-ACK (closed port). */
  refused(): this {
    this.push(true, 'S');
    this.cseq++;
    this.push(false, 'RA', undefined, 0);
    return this;
  }

  client2server(payload: Uint8Array | string): this {
    const n = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    this.push(true, 'PA', payload);
    this.cseq = (this.cseq + n) >>> 0;
    this.push(false, 'A');
    return this;
  }

  server2client(payload: Uint8Array | string): this {
    const n = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    this.push(false, 'PA', payload);
    this.sseq = (this.sseq + n) >>> 0;
    this.push(true, 'A');
    return this;
  }

  /** A raw client segment at an explicit sequence offset from the first data byte (for overlap tests). */
  clientSegmentAt(offset: number, payload: string): this {
    this.push(true, 'PA', payload, (1001 + offset) >>> 0);
    return this;
  }

  close(): this {
    this.push(true, 'FA');
    this.cseq++;
    this.push(false, 'FA');
    this.sseq++;
    this.push(true, 'A');
    return this;
  }
}

export function httpRequest(method: string, path: string, headers: Record<string, string> = {}, body = ''): string {
  const h = Object.entries({
    host: 'svc',
    ...headers,
    ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}),
  });
  return `${method} ${path} HTTP/1.1\r\n${h.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
}

export function httpResponse(status: number, headers: Record<string, string> = {}, body = ''): string {
  const h = Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(body)) });
  return `HTTP/1.1 ${status} X\r\n${h.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
}

/** A valid traceparent for a trace id made of one repeated hex digit pattern. */
export function traceparent(traceId: string, span = '00f067aa0ba902b7'): string {
  return `00-${traceId.padEnd(32, '0').slice(0, 32)}-${span}-01`;
}

/** Minimal PostgreSQL wire messages (protocol 3) for engine tests. */
const i32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0);
  return b;
};
const i16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
const msg = (type: string, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(type, 'latin1'), i32(body.length + 4), body]);
};

export const pg = {
  startup: (user: string, database: string): Buffer => {
    const body = Buffer.concat([i32(196608), cstr('user'), cstr(user), cstr('database'), cstr(database), Buffer.from([0])]);
    return Buffer.concat([i32(body.length + 4), body]);
  },
  authOk: (): Buffer => msg('R', i32(0)),
  ready: (): Buffer => msg('Z', Buffer.from('I')),
  query: (sql: string): Buffer => msg('Q', cstr(sql)),
  /** Parse + Bind (text parameters) + Execute + Sync, as node-postgres sends a parameterised query. */
  extended: (sql: string, params: string[]): Buffer =>
    Buffer.concat([
      msg('P', cstr(''), cstr(sql), i16(0)),
      msg(
        'B',
        cstr(''),
        cstr(''),
        i16(0),
        i16(params.length),
        ...params.flatMap((p) => [i32(Buffer.byteLength(p)), Buffer.from(p)]),
        i16(0),
      ),
      msg('D', Buffer.from('P'), cstr('')),
      msg('E', cstr(''), i32(0)),
      msg('S'),
    ]),
  /** The server's answer to `extended` (or to a simple query: omit the parse/bind completions). */
  answer: (tag: string, rows = 0, extended = true): Buffer =>
    Buffer.concat([
      ...(extended ? [msg('1'), msg('2'), msg('n')] : []),
      ...Array.from({ length: rows }, () => msg('D', i16(1), i32(1), Buffer.from('x'))),
      msg('C', cstr(tag)),
      msg('Z', Buffer.from('I')),
    ]),
};
