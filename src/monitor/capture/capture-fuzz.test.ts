import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureReader } from './capture-reader.js';
import { encodePcap } from './pcap-writer.js';
import { encodePcapng } from './pcapng-writer.js';
import { seededRng as rng } from '../../random/index.js';
import { frameOf, randomChunks } from './testing.js';

const valid = [
  encodePcap(
    Array.from({ length: 20 }, (_, i) => ({ ts: i, data: frameOf(i, 20 + i * 7) })),
    { linktype: 1 },
  ),
  encodePcap(
    Array.from({ length: 20 }, (_, i) => ({ ts: i, data: frameOf(i, 30) })),
    { linktype: 101, bigEndian: true, nano: true },
  ),
  encodePcapng([
    {
      interfaces: [{ linktype: 1 }, { linktype: 113, tsresol: 9 }],
      unknownBlocks: [{ type: 77, body: frameOf(1, 30) }],
      packets: Array.from({ length: 15 }, (_, i) => ({ interfaceId: i % 2, ts: i, data: frameOf(i, 25 + i), simple: i === 7 })),
    },
  ]),
];

function run(bytes: Uint8Array, rand: () => number): { packets: number; errors: number } {
  let packets = 0;
  const r = new CaptureReader((p) => {
    // Touch the view to prove it is inside its buffer.
    if (p.caplen > 0 && p.data[p.caplen - 1] === undefined) throw new Error('view out of range');
    packets++;
  });
  for (const c of randomChunks(bytes, 1 + Math.floor(rand() * 200), rand)) r.push(c);
  const s = r.end();
  return { packets, errors: s.stats.errors };
}

test('fuzz: random bytes never throw', () => {
  const rand = rng(1234);
  for (let i = 0; i < 1500; i++) {
    const len = Math.floor(rand() * 300);
    const b = new Uint8Array(len);
    for (let k = 0; k < len; k++) b[k] = Math.floor(rand() * 256);
    // Half of the inputs get a valid magic so the format parsers are exercised.
    if (i % 2 === 0 && len >= 4) b.set(i % 4 === 0 ? [0xd4, 0xc3, 0xb2, 0xa1] : [0x0a, 0x0d, 0x0d, 0x0a], 0);
    assert.doesNotThrow(() => run(b, rand));
  }
});

test('fuzz: mutated valid captures never throw and never invent more packets than records', () => {
  const rand = rng(99);
  let withErrors = 0;
  for (let i = 0; i < 3000; i++) {
    const base = valid[i % valid.length];
    const b = base.slice();
    const flips = 1 + Math.floor(rand() * 6);
    for (let k = 0; k < flips; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    const cut = rand() < 0.3 ? b.subarray(0, Math.floor(rand() * b.length)) : b;
    const out = run(cut, rand);
    assert.ok(out.packets <= 20, `iteration ${i}: ${out.packets} packets`);
    if (out.errors > 0) withErrors++;
  }
  // Mutations must actually hit the checks, or this test proves nothing.
  assert.ok(withErrors > 300, `only ${withErrors} mutated inputs produced errors`);
});
