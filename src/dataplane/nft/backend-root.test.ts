import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { realSystem, type System } from '../../system/index.js';
import { needsRoot } from '../../system/testing.js';
import type { InstanceStatus } from '../backend.js';
import { applyNft } from './apply.js';
import { fullScript } from './node.js';
import { backendFixture, backendSuite, DB_PORT, suiteDesired } from '../testing.js';
import { nftHarness, type NftHarness } from './testing.js';

const skip = needsRoot(['bash', '--version']);

backendSuite('nftables (root, network namespaces)', (f) => nftHarness(f), { skip });
// The same suite with incremental changes through interactive nft sessions, as the controller applies reactions.
backendSuite('nftables through nft sessions (root, network namespaces)', (f) => nftHarness(f, realSystem, { sessions: true }), { skip });
// And without echo, as the controller's sessions run.
backendSuite(
  'nftables through nft sessions without echo (root, network namespaces)',
  (f) => nftHarness(f, realSystem, { sessions: true, echo: false }),
  { skip },
);

describe('nftables backend: rules changed by hand (root)', { skip }, () => {
  const f = backendFixture();
  let h: NftHarness;
  before(async () => {
    h = await nftHarness(f);
  });
  after(async () => {
    await h?.close();
  });
  const config = (status: Record<string, InstanceStatus> = {}, without?: string) => {
    const d = suiteDesired(f, status);
    // A ruleset that lost one instance's rules: its chains' rules are deleted one by one.
    const c = h.backend.render(
      without ? { ...d, ruleset: { ...d.ruleset, rules: d.ruleset.rules.filter((r) => r.target !== without) } } : d,
    );
    assert.ok(c.ok);
    return c.value;
  };
  const counters = async () => {
    const c = await h.backend.counters(f.node);
    assert.ok(c.ok);
    return c.value;
  };

  test('an update that meets a rule deleted by hand is refused by nft and becomes a full replacement', async () => {
    assert.ok((await h.backend.apply(f.node, config())).ok);
    const victim = (await counters()).find((c) => c.chain === 'eg_api_1' && /^r\d+ /.test(c.comment))!;
    assert.equal(
      (await realSystem.run(['nft', 'delete', 'rule', 'inet', 'flowtap', 'eg_api_1', 'handle', String(victim.handle)], { ns: h.nodeNs }))
        .code,
      0,
    );
    // A ruleset without api-1's rules deletes exactly that rule (by its handle, now gone).
    const r = await h.backend.apply(f.node, config({}, 'api-1'));
    assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => e.message).join('\n'));
    assert.equal(r.value.kind, 'full');
    assert.match(r.value.reason!, /incremental update was refused/);
    // The handles were read from the replacement: the next update is incremental again, and works.
    const back = await h.backend.apply(f.node, config());
    assert.ok(back.ok && back.value.kind === 'incremental', back.ok ? back.value.reason : '');
    assert.ok(
      (await counters()).some((c) => c.chain === 'eg_api_1' && c.comment === victim.comment),
      "api-1's allow rule is in force again",
    );
    const before = await h.received('db-0');
    await h.sendUdp('api-0', 'db-0', DB_PORT, 10);
    assert.equal((await h.received('db-0')) - before, 1);
  });

  test('tables replaced by someone else (an older flowtap, `flowtap up`): the next update replaces them whole, never by stale handles', async () => {
    assert.ok((await h.backend.apply(f.node, config())).ok);
    // The same rules, put there by a plain script: every handle is new.
    const script = fullScript(config());
    assert.ok((await applyNft(realSystem, h.nodeNs, script)).ok);
    const r = await h.backend.apply(f.node, config({ 'api-0': 'isolated' }));
    assert.ok(r.ok && r.value.kind === 'full' && /refused/.test(r.value.reason!), r.ok ? JSON.stringify(r.value) : r.errors[0].message);
    const again = await h.backend.apply(f.node, config());
    assert.ok(again.ok && again.value.kind === 'incremental');
    const before = await h.received('db-0');
    await h.sendUdp('api-0', 'db-0', DB_PORT, 10);
    assert.equal((await h.received('db-0')) - before, 1);
  });

  test('drift finds exactly the rule deleted by hand; a repair puts it back, and then nothing drifts', async () => {
    assert.ok((await h.backend.apply(f.node, config())).ok);
    const clean = await h.backend.drift(f.node);
    assert.ok(clean.ok);
    assert.deepEqual(clean.value, { node: f.node, inForce: true, missing: [], extra: [] });
    const victim = (await counters()).find((c) => c.chain === 'in_db_0' && /^r\d+ req0 /.test(c.comment))!;
    const del = await realSystem.run(['nft', 'delete', 'rule', 'inet', 'flowtap', 'in_db_0', 'handle', String(victim.handle)], {
      ns: h.nodeNs,
    });
    assert.equal(del.code, 0, del.stderr);
    const d = await h.backend.drift(f.node);
    assert.ok(d.ok);
    assert.deepEqual(d.value, {
      node: f.node,
      inForce: false,
      missing: [{ table: 'flowtap', chain: 'in_db_0', comment: victim.comment }],
      extra: [],
    });
    // What apply compares with is what it applied last, so the same configuration is `unchanged`...
    const same = await h.backend.apply(f.node, config());
    assert.ok(same.ok && same.value.kind === 'unchanged');
    assert.equal((await h.backend.drift(f.node)).ok, true);
    // ...and a repair replaces the tables whole.
    assert.ok((await h.backend.check(f.node, config(), { repair: true })).ok);
    const r = await h.backend.apply(f.node, config(), { repair: true });
    assert.ok(r.ok && r.value.kind === 'full' && /repair/.test(r.value.reason!), r.ok ? JSON.stringify(r.value) : r.errors[0].message);
    const after = await h.backend.drift(f.node);
    assert.ok(after.ok && after.value.inForce, after.ok ? JSON.stringify(after.value) : '');
    const before = await h.received('db-0');
    await h.sendUdp('api-0', 'db-0', DB_PORT, 10);
    assert.equal((await h.received('db-0')) - before, 1, "db-0's allow rule is in force again");
    // The drift read every handle back: the next update is incremental, with no listing first.
    const next = await h.backend.apply(f.node, config({ 'api-1': 'isolated' }));
    assert.ok(next.ok && next.value.kind === 'incremental');
  });
});

