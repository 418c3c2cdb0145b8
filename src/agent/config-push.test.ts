import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rule, type NftNodeConfig, type OvsFlow, type OvsNodeConfig } from '../dataplane/index.js';
import { ok } from '../diagnostics/index.js';
import { RecordingSystem, type RunOptions } from '../system/index.js';
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

const BRIDGE = 'ftbq1w2e0';
const flow = (table: number, priority: number, match: string, actions: string, comment?: string): OvsFlow => ({
  table,
  priority,
  match,
  actions,
  ...(comment ? { rule: { table: 'flowtap', chain: 'forward', comment } } : {}),
});
const ovsConfig = (flows: OvsFlow[], bridge = BRIDGE): OvsNodeConfig => ({
  node: 'node1',
  bridge,
  flows,
  meters: [],
  groups: [],
  ports: [1, 100],
});
const BASE = [flow(0, 0, '', 'drop'), flow(20, 100, 'ip,nw_dst=10.0.0.2', 'output:100', 'r0')];

/** A switch as ovs-ofctl shows it: the ports the configuration sends to, a flow count that follows what was sent. */
function fakeSwitch(): RecordingSystem {
  let count = 0;
  return new RecordingSystem((argv: string[], o: RunOptions) => {
    if (argv[0] !== 'ovs-ofctl') return undefined;
    const lines = (o.input ?? '').split('\n').filter(Boolean);
    if (argv.includes('dump-ports-desc')) return { stdout: ` 1(g): addr:aa\n 100(p): addr:aa\n LOCAL(${BRIDGE}): addr:aa\n` };
    if (argv.includes('dump-aggregate'))
      return { stdout: `OFPST_AGGREGATE reply (OF1.5) (xid=0x2): packet_count=0 byte_count=0 flow_count=${count}\n` };
    if (argv.includes('replace-flows')) count = lines.length;
    if (argv.includes('bundle'))
      for (const l of lines) count += l.startsWith('flow add ') ? 1 : l.startsWith('flow delete_strict ') ? -1 : 0;
    return { stdout: '' };
  });
}
const ovsAgent = (system: RecordingSystem, bridge: string | null = BRIDGE) =>
  new ConfigApplier(
    nodeAccess(system, 'ft-x-n-node1', fakeNetns({ 'ft-x-n-node1': 2 }, 1)),
    'node1',
    undefined,
    Date.now,
    bridge ? { ovsBridge: bridge } : {},
  );

