/**
 * Test tooling: builders for crafting frames in tests and benchmarks. They favour clarity over
 * speed and leave checksums zero (the decoder does not verify them). Only tests and bench/
 * import this file.
 */
import { parseIpv4, parseIpv6 } from '../../net/index.js';
import { TcpFlag } from '../decode/index.js';

export type Bytes = Uint8Array | string;

const enc = new TextEncoder();
const bytes = (b: Bytes | undefined): Uint8Array => (b === undefined ? new Uint8Array(0) : typeof b === 'string' ? enc.encode(b) : b);

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const put16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
};
const put32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >>> 24) & 255;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
};

/** "S", "SA", "PA", "FA", "R", "RA" ... (letters F S R P A U E C) to flag bits. */
function tcpFlags(f: number | string | undefined): number {
  if (f === undefined) return TcpFlag.ACK;
  if (typeof f === 'number') return f;
  const map: Record<string, number> = {
    F: TcpFlag.FIN,
    S: TcpFlag.SYN,
    R: TcpFlag.RST,
    P: TcpFlag.PSH,
    A: TcpFlag.ACK,
    U: TcpFlag.URG,
    E: TcpFlag.ECE,
    C: TcpFlag.CWR,
  };
  let v = 0;
  for (const c of f) {
    const bit = map[c];
    if (bit === undefined) throw new Error(`unknown TCP flag letter ${c}`);
    v |= bit;
  }
  return v;
}

export interface TcpSpec {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags?: number | string;
  window?: number;
  payload?: Bytes;
  /** Bytes of NOP options to add (rounded up to a multiple of 4). */
  optionBytes?: number;
}

export function tcpSegment(s: TcpSpec): Uint8Array {
  const opt = ((s.optionBytes ?? 0) + 3) & ~3;
  const payload = bytes(s.payload);
  const h = new Uint8Array(20 + opt + payload.length);
  put16(h, 0, s.sport);
  put16(h, 2, s.dport);
  put32(h, 4, s.seq ?? 0);
  put32(h, 8, s.ack ?? 0);
  h[12] = ((20 + opt) / 4) << 4;
  h[13] = tcpFlags(s.flags);
  put16(h, 14, s.window ?? 65535);
  h.fill(1, 20, 20 + opt);
  h.set(payload, 20 + opt);
  return h;
}

export function udpDatagram(s: { sport: number; dport: number; payload?: Bytes }): Uint8Array {
  const payload = bytes(s.payload);
  const h = new Uint8Array(8 + payload.length);
  put16(h, 0, s.sport);
  put16(h, 2, s.dport);
  put16(h, 4, 8 + payload.length);
  h.set(payload, 8);
  return h;
}

function icmpMessage(s: { type: number; code?: number; rest?: number; payload?: Bytes }): Uint8Array {
  const payload = bytes(s.payload);
  const h = new Uint8Array(8 + payload.length);
  h[0] = s.type;
  h[1] = s.code ?? 0;
  put32(h, 4, s.rest ?? 0);
  h.set(payload, 8);
  return h;
}

function v4(a: string): number {
  const n = parseIpv4(a);
  if (n === undefined) throw new Error(`not an IPv4 address: ${a}`);
  return n;
}

function v6(a: string): Uint32Array {
  const w = parseIpv6(a);
  if (w === undefined) throw new Error(`not an IPv6 address: ${a}`);
  return w;
}

export interface Ipv4Spec {
  src: string;
  dst: string;
  proto: number;
  payload: Uint8Array;
  id?: number;
  ttl?: number;
  /** Fragment offset in bytes (multiple of 8). */
  fragOffset?: number;
  moreFragments?: boolean;
  /** Bytes of IP options (rounded up to a multiple of 4). */
  optionBytes?: number;
  /** Override the total-length field. */
  totalLength?: number;
}

export function ipv4Packet(s: Ipv4Spec): Uint8Array {
  const opt = ((s.optionBytes ?? 0) + 3) & ~3;
  const hl = 20 + opt;
  const h = new Uint8Array(hl + s.payload.length);
  h[0] = 0x40 | (hl / 4);
  put16(h, 2, s.totalLength ?? hl + s.payload.length);
  put16(h, 4, s.id ?? 1);
  put16(h, 6, ((s.fragOffset ?? 0) >> 3) | (s.moreFragments ? 0x2000 : 0));
  h[8] = s.ttl ?? 64;
  h[9] = s.proto;
  put32(h, 12, v4(s.src));
  put32(h, 16, v4(s.dst));
  h.fill(1, 20, hl); // NOP options
  h.set(s.payload, hl);
  return h;
}

/** Split an IPv4 packet (as built above, no options) into fragments of at most `chunk` payload bytes. */
export function fragmentIpv4(s: Ipv4Spec, chunk: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const step = chunk & ~7;
  for (let off = 0; off < s.payload.length; off += step) {
    const part = s.payload.subarray(off, Math.min(off + step, s.payload.length));
    out.push(ipv4Packet({ ...s, payload: part, fragOffset: off, moreFragments: off + step < s.payload.length }));
  }
  return out;
}

interface Ipv6Ext {
  /** Header type: 0 hop-by-hop, 43 routing, 60 destination options, 51 AH. */
  type: number;
  /** Body after the 2 bytes of next-header and length (padded to the header's unit). */
  body?: Uint8Array;
}

