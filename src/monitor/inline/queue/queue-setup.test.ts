import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingSystem } from '../../../system/index.js';
import { installQueueSetup, QUEUE_MARKS, renderQueueSetup } from './queue-setup.js';

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
