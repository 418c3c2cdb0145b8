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

/**
 * A stand-in for tcpdump (a node -e script): writes the pcap bytes `header` (hex) to stdout, says
 * it is listening, answers SIGUSR1 as tcpdump does on Linux (its counts so far, one line on
 * stderr: the n-th 10n captured, 12n received, n dropped) and SIGTERM with the exit form
 * (`exitCounts`: 50 captured, 60 received, 7 dropped by default). With `exitAfterMs` it ends by
 * itself, with code 1.
 */
export function countingCapture(header: string, o: { exitCounts?: [number, number, number]; exitAfterMs?: number } = {}): string {
  const [c, r, d] = o.exitCounts ?? [50, 60, 7];
  return `
let n = 0;
process.on('SIGUSR1', () => {
  n++;
  process.stderr.write('tcpdump: ' + n * 10 + ' packets captured, ' + n * 12 + ' packets received by filter, ' + n + ' packets dropped by kernel\\n');
});
process.on('SIGTERM', () => {
  process.stderr.write('${c} packets captured\\n${r} packets received by filter\\n${d} packets dropped by kernel\\n', () => process.exit(0));
});
process.stdout.write(Buffer.from('${header}', 'hex'));
setTimeout(() => process.stderr.write('tcpdump: listening on lo, link-type EN10MB\\n'), 100);
${o.exitAfterMs !== undefined ? `setTimeout(() => process.exit(1), ${o.exitAfterMs});` : ''}
setInterval(() => {}, 1000);
`;
}
