import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureReader, readCaptureBuffer } from './capture-reader.js';
import { encodePcapng } from './pcapng-writer.js';
import { seededRng as rng, seededUint32 } from '../../random/index.js';
import { collector, frameOf, randomChunks } from './testing.js';

const file = encodePcapng([
  {
    interfaces: [{ linktype: 1 }, { linktype: 101, tsresol: 9 }],
    unknownBlocks: [
      { type: 0x00000bad, body: frameOf(9, 40) },
      { type: 5, body: frameOf(8, 12) },
    ],
    packets: [
      { interfaceId: 0, ts: 1700000000.5, data: frameOf(1, 60) },
      { interfaceId: 1, ts: 1700000000 + 0.123456789, data: frameOf(2, 41), origlen: 1500 },
      { simple: true, ts: 0, data: frameOf(3, 70) },
    ],
  },
  {
    bigEndian: true,
    interfaces: [{ linktype: 113, tsresol: 0x80 | 10 }],
    packets: [{ interfaceId: 0, ts: 1700000100.25, data: frameOf(4, 99) }],
  },
]);

test('pcapng: sections of both byte orders, several interfaces, tsresol, SPB, unknown blocks skipped', () => {
  const c = collector();
  const s = readCaptureBuffer(file, c.onPacket);
  assert.equal(s.stats.format, 'pcapng');
  assert.equal(s.stats.errors, 0, JSON.stringify(s.diagnostics));
  assert.equal(c.packets.length, 4);
  const [a, b, spb, d] = c.packets;
  assert.equal(a.linktype, 1);
  assert.ok(Math.abs(a.ts - 1700000000.5) < 1e-6);
  assert.deepEqual(a.data, frameOf(1, 60));
  assert.equal(b.linktype, 101);
  assert.equal(b.interfaceId, 1);
  assert.ok(Math.abs(b.ts - (1700000000 + 0.123456789)) < 1e-6);
  assert.equal(b.origlen, 1500);
  assert.equal(b.caplen, 41);
  assert.equal(spb.linktype, 1);
  assert.deepEqual(spb.data, frameOf(3, 70));
  assert.equal(spb.ts, b.ts); // an SPB has no timestamp: it inherits the previous one
  assert.equal(d.linktype, 113);
  assert.ok(Math.abs(d.ts - 1700000100.25) < 1e-3);
  assert.deepEqual(d.data, frameOf(4, 99));
  assert.deepEqual(
    c.packets.map((p) => p.index),
    [1, 2, 3, 4],
  );
});

test('pcapng: identical results for any chunking, including skipped blocks cut by chunks', () => {
  const whole = collector();
  readCaptureBuffer(file, whole.onPacket);
  const rand = rng(11);
  for (const max of [1, 5, 13, 64, 500]) {
    const c = collector();
    const r = new CaptureReader(c.onPacket);
    for (const chunk of randomChunks(file, max, rand)) r.push(chunk);
    const s = r.end();
    assert.equal(s.stats.errors, 0, `chunk ${max}: ${JSON.stringify(s.diagnostics)}`);
    assert.deepEqual(c.packets, whole.packets);
  }
});

test('pcapng: a packet on an undeclared interface is counted and skipped; reading goes on', () => {
  const f = encodePcapng([
    {
      interfaces: [{ linktype: 1 }],
      packets: [
        { interfaceId: 3, ts: 1, data: frameOf(1, 20) },
        { ts: 2, data: frameOf(2, 20) },
      ],
    },
  ]);
  const c = collector();
  const s = readCaptureBuffer(f, c.onPacket);
  assert.equal(c.packets.length, 1);
  assert.equal(c.packets[0].index, 2);
  assert.equal(s.stats.errors, 1);
  assert.equal(s.diagnostics[0].code, 'E_PCAPNG_INTERFACE');
  assert.equal(s.diagnostics[0].loc?.packet, 1);
  assert.equal(s.stats.stopped, false);
});

