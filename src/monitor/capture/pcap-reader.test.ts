import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureReader, readCaptureBuffer } from './capture-reader.js';
import { encodePcap } from './pcap-writer.js';
import { seededRng as rng } from '../../random/index.js';
import { collector, frameOf, randomChunks } from './testing.js';

const records = [
  { ts: 1700000000.25, data: frameOf(1, 60) },
  { ts: 1700000001.5, data: frameOf(2, 1514), origlen: 1600 },
  { ts: 1700000002.000001, data: frameOf(3, 0) },
  { ts: 1700000003.75, data: frameOf(4, 333) },
];

for (const variant of [{}, { bigEndian: true }, { nano: true }, { bigEndian: true, nano: true }]) {
  test(`classic pcap ${JSON.stringify(variant)}: every record with timestamps, lengths and index`, () => {
    const file = encodePcap(records, { linktype: 101, ...variant });
    const c = collector();
    const summary = readCaptureBuffer(file, c.onPacket);
    assert.equal(summary.stats.format, 'pcap');
    assert.equal(summary.stats.errors, 0, JSON.stringify(summary.diagnostics));
    assert.equal(c.packets.length, records.length);
    records.forEach((r, i) => {
      const p = c.packets[i];
      assert.equal(p.index, i + 1);
      assert.equal(p.linktype, 101);
      assert.ok(Math.abs(p.ts - r.ts) < 2e-6, `ts ${p.ts} vs ${r.ts}`);
      assert.deepEqual(p.data, r.data);
      assert.equal(p.caplen, r.data.length);
      assert.equal(p.origlen, r.origlen ?? r.data.length);
    });
  });
}

test('records spanning chunk boundaries are reassembled identically for any chunking', () => {
  const file = encodePcap(records, { linktype: 1 });
  const whole = collector();
  readCaptureBuffer(file, whole.onPacket);
  const rand = rng(7);
  for (const max of [1, 3, 17, 100, 2000]) {
    const c = collector();
    const reader = new CaptureReader(c.onPacket);
    for (const chunk of randomChunks(file, max, rand)) reader.push(chunk);
    const s = reader.end();
    assert.equal(s.stats.errors, 0);
    assert.deepEqual(c.packets, whole.packets);
  }
});

test('packets inside one chunk are views of it, not copies', () => {
  const file = encodePcap(records.slice(0, 1), { linktype: 1 });
  let seen: Uint8Array | null = null;
  readCaptureBuffer(file, (p) => (seen = p.data));
  assert.ok(seen !== null);
  assert.equal((seen as Uint8Array).buffer, file.buffer);
});

test('an absurd captured length stops the file with a diagnostic naming the packet', () => {
  const file = encodePcap(records, { linktype: 1 });
  // corrupt the incl_len of the 3rd record
  const third = 24 + (16 + 60) + (16 + 1514);
  new DataView(file.buffer).setUint32(third + 8, 0x7fffffff, true);
  const c = collector();
  const s = readCaptureBuffer(file, c.onPacket, { file: 'x.pcap' });
  assert.equal(c.packets.length, 2);
  assert.equal(s.stats.stopped, true);
  assert.equal(s.stats.errors, 1);
  assert.equal(s.diagnostics[0].code, 'E_PCAP_CAPLEN');
  assert.equal(s.diagnostics[0].loc?.packet, 3);
  assert.equal(s.diagnostics[0].loc?.file, 'x.pcap');
});

test('a file cut inside a record reports truncation and keeps the whole records', () => {
  const file = encodePcap(records, { linktype: 1 });
  const c = collector();
  const s = readCaptureBuffer(file.subarray(0, file.length - 10), c.onPacket);
  assert.equal(c.packets.length, 3);
  assert.equal(s.diagnostics[0].code, 'E_CAPTURE_TRUNCATED');
  assert.equal(s.diagnostics[0].loc?.packet, 4);
});

test('non-capture input and empty input are diagnosed, not thrown', () => {
  const c = collector();
  const bad = readCaptureBuffer(new TextEncoder().encode('GET / HTTP/1.1\r\n'), c.onPacket);
  assert.equal(bad.diagnostics[0].code, 'E_CAPTURE_FORMAT');
  assert.equal(bad.stats.stopped, true);
  const empty = readCaptureBuffer(new Uint8Array(0), c.onPacket);
  assert.equal(empty.diagnostics[0].code, 'E_CAPTURE_EMPTY');
  assert.equal(c.packets.length, 0);
});

test('captured length above the original length is counted and the packet still delivered', () => {
  const file = encodePcap([{ ts: 1, data: frameOf(1, 100), origlen: 50 }], { linktype: 1 });
  const c = collector();
  const s = readCaptureBuffer(file, c.onPacket);
  assert.equal(c.packets.length, 1);
  assert.equal(c.packets[0].origlen, 100);
  assert.equal(s.stats.errors, 1);
  assert.equal(s.diagnostics[0].code, 'E_PCAP_ORIGLEN');
});
