import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingSystem } from '../system/index.js';
import { interfaceDrafts, interfacesCollector, parseIpLink, parseProcNetDev, type IfStats } from './interfaces.js';
import { nodeAccess } from './netns.js';
import { fakeNetns, IP_LINK_JSON, PROC_NET_DEV } from './testing.js';

const INST = { name: 'web-0', service: 'web', ns: 'ft-x-i-web-0', iface: 'h7v0' };

describe('interface statistics', () => {
  test('ip -s -j link and /proc/net/dev read the same counters', () => {
    const ip = parseIpLink(IP_LINK_JSON);
    const dev = parseProcNetDev(PROC_NET_DEV);
    assert.deepEqual(
      ip.map((s) => s.name),
      ['lo', 'h7v0'],
    );
    assert.deepEqual(
      dev.map((s) => s.name),
      ['lo', 'h7v0'],
    );
    const veth = ip[1];
    assert.deepEqual([veth.rxBytes, veth.rxPackets, veth.txBytes, veth.txPackets, veth.operstate], [1789, 24, 1372, 18, 'UP']);
    const strip = ({ operstate: _, ...rest }: IfStats) => rest;
    assert.deepEqual(dev.map(strip), ip.map(strip));
  });

  test('only interfaces that moved are shipped, attributed to the instance whose port it is', () => {
    const prev = new Map<string, IfStats>();
    const stats = parseIpLink(IP_LINK_JSON);
    const byIface = new Map([['h7v0', INST]]);
    const first = interfaceDrafts(prev, stats, byIface);
    assert.equal(first.length, 2);
    assert.equal(first[1].instance, 'web-0');
    assert.equal(first[1].data.dRxBytes, 1789);
    assert.deepEqual(interfaceDrafts(prev, stats, byIface), []);
    const moved = stats.map((s) => (s.name === 'h7v0' ? { ...s, rxBytes: s.rxBytes + 100, rxPackets: s.rxPackets + 1 } : s));
    const next = interfaceDrafts(prev, moved, byIface);
    assert.equal(next.length, 1);
    assert.deepEqual([next[0].data.dRxBytes, next[0].data.dRxPackets, next[0].data.dTxBytes], [100, 1, 0]);
  });

  test('outside the node namespace the collector runs ip there; inside it reads /proc/net/dev', async () => {
    const system = new RecordingSystem(() => ({ stdout: IP_LINK_JSON }));
    const outside = interfacesCollector(nodeAccess(system, 'ft-x-n-node1', fakeNetns({ 'ft-x-n-node1': 9 }, 1)), [INST]);
    const r = await outside.collect({ level: 1, periodMs: 1000 }, 0);
    assert.deepEqual(system.commandLines(), ['ip netns exec ft-x-n-node1 ip -s -j link']);
    assert.equal(r.records.length, 2);
    const here = new RecordingSystem();
    const inside = interfacesCollector(nodeAccess(here, undefined), []);
    const own = await inside.collect({ level: 1, periodMs: 1000 }, 0);
    assert.deepEqual(here.calls, [], 'no command in the node namespace');
    assert.ok(
      own.records.some((x) => x.data.name === 'lo'),
      "this namespace's own interfaces, from /proc/net/dev",
    );
  });
});
