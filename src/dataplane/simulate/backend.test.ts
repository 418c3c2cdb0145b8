import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backendSuite } from '../testing.js';
import { FIREWALL_TABLE, TAPS_TABLE } from '../nft/index.js';
import type { NodeDesired } from '../backend.js';
import { compileSimulation, fromInstance, simulatePacket } from './simulate.js';
import { simulatorBackend } from './backend.js';
import { between, dvdContracts, dvdRental, randomProbes, SAME_NODE_INLINE_POLICY, policyContracts, simulatorHarness } from './testing.js';

backendSuite('simulator', async (f) => simulatorHarness(f));

describe('simulator backend: one configuration per node', () => {
  const d = dvdRental();
  const contracts = [
    ...dvdContracts(d, 'database', 'forensics', 'public-http'),
    ...policyContracts(d, [{ file: 'inline.dl', text: SAME_NODE_INLINE_POLICY }]),
  ];
  const status = Object.fromEntries(d.app.instances.map((i) => [i.name, 'running' as const]));
  const desired = (node: string): NodeDesired => ({
    node,
    app: d.app,
    ruleset: d.ruleset,
    contracts,
    mode: 'enforce',
    context: { addressing: d.addressing, status },
  });
  const whole = compileSimulation({ app: d.app, addressing: d.addressing, ruleset: d.ruleset, contracts, status });
  assert.ok(whole.ok);

  const applied = async (nodes = d.app.nodes.map((n) => n.name)) => {
    const b = simulatorBackend();
    for (const node of nodes) {
      const c = b.render(desired(node));
      assert.ok(c.ok, c.ok ? '' : c.errors[0].message);
      assert.ok((await b.apply(node, c.value)).ok);
    }
    return b;
  };

  test('with every node applied, a packet goes where the deployment-wide simulation says, hop by hop', async () => {
    const b = await applied();
    for (const { probe, opts } of randomProbes(whole.value, 400, { seed: 7 })) {
      const want = simulatePacket(whole.value, probe, opts);
      const got = b.inject(probe, opts);
      assert.deepEqual(got, want, JSON.stringify(probe.from));
    }
  });

  test('counters add up to the traces: a count per firewall step with a counter and per tap that acted', async () => {
    const b = await applied();
    let steps = 0;
    let taps = 0;
    let bytes = 0;
    for (const { probe, opts } of randomProbes(whole.value, 300, { seed: 11, varyOptions: false })) {
      const t = b.inject(probe, { ...opts, length: 100 });
      assert.ok(t.ok);
      for (const h of t.value.hops) {
        // Rules without a counter: the resolver's, and the input chain's policy.
        steps += (h.firewall?.steps ?? []).filter((s) => !['dns', 'cluster resolver', 'policy accept'].includes(s.comment)).length;
        for (const tap of [h.ingressTap, h.egressTap]) {
          const acted = (tap?.matches ?? []).filter((m) => m.effect !== 'skip').length;
          taps += acted;
          bytes += acted * (tap === h.egressTap ? 114 : 100);
        }
      }
    }
    const all = (await Promise.all(d.app.nodes.map((n) => b.counters(n.name)))).flatMap((r) => (r.ok ? r.value : []));
    const sum = (table: string, keep: (comment: string) => boolean) =>
      all.filter((c) => c.table === table && keep(c.comment)).reduce((n, c) => n + c.packets, 0);
    assert.ok(steps > 100 && taps > 10, `${steps} steps, ${taps} tap actions`);
    assert.equal(
      sum(FIREWALL_TABLE, () => true),
      steps,
    );
    const contractIds = new Set(contracts.map((c) => c.id));
    assert.equal(
      sum(TAPS_TABLE, (c) => contractIds.has(c)),
      taps,
    );
    assert.equal(
      all.filter((c) => c.table === TAPS_TABLE && contractIds.has(c.comment)).reduce((n, c) => n + c.bytes, 0),
      bytes,
    );
  });

  test('a node with nothing applied takes no packet; nothing applied anywhere is an error', async () => {
    const b = await applied(['node1']);
    const t = b.inject({ from: fromInstance('user-create-0'), packet: between(d, 'user-create-0', 'db-0', 5432) });
    assert.ok(t.ok);
    assert.deepEqual(t.value.outcome, { kind: 'dropped', stage: 'underlay', node: 'node2', reason: 'nothing is applied on node node2' });
    const fromThere = b.inject({ from: fromInstance('db-0'), packet: between(d, 'db-0', 'user-create-0', 40000) });
    assert.ok(!fromThere.ok && fromThere.errors[0].code === 'E_DATAPLANE_NOT_APPLIED' && /node2/.test(fromThere.errors[0].message));
    const none = simulatorBackend().inject({ from: fromInstance('db-0'), packet: between(d, 'db-0', 'user-create-0', 40000) });
    assert.ok(!none.ok && none.errors[0].code === 'E_DATAPLANE_NOT_APPLIED');
    assert.ok(!(await simulatorBackend().counters('node1')).ok);
  });
});

describe('simulator backend: what a tap does not copy or divert is counted where nft counts it', () => {
  const d = dvdRental();
  const contracts = dvdContracts(d, 'honeypot', 'forensics');
  const status = Object.fromEntries(d.app.instances.map((i) => [i.name, 'running' as const]));

  test('over budget: the budget chain’s over-budget counter; a fail-closed redirect to a down monitor: its monitor-down counter', async () => {
    const b = simulatorBackend();
    for (const n of d.app.nodes) {
      const c = b.render({
        node: n.name,
        app: d.app,
        ruleset: d.ruleset,
        contracts,
        mode: 'enforce',
        downMonitors: ['mon-honeypot'],
        context: { addressing: d.addressing, status },
      });
      assert.ok(c.ok, c.ok ? '' : c.errors[0].message);
      assert.ok((await b.apply(n.name, c.value)).ok);
    }
    const over = new Map<string, number>();
    for (let i = 0; i < 3; i++) {
      const t = b.inject({ from: fromInstance('user-create-0'), packet: between(d, 'user-create-0', 'db-0', 5432) }, { overBudget: true });
      assert.ok(t.ok);
      for (const h of t.value.hops)
        for (const tap of [h.ingressTap, h.egressTap])
          for (const m of tap?.matches ?? []) if (m.why === 'over budget') over.set(m.contract, (over.get(m.contract) ?? 0) + 1);
    }
    const dropped = b.inject({ from: fromInstance('dvd-return-0'), packet: between(d, 'dvd-return-0', 'dvd-update-0', 8080) });
    assert.ok(dropped.ok && dropped.value.outcome.kind === 'dropped' && dropped.value.outcome.stage === 'tap');
    const all = (await Promise.all(d.app.nodes.map((n) => b.counters(n.name)))).flatMap((r) => (r.ok ? r.value : []));
    assert.ok(over.size > 0, 'the forensics taps have budgets');
    for (const [contract, n] of over) {
      // A contract tapping both directions has a budget chain (and bucket) on each side.
      const c = all.filter((x) => x.comment === `${contract} over-budget`);
      assert.ok(c.length >= 1, contract);
      assert.equal(
        c.reduce((sum, x) => sum + x.packets, 0),
        n,
        contract,
      );
      assert.ok(
        c.every((x) => x.chain.startsWith('tapb_')),
        'in the chain of its own that the port chain jumps to',
      );
    }
    assert.equal(all.find((x) => x.comment === 'honeypot:1 monitor-down')?.packets, 1);
    assert.equal(all.find((x) => x.comment === 'honeypot:1')?.packets, undefined, 'no rule diverts to a monitor that is down');
  });
});
