import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingSystem } from '../../../system/index.js';
import { installQueueSetup, QUEUE_MARKS, queueSetupCommands, renderQueueSetup } from './queue-setup.js';

test('fail-open frames go to a bypassing queue, fail-closed ones to a queue that drops without a listener', () => {
  const s = renderQueueSetup({ queues: { open: 3, closed: 4 } });
  assert.ok(!('code' in s));
  assert.match(s.iptables, new RegExp(`--mark 0x${QUEUE_MARKS.open.toString(16)} -j NFQUEUE --queue-num 3 --queue-bypass\\n`));
  assert.match(s.iptables, new RegExp(`--mark 0x${QUEUE_MARKS.closed.toString(16)} -j NFQUEUE --queue-num 4\\n`));
  // The tag's failMode bit picks the mark; copies (untagged) never reach a queue.
  assert.match(s.nft, /ether saddr & ff:ff:fe:00:00:00 == 02:66:72:00:00:00 meta mark set 0x46540010/);
  assert.match(s.nft, /!= 02:66:70:00:00:00 counter drop/);
  assert.match(s.nft, /delete table netdev flowtap_inline\n/, "today's hold table goes");
  assert.ok(s.steps.some((x) => x.join(' ') === 'ip link set dev eth0 type bridge_slave learning off'));
});

test('names that would not be safe in a command, and one queue for both modes, are refused', () => {
  for (const o of [
    { tapIf: 'eth0; reboot' },
    { bridge: '' },
    { table: '1x' },
    { queues: { open: 5, closed: 5 } },
    { queues: { open: -1, closed: 2 } },
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
  assert.deepEqual(ipt, [
    `iptables -w -A FORWARD -m mark --mark 0x${QUEUE_MARKS.open.toString(16)} -j NFQUEUE --queue-num 3 --queue-bypass`,
    `iptables -w -A FORWARD -m mark --mark 0x${QUEUE_MARKS.closed.toString(16)} -j NFQUEUE --queue-num 4`,
  ]);
  const bad = queueSetupCommands('ns', { bridge: 'a b' });
  assert.ok(!Array.isArray(bad) && bad.code === 'E_INLINE_QUEUE_SETUP');
});
