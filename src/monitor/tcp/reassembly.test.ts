import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Flow, Harness } from './testing.js';

test('in-order data is delivered as it arrives', () => {
  const h = new Harness();
  const f = new Flow(h);
  const c = f.handshake();
  f.c({ flags: 'PA', seq: 1001, ack: 5001, data: 'abc' });
  assert.deepEqual(h.stream(c), ['abc', '']);
  f.c({ flags: 'PA', seq: 1004, ack: 5001, data: 'def' });
  assert.deepEqual(h.stream(c), ['abcdef', '']);
  assert.equal(c.bufferedBytes, 0);
});

test('out-of-order segments are buffered and delivered in order', () => {
  const h = new Harness();
  const f = new Flow(h);
  const c = f.handshake();
  f.c({ flags: 'PA', seq: 1007, ack: 5001, data: 'ghi' });
  assert.deepEqual(h.stream(c), ['', '']);
  assert.equal(c.bufferedBytes, 3);
  f.c({ flags: 'PA', seq: 1001, ack: 5001, data: 'abc' });
  assert.deepEqual(h.stream(c), ['abc', '']);
  f.c({ flags: 'PA', seq: 1004, ack: 5001, data: 'def' });
  assert.deepEqual(h.stream(c), ['abcdefghi', '']);
  assert.equal(c.bufferedBytes, 0);
  assert.equal(h.tracker.stats.bufferedBytes, 0);
  assert.equal(c.missedBytes, 0);
  assert.equal(c.origBytes, 9);
});

test('sequence numbers wrapping past 2^32 keep the stream in order', () => {
  const h = new Harness();
  const f = new Flow(h);
  f.c({ flags: 'S', seq: 0xfffffffd });
  f.s({ flags: 'SA', seq: 5000, ack: 0xfffffffe });
  f.c({ flags: 'A', seq: 0xfffffffe, ack: 5001 });
  const c = f.c({ flags: 'PA', seq: 0xfffffffe, ack: 5001, data: 'wrap' })!;
  f.c({ flags: 'PA', seq: 2, ack: 5001, data: 'ped' });
  assert.deepEqual(h.stream(c), ['wrapped', '']);
});

test('retransmissions are dropped; a retransmission with different bytes is flagged', () => {
  const h = new Harness();
  const f = new Flow(h);
  const c = f.handshake();
  f.c({ flags: 'PA', seq: 1001, ack: 5001, data: 'abc' });
  f.c({ flags: 'PA', seq: 1001, ack: 5001, data: 'abc' });
  assert.deepEqual(h.stream(c), ['abc', '']);
  assert.equal(c.history, 'ShADT');
  assert.equal(c.inconsistentOverlaps, 0);
  f.c({ flags: 'PA', seq: 1001, ack: 5001, data: 'abX' });
  assert.deepEqual(h.stream(c), ['abc', '']);
  assert.equal(c.inconsistentOverlaps, 1);
  assert.ok(h.weirds.includes('rexmit_inconsistency'));
});

test('a segment partly old and partly new delivers only the new bytes', () => {
  const h = new Harness();
  const f = new Flow(h);
  const c = f.handshake();
  f.c({ flags: 'PA', seq: 1001, ack: 5001, data: 'abc' });
  f.c({ flags: 'PA', seq: 1002, ack: 5001, data: 'bcdef' });
  assert.deepEqual(h.stream(c), ['abcdef', '']);
  assert.equal(c.overlaps, 1);
  assert.equal(c.inconsistentOverlaps, 0);
});

test('overlapping buffered segments: the first received wins; differing bytes are counted', () => {
  const h = new Harness();
  const f = new Flow(h);
  const c = f.handshake();
  f.c({ flags: 'PA', seq: 1006, ack: 5001, data: 'FGHIJ' }); // offsets 5..10
  f.c({ flags: 'PA', seq: 1004, ack: 5001, data: 'DEFGH' }); // 3..8, overlap 5..8 identical
  assert.equal(c.overlaps, 1);
  assert.equal(c.inconsistentOverlaps, 0);
  f.c({ flags: 'PA', seq: 1004, ack: 5001, data: 'dexyz' }); // 3..8 again, differing
  assert.equal(c.overlaps, 2);
  assert.equal(c.inconsistentOverlaps, 1);
  assert.ok(h.weirds.includes('overlap'));
  assert.ok(h.weirds.includes('rexmit_inconsistency'));
  f.c({ flags: 'PA', seq: 1001, ack: 5001, data: 'ABC' });
  assert.deepEqual(h.stream(c), ['ABCDEFGHIJ', '']);
  assert.equal(c.bufferedBytes, 0);
});

test('a hole left at close is skipped and reported as a gap with missed bytes', () => {
  const h = new Harness();
  const f = new Flow(h);
  const c = f.handshake();
  f.c({ flags: 'PA', seq: 1001, ack: 5001, data: 'abc' });
  f.c({ flags: 'PA', seq: 1011, ack: 5001, data: 'klm' });
  f.c({ flags: 'FA', seq: 1014, ack: 5001 });
  assert.deepEqual(h.stream(c), ['abc', '']);
  h.tracker.flush();
  assert.deepEqual(h.stream(c), ['abcklm', '']);
  assert.deepEqual(h.gaps, [{ uid: c.uid, dir: 0, len: 7 }]);
  assert.equal(c.missedBytes, 7);
  assert.equal(h.tracker.stats.missedBytes, 7);
  assert.equal(c.origBytes, 13);
});

test('data missing before a FIN counts as missed bytes at close', () => {
  const h = new Harness();
  const f = new Flow(h);
  const c = f.handshake();
  f.c({ flags: 'PA', seq: 1001, ack: 5001, data: 'abc' });
  f.c({ flags: 'FA', seq: 1010, ack: 5001 });
  h.tracker.flush();
  assert.equal(c.missedBytes, 6);
});

test('an ACK for data never seen reveals a gap at once (history G)', () => {
  const h = new Harness();
  const f = new Flow(h);
  const c = f.handshake();
  f.c({ flags: 'PA', seq: 1001, ack: 5001, data: 'abc' });
  f.s({ flags: 'A', seq: 5001, ack: 1011 });
  assert.deepEqual(h.gaps, [{ uid: c.uid, dir: 0, len: 7 }]);
  assert.equal(c.history, 'ShADaG');
  f.c({ flags: 'PA', seq: 1011, ack: 5001, data: 'klm' });
  assert.deepEqual(h.stream(c), ['abcklm', '']);
  assert.equal(c.missedBytes, 7);
});

test('an ACK of the FIN is not mistaken for a gap', () => {
  const h = new Harness();
  const f = new Flow(h);
  const c = f.handshake();
  f.c({ flags: 'PA', seq: 1001, ack: 5001, data: 'abc' });
  f.c({ flags: 'FA', seq: 1004, ack: 5001 });
  f.s({ flags: 'A', seq: 5001, ack: 1005 });
  h.tracker.flush();
  assert.equal(c.missedBytes, 0);
  assert.equal(h.gaps.length, 0);
});
