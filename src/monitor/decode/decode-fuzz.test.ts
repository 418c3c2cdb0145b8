import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketDecoder } from './packet-decoder.js';
import * as B from '../testing/index.js';
import { seededRng as rng } from '../../random/index.js';

const linktypes = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276];

const seeds: Uint8Array[] = [
  B.tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 80, payload: 'GET / HTTP/1.1\r\n\r\n', optionBytes: 8 }),
  B.tcpFrame({ src: '2001:db8::1', dst: '2001:db8::2', sport: 1, dport: 80, payload: 'x', vlans: [{ vid: 5, tpid: 0x88a8 }, { vid: 6 }] }),
  B.udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 4789 }),
  B.ethernetFrame({
    payload: B.ipv4Packet({
      src: '1.1.1.1',
      dst: '2.2.2.2',
      proto: 17,
      payload: B.udpDatagram({
        sport: 9,
        dport: 4789,
        payload: B.vxlanPayload(5, B.tcpFrame({ src: '3.3.3.3', dst: '4.4.4.4', sport: 5, dport: 6 })),
      }),
    }),
  }),
  B.ethernetFrame({
    payload: B.ipv6Packet({
      src: '::1',
      dst: '::2',
      nextHeader: 6,
      payload: B.tcpSegment({ sport: 1, dport: 2 }),
      ext: [{ type: 0 }, { type: 43 }, { type: 60 }, { type: 51 }],
    }),
  }),
  ...B.fragmentIpv4(
    { src: '5.5.5.5', dst: '6.6.6.6', proto: 17, id: 3, payload: B.udpDatagram({ sport: 1, dport: 2, payload: new Uint8Array(100) }) },
    48,
  ).map((p) => B.ethernetFrame({ payload: p })),
  ...B.fragmentIpv6(
    { src: '::5', dst: '::6', nextHeader: 17, payload: B.udpDatagram({ sport: 1, dport: 2, payload: new Uint8Array(100) }) },
    48,
    9,
  ).map((p) => B.ethernetFrame({ payload: p })),
  B.icmpFrame({ src: '::1', dst: '::2', type: 128 }),
];

function check(d: PacketDecoder, linktype: number, frame: Uint8Array): void {
  const dp = d.decode(linktype, frame, 0);
  if (dp) {
    assert.ok(
      dp.payloadOffset >= 0 && dp.payloadLength >= 0 && dp.payloadOffset + dp.payloadLength <= dp.buf.length,
      'payload inside its buffer',
    );
    assert.ok(dp.ipVersion === 4 || dp.ipVersion === 6);
  }
}

test('fuzz: random bytes under every link type never throw', () => {
  const rand = rng(42);
  const d = new PacketDecoder();
  for (let i = 0; i < 4000; i++) {
    const len = Math.floor(rand() * 120);
    const b = new Uint8Array(len);
    for (let k = 0; k < len; k++) b[k] = Math.floor(rand() * 256);
    check(d, linktypes[i % linktypes.length], b);
  }
  const s = d.stats;
  assert.equal(s.packets, 4000);
  assert.ok(s.malformed > 1000, `malformed ${s.malformed}`);
});

test('fuzz: mutated valid frames never throw; every frame is decoded, skipped or held', () => {
  const rand = rng(4242);
  const d = new PacketDecoder({ maxDatagrams: 64 });
  let held = 0;
  for (let i = 0; i < 6000; i++) {
    const b = seeds[i % seeds.length].slice();
    const flips = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < flips; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    const frame = rand() < 0.2 ? b.subarray(0, Math.floor(rand() * b.length)) : b;
    check(d, 1, frame);
    if (d.lastSkip === 'fragment_held') held++;
  }
  const s = d.stats;
  assert.equal(s.decoded + s.malformed + s.non_ip + held, s.packets);
  assert.ok(s.decoded > 500 && s.malformed > 500, JSON.stringify(s.toRecord()));
});
