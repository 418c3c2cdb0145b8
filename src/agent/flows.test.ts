import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingSystem } from '../system/index.js';
import { cutConntrackLine, flowDrafts, flowKey, flowsCollector, parseConntrack, parseConntrackLine } from './flows.js';
import { nodeAccess } from './netns.js';
import { CONNTRACK_ESTABLISHED, CONNTRACK_EXTENDED, CONNTRACK_UDP, fakeNetns, PROC_NF_CONNTRACK } from './testing.js';

const INST = { name: 'client-0', service: 'client', ns: 'ft-x-i-client-0', ip: '10.199.0.2' };

describe('connection table', () => {
  test("the node's loopback (the agent's own way to its broker) is not reported", () => {
    const own =
      'ipv4     2 tcp      6 431999 ESTABLISHED src=127.0.0.1 dst=127.0.0.1 sport=60676 dport=39397 packets=9 bytes=900 src=127.0.0.1 dst=127.0.0.1 sport=39397 dport=60676 packets=9 bytes=800 [ASSURED] mark=0 use=1\n';
    const drafts = flowDrafts(new Map(), own + CONNTRACK_ESTABLISHED, new Map([[INST.ip, INST]]));
    assert.ok(drafts.length > 0);
    assert.ok(
      drafts.every((d) => d.data.src !== '127.0.0.1'),
      JSON.stringify(drafts),
    );
  });

  test('conntrack -L -o extended: tuples, counts, state and flags of TCP, ICMP and UDP flows', () => {
    const flows = parseConntrack(CONNTRACK_EXTENDED);
    assert.equal(flows.length, 4, 'the summary line is not a flow');
    const tcp = flows[0];
    assert.deepEqual(
      [
        tcp.proto,
        tcp.state,
        tcp.orig.src,
        tcp.orig.dst,
        tcp.orig.sport,
        tcp.orig.dport,
        tcp.orig.packets,
        tcp.orig.bytes,
        tcp.reply.packets,
        tcp.reply.bytes,
        tcp.flags,
      ],
      ['tcp', 'TIME_WAIT', '10.199.0.2', '10.199.0.1', 47986, 8080, 5, 275, 3, 164, ['ASSURED']],
    );
    const icmp = flows[1];
    assert.deepEqual(
      [icmp.proto, icmp.state, icmp.orig.type, icmp.orig.code, icmp.orig.id, icmp.reply.type],
      ['icmp', undefined, 8, 0, 18097, 0],
    );
    const [est, udpToo] = parseConntrack(CONNTRACK_ESTABLISHED);
    assert.equal(udpToo.proto, 'udp');
    assert.deepEqual([est.state, est.timeout, est.orig.packets, est.reply.bytes], ['ESTABLISHED', 431998, 2, 60]);
    const udp = parseConntrackLine(CONNTRACK_UDP)!;
    assert.deepEqual([udp.proto, udp.state, udp.flags, udp.reply.packets], ['udp', undefined, ['UNREPLIED'], 0]);
  });

  test('/proc/net/nf_conntrack reads the same flows (with their zone)', () => {
    const proc = parseConntrack(PROC_NF_CONNTRACK);
    const tool = parseConntrack(CONNTRACK_EXTENDED);
    assert.deepEqual(
      proc.map(({ zone: _, ...f }) => f),
      tool,
    );
    assert.equal(proc[0].zone, 0);
    assert.equal(flowKey(proc[0]), 'ct:tcp:10.199.0.2:47986>10.199.0.1:8080');
    assert.equal(flowKey(proc[1]), 'ct:icmp:10.199.0.2:8/0/18097>10.199.0.1');
  });

  test('new and changed flows are shipped once, ended ones once more; attributed to the instance by address', () => {
    const prev = new Map();
    const byIp = new Map([[INST.ip, INST]]);
    const first = flowDrafts(prev, CONNTRACK_EXTENDED, byIp);
    assert.equal(first.length, 4);
    assert.ok(first.every((d) => d.instance === 'client-0' && d.service === 'client' && d.kind === 'flow'));
    assert.equal(first[0].provenance, 'ct:tcp:10.199.0.2:47986>10.199.0.1:8080');
    assert.deepEqual(first[0].data, {
      proto: 'tcp',
      state: 'TIME_WAIT',
      src: '10.199.0.2',
      dst: '10.199.0.1',
      sport: 47986,
      dport: 8080,
      origPackets: 5,
      origBytes: 275,
      replyPackets: 3,
      replyBytes: 164,
      flags: ['ASSURED'],
      timeout: 117,
    });
    // The same table again, a moment later: timeouts counting down and reference counts are no change.
    const later = CONNTRACK_EXTENDED.replace(' 117 TIME_WAIT', ' 112 TIME_WAIT')
      .replace(' 29 src=', ' 24 src=')
      .replaceAll('use=1', 'use=2');
    assert.deepEqual(flowDrafts(prev, later, byIp), []);
    // The first connection leaves the table; the ping's counts grow.
    const lines = later.split('\n');
    const grown = lines
      .slice(1)
      .map((l) => (l.includes('icmp') ? l.replace('packets=2 bytes=168', 'packets=3 bytes=252') : l))
      .join('\n');
    const next = flowDrafts(prev, grown, byIp);
    assert.deepEqual(
      next.map((d) => [d.provenance, d.data.ended ?? false, d.data.origPackets]),
      [
        ['ct:icmp:10.199.0.2:8/0/18097>10.199.0.1', false, 3],
        ['ct:tcp:10.199.0.2:47986>10.199.0.1:8080', true, 5],
      ],
    );
  });

  test("a line's connection and signature are found without parsing it", () => {
    const [tcp, icmp] = CONNTRACK_EXTENDED.split('\n');
    assert.deepEqual(cutConntrackLine(tcp), {
      key: 'tcp src=10.199.0.2 dst=10.199.0.1 sport=47986 dport=8080',
      sig: ' TIME_WAIT src=10.199.0.2 dst=10.199.0.1 sport=47986 dport=8080 packets=5 bytes=275 src=10.199.0.1 dst=10.199.0.2 sport=8080 dport=47986 packets=3 bytes=164 [ASSURED] mark=0',
    });
    assert.equal(cutConntrackLine(icmp)?.key, 'icmp src=10.199.0.2 dst=10.199.0.1 type=8 code=0 id=18097');
    assert.equal(cutConntrackLine(CONNTRACK_UDP)?.key, 'udp src=10.199.0.2 dst=10.199.0.1 sport=43950 dport=5353');
    assert.equal(cutConntrackLine('conntrack v1.4.7 (conntrack-tools): 4 flow entries have been shown.'), null);
    // Every distinct connection of the captures has a distinct key.
    const keys = [CONNTRACK_EXTENDED, CONNTRACK_ESTABLISHED]
      .flatMap((t) => t.split('\n'))
      .map(cutConntrackLine)
      .filter((c) => c)
      .map((c) => c!.key);
    assert.equal(new Set(keys).size, keys.length);
  });

  test('a table of 2,000 unchanged connections costs little to read again', () => {
    const line = CONNTRACK_EXTENDED.split('\n')[0];
    const table = Array.from({ length: 2000 }, (_, i) => line.replace('47986', String(10000 + i))).join('\n');
    const prev = new Map();
    assert.equal(flowDrafts(prev, table, new Map()).length, 2000);
    const later = table.replaceAll(' 117 ', ' 100 ');
    const t0 = process.cpuUsage();
    for (let i = 0; i < 5; i++) assert.equal(flowDrafts(prev, later, new Map()).length, 0);
    const u = process.cpuUsage(t0);
    assert.ok((u.user + u.system) / 5 < 20_000, `${(u.user + u.system) / 5000} ms a read`);
  });

  test('outside the node namespace: accounting switched on there, the table read there', async () => {
    const system = new RecordingSystem((argv) => (argv.includes('cat') ? { stdout: PROC_NF_CONNTRACK } : undefined));
    const c = flowsCollector(nodeAccess(system, 'ft-x-n-node1', fakeNetns({ 'ft-x-n-node1': 3 }, 1)), [INST]);
    await c.start?.({ level: 2, periodMs: 1000 });
    const r = await c.collect({ level: 2, periodMs: 1000 }, 0);
    assert.equal(r.records.length, 4);
    assert.deepEqual(system.commandLines(), [
      'ip netns exec ft-x-n-node1 sysctl -q -w net.netfilter.nf_conntrack_acct=1',
      'ip netns exec ft-x-n-node1 cat /proc/net/nf_conntrack',
    ]);
  });

  test('without /proc/net/nf_conntrack it asks conntrack; a failure is reported', async () => {
    const system = new RecordingSystem((argv) =>
      argv.includes('cat')
        ? { code: 1, stderr: 'No such file' }
        : argv.includes('conntrack')
          ? { stdout: CONNTRACK_ESTABLISHED }
          : { code: 255, stderr: 'sysctl: permission denied' },
    );
    const c = flowsCollector(nodeAccess(system, 'ft-x-n-node1', fakeNetns({ 'ft-x-n-node1': 3 }, 1)), []);
    await c.start?.({ level: 2, periodMs: 1000 });
    const r = await c.collect({ level: 2, periodMs: 1000 }, 0);
    assert.deepEqual(
      r.records.map((d) => d.data.state ?? d.data.proto),
      ['ESTABLISHED', 'udp'],
    );
    assert.match(r.errors![0], /cannot switch on conntrack accounting: sysctl: permission denied/);
    assert.ok(system.commandLines().includes('ip netns exec ft-x-n-node1 conntrack -L -o extended'));
  });
});
