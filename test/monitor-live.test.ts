/**
 * Live capture: the monitor reads tcpdump on the loopback interface while a real HTTP exchange
 * happens, expires connections on its timer, and stops when aborted. Needs root and tcpdump.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMonitor } from '../src/monitor/index.js';
import { needsRoot } from '../src/system/testing.js';

test('live capture on lo: an HTTP exchange on port 8080 of a loopback address ends up in conn.log and http.log', {
  skip: needsRoot(['tcpdump', '--version']),
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-live-'));
  // 127.0.0.1:8080 may be taken by someone else's test; an address of our own avoids that.
  const host = '127.0.0.77';
  const server = createServer((req, res) => res.end(`hello ${req.url}`));
  await new Promise<void>((resolve) => server.listen(8080, host, resolve));
  try {
    const abort = new AbortController();
    const running = runMonitor({ iface: 'lo', filter: `tcp and host ${host}`, logDir: dir, signal: abort.signal, durationSeconds: 30 });
    // tcpdump needs a moment to attach
    await new Promise((r) => setTimeout(r, 1500));
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host, port: 8080, path: '/live?x=1', agent: false }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(body, 'hello /live?x=1');
    await new Promise((r) => setTimeout(r, 1000));
    abort.abort();
    const r = await running;
    assert.equal(r.exitCode, 0, JSON.stringify(r.diagnostics));
    const http = readFileSync(join(dir, 'http.log'), 'utf8');
    assert.match(http, /\tGET\t127\.0\.0\.77:8080\t\/live\?x=1\t/);
    const conn = readFileSync(join(dir, 'conn.log'), 'utf8');
    assert.match(conn, /\t127\.0\.0\.77\t8080\ttcp\thttp\t/);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
