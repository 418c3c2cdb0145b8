import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as packetBuilder from '../testing/index.js';
import { Flow, Harness } from './testing.js';

const { udpFrame, icmpFrame } = packetBuilder;

function sf(_h: Harness, f: Flow): void {
  f.handshake();
  f.c({ flags: 'PA', seq: 1001, ack: 5001, data: 'GET /' });
  f.s({ flags: 'A', seq: 5001, ack: 1006 });
  f.s({ flags: 'PA', seq: 5001, ack: 1006, data: 'HTTP/1.1 200' });
  f.c({ flags: 'A', seq: 1006, ack: 5013 });
  f.c({ flags: 'FA', seq: 1006, ack: 5013 });
  f.s({ flags: 'A', seq: 5013, ack: 1007 });
  f.s({ flags: 'FA', seq: 5013, ack: 1007 });
}

test('a normal connection: SF, history ShADadFf, counters, streams, duration', () => {
  const h = new Harness();
  const f = new Flow(h);
  sf(h, f);
  const lastCounted = f.t;
  const c = f.c({ flags: 'A', seq: 1007, ack: 5014 })!;
  assert.equal(c.connState(), 'SF');
  assert.equal(c.history, 'ShADadFf');
  assert.equal(c.origAddress, '10.0.0.1');
  assert.equal(c.respAddress, '10.0.0.2');
  assert.equal(c.origPort, 40000);
  assert.equal(c.respPort, 80);
  assert.equal(c.protoName, 'tcp');
  assert.equal(c.origBytes, 5);
  assert.equal(c.respBytes, 12);
  assert.equal(c.orig.pkts, 6);
  assert.equal(c.resp.pkts, 5);
  assert.equal(c.orig.ipBytes, 6 * 40 + 5);
  assert.equal(c.resp.ipBytes, 5 * 40 + 12);
  assert.deepEqual(h.stream(c), ['GET /', 'HTTP/1.1 200']);
  assert.equal(c.missedBytes, 0);
  // The trailing ACK after both FINs does not extend the duration (Zeek semantics).
  assert.ok(Math.abs(c.duration - (lastCounted - c.startTs)) < 1e-9);
  // The closed connection lingers for late packets, then is closed once time moves past the delay.
  assert.equal(h.closed.length, 0);
  const other = new Flow(h, '10.9.9.9');
  other.t = f.t + 10;
  other.c({ flags: 'S', seq: 1 });
  assert.equal(h.closed.length, 1);
  assert.equal(h.closed[0], c);
  assert.equal(c.closeReason, 'fin');
});

test('a new SYN on a finished 5-tuple starts a new connection', () => {
  const h = new Harness();
  const f = new Flow(h);
  sf(h, f);
  const first = f.c({ flags: 'A', seq: 1007, ack: 5014 })!;
  const second = f.c({ flags: 'S', seq: 90000 })!;
  assert.notEqual(second, first);
  assert.notEqual(second.uid, first.uid);
  assert.equal(first.closeReason, 'fin');
  assert.equal(second.history, 'S');
});

test('REJ: SYN answered by RST', () => {
  const h = new Harness();
  const f = new Flow(h);
  f.c({ flags: 'S', seq: 1000 });
  const c = f.s({ flags: 'RA', seq: 0, ack: 1001 })!;
  assert.equal(c.connState(), 'REJ');
  assert.equal(c.history, 'Sr');
  h.tracker.flush();
  assert.equal(c.closeReason, 'rst');
});

test('S0: an unanswered SYN; RSTOS0: SYN then RST from the originator', () => {
  const h = new Harness();
  const f = new Flow(h);
  const c = f.c({ flags: 'S', seq: 1000 })!;
  f.c({ flags: 'S', seq: 1000 }); // a retransmitted SYN with the same seq adds no letter
  assert.equal(c.connState(), 'S0');
  assert.equal(c.history, 'S');
  h.tracker.flush();
  assert.equal(h.closed[0], c);
  assert.equal(c.closeReason, 'flush');

  const g = new Flow(h, '10.0.0.3');
  g.c({ flags: 'S', seq: 1 });
  const d = g.c({ flags: 'R', seq: 2 })!;
  assert.equal(d.connState(), 'RSTOS0');
  assert.equal(d.history, 'SR');
});

