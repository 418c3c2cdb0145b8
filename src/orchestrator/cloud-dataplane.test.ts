/**
 * A deployment on Open vSwitch configured through its agents, without root: what the
 * orchestrator hands a push (the bridge's configuration and what it records as in force), what
 * it records from the answer (the configuration alone, as the state file keeps a bridge's), and
 * that the orchestrator's own next change starts from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OvsNodeConfig } from '../dataplane/index.js';
import { ok } from '../diagnostics/index.js';
import { RecordingSystem, type Responder } from '../system/index.js';
import { localCloud } from './driver.js';
import type { NodePush } from './lifecycle.js';
import { ovsBridge } from './ovs-plan.js';
import { parseState, type CloudState } from './state-file.js';
import { fakePrepare, specOf, testEnv } from './testing.js';

/** Bridges with the ports plugged into them, and flow counts that follow what was sent. */
function fakeSwitch(): Responder {
  const ports = new Map<string, number[]>();
  const flows = new Map<string, number>();
  return (argv, opts) => {
    const lines = (opts.input ?? '').split('\n').filter((l) => l.trim());
    if (argv[0] === 'ovs-vsctl') {
      const add = argv.indexOf('add-br');
      if (add >= 0) ports.set(argv[add + 1], []);
      const port = argv.indexOf('add-port');
      if (port >= 0) ports.get(argv[port + 1])?.push(Number(argv.find((x) => x.startsWith('ofport_request='))!.split('=')[1]));
      return { stdout: argv.includes('list-br') ? [...ports.keys()].join('\n') : '' };
    }
    if (argv[0] !== 'ovs-ofctl') return undefined;
    const bridge = argv.includes('dump-ports-desc') || argv.includes('dump-aggregate') ? argv.at(-1)! : argv.at(-2)!;
    if (argv.includes('replace-flows')) flows.set(bridge, lines.length);
    if (argv.includes('bundle'))
      flows.set(
        bridge,
        (flows.get(bridge) ?? 0) +
          lines.filter((l) => l.startsWith('flow add ')).length -
          lines.filter((l) => l.startsWith('flow delete_strict ')).length,
      );
    if (argv.includes('dump-aggregate'))
      return { stdout: `NXST_AGGREGATE reply (xid=0x4): packet_count=0 byte_count=0 flow_count=${flows.get(bridge) ?? 0}\n` };
    if (argv.includes('dump-ports-desc')) return { stdout: (ports.get(bridge) ?? []).map((p) => ` ${p}(x${p}): addr:aa\n`).join('') };
    return { stdout: '' };
  };
}

test('on Open vSwitch, deliver pushes each bridge its configuration with what is recorded as in force, and records what the agent applied', async () => {
  const rec = new RecordingSystem(fakeSwitch());
  const env = testEnv(rec);
  const cloud = await localCloud(env).up(specOf('examples/web-sql/app.yaml', { dataplane: 'ovs' }), fakePrepare());
  const state = (): CloudState => JSON.parse(readFileSync(join(env.stateDir, 'web-sql.json'), 'utf8'));
  const before = state().ovsApplied!.node1;
  const bridge = ovsBridge('web-sql', 0);

  // The agent, as agent-push answers for it: the configuration applied, no handles, the bridge as the stamp.
  const pushed: Parameters<NodePush>[0][] = [];
  const agent: NodePush = async (p) => {
    pushed.push(structuredClone(p));
    return ok({ report: { kind: 'unchanged', rulesAdded: 0, rulesRemoved: 0 }, applied: { config: p.config, handles: {}, stamp: bridge } });
  };
  const from = rec.calls.length;
  const reports = await cloud.deliver(agent, { all: true });
  assert.deepEqual(Object.keys(reports), ['node1']);
  assert.equal(pushed.length, 1);
  const config = pushed[0].config as OvsNodeConfig;
  assert.equal(config.bridge, bridge);
  assert.deepEqual(pushed[0].since, before, 'the push carries what the state file records for the bridge');
  assert.ok(
    !rec
      .commandLines()
      .slice(from)
      .some((l) => /ovs-ofctl .*(bundle|replace-flows)/.test(l)),
    'the flows go in through the agent, not from here',
  );
  assert.deepEqual(state().ovsApplied!.node1, config, 'recorded as the configuration itself, not the answer around it');
  assert.equal(state().configVersion, pushed[0].version);
  assert.ok(parseState(readFileSync(join(env.stateDir, 'web-sql.json'), 'utf8'), 'web-sql.json').ok);

  // Nothing differs: without `all` the agent hears of nothing.
  assert.deepEqual(await cloud.deliver(agent), { node1: { kind: 'unchanged', rulesAdded: 0, rulesRemoved: 0 } });
  assert.equal(pushed.length, 1);

  // The orchestrator's own change (a quarantine) starts from what the agent applied: one bundle, no replacement.
  const q = rec.calls.length;
  await cloud.isolate('web-0');
  const sent = rec
    .commandLines()
    .slice(q)
    .filter((l) => /bundle|replace-flows/.test(l));
  assert.deepEqual(sent, [`ovs-ofctl -O OpenFlow15 bundle ${bridge} -`]);

  // A change goes to the agent as the difference from the record: the quarantine's flows are in the since.
  await cloud.release('web-0');
  const released = state().ovsApplied!.node1;
  await cloud.deliver(agent, { all: true });
  assert.deepEqual(pushed[1].since, released);
  assert.ok(pushed[1].version > pushed[0].version);
  await cloud.down();
});
