import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingSystem } from '../../../system/index.js';
import { installQueueSetup, QUEUE_MARKS, queueOrigin, queueSetupCommands, renderQueueSetup, sortedTunnels } from './queue-setup.js';

test('fail-open frames go to a bypassing queue, fail-closed ones to a queue that drops without a listener', () => {
  const s = renderQueueSetup({ queues: { open: 3, closed: 4 } });
  assert.ok(!('code' in s));
  assert.match(s.iptables, new RegExp(`--mark 0x${QUEUE_MARKS.open.toString(16)}/0xffff00ff -j NFQUEUE --queue-num 3 --queue-bypass\\n`));
  assert.match(s.iptables, new RegExp(`--mark 0x${QUEUE_MARKS.closed.toString(16)}/0xffff00ff -j NFQUEUE --queue-num 4\\n`));
  // The tag's failMode bit picks the mark; copies (untagged) never reach a queue.
  assert.match(s.nft, /ether saddr & ff:ff:fe:00:00:00 == 02:66:72:00:00:00 meta mark set 0x46540010/);
  assert.match(s.nft, /!= 02:66:70:00:00:00 counter drop/);
  assert.match(s.nft, /delete table netdev flowtap_inline\n/, "today's hold table goes");
  assert.ok(s.steps.some((x) => x.join(' ') === 'ip link set dev eth0 type bridge_slave learning off'));
});

test("servers' replies: accepted in the kernel and copied to the queue's NFLOG group, before any queue rule; or queued", () => {
  const s = renderQueueSetup({ queues: { open: 3, closed: 4 } });
  assert.ok(!('code' in s));
  const rules = s.iptables.split('\n').filter((l) => l.startsWith('-A FORWARD'));
  const firstQueue = rules.findIndex((l) => l.includes('NFQUEUE'));
  const replies = rules.filter((l) => l.includes('--ctdir REPLY'));
  assert.deepEqual(
    replies.map((l) => / -j (.*)$/.exec(l)?.[1]),
    ['NFLOG --nflog-group 3', 'ACCEPT', 'NFLOG --nflog-group 4', 'ACCEPT'],
  );
  assert.ok(rules.indexOf(replies[1]) < firstQueue, 'a reply never reaches a queue rule');
  assert.ok(
    replies.every((l) => l.includes('--ctstate ESTABLISHED')),
    'only connections conntrack saw begin (no loose pick-up) have a reply direction',
  );
  // Conntrack's originator is the SYN's sender only without loose pick-up: a mid-stream client would be its "reply".
  assert.deepEqual(
    s.steps.find((x) => x.join(' ').includes('tcp_loose')),
    ['sysctl', '-qw', 'net.netfilter.nf_conntrack_tcp_loose=0'],
  );
  const queued = renderQueueSetup({ queues: { open: 3, closed: 4 }, replies: 'queue' });
  assert.ok(!('code' in queued));
  assert.doesNotMatch(queued.iptables, /REPLY|NFLOG/);
  assert.equal(queued.iptables.match(/NFQUEUE/g)?.length, 2);
});

test('names that would not be safe in a command, and one queue for both modes, are refused', () => {
  for (const o of [
    { tapIf: 'eth0; reboot' },
    { bridge: '' },
    { table: '1x' },
    { queues: { open: 5, closed: 5 } },
    { queues: { open: -1, closed: 2 } },
    { replies: 'drop' as 'queue' },
  ]) {
    const r = renderQueueSetup(o);
    assert.ok('code' in r && r.code === 'E_INLINE_QUEUE_SETUP', JSON.stringify(o));
  }
});

test('install runs the steps in the namespace, keeps an existing bridge, and names the step that failed', async () => {
  const system = new RecordingSystem((argv) => (argv[2] === 'add' ? { code: 2, stderr: 'RTNETLINK answers: File exists' } : {}));
  assert.deepEqual(await installQueueSetup(system, { ns: 'ft-a-m-mon1' }), []);
  const lines = system.commandLines();
  assert.equal(lines[0], 'ip netns exec ft-a-m-mon1 sysctl -qw net.bridge.bridge-nf-call-iptables=1');
  assert.deepEqual(lines.slice(-2), ['ip netns exec ft-a-m-mon1 nft -f -', 'ip netns exec ft-a-m-mon1 iptables-restore']);

  const broken = new RecordingSystem((argv) =>
    argv[0] === 'iptables-restore' ? { code: 1, stderr: 'iptables-restore: line 5 failed: No chain/target/match by that name\n' } : {},
  );
  const problems = await installQueueSetup(broken, {});
  assert.equal(problems.length, 1);
  assert.equal(problems[0].code, 'E_INLINE_QUEUE_SETUP');
  assert.match(problems[0].message, /^iptables-restore: .*line 5 failed/);
});

