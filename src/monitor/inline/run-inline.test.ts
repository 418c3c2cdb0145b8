import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INLINE_TABLE, renderInlineTable } from '../../dataplane/index.js';
import { RecordingSystem, type SpawnOptions, type Spawned } from '../../system/index.js';
import { createInline } from './run-inline.js';

class KeepingSystem extends RecordingSystem {
  readonly children: Spawned[] = [];
  override spawn(argv: string[], opts?: SpawnOptions): Spawned {
    const c = super.spawn(argv, opts);
    this.children.push(c);
    return c;
  }
}

test('start installs the inline table in the monitor namespace, then one `nft -i` there carries the heartbeat', async () => {
  const system = new KeepingSystem();
  const inline = createInline(
    { system, ns: 'ft-app-m-mon1', heartbeat: 60 },
    () => true,
    () => {},
  );
  assert.deepEqual(await inline.start(), []);
  assert.deepEqual(system.commandLines(), ['ip netns exec ft-app-m-mon1 nft -f -', 'ip netns exec ft-app-m-mon1 nft -i']);
  const install = system.calls[0];
  assert.ok(install.kind === 'run');
  assert.equal(install.input, renderInlineTable({ table: INLINE_TABLE, tapIf: 'eth0', returnIf: 'eth1' }));
  let written = '';
  system.children[0].stdin!.on('data', (d: Buffer) => (written += d.toString()));
  const stopped = inline.stop();
  system.children[0].kill();
  await stopped;
  // The first heartbeat went out at start; stopping hands every flow to its failMode.
  assert.match(written, new RegExp(`flush set netdev ${INLINE_TABLE} alive\\n$`));
  assert.ok(inline.summary().nftLines >= 2);
});

test('a table nft refuses is a diagnostic naming it, and no session is opened', async () => {
  const system = new RecordingSystem(() => ({ code: 1, stderr: 'Error: Could not process rule: No such file or directory\n' }));
  const problems = await createInline(
    { system, ns: 'ft-app-m-mon1', tapIf: 'eth7' },
    () => true,
    () => {},
  ).start();
  assert.equal(problems.length, 1);
  assert.equal(problems[0].code, 'E_INLINE_TABLE');
  assert.match(problems[0].message, /cannot install the inline table flowtap_inline on eth7: Error: Could not process rule/);
  assert.deepEqual(system.commandLines(), ['ip netns exec ft-app-m-mon1 nft -f -']);
});