test('RSTO and RSTR: an established connection aborted by either side', () => {
  const h = new Harness();
  const o = new Flow(h, '10.0.0.1');
  o.handshake();
  const co = o.c({ flags: 'R', seq: 1001 })!;
  assert.equal(co.connState(), 'RSTO');
  assert.equal(co.history, 'ShAR');
  const r = new Flow(h, '10.0.0.5');
  r.handshake();
  const cr = r.s({ flags: 'R', seq: 5001 })!;
  assert.equal(cr.connState(), 'RSTR');
  assert.equal(cr.history, 'ShAr');
});

test('S1, S2 and S3: established, and half-closed by either side', () => {
  const h = new Harness();
  const a = new Flow(h, '10.0.0.1');
  assert.equal(a.handshake().connState(), 'S1');
  const b = new Flow(h, '10.0.0.2');
  b.handshake();
  assert.equal(b.c({ flags: 'FA', seq: 1001, ack: 5001 })!.connState(), 'S2');
  const c = new Flow(h, '10.0.0.3');
  c.handshake();
  assert.equal(c.s({ flags: 'FA', seq: 5001, ack: 1001 })!.connState(), 'S3');
});

test('mid-stream pickup: OTH with both sides partial; the server side is recognised by its port', () => {
  const h = new Harness();
  const f = new Flow(h);
  const c = f.c({ flags: 'PA', seq: 777, ack: 888, data: 'abc' })!;
  f.s({ flags: 'PA', seq: 888, ack: 780, data: 'xyz' });
  assert.equal(c.connState(), 'OTH');
  assert.equal(c.history, 'Dd');
  assert.equal(c.flipped, false);
  assert.deepEqual(h.stream(c), ['abc', 'xyz']);

  const g = new Flow(h, '10.0.0.7');
  const d = g.s({ flags: 'PA', seq: 888, ack: 777, data: 'hello' })!;
  g.c({ flags: 'PA', seq: 777, ack: 893, data: 'hi' });
  assert.equal(d.flipped, true);
  assert.equal(d.origAddress, '10.0.0.7');
  assert.equal(d.origPort, 40000);
  assert.equal(d.history, '^dD');
  assert.deepEqual(h.stream(d), ['hi', 'hello']);
});

test('a SYN-ACK seen first makes its sender the responder', () => {
  const h = new Harness();
  const f = new Flow(h);
  const c = f.s({ flags: 'SA', seq: 5000, ack: 1001 })!;
  assert.equal(c.origAddress, '10.0.0.1');
  assert.equal(c.respPort, 80);
  assert.equal(c.history, '^h');
});

test('zero-window advertisements are recorded', () => {
  const h = new Harness();
  const f = new Flow(h);
  f.handshake();
  const c = f.s({ flags: 'A', seq: 5001, ack: 1001, window: 0 })!;
  assert.equal(c.history, 'ShAaw');
});

test('UDP flows: SF with Dd, payloads handed out; server replies first flip the roles', () => {
  const h = new Harness();
  const c = h.frame(udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 53000, dport: 53, payload: 'q' }), 1)!;
  h.frame(udpFrame({ src: '10.0.0.2', dst: '10.0.0.1', sport: 53, dport: 53000, payload: 'r' }), 1.1);
  assert.equal(c.protoName, 'udp');
  assert.equal(c.connState(), 'SF');
  assert.equal(c.history, 'Dd');
  assert.equal(c.orig.pkts, 1);
  assert.equal(c.resp.pkts, 1);
  assert.equal(c.origBytes, 1);
  assert.deepEqual(h.datagrams, ['0:q', '1:r']);
  const d = h.frame(udpFrame({ src: '10.0.0.2', dst: '10.0.0.3', sport: 53, dport: 53001, payload: 'late' }), 2)!;
  assert.equal(d.flipped, true);
  assert.equal(d.origAddress, '10.0.0.3');
  assert.equal(d.connState(), 'SHR');
});

test('ICMP echo request and reply form one flow with Zeek type/counterpart ports', () => {
  const h = new Harness();
  const c = h.frame(icmpFrame({ src: '10.0.0.1', dst: '10.0.0.2', type: 8 }), 1)!;
  const r = h.frame(icmpFrame({ src: '10.0.0.2', dst: '10.0.0.1', type: 0 }), 1.1)!;
  assert.equal(r, c);
  assert.equal(c.protoName, 'icmp');
  assert.equal(c.origPort, 8);
  assert.equal(c.respPort, 0);
  assert.equal(c.orig.pkts, 1);
  assert.equal(c.resp.pkts, 1);
  assert.equal(c.connState(), 'OTH');
});
