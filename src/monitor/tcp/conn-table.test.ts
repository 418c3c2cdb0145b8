import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketDecoder } from '../decode/index.js';
import * as B from '../testing/index.js';
import { connHash } from './conn-hash.js';
import { UidGenerator } from './conn-uid.js';
import { Flow, Harness } from './testing.js';

test('per-connection buffer cap: the hole is skipped, counted and the buffer stays bounded', () => {
  const h = new Harness({ maxBufferPerConn: 100 });
  const f = new Flow(h);
  const c = f.handshake();
  f.c({ flags: 'PA', seq: 1011, ack: 5001, data: 'x'.repeat(50) }); // offsets 10..60
  f.c({ flags: 'PA', seq: 1071, ack: 5001, data: 'y'.repeat(60) }); // 70..130: 110 buffered > 100
  assert.equal(h.tracker.stats.connCapFlushes, 1);
  assert.deepEqual(h.gaps, [{ uid: c.uid, dir: 0, len: 10 }]);
  assert.deepEqual(h.stream(c), ['x'.repeat(50), '']);
  assert.equal(c.bufferedBytes, 60);
  h.tracker.flush();
  assert.deepEqual(h.stream(c), ['x'.repeat(50) + 'y'.repeat(60), '']);
  assert.equal(c.missedBytes, 20);
  assert.equal(h.tracker.stats.bufferedBytes, 0);
});

test('per-direction segment cap bounds the number of buffered pieces', () => {
  const h = new Harness({ maxSegmentsPerDir: 4 });
  const f = new Flow(h);
  const c = f.handshake();
  for (let i = 0; i < 6; i++) f.c({ flags: 'PA', seq: 1011 + i * 2, ack: 5001, data: String(i) });
  assert.ok(c.orig.segs.length <= 4);
  assert.ok(h.tracker.stats.connCapFlushes >= 1);
  assert.ok(c.missedBytes >= 10);
});

test('global buffer cap flushes the oldest buffering connection', () => {
  const h = new Harness({ maxBufferTotal: 100 });
  const a = new Flow(h, '10.0.0.1');
  const ca = a.handshake();
  a.c({ flags: 'PA', seq: 1011, ack: 5001, data: 'a'.repeat(60) });
  const b = new Flow(h, '10.0.0.2');
  b.t = a.t;
  const cb = b.handshake();
  b.c({ flags: 'PA', seq: 1011, ack: 5001, data: 'b'.repeat(60) });
  assert.equal(h.tracker.stats.bufferCapFlushes, 1);
  assert.equal(ca.bufferedBytes, 0);
  assert.equal(ca.missedBytes, 10);
  assert.equal(cb.bufferedBytes, 60);
  assert.ok(h.tracker.stats.bufferedBytes <= 100);
  assert.equal(h.tracker.stats.peakBufferedBytes, 120);
});

test('max connections: the least recently active is evicted and closed', () => {
  const h = new Harness({ maxConnections: 3 });
  const conns = [];
  for (let i = 0; i < 5; i++) {
    const f = new Flow(h, '10.0.0.1', 41000 + i);
    f.t = 100 + i;
    conns.push(f.handshake());
  }
  assert.equal(h.tracker.size, 3);
  assert.equal(h.tracker.stats.evicted, 2);
  assert.deepEqual(h.closed, [conns[0], conns[1]]);
  assert.equal(conns[0].closeReason, 'evicted');
});

test('finished connections are evicted before live ones', () => {
  const h = new Harness({ maxConnections: 2 });
  const live = new Flow(h, '10.0.0.1', 41000);
  const cl = live.handshake();
  const done = new Flow(h, '10.0.0.1', 41001);
  done.t = live.t;
  const cd = done.handshake();
  done.c({ flags: 'R', seq: 1001 });
  const third = new Flow(h, '10.0.0.1', 41002);
  third.t = done.t;
  third.c({ flags: 'S', seq: 1 });
  assert.deepEqual(h.closed, [cd]);
  assert.equal(cd.closeReason, 'rst');
  assert.equal(cl.closeReason, null);
  assert.equal(h.tracker.stats.evicted, 0);
});

