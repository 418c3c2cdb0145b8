/**
 * Throughput of the monitor's packet path: pcap reading, decoding and TCP reassembly, on a
 * synthetic capture of HTTP-like TCP connections built in memory. The baseline, measured in
 * the same run, is the capture reader alone; each later stage is reported against it.
 */
import { pathToFileURL } from 'node:url';
import { CaptureReader, encodePcap, type PcapRecord } from '../src/monitor/capture/index.js';
import { PacketDecoder } from '../src/monitor/decode/index.js';
import * as B from '../src/monitor/testing/index.js';
import { ConnTracker } from '../src/monitor/tcp/index.js';

const CHUNK = 1024 * 1024;

/** HTTP-like connections, `concurrent` interleaved at a time, until `packets` frames exist. */
export function syntheticHttpCapture(packets: number, concurrent = 64): { pcap: Uint8Array; frameBytes: number; packets: number } {
  const request = `GET /api/items?page=1 HTTP/1.1\r\nHost: shop.internal\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n`;
  const body = new Uint8Array(1448).fill(0x61);
  const records: PcapRecord[] = [];
  let ts = 1_700_000_000;
  let frameBytes = 0;
  type Conn = { steps: Uint8Array[] };
  const makeConn = (n: number): Conn => {
    const client = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    const server = '10.200.0.10';
    const cport = 1024 + (n % 60000);
    const c = (flags: string, seq: number, ack: number, payload?: Uint8Array | string): Uint8Array =>
      B.tcpFrame({ src: client, dst: server, sport: cport, dport: 8080, flags, seq, ack, payload });
    const s = (flags: string, seq: number, ack: number, payload?: Uint8Array | string): Uint8Array =>
      B.tcpFrame({ src: server, dst: client, sport: 8080, dport: cport, flags, seq, ack, payload });
    const ci = 1000;
    const si = 900000;
    const reqEnd = ci + 1 + request.length;
    const steps = [c('S', ci, 0), s('SA', si, ci + 1), c('A', ci + 1, si + 1), c('PA', ci + 1, si + 1, request), s('A', si + 1, reqEnd)];
    let seq = si + 1;
    for (let k = 0; k < 10; k++) {
      steps.push(s('A', seq, reqEnd, body));
      seq += body.length;
      if (k % 2 === 1) steps.push(c('A', reqEnd, seq));
    }
    steps.push(c('FA', reqEnd, seq), s('FA', seq, reqEnd + 1), c('A', reqEnd + 1, seq + 1));
    return { steps };
  };
  const active: Conn[] = [];
  let next = 0;
  while (records.length < packets) {
    while (active.length < concurrent) active.push(makeConn(next++));
    const i = records.length % active.length;
    const conn = active[i];
    const frame = conn.steps.shift()!;
    records.push({ ts, data: frame });
    frameBytes += frame.length;
    ts += 0.00005; // 20k packets/s: connections finish and leave the table as they would live
    if (conn.steps.length === 0) active.splice(i, 1);
  }
  return { pcap: encodePcap(records, { linktype: 1 }), frameBytes, packets: records.length };
}

interface Stage {
  name: string;
  run(pcap: Uint8Array): number;
}

function pushAll(reader: CaptureReader, pcap: Uint8Array): void {
  for (let off = 0; off < pcap.length; off += CHUNK) reader.push(pcap.subarray(off, Math.min(off + CHUNK, pcap.length)));
  reader.end();
}

const stages: Stage[] = [
  {
    name: 'read',
    run(pcap) {
      let n = 0;
      pushAll(new CaptureReader(() => n++), pcap);
      return n;
    },
  },
  {
    name: 'read+decode',
    run(pcap) {
      const d = new PacketDecoder();
      let n = 0;
      pushAll(
        new CaptureReader((p) => {
          if (d.decode(p.linktype, p.data, p.ts)) n++;
        }),
        pcap,
      );
      return n;
    },
  },
  reassemblyStage('read+decode+reassembly', 2048),
  reassemblyStage('  same, no rexmit compare', 0),
];

/**
 * The consumer reads one byte of every cache line it is given, so the cost of first pulling
 * payload into the cache is charged to the consumer (a parser pays it anyway), not to
 * whichever stage of reassembly happens to read the bytes first.
 */
function reassemblyStage(name: string, retainBytes: number): Stage {
  return {
    name,
    run(pcap) {
      const d = new PacketDecoder();
      let touched = 0;
      const onData = (_c: unknown, _dir: number, b: Uint8Array, o: number, len: number): void => {
        const end = o + len;
        for (let i = o; i < end; i += 64) touched += b[i];
      };
      const t = new ConnTracker({ onData }, { seed: 1, retainBytes });
      let n = 0;
      pushAll(
        new CaptureReader((p) => {
          const dp = d.decode(p.linktype, p.data, p.ts);
          if (dp && t.process(dp)) n++;
        }),
        pcap,
      );
      t.flush();
      if (touched === 0) throw new Error('reassembly delivered no data');
      return n;
    },
  };
}

function best(fn: () => number, rounds: number): { ms: number; n: number } {
  let ms = Infinity;
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    n = fn();
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (dt < ms) ms = dt;
  }
  return { ms, n };
}

export async function run(packets = Number(process.env.DECODE_BENCH_PACKETS ?? 200_000)): Promise<string[]> {
  const cap = syntheticHttpCapture(packets);
  const lines = [
    `decode: ${cap.packets} packets, ${(cap.frameBytes / 1e6).toFixed(1)} MB of frames, pcap pushed in 1 MiB chunks (best of 3)`,
  ];
  let baseline = 0;
  for (const stage of stages) {
    const { ms, n } = best(() => stage.run(cap.pcap), 3);
    if (n !== cap.packets) throw new Error(`${stage.name}: handled ${n} of ${cap.packets} packets`);
    const pps = cap.packets / (ms / 1000);
    const gbps = (cap.frameBytes * 8) / (ms / 1000) / 1e9;
    if (baseline === 0) baseline = pps;
    lines.push(
      `decode: ${stage.name.padEnd(24)} ${ms.toFixed(0).padStart(6)} ms  ${(pps / 1e6).toFixed(2)} Mpkt/s  ${gbps.toFixed(2)} Gbit/s  ${(pps / baseline).toFixed(2)}x of read`,
    );
  }
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const line of await run()) console.log(line);
}
