import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realSystem, type SpawnOptions, type System } from '../../system/index.js';
import { needsRoot } from '../../system/testing.js';
import { liveCapture, type LiveCaptureStats } from './live-capture.js';
import { encodePcap } from './pcap-writer.js';
import { countingCapture, frameOf } from './testing.js';

// The tests stand in a node script for tcpdump: it writes a pcap stream to stdout like `tcpdump -w -`.
const pcapHex = Buffer.from(
  encodePcap(
    [
      { ts: 1, data: frameOf(1, 64) },
      { ts: 2, data: frameOf(2, 128) },
    ],
    { linktype: 1 },
  ),
).toString('hex');

test('liveCapture parses the capture process output as it streams', async () => {
  const script = `const b=Buffer.from('${pcapHex}','hex');process.stdout.write(b.subarray(0,30));setTimeout(()=>process.stdout.write(b.subarray(30)),50);`;
  const sizes: number[] = [];
  const cap = liveCapture('lo', (p) => sizes.push(p.caplen), { command: process.execPath, args: ['-e', script] });
  await cap.ready;
  const s = await cap.done;
  assert.deepEqual(sizes, [64, 128]);
  assert.equal(s.stats.packets, 2);
  assert.equal(s.diagnostics.length, 0);
});

test('ready resolves when the capture program says it is listening', async () => {
  const header = pcapHex.slice(0, 48); // tcpdump writes the file header at once
  const script = `process.stdout.write(Buffer.from('${header}','hex'));process.stderr.write('tcpdump: listening on lo, link-type EN10MB');setInterval(()=>{},1000);`;
  const cap = liveCapture('lo', () => {}, { command: process.execPath, args: ['-e', script] });
  await cap.ready;
  const s = await cap.stop();
  assert.equal(s.stats.packets, 0);
  assert.equal(s.diagnostics.length, 0);
});

test('stop() ends a running capture and resolves with its summary', async () => {
  const script = `process.stdout.write(Buffer.from('${pcapHex}','hex'));setInterval(()=>{},1000);`;
  let got = 0;
  const cap = liveCapture('lo', () => got++, { command: process.execPath, args: ['-e', script] });
  while (got < 2) await new Promise((r) => setTimeout(r, 10));
  const s = await cap.stop();
  assert.equal(s.stats.packets, 2);
  assert.equal(s.diagnostics.length, 0);
});

test('a capture program that fails or cannot start is reported as a diagnostic', async () => {
  const failing = await liveCapture('eth9', () => {}, {
    command: process.execPath,
    args: ['-e', 'process.stderr.write("no such device");process.exit(1)'],
  }).done;
  assert.ok(failing.diagnostics.some((d) => d.code === 'E_CAPTURE_LIVE' && d.message.includes('no such device')));
  const missing = await liveCapture('lo', () => {}, { command: '/nonexistent/tcpdump' }).done;
  assert.ok(missing.diagnostics.some((d) => d.code === 'E_CAPTURE_LIVE' && d.message.includes('cannot run')));
});

test('the capture program runs through the system driver, in the namespace it is given', async () => {
  const seen: { argv: string[]; ns?: string }[] = [];
  // Records the request, then runs the stand-in instead of tcpdump (here, where no such namespace exists).
  const system: System = {
    ...realSystem,
    spawn(argv: string[], opts?: SpawnOptions) {
      seen.push({ argv, ns: opts?.ns });
      return realSystem.spawn([process.execPath, '-e', `process.stdout.write(Buffer.from('${pcapHex}','hex'))`], {
        ...opts,
        ns: undefined,
      });
    },
  };
  const sizes: number[] = [];
  const s = await liveCapture('eth0', (p) => sizes.push(p.caplen), { system, ns: 'ft-app-m-mon1', filter: 'tcp port 80' }).done;
  assert.deepEqual(seen, [{ argv: ['tcpdump', '-i', 'eth0', '-U', '-w', '-', '-s', '0', '-n', 'tcp port 80'], ns: 'ft-app-m-mon1' }]);
  assert.deepEqual(sizes, [64, 128]);
  assert.equal(s.diagnostics.length, 0);
});

