import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingSystem } from '../../../system/index.js';
import {
  installQueueSetup,
  QUEUE_MARKS,
  queueLayout,
  queueOrigin,
  queueSetupCommands,
  renderQueueSetup,
  sortedTunnels,
  workerQueues,
} from './queue-setup.js';

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

test('one worker (the default) renders exactly what the queue mode always did', () => {
  const s = renderQueueSetup({});
  assert.ok(!('code' in s));
  assert.equal(
    s.iptables,
    [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      '-A FORWARD -m mark --mark 0x46540010/0xffff00ff -m conntrack --ctstate ESTABLISHED --ctdir REPLY -j NFLOG --nflog-group 16',
      '-A FORWARD -m mark --mark 0x46540010/0xffff00ff -m conntrack --ctstate ESTABLISHED --ctdir REPLY -j ACCEPT',
      '-A FORWARD -m mark --mark 0x46540010/0xffff00ff -j NFQUEUE --queue-num 16 --queue-bypass',
      '-A FORWARD -m mark --mark 0x46540011/0xffff00ff -m conntrack --ctstate ESTABLISHED --ctdir REPLY -j NFLOG --nflog-group 17',
      '-A FORWARD -m mark --mark 0x46540011/0xffff00ff -m conntrack --ctstate ESTABLISHED --ctdir REPLY -j ACCEPT',
      '-A FORWARD -m mark --mark 0x46540011/0xffff00ff -j NFQUEUE --queue-num 17',
      'COMMIT',
      '',
    ].join('\n'),
  );
  assert.deepEqual(renderQueueSetup({ workers: 1 }), s, 'workers: 1 is the default, to the byte');
  assert.match(s.nft, /comment "fail-open redirect: queue 16"/);
  assert.deepEqual(queueSetupCommands('ns1', { workers: 1 }), queueSetupCommands('ns1'));
});

test('three workers: each failMode a balanced range of three, bypass on the open one, replies queued (NFLOG cannot balance)', () => {
  const s = renderQueueSetup({ workers: 3 });
  assert.ok(!('code' in s), JSON.stringify(s));
  const rules = s.iptables.split('\n').filter((l) => l.startsWith('-A FORWARD'));
  assert.deepEqual(rules, [
    '-A FORWARD -m mark --mark 0x46540010/0xffff00ff -j NFQUEUE --queue-balance 16:18 --queue-bypass',
    '-A FORWARD -m mark --mark 0x46540011/0xffff00ff -j NFQUEUE --queue-balance 19:21',
  ]);
  assert.doesNotMatch(s.iptables, /NFLOG|REPLY|--queue-cpu-fanout/);
  assert.match(s.nft, /comment "fail-open redirect: queue 16:18"/);
  assert.match(s.nft, /comment "fail-closed redirect: queue 19:21"/);
  const given = renderQueueSetup({ workers: 3, queues: { open: 100, closed: 200 } });
  assert.ok(!('code' in given));
  assert.match(given.iptables, /--queue-balance 100:102 --queue-bypass\n/);
  assert.match(given.iptables, /--queue-balance 200:202\n/);
  const commands = queueSetupCommands('ns1', { workers: 3 });
  assert.ok(Array.isArray(commands));
  assert.deepEqual(
    commands.filter((c) => c.includes('NFQUEUE')).map((c) => c.slice(c.indexOf('-j')).join(' ')),
    ['-j NFQUEUE --queue-balance 16:18 --queue-bypass', '-j NFQUEUE --queue-balance 19:21'],
  );
});

test('worker layouts that cannot work are refused, naming the reason', () => {
  const cases: [Parameters<typeof queueLayout>[0], RegExp][] = [
    [{ workers: 0 }, /workers must be a whole number from 1 to 32, not 0/],
    [{ workers: 2.5 }, /not 2.5/],
    [{ workers: 33 }, /not 33/],
    [{ workers: 2, replies: 'kernel' }, /replies cannot stay in the kernel with 2 workers/],
    [{ workers: 3, queues: { open: 10, closed: 12 } }, /fail-open queues 10:12 and fail-closed 12:14 overlap/],
    [{ workers: 4, queues: { open: 65533, closed: 0 } }, /queue ranges are within 0..65535 \(4 from 65533 is not\)/],
  ];
  for (const [o, re] of cases) {
    const l = queueLayout(o);
    assert.ok('code' in l && l.code === 'E_INLINE_QUEUE_SETUP', JSON.stringify(o));
    assert.match(l.message, re);
    const r = renderQueueSetup(o);
    assert.ok('code' in r, 'the setup refuses it too');
  }
  const l = queueLayout({ workers: 2 });
  assert.ok(!('code' in l));
  assert.deepEqual(l, { workers: 2, queues: { open: 16, closed: 18 }, replies: 'queue' });
  assert.deepEqual(
    [workerQueues(l, 0), workerQueues(l, 1)],
    [
      { open: 16, closed: 18 },
      { open: 17, closed: 19 },
    ],
  );
});
