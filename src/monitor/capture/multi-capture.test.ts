import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LiveCaptureStats } from './live-capture.js';
import { liveCaptures } from './multi-capture.js';
import { encodePcap } from './pcap-writer.js';
import { countingCapture, frameOf } from './testing.js';

// Each stand-in writes two frames; the sizes say which interface's stand-in wrote them.
const pcapHex = (a: number, b: number) =>
  Buffer.from(
    encodePcap(
      [
        { ts: 1, data: frameOf(1, a) },
        { ts: 2, data: frameOf(2, b) },
      ],
      { linktype: 1 },
    ),
  ).toString('hex');
const SIZES: Record<string, [number, number]> = { eth0: [64, 65], tun1: [128, 129], tun2: [200, 201] };
const fake = (iface: string, o: Parameters<typeof countingCapture>[1] = {}) => ({
  command: process.execPath,
  args: ['-e', countingCapture(pcapHex(...SIZES[iface]), o)],
});

test('one capture per interface: every packet reaches the one callback, the summary adds them up', async () => {
  const sizes: number[] = [];
  const asked: string[] = [];
  const cap = liveCaptures(
    ['eth0', 'tun1', 'tun2'],
    (p) => sizes.push(p.caplen),
    (i) => {
      asked.push(i);
      return fake(i);
    },
  );
  await cap.ready;
  while (sizes.length < 6) await new Promise((r) => setTimeout(r, 10));
  const s = await cap.stop();
  assert.deepEqual(asked, ['eth0', 'tun1', 'tun2']);
  assert.deepEqual(
    sizes.sort((a, b) => a - b),
    [64, 65, 128, 129, 200, 201],
  );
  assert.equal(s.stats.packets, 6);
  assert.equal(s.stats.bytes, 64 + 65 + 128 + 129 + 200 + 201);
  assert.deepEqual(s.diagnostics, []);
});

test("the processes' counts are one run: totals the sum of each one's latest, final once all have ended", async () => {
  const got: LiveCaptureStats[] = [];
  const cap = liveCaptures(
    ['eth0', 'tun1'],
    () => {},
    (i) => ({
      ...fake(i, { exitCounts: i === 'eth0' ? [500, 600, 70] : [300, 360, 40] }),
      statsEveryMs: 40,
      onStats: (s) => got.push(s),
    }),
  );
  await cap.ready;
  while (got.length < 4) await new Promise((r) => setTimeout(r, 10));
  await cap.stop();
  assert.equal(new Set(got.map((s) => s.run)).size, 1, 'one run id for the set');
  const last = got.at(-1)!;
  assert.deepEqual(last.total, { captured: 800, received: 960, dropped: 110, ifDropped: 0 });
  assert.equal(last.final, true);
  assert.equal(got.filter((s) => s.final).length, 1, 'the first exit report is not the last word');
  for (const k of ['captured', 'received', 'dropped'] as const) {
    assert.ok(
      got.every((x, i) => i === 0 || x.total[k] >= got[i - 1].total[k]),
      `${k} totals only grow`,
    );
    assert.equal(
      got.reduce((n, x) => n + x.interval[k], 0),
      last.total[k],
      `${k}: intervals add up to the total`,
    );
  }
  assert.deepEqual(cap.stats(), last);
});

test('one process ending by itself ends the others, and its failure is reported', async () => {
  const cap = liveCaptures(
    ['eth0', 'tun1'],
    () => {},
    (i) => fake(i, i === 'tun1' ? { exitAfterMs: 150 } : {}),
  );
  const s = await cap.done;
  assert.ok(
    s.diagnostics.some((d) => d.code === 'E_CAPTURE_LIVE' && d.message.includes('code 1') && d.loc?.file === `${process.execPath}:tun1`),
    JSON.stringify(s.diagnostics),
  );
  assert.equal(s.diagnostics.length, 1, 'the one stopped is not a failure');
});

test('one interface is a plain capture', async () => {
  const sizes: number[] = [];
  const s = await liveCaptures(
    ['eth0'],
    (p) => sizes.push(p.caplen),
    (i) => ({
      command: process.execPath,
      args: ['-e', `process.stdout.write(Buffer.from('${pcapHex(...SIZES[i])}','hex'))`],
    }),
  ).done;
  assert.deepEqual(sizes, [64, 65]);
  assert.equal(s.stats.packets, 2);
});