describe('Open vSwitch configuration pushes', () => {
  test('a push is held to the shape of a bridge configuration: a flow is one line, the since is for the same bridge', () => {
    assert.equal(parseConfigPush({ version: 1, kind: 'dataplane', config: ovsConfig(BASE) }).ok, true);
    assert.equal(parseConfigPush({ version: 1, kind: 'dataplane', config: ovsConfig(BASE), since: ovsConfig(BASE.slice(0, 1)) }).ok, true);
    const fieldsOf = (msg: unknown) => {
      const r = parseConfigPush(msg);
      return r.ok ? [] : r.errors.map((e) => `${e.code} ${e.loc?.field}`);
    };
    const smuggled = ovsConfig([...BASE, flow(0, 10, 'ip', 'drop\nflow add table=0,priority=65535,actions=output:1')]);
    assert.deepEqual(fieldsOf({ version: 1, kind: 'dataplane', config: smuggled }), ['E_AGENT_CONFIG config.flows[2].actions']);
    const badSince = ovsConfig([{ ...BASE[0], match: 'ip\r' }]);
    assert.deepEqual(fieldsOf({ version: 1, kind: 'dataplane', config: ovsConfig(BASE), since: badSince }), [
      'E_AGENT_CONFIG since.flows[0].match',
    ]);
    assert.deepEqual(fieldsOf({ version: 1, kind: 'dataplane', config: ovsConfig(BASE, 'Not-A-Bridge') }), [
      'E_AGENT_CONFIG config.bridge',
    ]);
    assert.deepEqual(fieldsOf({ version: 1, kind: 'dataplane', config: { ...ovsConfig(BASE), extra: 1 } }), ['E_AGENT_CONFIG config']);
    assert.deepEqual(fieldsOf({ version: 1, kind: 'dataplane', config: { ...ovsConfig(BASE), flows: 'all' } }), [
      'E_AGENT_CONFIG config.flows',
    ]);
    assert.deepEqual(fieldsOf({ version: 1, kind: 'dataplane', config: ovsConfig(BASE), script: 'flush ruleset' }), [
      'E_AGENT_CONFIG script',
    ]);
    assert.deepEqual(fieldsOf({ version: 1, kind: 'dataplane', config: ovsConfig(BASE), since: ovsConfig(BASE, 'ftbother0') }), [
      'E_AGENT_CONFIG since',
    ]);
    // Thousands of bad flows: a bounded answer.
    const many = ovsConfig(Array.from({ length: 5000 }, (_, i) => flow(0, i, 'ip', 'drop\n')));
    const errs = parseConfigPush({ version: 1, kind: 'dataplane', config: many });
    assert.ok(!errs.ok && errs.errors.length === 21 && /and 4980 more problems in config/.test(errs.errors[20].message));
    // An nft record as the since of a bridge's configuration.
    assert.deepEqual(
      fieldsOf({ version: 1, kind: 'dataplane', config: ovsConfig(BASE), since: { config: config([]), handles: {}, stamp: 's' } }),
      ['E_AGENT_CONFIG since'],
    );
  });

  test('the flows go in on the bridge with ovs-ofctl, outside the node namespace: whole first, then only what changed; acked with the bridge', async () => {
    const system = fakeSwitch();
    const a = ovsAgent(system);
    const first = await a.apply({ version: 1, kind: 'dataplane', config: ovsConfig(BASE) });
    assert.equal(first.outcome, 'applied', first.errors?.join('; '));
    assert.equal(first.report?.kind, 'full');
    assert.deepEqual(first.applied, { handles: {}, stamp: BRIDGE });
    assert.ok(
      system.commandLines().includes(`ovs-ofctl -O OpenFlow15 --bundle replace-flows ${BRIDGE} -`),
      system.commandLines().join('\n'),
    );
    // ovs-ofctl reaches the switch by its socket: never through `ip netns exec`, though the agent is outside the node namespace.
    assert.ok(system.calls.every((c) => c.kind !== 'run' || c.ns === undefined));
    const n = system.calls.length;
    const quarantine = flow(10, 200, 'ip,nw_src=10.0.0.2', 'drop', 'quarantine web-0');
    const second = await a.apply({ version: 2, kind: 'dataplane', config: ovsConfig([...BASE, quarantine]) });
    assert.deepEqual(
      [second.outcome, second.report?.kind, second.report?.rulesAdded, second.report?.rulesRemoved],
      ['applied', 'incremental', 1, 0],
    );
    const bundles = system.calls.slice(n).filter((c) => c.kind === 'run' && c.argv.includes('bundle'));
    assert.equal(bundles.length, 1);
    assert.equal(bundles[0].kind === 'run' && bundles[0].input?.trim().split('\n').length, 1, 'the new flow alone');
    assert.equal(a.appliedVersion('dataplane'), 2);

    // An older version is stale, the same one unchanged: nothing runs for either.
    const m = system.calls.length;
    assert.equal((await a.apply({ version: 1, kind: 'dataplane', config: ovsConfig(BASE) })).outcome, 'stale');
    assert.equal((await a.apply({ version: 2, kind: 'dataplane', config: ovsConfig(BASE) })).outcome, 'unchanged');
    assert.equal(system.calls.length, m);
  });

  test("with the sender's record (since), a fresh agent sends the difference only", async () => {
    const system = fakeSwitch();
    // The bridge has BASE, as another process (the orchestrator, an earlier agent) left it.
    await system.run(['ovs-ofctl', '--bundle', 'replace-flows', BRIDGE, '-'], { input: 'a\nb\n' });
    const a = ovsAgent(system);
    const n = system.calls.length;
    const ack = await a.apply({
      version: 9,
      kind: 'dataplane',
      config: ovsConfig(BASE.slice(0, 1)),
      since: ovsConfig(BASE),
    });
    assert.deepEqual([ack.outcome, ack.report?.kind, ack.report?.rulesAdded, ack.report?.rulesRemoved], ['applied', 'incremental', 0, 1]);
    assert.ok(
      !system
        .commandLines()
        .slice(n)
        .some((l) => l.includes('replace-flows')),
      'nothing replaced whole',
    );
  });

  test('a malformed flow, a foreign bridge or an agent without a bridge is refused before anything runs', async () => {
    const system = fakeSwitch();
    const a = ovsAgent(system);
    const bad = await a.apply({ version: 1, kind: 'dataplane', config: ovsConfig([flow(0, 0, '', 'drop\nflow add actions=output:1')]) });
    assert.equal(bad.outcome, 'rejected');
    assert.match(bad.errors?.[0] ?? '', /config\.flows\[0\]\.actions: expected one line/);
    const other = await a.apply({ version: 2, kind: 'dataplane', config: ovsConfig(BASE, 'ftbother0') });
    assert.deepEqual(
      [other.outcome, other.version, other.errors],
      ['rejected', 2, [`the configuration is for bridge ftbother0; this node's bridge is ${BRIDGE}`]],
    );
    const none = await ovsAgent(system, null).apply({ version: 3, kind: 'dataplane', config: ovsConfig(BASE) });
    assert.equal(none.outcome, 'rejected');
    assert.match(none.errors?.[0] ?? '', /no Open vSwitch bridge/);
    assert.deepEqual(system.calls, []);
    assert.equal(a.appliedVersion('dataplane'), undefined);
  });

  test('a configuration the switch refuses fails the push, and its version is not taken', async () => {
    const system = new RecordingSystem((argv) =>
      argv.includes('replace-flows')
        ? { code: 1, stderr: 'ovs-ofctl: -:2: unknown action foo' }
        : argv.includes('dump-ports-desc')
          ? { stdout: ' 1(g): a\n 100(p): a\n' }
          : undefined,
    );
    const a = ovsAgent(system);
    const ack = await a.apply({ version: 1, kind: 'dataplane', config: ovsConfig(BASE) });
    assert.equal(ack.outcome, 'failed');
    assert.match(ack.errors?.[0] ?? '', /unknown action foo/);
    assert.equal(a.appliedVersion('dataplane'), undefined);
  });
});
