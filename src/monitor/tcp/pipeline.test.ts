import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPcapFile, writePcap, type PcapRecord } from '../capture/index.js';
import { PacketDecoder } from '../decode/index.js';
import * as B from '../testing/index.js';
import { ConnTracker } from './conn-tracker.js';
import type { Connection } from './connection.js';

test('pcap file → decode → reassembly: VLAN-tagged HTTP with reordering and IP fragments', async () => {
  const client = '10.0.0.1';
  const server = '10.0.0.2';
  const vlans = [{ vid: 10 }];
  const c = (flags: string, seq: number, ack: number, payload?: string): Uint8Array =>
    B.tcpFrame({ src: client, dst: server, sport: 45000, dport: 8080, flags, seq, ack, payload, vlans });
  const s = (flags: string, seq: number, ack: number, payload?: string): Uint8Array =>
    B.tcpFrame({ src: server, dst: client, sport: 8080, dport: 45000, flags, seq, ack, payload, vlans });
  const req = 'GET /big HTTP/1.1\r\nHost: x\r\n\r\n';
  const body = 'B'.repeat(3000);
  const resp = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  // The response goes out as one 3000+ byte TCP segment fragmented at the IP layer, fragments reversed.
  const seg = B.tcpSegment({ sport: 8080, dport: 45000, flags: 'PA', seq: 5001, ack: 1001 + req.length, payload: resp });
  const frags = B.fragmentIpv4({ src: server, dst: client, proto: 6, id: 9, payload: seg }, 1400)
    .map((p) => B.ethernetFrame({ payload: p, vlans }))
    .reverse();
  const half = 10;
  const frames = [
    c('S', 1000, 0),
    s('SA', 5000, 1001),
    c('A', 1001, 5001),
    c('PA', 1001 + half, 5001, req.slice(half)), // second half first
    c('PA', 1001, 5001, req.slice(0, half)),
    ...frags,
    c('A', 1001 + req.length, 5001 + resp.length),
    c('FA', 1001 + req.length, 5001 + resp.length),
    s('FA', 5001 + resp.length, 1002 + req.length),
    c('A', 1002 + req.length, 5002 + resp.length),
  ];
  const records: PcapRecord[] = frames.map((data, i) => ({ ts: 1000 + i * 0.001, data }));
  const dir = await mkdtemp(join(tmpdir(), 'flowtap-pipe-'));
  try {
    const path = join(dir, 'http.pcap');
    await writePcap(path, records, { linktype: 1, nano: true });
    const decoder = new PacketDecoder();
    const text: [string, string] = ['', ''];
    const closed: Connection[] = [];
    const td = new TextDecoder();
    const tracker = new ConnTracker(
      { onData: (_c, d, b, o, l) => (text[d] += td.decode(b.subarray(o, o + l))), onClose: (cn) => closed.push(cn) },
      { seed: 3 },
    );
    const summary = await readPcapFile(
      path,
      (p) => {
        const dp = decoder.decode(p.linktype, p.data, p.ts);
        if (dp) tracker.process(dp);
      },
      { chunkSize: 1000 },
    );
    tracker.flush();
    assert.equal(summary.stats.packets, frames.length);
    assert.equal(decoder.stats.reassembled, 1);
    assert.equal(decoder.stats.malformed, 0);
    assert.deepEqual(text, [req, resp]);
    assert.equal(closed.length, 1);
    const conn = closed[0];
    assert.equal(conn.connState(), 'SF');
    assert.equal(conn.origBytes, req.length);
    assert.equal(conn.respBytes, resp.length);
    assert.equal(conn.missedBytes, 0);
    // The reassembled datagram counts once, with its full IP length.
    assert.equal(conn.resp.pkts, 3);
    assert.equal(conn.resp.ipBytes, 40 + (20 + seg.length) + 40);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