test('as commands for the local cloud: all in the namespace, bridge first, then nft, then both queue rules', () => {
  const c = queueSetupCommands('ft-a-m-mon1', { queues: { open: 3, closed: 4 } });
  assert.ok(Array.isArray(c));
  assert.ok(c.every((argv) => argv.slice(0, 4).join(' ') === 'ip netns exec ft-a-m-mon1'));
  const cmds = c.map((argv) => argv.slice(4));
  const at = (p: (a: string[]) => boolean) => cmds.findIndex(p);
  const bridgeUp = at((a) => a.join(' ') === 'ip link set ftq0 up');
  const nft = at((a) => a[0] === 'nft');
  assert.ok(bridgeUp >= 0 && nft > bridgeUp, 'the table names devices that must be ports already');
  assert.match(cmds[nft][1], /table netdev flowtap_queue \{/);
  const ipt = cmds.filter((a) => a[0] === 'iptables').map((a) => a.join(' '));
  const open = `-m mark --mark 0x${QUEUE_MARKS.open.toString(16)}/0xffff00ff`;
  const closed = `-m mark --mark 0x${QUEUE_MARKS.closed.toString(16)}/0xffff00ff`;
  const reply = '-m conntrack --ctstate ESTABLISHED --ctdir REPLY';
  assert.deepEqual(ipt, [
    `iptables -w -A FORWARD ${open} ${reply} -j NFLOG --nflog-group 3`,
    `iptables -w -A FORWARD ${open} ${reply} -j ACCEPT`,
    `iptables -w -A FORWARD ${open} -j NFQUEUE --queue-num 3 --queue-bypass`,
    `iptables -w -A FORWARD ${closed} ${reply} -j NFLOG --nflog-group 4`,
    `iptables -w -A FORWARD ${closed} ${reply} -j ACCEPT`,
    `iptables -w -A FORWARD ${closed} -j NFQUEUE --queue-num 4`,
  ]);
  assert.ok(cmds.some((a) => a.join(' ') === 'sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0'));
  const bad = queueSetupCommands('ns', { bridge: 'a b' });
  assert.ok(!Array.isArray(bad) && bad.code === 'E_INLINE_QUEUE_SETUP');
});

test('tap tunnels from other nodes: each a hairpin bridge of its own, steered alike, its number in the mark', () => {
  assert.deepEqual(sortedTunnels(['tun10', 'tun2', 'tun0']), ['tun0', 'tun2', 'tun10']);
  const s = renderQueueSetup({ tunnels: ['tun3', 'tun1'] });
  assert.ok(!('code' in s));
  const steps = s.steps.map((x) => x.join(' '));
  // tun1 is origin 1, tun3 origin 2, whatever order they were named in.
  assert.ok(steps.includes('ip link set tun1 master ftq1') && steps.includes('ip link set tun3 master ftq2'), steps.join('\n'));
  assert.ok(
    steps.includes('ip link set dev tun3 type bridge_slave learning off hairpin on'),
    'what is accepted goes back out of the tunnel',
  );
  assert.ok(!steps.some((x) => /tun\d master ftq0/.test(x)), 'never bridged with the local ports');
  const open1 = (QUEUE_MARKS.open | (1 << 8)) >>> 0;
  const closed2 = (QUEUE_MARKS.closed | (2 << 8)) >>> 0;
  assert.match(
    s.nft,
    new RegExp(`chain taps_tun1 \\{\\n\\s+type filter hook ingress device "tun1"[^}]*meta mark set 0x${open1.toString(16)} `),
  );
  assert.match(s.nft, new RegExp(`chain taps_tun3 \\{[^}]*meta mark set 0x${closed2.toString(16)} `));
  assert.equal(queueOrigin(open1), 1);
  assert.equal(queueOrigin(closed2), 2);
  assert.equal(queueOrigin(QUEUE_MARKS.closed), 0, 'the local tap interface');
  // The queue rules ignore the origin bits: one pair of rules for every interface.
  assert.equal(s.iptables.match(/NFQUEUE/g)?.length, 2);
  assert.ok('code' in renderQueueSetup({ tunnels: ['tun1; id'] }), 'a tunnel name goes into commands: checked');
});