export interface Ipv6Spec {
  src: string;
  dst: string;
  nextHeader: number;
  payload: Uint8Array;
  hopLimit?: number;
  ext?: Ipv6Ext[];
}

function extHeaders(ext: Ipv6Ext[], last: number): { first: number; bytes: Uint8Array } {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < ext.length; i++) {
    const e = ext[i];
    const next = i + 1 < ext.length ? ext[i + 1].type : last;
    const body = e.body ?? new Uint8Array(6);
    const unit = e.type === 51 ? 4 : 8;
    const len = Math.max(8, Math.ceil((body.length + 2) / unit) * unit);
    const h = new Uint8Array(len);
    h[0] = next;
    h[1] = e.type === 51 ? len / 4 - 2 : len / 8 - 1;
    h.set(body, 2);
    parts.push(h);
  }
  return { first: ext.length ? ext[0].type : last, bytes: concat(...parts) };
}

export function ipv6Packet(s: Ipv6Spec): Uint8Array {
  const { first, bytes: ext } = extHeaders(s.ext ?? [], s.nextHeader);
  const h = new Uint8Array(40 + ext.length + s.payload.length);
  h[0] = 0x60;
  put16(h, 4, ext.length + s.payload.length);
  h[6] = first;
  h[7] = s.hopLimit ?? 64;
  const a = v6(s.src);
  const b = v6(s.dst);
  for (let i = 0; i < 4; i++) {
    put32(h, 8 + i * 4, a[i]);
    put32(h, 24 + i * 4, b[i]);
  }
  h.set(ext, 40);
  h.set(s.payload, 40 + ext.length);
  return h;
}

/** IPv6 fragments of `s.payload` (the upper-layer bytes), each with a fragment header after `s.ext`. */
export function fragmentIpv6(s: Ipv6Spec, chunk: number, id: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const step = chunk & ~7;
  for (let off = 0; off < s.payload.length; off += step) {
    const part = s.payload.subarray(off, Math.min(off + step, s.payload.length));
    const fh = new Uint8Array(8);
    fh[0] = s.nextHeader;
    put16(fh, 2, off | (off + step < s.payload.length ? 1 : 0));
    put32(fh, 4, id);
    // The fragment header is raw bytes here, so present it as payload behind next header 44.
    out.push(ipv6Packet({ ...s, nextHeader: 44, payload: concat(fh, part) }));
  }
  return out;
}

export interface EthernetSpec {
  payload: Uint8Array;
  /** Default: from the IP version nibble of the payload. */
  etherType?: number;
  /** VLAN tags, outermost first; `tpid` defaults to 0x8100 (use 0x88a8 for an 802.1ad outer tag). */
  vlans?: { vid: number; tpid?: number }[];
}

export function ethernetFrame(s: EthernetSpec): Uint8Array {
  const tags = s.vlans ?? [];
  const h = new Uint8Array(14 + tags.length * 4 + s.payload.length);
  h.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1], 0);
  const type = s.etherType ?? (s.payload[0] >> 4 === 6 ? 0x86dd : 0x0800);
  let off = 12;
  for (const t of tags) {
    put16(h, off, t.tpid ?? 0x8100);
    put16(h, off + 2, t.vid & 0x0fff);
    off += 4;
  }
  put16(h, off, type);
  h.set(s.payload, off + 2);
  return h;
}

/** VXLAN header plus the inner Ethernet frame (the payload of a UDP datagram to port 4789). */
export function vxlanPayload(vni: number, innerFrame: Uint8Array): Uint8Array {
  const h = new Uint8Array(8 + innerFrame.length);
  h[0] = 0x08;
  h[4] = (vni >>> 16) & 255;
  h[5] = (vni >>> 8) & 255;
  h[6] = vni & 255;
  h.set(innerFrame, 8);
  return h;
}

export interface TcpFrameSpec extends TcpSpec {
  src: string;
  dst: string;
  vlans?: { vid: number; tpid?: number }[];
  id?: number;
}

/** An Ethernet frame carrying one TCP segment over IPv4 or IPv6 (chosen by the address syntax). */
export function tcpFrame(s: TcpFrameSpec): Uint8Array {
  const seg = tcpSegment(s);
  const ip = s.src.includes(':')
    ? ipv6Packet({ src: s.src, dst: s.dst, nextHeader: 6, payload: seg })
    : ipv4Packet({ src: s.src, dst: s.dst, proto: 6, payload: seg, id: s.id });
  return ethernetFrame({ payload: ip, vlans: s.vlans });
}

export function udpFrame(s: { src: string; dst: string; sport: number; dport: number; payload?: Bytes }): Uint8Array {
  const dg = udpDatagram(s);
  const ip = s.src.includes(':')
    ? ipv6Packet({ src: s.src, dst: s.dst, nextHeader: 17, payload: dg })
    : ipv4Packet({ src: s.src, dst: s.dst, proto: 17, payload: dg });
  return ethernetFrame({ payload: ip });
}

export function icmpFrame(s: { src: string; dst: string; type: number; code?: number; payload?: Bytes }): Uint8Array {
  const msg = icmpMessage(s);
  const ip = s.src.includes(':')
    ? ipv6Packet({ src: s.src, dst: s.dst, nextHeader: 58, payload: msg })
    : ipv4Packet({ src: s.src, dst: s.dst, proto: 1, payload: msg });
  return ethernetFrame({ payload: ip });
}
