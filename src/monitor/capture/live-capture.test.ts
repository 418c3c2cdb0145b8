import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realSystem, type SpawnOptions, type System } from '../../system/index.js';
import { liveCapture } from './live-capture.js';
import { encodePcap } from './pcap-writer.js';
import { frameOf } from './testing.js';

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
