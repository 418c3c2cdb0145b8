import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPcapFile } from './read-file.js';
import { writePcap } from './pcap-writer.js';
import { frameOf } from './testing.js';

test('readPcapFile streams a multi-chunk file; packets cut by chunk edges arrive intact', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flowtap-cap-'));
  try {
    const path = join(dir, 'big.pcap');
    const recs = Array.from({ length: 3000 }, (_, i) => ({ ts: 1000 + i / 1000, data: frameOf(i, 60 + (i % 1400)) }));
    await writePcap(path, recs, { linktype: 1 });
    let n = 0;
    let bad = 0;
    let bytes = 0;
    // An odd chunk size forces many records across chunk edges.
    const s = await readPcapFile(
      path,
      (p) => {
        const want = recs[n++];
        if (p.caplen !== want.data.length || p.data[0] !== want.data[0] || p.data[p.caplen - 1] !== want.data[want.data.length - 1]) bad++;
        bytes += p.caplen;
      },
      { chunkSize: 4093 },
    );
    assert.equal(s.stats.errors, 0);
    assert.equal(n, recs.length);
    assert.equal(bad, 0);
    assert.equal(
      bytes,
      recs.reduce((a, r) => a + r.data.length, 0),
    );
    assert.equal(s.diagnostics.length, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('readPcapFile reports a missing file as a diagnostic', async () => {
  const s = await readPcapFile('/nonexistent/flowtap/x.pcap', () => {});
  assert.equal(s.diagnostics[0].code, 'E_CAPTURE_OPEN');
  assert.equal(s.diagnostics[0].loc?.file, '/nonexistent/flowtap/x.pcap');
});