/**
 * A harness whose changes go through an nft session (registered with the describe it is called
 * in), on the real system with every one-shot command noted in `runs`: a change through the
 * session runs none.
 */
function sessionHarness(echo: boolean) {
  const f = backendFixture();
  const runs: string[][] = [];
  const system: System = {
    ...realSystem,
    run: (argv, opts) => {
      runs.push(argv);
      return realSystem.run(argv, opts);
    },
  };
  let h: NftHarness;
  before(async () => {
    h = await nftHarness(f, system, { sessions: true, echo });
  });
  after(async () => {
    await h?.close();
  });
  const config = (status: Record<string, InstanceStatus> = {}) => {
    const c = h.backend.render(suiteDesired(f, status));
    assert.ok(c.ok);
    return c.value;
  };
  return {
    f,
    runs,
    config,
    get h() {
      return h;
    },
  };
}

/** How many of 1 UDP datagrams from api-0 reach db-0 now (0 while api-0 is quarantined). */
async function apiToDb(h: NftHarness): Promise<number> {
  const before = await h.received('db-0');
  await h.sendUdp('api-0', 'db-0', DB_PORT, 10);
  return (await h.received('db-0')) - before;
}

describe('nftables backend: incremental changes through an nft session (root)', { skip }, () => {
  const s = sessionHarness(true);
  const { f, runs, config } = s;

  test("a quarantine comes back with the kernel's handles for its rules; undoing it deletes them by those handles, with no listing", async () => {
    assert.ok((await s.h.backend.apply(f.node, config())).ok);
    runs.length = 0;
    const q = await s.h.backend.apply(f.node, config({ 'api-0': 'isolated' }));
    assert.ok(q.ok && q.value.kind === 'incremental', q.ok ? JSON.stringify(q.value) : q.errors[0].message);
    const installed = q.value.installed ?? [];
    assert.ok(
      installed.length > 0 && installed.every((r) => r.comment.startsWith('quarantine') && r.packets === 0),
      JSON.stringify(installed),
    );
    // The handles the echo gave are the ones a listing finds.
    const listed = await s.h.backend.counters(f.node);
    assert.ok(listed.ok);
    for (const r of installed)
      assert.ok(
        listed.value.some((l) => l.handle === r.handle && l.chain === r.chain && l.comment === r.comment),
        `handle ${r.handle} (${r.comment}) is in force`,
      );
    // The quarantine drops api-0's traffic.
    assert.equal(await apiToDb(s.h), 0);
    runs.length = 0;
    const back = await s.h.backend.apply(f.node, config());
    assert.ok(back.ok && back.value.kind === 'incremental' && back.value.rulesRemoved > 0, back.ok ? JSON.stringify(back.value) : '');
    assert.deepEqual(runs, [], 'neither a process per change nor a listing of the chains');
    assert.equal(await apiToDb(s.h), 1, 'released');
  });

  test('a transaction nft refuses through the session leaves the rules in force and becomes a full replacement', async () => {
    assert.ok((await s.h.backend.apply(f.node, config())).ok);
    // Someone replaced the tables: the stamp the session's transaction flushes first is gone.
    assert.ok((await applyNft(realSystem, s.h.nodeNs, fullScript(config()))).ok);
    const r = await s.h.backend.apply(f.node, config({ 'api-1': 'isolated' }));
    assert.ok(r.ok && r.value.kind === 'full' && /refused/.test(r.value.reason!), r.ok ? JSON.stringify(r.value) : r.errors[0].message);
    const next = await s.h.backend.apply(f.node, config());
    assert.ok(next.ok && next.value.kind === 'incremental', 'the session serves the next change');
  });
});

