import type { CapturedPacket } from './captured-packet.js';

/** A copy of a packet that outlives the callback (the reader reuses its object and buffers). */
export interface PacketCopy {
  ts: number;
  linktype: number;
  data: Uint8Array;
  caplen: number;
  origlen: number;
  index: number;
  interfaceId: number;
}

export function collector(): { packets: PacketCopy[]; onPacket: (p: CapturedPacket) => void } {
  const packets: PacketCopy[] = [];
  return { packets, onPacket: (p) => packets.push({ ...p, data: p.data.slice() }) };
}

/** Split `bytes` into chunks of random sizes in [1, max]. */
export function randomChunks(bytes: Uint8Array, max: number, rand: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < bytes.length; ) {
    const n = 1 + Math.floor(rand() * max);
    out.push(bytes.subarray(off, Math.min(off + n, bytes.length)));
    off += n;
  }
  return out;
}

export function frameOf(n: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (n * 31 + i) & 0xff;
  return b;
}

export { encodePcapng } from './pcapng-writer.js';
