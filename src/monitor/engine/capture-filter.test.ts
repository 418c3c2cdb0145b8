import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePcap } from '../capture/index.js';
import { needsPrograms } from '../../system/testing.js';
import { captureInterfaces, TAGGED_FRAMES } from './run-monitor.js';

const ipv4 = Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
const mac = (s: string) => s.split(':').map((h) => Number.parseInt(h, 16));
const TAGGED = ['02:66:70:00:00:01', '02:66:73:00:00:02'];
const PLAIN = ['02:66:6d:00:00:00', '32:6f:4a:d5:6f:02', '02:66:74:00:00:01'];

function ether(src: string): Uint8Array {
  return Uint8Array.from([...mac('02:00:00:00:00:09'), ...mac(src), 0x08, 0x00, ...ipv4]);
}

/** How many of the file's frames tcpdump's own filter compiler lets through. */
function passed(frames: Uint8Array[], linktype: number, filter: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-filter-'));
  try {
    const file = join(dir, 'f.pcap');
    writeFileSync(
      file,
      encodePcap(
        frames.map((data, i) => ({ ts: 1 + i, data })),
        { linktype },
      ),
    );
    const out = execFileSync('tcpdump', ['-r', file, '-n', filter], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n').filter(Boolean).length;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('queue mode: the capture filter leaves tagged frames in the kernel and keeps the copies (libpcap decides)', {
  skip: needsPrograms(['tcpdump', '--version']),
}, () => {
  // On each Ethernet port (the live filter adds `inbound`, which a file cannot answer).
  const eth = `not (${TAGGED_FRAMES})`;
  assert.equal(passed(TAGGED.map(ether), 1, eth), 0, 'redirected frames come from the queue instead');
  assert.equal(passed(PLAIN.map(ether), 1, eth), PLAIN.length, 'copies and other frames are captured');
});

test('queue mode asked for `any` captures on each port copies come in by, so that filter runs in the kernel', () => {
  assert.deepEqual(captureInterfaces('any', { mode: 'queue', tunnels: ['tun10', 'tun2'] }), ['eth0', 'tun2', 'tun10']);
  assert.deepEqual(captureInterfaces('any', { mode: 'queue', tapIf: 'tap9', tunnels: [] }), ['tap9']);
  assert.deepEqual(captureInterfaces('any', { mode: 'queue', install: false }), ['eth0'], 'no namespace of its own: no tunnels of its own');
  assert.deepEqual(captureInterfaces('eth3', { mode: 'queue', tunnels: ['tun1'] }), ['eth3'], 'an interface asked for is kept');
});