test('with statsEveryMs the program is asked for its counts once it listens, and its exit report is the last', async () => {
  const got: LiveCaptureStats[] = [];
  let clock = 1000;
  const cap = liveCapture('lo', () => {}, {
    command: process.execPath,
    args: ['-e', countingCapture(pcapHex)],
    statsEveryMs: 40,
    onStats: (s) => got.push(s),
    now: () => (clock += 1),
  });
  await cap.ready;
  while (got.length < 3) await new Promise((r) => setTimeout(r, 10));
  const s = await cap.stop();
  assert.equal(s.diagnostics.length, 0, 'asking never killed it: its handler was in place');
  const last = got.at(-1)!;
  assert.equal(last.final, true);
  assert.deepEqual(last.total, { captured: 50, received: 60, dropped: 7, ifDropped: 0 });
  assert.deepEqual(cap.stats(), last);
  assert.ok(got.slice(0, -1).every((x) => !x.final));
  // Intervals add up to the totals, and totals only grow.
  for (const k of ['captured', 'received', 'dropped'] as const) {
    assert.equal(
      got.reduce((sum, x) => sum + x.interval[k], 0),
      last.total[k],
      k,
    );
    assert.ok(got.every((x, i) => i === 0 || x.total[k] >= got[i - 1].total[k]));
  }
  assert.deepEqual(got[0].total, { captured: 10, received: 12, dropped: 1, ifDropped: 0 });
  assert.equal(new Set(got.map((x) => x.run)).size, 1, 'one run: one process');
  assert.equal(got[0].packets, 2, 'the packets of the header chunk came before the first report');
  assert.equal(got[0].bytes, 192);
  assert.equal(typeof got[0].lagSeconds, 'number');
  assert.equal(got[1].packets, 0);
  assert.equal(got[1].lagSeconds, null, 'no packet in the interval: no lag to tell');
});

test('without statsEveryMs the program is never signalled (one that does not handle SIGUSR1 would die of it)', async () => {
  const got: LiveCaptureStats[] = [];
  const header = pcapHex.slice(0, 48);
  const script = `process.on('SIGUSR1',()=>process.exit(3));process.stdout.write(Buffer.from('${header}','hex'));process.stderr.write('tcpdump: listening on lo\\n');setInterval(()=>{},1000);`;
  const cap = liveCapture('lo', () => {}, { command: process.execPath, args: ['-e', script], onStats: (s) => got.push(s) });
  await cap.ready;
  await new Promise((r) => setTimeout(r, 150));
  const s = await cap.stop();
  assert.equal(s.diagnostics.length, 0);
  assert.deepEqual(got, []);
  assert.equal(cap.stats(), null);
});

test('real tcpdump answers SIGUSR1 with its counts while it captures (root)', { skip: needsRoot(['tcpdump', '--version']) }, async () => {
  const got: LiveCaptureStats[] = [];
  let packets = 0;
  const cap = liveCapture('lo', () => packets++, {
    args: ['-i', 'lo', '--immediate-mode', '-U', '-w', '-', '-s', '0', '-n', 'icmp'],
    statsEveryMs: 200,
    onStats: (s) => got.push(s),
  });
  await cap.ready;
  const ping = realSystem.spawn(['ping', '-q', '-c', '5', '-i', '0.05', '127.0.0.1'], {});
  await ping.exited;
  const deadline = Date.now() + 5000;
  while (!got.some((s) => s.total.captured >= 10) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const during = got.filter((s) => !s.final);
  const s = await cap.stop();
  assert.equal(s.diagnostics.length, 0);
  assert.ok(
    during.some((x) => x.total.captured >= 10),
    `reports while running: ${JSON.stringify(during.map((x) => x.total))}`,
  );
  const last = got.at(-1)!;
  assert.equal(last.final, true);
  assert.equal(last.total.captured, 10, 'five echo requests and five replies');
  assert.equal(packets, 10);
  assert.ok(last.total.received >= 10);
  assert.equal(last.total.dropped, 0);
});
