/**
 * Issue 14: a pcapng interface whose if_tsresol is a power of two. Its timestamps are read
 * exactly, the notices they carry format, and one that lies beyond any date still prints and
 * costs nothing else of the capture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePcapng } from '../src/monitor/capture/testing.js';
import { formatNotice, NoticeType, runMonitor, type PcapRecord } from '../src/monitor/index.js';
import { Clock, TcpFlow } from '../src/monitor/testing/index.js';

/** 150 unanswered SYNs, 1/64 s apart (exact in any 2^-n resolution from n = 6): one SYN_FLOOD notice. */
function flood(start: number): PcapRecord[] {
  const out: PcapRecord[] = [];
  const clock = new Clock(start, 1 / 64);
  for (let i = 0; i < 150; i++) new TcpFlow(out, clock, '198.51.100.7', 20000 + i, '10.1.0.7', 8080).synOnly();
  return out;
}

async function monitor(file: Uint8Array) {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-tsresol-'));
  try {
    writeFileSync(join(dir, 'c.pcapng'), file);
    const lines: string[] = [];
    const r = await runMonitor({
      pcap: join(dir, 'c.pcapng'),
      policy: { synFlood: { threshold: 100, window: 5 } },
      onNotice: (n) => lines.push(formatNotice(n)),
    });
    return { r, lines };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('pcapng with if_tsresol 2^-n: exact timestamps, and their notices format', async () => {
  for (const n of [6, 10, 20, 30]) {
    const records = flood(1_700_000_000.5);
    const file = encodePcapng([
      { interfaces: [{ linktype: 1, tsresol: 0x80 | n }], packets: records.map((p) => ({ ts: p.ts, data: p.data })) },
    ]);
    const { r, lines } = await monitor(file);
    assert.equal(r.exitCode, 0, JSON.stringify(r.diagnostics));
    assert.equal(r.summary?.packets, records.length);
    assert.equal(r.summary?.internalErrors, 0);
    assert.equal(r.summary?.firstTs, records[0].ts);
    assert.equal(r.summary?.lastTs, records.at(-1)?.ts);
    assert.equal(r.notices.length, 1);
    assert.equal(r.notices[0].note, NoticeType.SYN_FLOOD);
    // The 100th SYN sets it off, at exactly its own time.
    assert.equal(r.notices[0].ts, records[99].ts);
    // 1_700_000_000.5 + 100/64 s
    assert.equal(records[99].ts, 1_700_000_002.0625);
    assert.deepEqual(lines, [`2023-11-14T22:13:22.062Z ${NoticeType.SYN_FLOOD} ${r.notices[0].uid} ${r.notices[0].msg}`]);
  }
});

test('pcapng timestamps beyond any date: the notice still prints, every packet is read, exit 0', async () => {
  const records = flood(0);
  // 2^-6 s units counted from 2^62: 2^56 s, two billion years, past what a Date holds (and
  // where a double's step is 16 s, so the whole flood falls on one timestamp).
  const base = 1n << 62n;
  const file = encodePcapng([
    {
      interfaces: [{ linktype: 1, tsresol: 0x80 | 6 }],
      packets: records.map((p, i) => ({ ts: 0, units: base + BigInt(i), data: p.data })),
    },
  ]);
  const { r, lines } = await monitor(file);
  assert.equal(r.exitCode, 0, JSON.stringify(r.diagnostics));
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.summary?.packets, records.length);
  assert.equal(r.summary?.internalErrors, 0);
  assert.equal(r.notices.length, 1);
  assert.equal(r.notices[0].ts, 2 ** 56);
  assert.deepEqual(lines, [`${2 ** 56}s ${NoticeType.SYN_FLOOD} ${r.notices[0].uid} ${r.notices[0].msg}`]);
});
