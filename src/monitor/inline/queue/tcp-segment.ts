/**
 * The little packet surgery the queue mode needs: read an IPv4/TCP packet's header fields from
 * the bytes the kernel queued, and build the segments that end a blocked request (a reset in
 * place of the request, an HTTP answer or a reset for the client, in an Ethernet frame).
 */

const TCP = 6;
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** Header fields of one IPv4 TCP packet; `payloadOffset`/`payloadLength` index the packet. */
export interface TcpView {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  ipHeaderLength: number;
  payloadOffset: number;
  payloadLength: number;
}

/** The TCP view of an IPv4 packet, or null when it is not a whole, unfragmented IPv4 TCP packet. */
export function readTcp(p: Uint8Array): TcpView | null {
  if (p.length < 20 || p[0] >> 4 !== 4) return null;
  const ihl = (p[0] & 0x0f) * 4;
  const total = (p[2] << 8) | p[3];
  if (ihl < 20 || total < ihl + 20 || total > p.length || p[9] !== TCP) return null;
  // A fragment other than a whole datagram carries no TCP header we can trust on its own.
  if ((((p[6] & 0x3f) << 8) | p[7]) !== 0) return null;
  const t = ihl;
  const doff = (p[t + 12] >> 4) * 4;
  if (doff < 20 || t + doff > total) return null;
  return {
    src: u32(p, 12),
    dst: u32(p, 16),
    sport: (p[t] << 8) | p[t + 1],
    dport: (p[t + 2] << 8) | p[t + 3],
    seq: u32(p, t + 4),
    ack: u32(p, t + 8),
    flags: p[t + 13],
    ipHeaderLength: ihl,
    payloadOffset: t + doff,
    payloadLength: total - t - doff,
  };
}

const u32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function sum16(b: Uint8Array, from: number, to: number, acc: number): number {
  let s = acc;
  let i = from;
  for (; i + 1 < to; i += 2) s += (b[i] << 8) | b[i + 1];
  if (i < to) s += b[i] << 8;
  return s;
}

function fold(s: number): number {
  let x = s;
  while (x > 0xffff) x = (x & 0xffff) + Math.floor(x / 0x10000);
  return ~x & 0xffff;
}

/** Fills in the IPv4 header and TCP checksums of the packet at `ip` (header length 20, options none). */
function checksum(b: Uint8Array, ip: number): void {
  const total = (b[ip + 2] << 8) | b[ip + 3];
  b[ip + 10] = 0;
  b[ip + 11] = 0;
  const h = fold(sum16(b, ip, ip + 20, 0));
  b[ip + 10] = h >> 8;
  b[ip + 11] = h & 0xff;
  const t = ip + 20;
  b[t + 16] = 0;
  b[t + 17] = 0;
  const pseudo = sum16(b, ip + 12, ip + 20, 0) + TCP + (total - 20);
  const c = fold(sum16(b, t, ip + total, pseudo));
  b[t + 16] = c >> 8;
  b[t + 17] = c & 0xff;
}

interface SegmentFields {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  payload?: Uint8Array;
}

/** An IPv4 TCP segment (no options) at `off` in `b`; returns its length. */
function writeSegment(b: Uint8Array, off: number, f: SegmentFields): number {
  const plen = f.payload?.length ?? 0;
  const total = 40 + plen;
  b.fill(0, off, off + 40);
  b[off] = 0x45;
  b[off + 2] = total >> 8;
  b[off + 3] = total & 0xff;
  b[off + 6] = 0x40; // don't fragment
  b[off + 8] = 64;
  b[off + 9] = TCP;
  put32(b, off + 12, f.src);
  put32(b, off + 16, f.dst);
  const t = off + 20;
  b[t] = f.sport >> 8;
  b[t + 1] = f.sport & 0xff;
  b[t + 2] = f.dport >> 8;
  b[t + 3] = f.dport & 0xff;
  put32(b, t + 4, f.seq >>> 0);
  put32(b, t + 8, f.ack >>> 0);
  b[t + 12] = 5 << 4;
  b[t + 13] = f.flags;
  b[t + 14] = f.window >> 8;
  b[t + 15] = f.window & 0xff;
  if (f.payload) b.set(f.payload, t + 20);
  checksum(b, off);
  return total;
}

/**
 * What replaces a client segment carrying a blocked request: a reset of the same connection at
 * the same sequence number, so the server drops the connection without ever seeing the request.
 * The server's next expected byte is that segment's first: the reset is always in its window.
 */
export function resetInPlaceOf(v: TcpView): Uint8Array {
  const b = new Uint8Array(40);
  writeSegment(b, 0, {
    src: v.src,
    dst: v.dst,
    sport: v.sport,
    dport: v.dport,
    seq: v.seq,
    ack: v.ack,
    flags: TCP_RST | TCP_ACK,
    window: 0,
  });
  return b;
}

/** Longest reason put in a 403 body: the answer must fit one segment whatever the policy said. */
const MAX_REASON = 400;

/** The 403 a client gets for a blocked HTTP request: a reason a person can read, and the connection's uid to find it in inline.log. */
export function forbiddenResponse(reason: string, uid: string): Uint8Array {
  // Printable ASCII only: the text came from a request and a policy, and ends up in a client's terminal.
  const clean = (s: string) => s.replace(/[^\x20-\x7e]/g, '?');
  const text = clean(reason).slice(0, MAX_REASON);
  const body = `Forbidden by flowtap's inline monitor: ${text}\nconnection ${clean(uid).slice(0, 40)}\n`;
  const head =
    'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${body.length}\r\nConnection: close\r\nX-Flowtap-Uid: ${clean(uid).slice(0, 40)}\r\n\r\n`;
  return new TextEncoder().encode(head + body);
}

/**
 * An Ethernet frame answering the client of the blocked segment `v` as its server would:
 * `payload` (if any) then FIN, or a reset when there is none. Sequence numbers continue the
 * server's stream where the client's acknowledgement says it is, and acknowledge the blocked
 * data so the client does not send it again.
 */
export function answerClientFrame(v: TcpView, dstMac: Uint8Array, srcMac: Uint8Array, payload: Uint8Array | null): Uint8Array {
  const b = new Uint8Array(14 + 40 + (payload?.length ?? 0));
  b.set(dstMac.subarray(0, 6), 0);
  b.set(srcMac.subarray(0, 6), 6);
  b[12] = 0x08;
  b[13] = 0x00;
  const ackOfBlocked = (v.seq + v.payloadLength + (v.flags & TCP_SYN ? 1 : 0) + (v.flags & TCP_FIN ? 1 : 0)) >>> 0;
  writeSegment(b, 14, {
    src: v.dst,
    dst: v.src,
    sport: v.dport,
    dport: v.sport,
    seq: v.ack,
    ack: ackOfBlocked,
    flags: payload ? TCP_PSH | TCP_ACK | TCP_FIN : TCP_RST | TCP_ACK,
    window: payload ? 0xffff : 0,
    ...(payload ? { payload } : {}),
  });
  return b;
}

/** Whether the IPv4 header and TCP checksums of a packet hold (tests). */
export function checksumsHold(p: Uint8Array): boolean {
  const total = (p[2] << 8) | p[3];
  const ihl = (p[0] & 0x0f) * 4;
  if (fold(sum16(p, 0, ihl, 0)) !== 0) return false;
  const pseudo = sum16(p, 12, 20, 0) + TCP + (total - ihl);
  return fold(sum16(p, ihl, total, pseudo)) === 0;
}
