import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipv4Packet, tcpSegment } from '../../testing/index.js';
import {
  answerClientFrame,
  checksumsHold,
  forbiddenResponse,
  readTcp,
  resetInPlaceOf,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
} from './tcp-segment.js';

const request = (payload: string, optionBytes = 0) =>
  ipv4Packet({
    src: '10.250.0.254',
    dst: '10.77.0.2',
    proto: 6,
    optionBytes,
    payload: tcpSegment({ sport: 40000, dport: 80, seq: 0xfffffff0, ack: 7000, flags: 'PA', payload, optionBytes: 12 }),
  });

test('readTcp finds ports, sequence numbers and the payload, past IP and TCP options', () => {
  const v = readTcp(request('GET / HTTP/1.1\r\n\r\n', 4));
  assert.ok(v);
  assert.deepEqual(
    [v.sport, v.dport, v.seq, v.ack, v.flags, v.ipHeaderLength, v.payloadOffset, v.payloadLength],
    [40000, 80, 0xfffffff0, 7000, TCP_PSH | TCP_ACK, 24, 24 + 32, 18],
  );
});

test('readTcp refuses what it cannot read whole: short, not IPv4, not TCP, fragments, lengths past the end', () => {
  const good = request('x');
  assert.equal(readTcp(good.subarray(0, 30)), null);
  assert.equal(readTcp(new Uint8Array(60)), null);
  const udp = good.slice();
  udp[9] = 17;
  assert.equal(readTcp(udp), null);
  const frag = good.slice();
  frag[7] = 1;
  assert.equal(readTcp(frag), null);
  const long = good.slice();
  long[3] += 100;
  assert.equal(readTcp(long), null);
  const doff = good.slice();
  doff[20 + 12] = 0xf0;
  assert.equal(readTcp(doff), null);
});

test('the reset in place of a blocked segment: same connection, same sequence number, no payload, valid checksums', () => {
  const v = readTcp(request('DELETE /x HTTP/1.1\r\n\r\n'))!;
  const rst = resetInPlaceOf(v);
  assert.ok(checksumsHold(rst));
  const r = readTcp(rst)!;
  assert.deepEqual(
    [r.src, r.dst, r.sport, r.dport, r.seq, r.ack, r.flags, r.payloadLength],
    [v.src, v.dst, 40000, 80, v.seq, 7000, TCP_RST | TCP_ACK, 0],
  );
});

test('the answer to the client continues the server stream and acknowledges the blocked data (sequence numbers wrap)', () => {
  const v = readTcp(request('GET /admin HTTP/1.1\r\n\r\n'))!;
  const tag = new Uint8Array([0x02, 0x66, 0x71, 0, 0, 5]);
  const me = new Uint8Array([2, 0, 0, 0, 0, 9]);
  const body = forbiddenResponse('GET /admin: allowed: GET /', 'CAbc');
  const f = answerClientFrame(v, tag, me, body);
  assert.deepEqual([...f.subarray(0, 14)], [...tag, ...me, 8, 0]);
  assert.ok(checksumsHold(f.subarray(14)));
  const r = readTcp(f.subarray(14))!;
  assert.deepEqual([r.src, r.dst, r.sport, r.dport, r.seq], [v.dst, v.src, 80, 40000, 7000]);
  assert.equal(r.ack, (0xfffffff0 + v.payloadLength) >>> 0);
  assert.equal(r.flags, TCP_FIN | TCP_PSH | TCP_ACK);
  const text = new TextDecoder().decode(f.subarray(14 + r.payloadOffset));
  assert.match(text, /^HTTP\/1\.1 403 Forbidden\r\n/);
  assert.match(text, /Connection: close/);
  const [, bodyText] = text.split('\r\n\r\n');
  assert.equal(Number(/Content-Length: (\d+)/.exec(text)![1]), bodyText.length);
  assert.match(bodyText, /GET \/admin: allowed: GET \/\nconnection CAbc\n$/);
  const reset = readTcp(answerClientFrame(v, tag, me, null).subarray(14))!;
  assert.equal(reset.flags, TCP_RST | TCP_ACK);
  assert.equal(reset.payloadLength, 0);
});

test('a 403 carries printable ASCII only and a bounded reason, whatever the request held', () => {
  const text = new TextDecoder().decode(forbiddenResponse(`GET /\r\nSet-Cookie: x\u0000${'a'.repeat(5000)}`, 'u\r\n'));
  const body = text.split('\r\n\r\n')[1];
  assert.ok(!body.includes('\r') && !body.includes('\u0000'), body);
  assert.doesNotMatch(text, /\r\nSet-Cookie/);
  assert.ok(text.length < 800, String(text.length));
});
