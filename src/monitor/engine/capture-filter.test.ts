import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePcap } from '../capture/index.js';
import { needsPrograms } from '../../system/testing.js';
import { taggedFrames } from './run-monitor.js';

const ipv4 = Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
const mac = (s: string) => s.split(':').map((h) => Number.parseInt(h, 16));
const TAGGED = ['02:66:70:00:00:01', '02:66:73:00:00:02'];
const PLAIN = ['02:66:6d:00:00:00', '32:6f:4a:d5:6f:02', '02:66:74:00:00:01'];

/** A Linux cooked v2 header (what `tcpdump -i any` writes) around the packet: protocol, ifindex, ARPHRD, packet type, address. */
function sll2(src: string, packetType = 0): Uint8Array {
  const h = [0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, packetType, 6, ...mac(src), 0, 0];
  return Uint8Array.from([...h, ...ipv4]);
}

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
  // On `any` (LINUX_SLL2), what the local cloud's monitors capture.
  const any = `inbound and not (${taggedFrames('any')})`;
  assert.equal(
    passed(
      TAGGED.map((m) => sll2(m)),
      276,
      any,
    ),
    0,
    'redirected frames come from the queue instead',
  );
  assert.equal(
    passed(
      PLAIN.map((m) => sll2(m)),
      276,
      any,
    ),
    PLAIN.length,
    'copies and other frames are captured',
  );
  assert.equal(passed([sll2(PLAIN[0], 4)], 276, any), 0, 'outbound frames are not (the monitor passed them)');
  // On one Ethernet device.
  const eth = `not (${taggedFrames('eth0')})`;
  assert.equal(passed(TAGGED.map(ether), 1, eth), 0);
  assert.equal(passed(PLAIN.map(ether), 1, eth), PLAIN.length);
});
