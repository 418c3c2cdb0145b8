import { put16, put32 } from './byte-order.js';
import { tsresol } from './pcapng-format.js';

interface PcapngInterface {
  linktype: number;
  snaplen?: number;
  /** if_tsresol byte: 6 = microseconds (default), 9 = nanoseconds, 0x80|n = 2^-n. */
  tsresol?: number;
}

interface PcapngPacket {
  interfaceId?: number;
  ts: number;
  /** The timestamp as a count of the interface's units, written as is (instead of `ts`). */
  units?: bigint;
  data: Uint8Array;
  origlen?: number;
  /** Write a Simple Packet Block (no timestamp, interface 0). */
  simple?: boolean;
}

export interface PcapngSection {
  bigEndian?: boolean;
  interfaces: PcapngInterface[];
  packets: PcapngPacket[];
  /** Blocks of unknown types to interleave before the packets, to test skipping. */
  unknownBlocks?: { type: number; body: Uint8Array }[];
}

const pad4 = (n: number): number => (n + 3) & ~3;

function block(type: number, body: Uint8Array, le: boolean): Uint8Array {
  const len = 12 + pad4(body.length);
  const b = new Uint8Array(len);
  put32(b, 0, type, le);
  put32(b, 4, len, le);
  b.set(body, 8);
  put32(b, len - 4, len, le);
  return b;
}

/** Encode pcapng sections (SHB, IDBs, optional unknown blocks, EPBs/SPBs) into one buffer. */
export function encodePcapng(sections: readonly PcapngSection[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of sections) {
    const le = !s.bigEndian;
    const shb = new Uint8Array(16);
    put32(shb, 0, 0x1a2b3c4d, le);
    put16(shb, 4, 1, le);
    put16(shb, 6, 0, le);
    put32(shb, 8, 0xffffffff, le);
    put32(shb, 12, 0xffffffff, le);
    parts.push(block(0x0a0d0d0a, shb, le));
    for (const i of s.interfaces) {
      const hasRes = i.tsresol !== undefined;
      const body = new Uint8Array(8 + (hasRes ? 12 : 0));
      put16(body, 0, i.linktype, le);
      put32(body, 4, i.snaplen ?? 262144, le);
      if (hasRes) {
        put16(body, 8, 9, le);
        put16(body, 10, 1, le);
        body[12] = i.tsresol!;
        // opt_endofopt is already zero
      }
      parts.push(block(1, body, le));
    }
    for (const u of s.unknownBlocks ?? []) parts.push(block(u.type, u.body, le));
    for (const p of s.packets) {
      const orig = p.origlen ?? p.data.length;
      if (p.simple) {
        const body = new Uint8Array(4 + p.data.length);
        put32(body, 0, orig, le);
        body.set(p.data, 4);
        parts.push(block(3, body, le));
        continue;
      }
      const id = p.interfaceId ?? 0;
      const t = p.units ?? BigInt(Math.round(p.ts * tsresol(s.interfaces[id]?.tsresol ?? 6).unitsPerSecond));
      const body = new Uint8Array(20 + p.data.length);
      put32(body, 0, id, le);
      put32(body, 4, Number((t >> 32n) & 0xffffffffn), le);
      put32(body, 8, Number(t & 0xffffffffn), le);
      put32(body, 12, p.data.length, le);
      put32(body, 16, orig, le);
      body.set(p.data, 20);
      parts.push(block(6, body, le));
    }
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