describe('nftables backend through an nft session without echo (root)', { skip }, () => {
  const s = sessionHarness(false);
  const { f, runs, config } = s;

  test('a quarantine reports the rules nft committed, in force at once; one listing later gives their handles', async () => {
    assert.ok((await s.h.backend.apply(f.node, config())).ok);
    runs.length = 0;
    const q = await s.h.backend.apply(f.node, config({ 'api-0': 'isolated' }));
    assert.ok(q.ok && q.value.kind === 'incremental', q.ok ? JSON.stringify(q.value) : q.errors[0].message);
    assert.deepEqual(runs, [], 'no process for the change, no listing');
    const installed = q.value.installed ?? [];
    assert.ok(
      installed.length > 0 && installed.every((r) => r.comment.startsWith('quarantine') && r.handle === undefined && r.packets === 0),
      JSON.stringify(installed),
    );
    // In force as soon as nft answered: api-0's traffic is dropped.
    assert.equal(await apiToDb(s.h), 0);
    // The listing the controller's confirmation runs finds each committed rule, with a handle, counting the drop.
    const listed = await s.h.backend.counters(f.node);
    assert.ok(listed.ok);
    const found = listed.value.filter((l) => l.chain === installed[0].chain && l.comment.startsWith('quarantine'));
    assert.equal(found.length, installed.length);
    assert.ok(found.every((l) => typeof l.handle === 'number'));
    assert.ok(found.reduce((n, l) => n + l.packets, 0) >= 1, JSON.stringify(found));
    runs.length = 0;
    const back = await s.h.backend.apply(f.node, config());
    assert.ok(back.ok && back.value.kind === 'incremental', back.ok ? JSON.stringify(back.value) : '');
    assert.deepEqual(runs, [], 'the release goes through the session too');
    assert.equal(await apiToDb(s.h), 1, 'released');
  });
});
