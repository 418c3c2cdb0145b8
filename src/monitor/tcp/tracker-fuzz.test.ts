import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as B from '../testing/index.js';
import { Harness } from './testing.js';
import { seededRng as rng } from '../../random/index.js';

test('fuzz: hostile TCP sequences never throw and keep the memory accounting exact', () => {
  const rand = rng(2024);
  const h = new Harness({ maxBufferPerConn: 4096, maxBufferTotal: 16384, maxConnections: 20, maxSegmentsPerDir: 32 });
  const flagSets = ['S', 'SA', 'A', 'PA', 'FA', 'R', 'RA', 'SF', 'SR', 'FR', 'SFRPAU', ''];
  const bases = [1000, 0xfffff000, 77];
  let ts = 1;
  for (let i = 0; i < 5000; i++) {
    const flow = Math.floor(rand() * 30);
    const fromClient = rand() < 0.5;
    const base = bases[flow % 3];
    // Mostly plausible sequence numbers near the base, sometimes wild ones.
    const seq = rand() < 0.9 ? (base + Math.floor(rand() * 6000)) >>> 0 : Math.floor(rand() * 0x100000000);
    const ack = rand() < 0.9 ? (base + Math.floor(rand() * 6000)) >>> 0 : Math.floor(rand() * 0x100000000);
    const len = rand() < 0.5 ? 0 : Math.floor(rand() * 700);
    ts += rand() < 0.01 ? 100 : rand() * 0.01;
    const client = `10.0.${flow}.1`;
    const frame = B.tcpFrame({
      src: fromClient ? client : '10.1.0.1',
      dst: fromClient ? '10.1.0.1' : client,
      sport: fromClient ? 40000 + flow : 80,
      dport: fromClient ? 80 : 40000 + flow,
      flags: flagSets[Math.floor(rand() * flagSets.length)],
      seq,
      ack,
      window: Math.floor(rand() * 3) * 1000,
      payload: new Uint8Array(len).fill(65 + (i % 26)),
    });
    h.frame(frame, ts);
    const s = h.tracker.stats;
    const sum = h.tracker.connections().reduce((n, c) => n + c.bufferedBytes, 0);
    assert.equal(s.bufferedBytes, sum, `iteration ${i}`);
    assert.ok(s.bufferedBytes <= 16384 + 700, `global cap exceeded at ${i}: ${s.bufferedBytes}`);
    assert.ok(h.tracker.size <= 20);
  }
  h.tracker.flush();
  const s = h.tracker.stats;
  assert.equal(h.tracker.size, 0);
  assert.equal(s.bufferedBytes, 0);
  assert.equal(s.closed, s.connections);
  assert.equal(h.closed.length, s.connections);
  for (const c of h.closed)
    assert.ok(['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH'].includes(c.connState()));
});
