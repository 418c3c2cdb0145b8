import { describe, test } from 'node:test';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { RecordingSystem } from '../system/index.js';
import { countersCollector } from './counters.js';
import { NftLister } from './nft-lister.js';
import { nodeAccess } from './netns.js';
import { fakeNetns, NFT_INET_JSON, NFT_TAPS_JSON } from './testing.js';

const SETTING = { level: 1, periodMs: 1000 };

/** `nft -j list ruleset` of the node: both captured tables, and a table flowtap does not own. */
function ruleset(inet: string): string {
  const items = [...JSON.parse(inet).nftables, ...JSON.parse(NFT_TAPS_JSON).nftables.slice(1)];
  items.push({ table: { family: 'ip', name: 'someone_else', handle: 9 } });
  items.push({ rule: { family: 'ip', table: 'someone_else', chain: 'c', handle: 2, expr: [{ counter: { packets: 5, bytes: 500 } }] } });
  return JSON.stringify({ nftables: items });
}

describe('counters collector', () => {
  test('ships every rule and tap counter first, then only those that moved, with the increase', async () => {
    let inet = NFT_INET_JSON;
    const system = new RecordingSystem(undefined, () => ({ stdout: `${ruleset(inet)}\n` }));
    const c = countersCollector(nodeAccess(system, 'ft-x-n-node1', fakeNetns({ 'ft-x-n-node1': 7 }, 1)));
    await c.start?.(SETTING);
    const first = await c.collect(SETTING, 0);
    assert.equal(first.errors, undefined);
    assert.deepEqual(
      first.records.map((r) => [r.data.type, r.data.comment, r.data.packets, r.data.bytes]),
      [
        ['rule', 'established', 13, 729],
        ['rule', 'allow inst -> node:8080', 3, 180],
        ['rule', 'default', 1, 84],
        ['tap', 'tap inst->mon', 15, 825],
      ],
      'the tables flowtap owns, not the others',
    );
    assert.equal(first.records[0].provenance, 'nft:inet/flowtap/input/2');
    assert.deepEqual(system.commandLines(), ['ip netns exec ft-x-n-node1 nft -j -i'], 'one nft session');
    assert.deepEqual((await c.collect(SETTING, 1)).records, [], 'nothing moved, nothing shipped');
    assert.deepEqual(system.commandLines(), ['ip netns exec ft-x-n-node1 nft -j -i'], 'the same session the next period');
    assert.deepEqual(system.sessionLines, ['list ruleset', 'list ruleset']);
    inet = inet.replace('"packets": 3, "bytes": 180', '"packets": 5, "bytes": 300');
    const third = await c.collect(SETTING, 2);
    assert.equal(third.records.length, 1);
    assert.deepEqual(third.records[0].data, {
      type: 'rule',
      family: 'inet',
      table: 'flowtap',
      chain: 'input',
      handle: 3,
      comment: 'allow inst -> node:8080',
      packets: 5,
      bytes: 300,
      dPackets: 2,
      dBytes: 120,
    });
    // A rule replaced by a new apply starts from zero: its whole value is the increase.
    inet = inet.replace('"packets": 5, "bytes": 300', '"packets": 1, "bytes": 60');
    const fourth = await c.collect(SETTING, 3);
    assert.deepEqual([fourth.records[0].data.dPackets, fourth.records[0].data.dBytes], [1, 60]);
  });

  test("in the node namespace nft runs directly; a node without flowtap's tables has nothing to ship", async () => {
    const system = new RecordingSystem(undefined, () => ({
      stdout: '{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}]}\n',
    }));
    const c = countersCollector(nodeAccess(system, 'ft-x-n-node1', fakeNetns({ 'ft-x-n-node1': 7 }, 7)));
    const r = await c.collect(SETTING, 0);
    assert.deepEqual(system.commandLines(), ['nft -j -i']);
    assert.deepEqual(r, { records: [] });
    await c.stop?.();
  });

  test('an nft that fails, or says something that is not JSON, is reported; a dead session is started again', async () => {
    const system = new RecordingSystem(undefined, () => ({ code: 1, stderr: 'Error: Operation not permitted\n' }));
    const failing = countersCollector(nodeAccess(system, undefined));
    assert.deepEqual(await failing.collect(SETTING, 0), { records: [], errors: ['nft -j list ruleset: Error: Operation not permitted'] });
    await failing.collect(SETTING, 1);
    assert.deepEqual(system.commandLines(), ['nft -j -i', 'nft -j -i']);
    const garbled = countersCollector(nodeAccess(new RecordingSystem(undefined, () => ({ stdout: 'table inet flowtap {\n' })), undefined));
    const r = await garbled.collect(SETTING, 0);
    assert.match(r.errors![0], /^nft -j list ruleset: /);
  });

  test('a session that does not answer is abandoned within its timeout; an answer split over writes is one listing', async () => {
    const silent = new NftLister(nodeAccess(new RecordingSystem(undefined, () => ({})), undefined), { timeoutMs: 50 });
    const t0 = performance.now();
    const r = await silent.list();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no answer within 50 ms/);
    assert.ok(performance.now() - t0 < 1000);
    const big = JSON.stringify({ nftables: [{ metainfo: {} }, ...Array.from({ length: 5000 }, (_, i) => ({ table: { name: `t${i}` } }))] });
    const lister = new NftLister(nodeAccess(new RecordingSystem(undefined, () => ({ stdout: `${big}\n` })), undefined), {
      maxBytes: 1 << 20,
    });
    assert.equal((await lister.list()).stdout, big);
    const capped = new NftLister(nodeAccess(new RecordingSystem(undefined, () => ({ stdout: `${big}\n` })), undefined), { maxBytes: 1000 });
    assert.match((await capped.list()).stderr, /an answer over 1000 bytes/);
  });

  test("the node's monitors' capture counters (stats.log rows) ship with the rule counters, from the start on", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowtap-counters-'));
    try {
      const row = (n: number) => `{"ts":170000000${n},"peer":"any","run":"1-2","run_pkts_proc":${n},"run_pkts_dropped":0}\n`;
      writeFileSync(join(dir, 'stats.log'), row(1));
      const system = new RecordingSystem(undefined, () => ({ stdout: `${ruleset(NFT_INET_JSON)}\n` }));
      const c = countersCollector(nodeAccess(system, undefined), undefined, [{ name: 'mon-sql', logDir: dir }], []);
      await c.start?.(SETTING);
      const first = await c.collect(SETTING, 0);
      assert.ok(
        first.records.every((r) => r.kind === 'counter'),
        'a row from before the start is not shipped',
      );
      appendFileSync(join(dir, 'stats.log'), row(2));
      const second = await c.collect(SETTING, 1);
      assert.deepEqual(
        second.records.map((r) => [r.kind, r.data.monitor, r.data.log, (r.data.row as { run_pkts_proc: number }).run_pkts_proc]),
        [['monitor-log', 'mon-sql', 'stats', 2]],
      );
      await c.stop?.();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