test('pcapng: a block whose trailing length disagrees stops the file', () => {
  const f = encodePcapng([
    {
      interfaces: [{ linktype: 1 }],
      packets: [
        { ts: 1, data: frameOf(1, 20) },
        { ts: 2, data: frameOf(2, 20) },
        { ts: 3, data: frameOf(3, 20) },
      ],
    },
  ]);
  // The second EPB ends 4 bytes before the third begins; corrupt its trailer.
  const shbLen = 28;
  const idbLen = 20;
  const epbLen = 32 + 20;
  const trailer = shbLen + idbLen + 2 * epbLen - 4;
  f[trailer] ^= 0xff;
  const c = collector();
  const s = readCaptureBuffer(f, c.onPacket);
  assert.equal(c.packets.length, 1);
  assert.equal(s.stats.stopped, true);
  assert.equal(s.diagnostics.at(-1)?.code, 'E_PCAPNG_TRAILER');
});

test('pcapng: an absurd block length stops the file instead of buffering it', () => {
  const f = encodePcapng([{ interfaces: [{ linktype: 1 }], packets: [{ ts: 1, data: frameOf(1, 20) }] }]);
  new DataView(f.buffer).setUint32(28 + 4, 0xfffffff0, true); // IDB length
  const s = readCaptureBuffer(f, () => {});
  assert.equal(s.stats.stopped, true);
  assert.equal(s.diagnostics[0].code, 'E_PCAPNG_BLOCK_LEN');
});

/** The double nearest to `units / 10^n` seconds, from its decimal text (which JavaScript rounds correctly). */
function nearestDecimal(units: bigint, n: number): number {
  const s = units.toString().padStart(n + 1, '0');
  return n === 0 ? Number(s) : Number(`${s.slice(0, s.length - n)}.${s.slice(s.length - n)}`);
}

test('pcapng: timestamps of every if_tsresol, 10^-n and 2^-n, come out as the nearest double', () => {
  const next = seededUint32(7);
  const interfaces: { linktype: number; tsresol: number }[] = [];
  const packets: { interfaceId: number; ts: number; units: bigint; data: Uint8Array }[] = [];
  const want: number[] = [];
  const MAX = 1n << 64n;
  for (let n = 0; n <= 19; n++) {
    const per = 10n ** BigInt(n);
    // A 2023 time in units of 10^-n s where it fits in 64 bits; else the largest count of whole seconds that does.
    const whole = 1_700_000_000n * per < MAX ? 1_700_000_000n : MAX / per - 1n;
    for (let k = 0; k < 40; k++) {
      const frac = ((BigInt(next()) << 32n) | BigInt(next())) % per;
      packets.push({ interfaceId: interfaces.length, ts: 0, units: whole * per + frac, data: frameOf(k, 20) });
      want.push(nearestDecimal(whole * per + frac, n));
    }
    interfaces.push({ linktype: 1, tsresol: n });
  }
  for (let n = 0; n <= 127; n++) {
    for (let k = 0; k < 8; k++) {
      const units = (BigInt(next()) << 32n) | BigInt(next());
      packets.push({ interfaceId: interfaces.length, ts: 0, units, data: frameOf(k, 20) });
      // Number(bigint) rounds to nearest; scaling by a power of two is exact.
      want.push(Number(units) * 2 ** -n);
    }
    interfaces.push({ linktype: 1, tsresol: 0x80 | n });
  }
  for (const bigEndian of [false, true]) {
    const c = collector();
    const s = readCaptureBuffer(encodePcapng([{ bigEndian, interfaces, packets }]), c.onPacket);
    assert.equal(s.stats.errors, 0, JSON.stringify(s.diagnostics));
    assert.equal(c.packets.length, want.length);
    const wrong = c.packets.flatMap((p, i) =>
      p.ts === want[i] ? [] : [`${packets[i].units} at tsresol ${interfaces[p.interfaceId].tsresol}: ${p.ts} != ${want[i]}`],
    );
    assert.deepEqual(wrong.slice(0, 5), []);
  }
  // Nanoseconds, the common case: the text a person would write.
  const ns = encodePcapng([
    { interfaces: [{ linktype: 1, tsresol: 9 }], packets: [{ ts: 0, units: 1_700_000_000_123_456_789n, data: frameOf(1, 20) }] },
  ]);
  const c = collector();
  readCaptureBuffer(ns, c.onPacket);
  assert.equal(c.packets[0].ts, Number('1700000000.123456789'));
});