test('idle timeouts close flows per protocol', () => {
  const h = new Harness({ udpTimeout: 60, tcpTimeout: 300 });
  const u = h.frame(B.udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 5000, dport: 53, payload: 'q' }), 0)!;
  const t = new Flow(h);
  t.t = 0;
  const tc = t.handshake();
  const u2 = h.frame(B.udpFrame({ src: '10.0.0.8', dst: '10.0.0.9', sport: 5000, dport: 53, payload: 'q' }), 100)!;
  assert.deepEqual(h.closed, [u]);
  assert.equal(u.closeReason, 'timeout');
  assert.equal(tc.closeReason, null);
  // At 400 both the TCP flow (idle 400 s) and the second UDP flow (idle 300 s) have expired;
  // the packet then starts a new flow on the old UDP tuple.
  const u3 = h.frame(B.udpFrame({ src: '10.0.0.8', dst: '10.0.0.9', sport: 5000, dport: 53, payload: 'q' }), 400)!;
  assert.equal(tc.closeReason, 'timeout');
  assert.equal(u2.closeReason, 'timeout');
  assert.notEqual(u3, u2);
  assert.equal(h.tracker.stats.timedOut, 3);
});

test('an IPv6 connection is tracked with its addresses', () => {
  const h = new Harness();
  const f = new Flow(h, '2001:db8::1', 40000, '2001:db8::2', 443);
  const c = f.handshake();
  f.s({ flags: 'PA', seq: 5001, ack: 1001, data: 'hi' });
  assert.equal(c.ipVersion, 6);
  assert.equal(c.origAddress, '2001:db8::1');
  assert.equal(c.respAddress, '2001:db8::2');
  assert.equal(c.connState(), 'S1');
  assert.deepEqual(h.stream(c), ['', 'hi']);
});

test('the same inner 5-tuple in two VXLAN networks is two connections', () => {
  const h = new Harness();
  const wrap = (vni: number, inner: Uint8Array): Uint8Array =>
    B.ethernetFrame({
      payload: B.ipv4Packet({
        src: '192.0.2.1',
        dst: '192.0.2.2',
        proto: 17,
        payload: B.udpDatagram({ sport: 50000, dport: 4789, payload: B.vxlanPayload(vni, inner) }),
      }),
    });
  const syn = B.tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1234, dport: 80, flags: 'S', seq: 1 });
  const a = h.frame(wrap(1, syn), 1)!;
  const b = h.frame(wrap(2, syn), 1)!;
  assert.notEqual(a, b);
  assert.equal(a.vni, 1);
  assert.equal(b.vni, 2);
});

test('hash collisions are resolved by comparing the tuple', () => {
  // Find two flows whose hashes collide, then check they stay apart in both directions.
  const d = new PacketDecoder();
  const seen = new Map<number, number>();
  let pair: [number, number] | null = null;
  const frameFor = (i: number, reverse = false): Uint8Array => {
    const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    return reverse
      ? B.udpFrame({ src: '192.168.0.1', dst: src, sport: 53, dport: 1024 + (i % 60000) })
      : B.udpFrame({ src, dst: '192.168.0.1', sport: 1024 + (i % 60000), dport: 53 });
  };
  for (let i = 0; i < 200000 && !pair; i++) {
    const dp = d.decode(1, frameFor(i), 0)!;
    const hsh = connHash(dp, dp.srcPort, dp.dstPort);
    const j = seen.get(hsh);
    if (j !== undefined) pair = [j, i];
    else seen.set(hsh, i);
  }
  assert.ok(pair, 'no colliding pair found');
  const h = new Harness();
  const a = h.frame(frameFor(pair[0]), 1)!;
  const b = h.frame(frameFor(pair[1]), 1)!;
  assert.notEqual(a, b);
  assert.equal(h.frame(frameFor(pair[0], true), 2), a);
  assert.equal(h.frame(frameFor(pair[1], true), 2), b);
  assert.equal(a.resp.pkts, 1);
  assert.equal(b.resp.pkts, 1);
  h.tracker.flush();
  assert.equal(h.tracker.size, 0);
});

test('uids look like Zeek uids and repeat for the same seed', () => {
  const a = new UidGenerator(7);
  const b = new UidGenerator(7);
  const xs = Array.from({ length: 50 }, () => a.next());
  const ys = Array.from({ length: 50 }, () => b.next());
  assert.deepEqual(xs, ys);
  for (const x of xs) assert.match(x, /^C[0-9A-Za-z]{17}$/);
  assert.equal(new Set(xs).size, 50);
  assert.notDeepEqual(
    Array.from({ length: 5 }, () => new UidGenerator(8).next()),
    xs.slice(0, 5),
  );
});
