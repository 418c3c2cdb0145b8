/**
 * A monitor's capture counts from tcpdump to `/metrics`: the monitor captures live on the
 * loopback interface and writes stats.log rows (tcpdump asked with SIGUSR1, and its exit
 * report); a node agent at level 1 or more ships them (its counters collector) to the broker; a scrape of the API counts what
 * the capture took and what the kernel dropped. Needs root and tcpdump.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAgent } from '../src/agent/index.js';
import { call, testServer } from '../src/api/testing.js';
import { runMonitor } from '../src/monitor/index.js';
import { realSystem } from '../src/system/index.js';
import { needsRoot } from '../src/system/testing.js';

/** Collects nothing: this test is about monitor rows only. */
const idle = (name: string) => ({ name, collect: async () => ({ records: [] }) }) as never;

test('live capture: stats.log rows while it runs and at its end, shipped by the agent, counted in /metrics', {
  skip: needsRoot(['tcpdump', '--version']),
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-stats-'));
  const logDir = join(dir, 'mon1');
  mkdirSync(logDir);
  const t = await testServer();
  const agent = await runAgent({
    tenant: 'acme',
    app: 'shop',
    node: 'n1',
    instances: [],
    monitors: [{ name: 'mon1', logDir }],
    broker: t.fleet.broker,
    system: realSystem,
    level: 1,
    periodMs: 200,
    replayControl: false,
    collectors: {
      interfaces: idle('interfaces'),
      flows: idle('flows'),
      logs: idle('logs'),
      syscalls: idle('syscalls'),
    },
    log: () => {},
  });
  try {
    const host = '127.0.0.79';
    const abort = new AbortController();
    const running = runMonitor({
      iface: 'lo',
      filter: `icmp and host ${host}`,
      logDir,
      format: 'json',
      signal: abort.signal,
      statsSeconds: 0.3,
    });
    await new Promise((r) => setTimeout(r, 1500));
    const ping = realSystem.spawn(['ping', '-q', '-c', '20', '-i', '0.02', host], {});
    await ping.exited;
    await new Promise((r) => setTimeout(r, 800));
    abort.abort();
    const r = await running;
    assert.equal(r.exitCode, 0, JSON.stringify(r.diagnostics));
    const rows = readFileSync(join(logDir, 'stats.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number | string>);
    assert.ok(rows.length >= 3, `${rows.length} rows`);
    // Twenty echo requests and their replies, each seen once on lo.
    assert.equal(rows.at(-1)!.run_pkts_proc, 40);
    assert.equal(r.summary?.packets, 40);
    assert.equal(
      rows.reduce((n, x) => n + Number(x.pkts_proc), 0),
      40,
      'the intervals add up to the run',
    );
    assert.equal(new Set(rows.map((x) => x.run)).size, 1);
    assert.ok(
      rows.some((x) => typeof x.pkt_lag === 'number'),
      'a row of an interval with packets tells the lag',
    );

    const scrape = async () => (await call(t.server.url, 'get', '/metrics', { token: t.tokens.operator })).text;
    const line = (text: string, name: string) => text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes('monitor="mon1"'));
    const deadline = Date.now() + 10_000;
    let text = '';
    while (Date.now() < deadline) {
      await agent.flush();
      text = await scrape();
      if (line(text, 'flowtap_monitor_captured_packets_total')?.endsWith(' 40')) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    console.log(
      text
        .split('\n')
        .filter((l) => l.startsWith('flowtap_monitor_'))
        .join('\n'),
    );
    assert.equal(
      line(text, 'flowtap_monitor_captured_packets_total'),
      'flowtap_monitor_captured_packets_total{tenant="acme",app="shop",monitor="mon1",node="n1"} 40',
    );
    assert.equal(
      line(text, 'flowtap_monitor_dropped_packets_total'),
      'flowtap_monitor_dropped_packets_total{tenant="acme",app="shop",monitor="mon1",node="n1"} 0',
    );
  } finally {
    await agent.stop();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
