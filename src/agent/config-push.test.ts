import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rule, type NftNodeConfig } from '../dataplane/index.js';
import { ok } from '../diagnostics/index.js';
import { RecordingSystem } from '../system/index.js';
import { ConfigApplier, parseConfigPush } from './config-push.js';
import { nodeAccess } from './netns.js';
import { fakeNetns } from './testing.js';

const config = (rules: string[]): NftNodeConfig => ({
  node: 'node1',
  tables: [
    {
      family: 'inet',
      name: 'flowtap',
      sets: [],
      chains: [{ name: 'forward', base: 'type filter hook forward priority 0; policy drop;', rules: rules.map((r) => rule(r)) }],
    },
  ],
});

describe('configuration pushes', () => {
  test('a dataplane push has a script or rendered tables, not both, not neither', () => {
    assert.equal(parseConfigPush({ version: 1, kind: 'dataplane', script: 'x' }).ok, true);
    assert.equal(parseConfigPush({ version: 1, kind: 'dataplane', config: config([]) }).ok, true);
    assert.equal(parseConfigPush({ version: 1, kind: 'dataplane' }).ok, false);
    assert.equal(parseConfigPush({ version: 1, kind: 'dataplane', script: 'x', config: config([]) }).ok, false);
    assert.equal(parseConfigPush({ kind: 'dataplane', script: 'x' }).ok, false, 'a version is required');
    assert.equal(parseConfigPush({ version: 1 }).ok, false, 'a kind is required');
  });

  test('rendered tables go in through the nft backend: whole the first time, then only what changed', async () => {
    const system = new RecordingSystem((argv) =>
      argv.includes('-e') ? { stdout: 'add rule inet flowtap forward ct state established accept comment "r0" # handle 4\n' } : undefined,
    );
    const a = new ConfigApplier(nodeAccess(system, 'ft-x-n-node1', fakeNetns({ 'ft-x-n-node1': 2 }, 1)), 'node1');
    const first = await a.apply({ version: 1, kind: 'dataplane', config: config(['ct state established accept comment "r0"']) });
    assert.equal(first.outcome, 'applied');
    assert.equal(first.report?.kind, 'full');
    assert.ok(system.commandLines().every((l) => l.startsWith('ip netns exec ft-x-n-node1 nft')));
    const n = system.calls.length;
    const second = await a.apply({
      version: 2,
      kind: 'dataplane',
      config: config(['ct state established accept comment "r0"', 'tcp dport 80 counter accept comment "r1"']),
    });
    assert.equal(second.outcome, 'applied');
    assert.deepEqual([second.report?.kind, second.report?.rulesAdded, second.report?.rulesRemoved], ['incremental', 1, 0]);
    const added = system.calls.slice(n).find((c) => c.kind === 'run' && c.input?.includes('tcp dport 80'));
    assert.ok(added && added.kind === 'run' && !added.input!.includes('delete table'), 'the new rule alone, not the tables replaced');
    assert.equal(a.appliedVersion('dataplane'), 2);
  });

  test('with what the sender records as in force (since), a fresh agent changes only the difference and answers with the handles', async () => {
    const system = new RecordingSystem((argv) =>
      argv.includes('-e') ? { stdout: 'add rule inet flowtap forward tcp dport 80 counter accept comment "r1" # handle 9\n' } : undefined,
    );
    // An agent that never applied anything (just restarted): without since, this would replace the tables whole.
    const a = new ConfigApplier(nodeAccess(system, 'ft-x-n-node1', fakeNetns({ 'ft-x-n-node1': 2 }, 1)), 'node1');
    const since = { config: config(['ct state established accept comment "r0"']), handles: { 'inet flowtap forward': [4] }, stamp: 's1' };
    const ack = await a.apply({
      version: 7,
      kind: 'dataplane',
      config: config(['ct state established accept comment "r0"', 'tcp dport 80 counter accept comment "r1"']),
      since,
    });
    assert.equal(ack.outcome, 'applied');
    assert.deepEqual([ack.report?.kind, ack.report?.rulesAdded, ack.report?.rulesRemoved], ['incremental', 1, 0]);
    assert.ok(!system.calls.some((c) => c.kind === 'run' && c.input?.includes('delete table')), 'nothing replaced whole');
    assert.equal(ack.applied?.stamp, 's1');
    assert.deepEqual(ack.applied?.handles['inet flowtap forward']?.[0], 4);
    // A since that could smuggle a statement into a script is refused before anything runs.
    const n = system.calls.length;
    const bad = await a.apply({ version: 8, kind: 'dataplane', config: config([]), since: { ...since, stamp: 'x; flush ruleset' } });
    assert.equal(bad.outcome, 'rejected');
    assert.match(bad.errors?.[0] ?? '', /since/);
    assert.equal(system.calls.length, n);
  });

  test("other kinds go to the owner's handler; its failure is the push's", async () => {
    const seen: unknown[] = [];
    const a = new ConfigApplier(nodeAccess(new RecordingSystem(), undefined), 'node1', async (p) => {
      seen.push(p.observes);
      return p.observes ? ok('reloaded') : { ok: false, errors: [{ code: 'E_AGENT_CONFIG', message: 'observes what?' }] };
    });
    assert.equal((await a.apply({ version: 'v1', kind: 'monitors', observes: ['db-0'] })).outcome, 'applied');
    const bad = await a.apply({ version: 'v2', kind: 'monitors' });
    assert.deepEqual([bad.outcome, bad.errors], ['failed', ['observes what?']]);
    assert.equal(a.appliedVersion('monitors'), 'v1', 'a failed push does not move the version');
    assert.deepEqual(seen, [['db-0'], undefined]);
  });
});
