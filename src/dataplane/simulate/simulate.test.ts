import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { unwrap } from '../../diagnostics/index.js';
import { evaluateChain, type Ruleset } from '../../firewall/index.js';
import { UNDERLAY_NETWORK } from '../../model/index.js';
import { EXTERNAL_IP, overlayIp } from '../node-interfaces.js';
import { NODE_UPLINKS } from '../node-interfaces.js';
import { renderNftFirewall } from '../nft/index.js';
import { localMonitorPorts, monitorReturnPort, redirectTag } from '../nft/index.js';
import { renderNftTaps } from '../nft/index.js';
import { between, dvdContracts, dvdRental, packet, policyContracts, SAME_NODE_INLINE_POLICY, type Deployment } from './testing.js';
import {
  compileSimulation,
  DEFAULT_SIM_TOPOLOGY,
  formatTrace,
  fromInstance,
  fromOutside,
  simulatePacket,
  type SimEntry,
  type SimInput,
  type SimOptions,
  type SimTrace,
} from './simulate.js';

const d = dvdRental();
const ip = (i: string) => d.addressing.instances[i].ip;
const port = (i: string) => d.addressing.instances[i].port;
const mon = (m: string) => d.addressing.monitors[m];

function input(contracts: SimInput['contracts'] = [], extra: Partial<SimInput> = {}, dep: Deployment = d): SimInput {
  return { app: dep.app, addressing: dep.addressing, ruleset: dep.ruleset, contracts, ...extra };
}

function sim(i: SimInput) {
  const r = compileSimulation(i);
  if (!r.ok) assert.fail(r.errors.map((e) => e.message).join('\n'));
  return r.value;
}

function run(s: ReturnType<typeof sim>, from: SimEntry, text: ReturnType<typeof packet>, opts?: SimOptions): SimTrace {
  const r = simulatePacket(s, { from, packet: text }, opts);
  if (!r.ok) assert.fail(r.errors.map((e) => e.message).join('\n'));
  return r.value;
}

const steps = (t: SimTrace) => t.hops.flatMap((h) => h.firewall?.steps ?? []);
const copies = (t: SimTrace) => t.copies.map((c) => `${c.monitor}<-${c.contract}@${c.port}/${c.hook}`).sort();

/** The (service, port) pairs the descriptor requires, as `from>to:port`. */
function requiredPairs(): Set<string> {
  const out = new Set<string>();
  for (const r of d.app.requirements) {
    const p = d.app.services.find((s) => s.name === r.to)!.ports.find((x) => x.name === r.port)!;
    out.add(`${r.from}>${r.to}:${p.port}`);
  }
  return out;
}

describe('simulated datapath: dvd-rental firewall', () => {
  const s = sim(input());
  const required = requiredPairs();

  test('every instance pair and service port: delivered exactly when required, decided by the right chain and rule', () => {
    let delivered = 0;
    let dropped = 0;
    for (const src of d.app.instances) {
      for (const dst of d.app.instances) {
        if (src === dst) continue;
        for (const p of d.app.services.find((x) => x.name === dst.service)!.ports) {
          const t = run(s, fromInstance(src.name), between(d, src.name, dst.name, p.port, p.protocol));
          const want = required.has(`${src.service}>${dst.service}:${p.port}`);
          // The abstract semantics (chain-eval) must agree with the nft semantics for real instances.
          const eg = evaluateChain(d.ruleset, src.name, 'egress', { instance: dst.name, ip: ip(dst.name) }, p.protocol, p.port);
          const ing = evaluateChain(d.ruleset, dst.name, 'ingress', { instance: src.name, ip: ip(src.name) }, p.protocol, p.port);
          assert.equal(eg.action === 'accept' && ing.action === 'accept', want, `${src.name} -> ${dst.name}:${p.port}`);
          if (want) {
            delivered++;
            assert.deepEqual(t.outcome, { kind: 'delivered', instance: dst.name, node: dst.node }, formatTrace(t));
            const st = steps(t);
            assert.deepEqual(
              st.filter((x) => x.rule).map((x) => `${x.chain}:${x.rule}`),
              [`eg_${src.name.replace(/-/g, '_')}:${eg.rule!.id}`, `in_${dst.name.replace(/-/g, '_')}:${ing.rule!.id}`],
            );
            // Across nodes the packet is filtered on both: egress at home, ingress on arrival.
            assert.equal(t.hops.length, src.node === dst.node ? 1 : 2);
            if (src.node !== dst.node) {
              assert.equal(t.hops[1].iif, 'vx-ft');
              assert.equal(t.hops[0].firewall!.steps.at(-1)!.comment, 'egress checked; remote node checks ingress');
              assert.equal(t.hops[1].firewall!.steps[0].chain, `in_${dst.name.replace(/-/g, '_')}`);
            }
          } else {
            dropped++;
            assert.equal(t.outcome.kind, 'dropped', formatTrace(t));
            if (t.outcome.kind !== 'dropped') continue;
            assert.equal(t.outcome.stage, 'firewall');
            // Inferred rules are symmetric, so the sender's egress default drops first, at home.
            assert.equal(t.outcome.chain, `eg_${src.name.replace(/-/g, '_')}`);
            assert.equal(t.outcome.default, true);
            assert.equal(t.outcome.node, src.node);
          }
        }
      }
    }
    assert.equal(delivered, 8);
    assert.ok(dropped > 40);
  });

  test('external requirements: delivered through the uplink to public services only', () => {
    for (const inst of d.app.instances) {
      const svc = d.app.services.find((x) => x.name === inst.service)!;
      const p = svc.ports[0];
      const t = run(s, fromOutside(), packet(`tcp,nw_src=${EXTERNAL_IP},nw_dst=${ip(inst.name)},tp_src=50000,tp_dst=${p.port}`));
      assert.equal(t.hops[0].node, inst.node, 'the outside network routes to the node owning the subnet');
      assert.equal(t.hops[0].iif, 'up-ft');
      if (required.has(`external>${svc.name}:${p.port}`)) {
        assert.deepEqual(t.outcome, { kind: 'delivered', instance: inst.name, node: inst.node });
        const rule = d.ruleset.rules.find((r) => r.target === inst.name && r.direction === 'ingress' && r.peer.kind === 'external')!;
        assert.equal(steps(t)[0].rule, rule.id);
      } else {
        assert.equal(t.outcome.kind, 'dropped');
        assert.equal(t.outcome.kind === 'dropped' && t.outcome.chain, `in_${inst.name.replace(/-/g, '_')}`);
      }
    }
  });

  test('a denied ingress on the remote node drops there, with that chain named', () => {
    // Keep dvd-update's egress rule to shipping but delete shipping's ingress rule for it.
    const gone = d.ruleset.rules.find((r) => r.target === 'shipping-0' && r.direction === 'ingress')!;
    const cut: Ruleset = { ...d.ruleset, rules: d.ruleset.rules.filter((r) => r !== gone) };
    const t = run(sim(input([], { ruleset: cut })), fromInstance('dvd-update-0'), between(d, 'dvd-update-0', 'shipping-0', 8080));
    assert.deepEqual(t.outcome, {
      kind: 'dropped',
      stage: 'firewall',
      node: 'node2',
      chain: 'in_shipping_0',
      default: true,
      reason: 'in_shipping_0 default',
    });
    // Same node: the destination's chain follows the sender's on one forward hook.
    const cross: Ruleset = {
      ...d.ruleset,
      rules: d.ruleset.rules.filter((r) => r.target !== 'user-update-0' || r.direction !== 'ingress'),
    };
    const t2 = run(
      sim(input([], { ruleset: cross })),
      fromInstance('contract-update-0'),
      between(d, 'contract-update-0', 'user-update-0', 8080),
    );
    assert.equal(t2.outcome.kind === 'dropped' && t2.outcome.chain, 'in_user_update_0');
    assert.equal(t2.hops.length, 1);
  });

  test('rule comments and chain names are those of the rendered nft script', () => {
    const text = ['node1', 'node2']
      .map((n) => unwrap(renderNftFirewall(d.ruleset, d.app, d.addressing, n, { mode: 'enforce', uplinks: NODE_UPLINKS })))
      .join('\n');
    const t = run(s, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432));
    for (const st of steps(t)) {
      assert.ok(text.includes(`comment "${st.comment}"`), st.comment);
      if (st.chain !== 'forward') assert.ok(text.includes(`chain ${st.chain} {`), st.chain);
    }
    const denied = run(s, fromInstance('shipping-0'), between(d, 'shipping-0', 'db-0', 5432));
    assert.ok(denied.outcome.kind === 'dropped' && text.includes(`comment "${denied.outcome.reason}"`));
  });

  test('conntrack: established return traffic passes, invalid is dropped, new is filtered', () => {
    const reply = packet(`tcp,nw_src=${ip('db-0')},nw_dst=${ip('user-create-0')},tp_src=5432,tp_dst=40000`);
    assert.equal(run(s, fromInstance('db-0'), reply).outcome.kind, 'dropped');
    const est = run(s, fromInstance('db-0'), reply, { ctState: 'established' });
    assert.deepEqual(est.outcome, { kind: 'delivered', instance: 'user-create-0', node: 'node1' });
    assert.ok(steps(est).every((x) => x.comment === 'return traffic'));
    const inv = run(s, fromInstance('db-0'), reply, { ctState: 'invalid' });
    assert.equal(inv.outcome.kind === 'dropped' && inv.outcome.reason, 'invalid state');
    assert.equal(est.ctState, 'established');
  });

  test('the node itself: out of reach from instances, reachable from outside; routing limits', () => {
    const gw = d.addressing.nodes.node1.gateway;
    const t = run(s, fromInstance('contract-update-0'), packet(`tcp,nw_src=${ip('contract-update-0')},nw_dst=${gw},tp_dst=22`));
    assert.equal(t.hops[0].route?.kind, 'node');
    assert.deepEqual(t.outcome, {
      kind: 'dropped',
      stage: 'firewall',
      node: 'node1',
      chain: 'input',
      default: false,
      reason: 'instances cannot reach the node',
    });
    const ext = run(s, fromOutside(), packet(`tcp,nw_src=${EXTERNAL_IP},nw_dst=${d.addressing.nodes.node2.ip},tp_dst=22`));
    assert.equal(ext.outcome.kind, 'node');
    assert.equal(ext.outcome.kind === 'node' && ext.outcome.node, 'node2');
    // TTL 1 is not forwarded; an unknown address in the app network has no route.
    const ttl = run(s, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432, 'tcp', ',nw_ttl=1'));
    assert.equal(ttl.outcome.kind === 'dropped' && ttl.outcome.stage, 'routing');
    const none = run(s, fromInstance('user-create-0'), packet(`udp,nw_src=${ip('user-create-0')},nw_dst=10.77.0.99,tp_dst=53`));
    assert.equal(none.outcome.kind === 'dropped' && none.outcome.reason, 'no route to the destination');
    // An instance talking to itself never reaches the node; ARP is the node's business.
    assert.equal(run(s, fromInstance('db-0'), between(d, 'db-0', 'db-0', 5432)).outcome.kind, 'local');
    assert.equal(run(s, fromInstance('db-0'), packet('arp,arp_op=1')).outcome.kind, 'node');
    // An instance may leave the app only if a rule says so: inferred rules do not.
    const out = run(s, fromInstance('db-0'), packet(`tcp,nw_src=${ip('db-0')},nw_dst=${EXTERNAL_IP},tp_dst=443`));
    assert.equal(out.outcome.kind === 'dropped' && out.outcome.chain, 'eg_db_0');
  });

  test('audit mode logs would-be drops and lets them through; quarantine still drops', () => {
    const a = sim(input([], { mode: 'audit' }));
    const t = run(a, fromInstance('shipping-0'), between(d, 'shipping-0', 'db-0', 5432));
    assert.deepEqual(t.outcome, { kind: 'delivered', instance: 'db-0', node: 'node2' });
    assert.deepEqual(
      t.hops[0].firewall!.audited.map((x) => x.chain),
      ['eg_shipping_0', 'in_db_0'],
    );
    const q = sim(input([], { mode: 'audit', status: { ...running(), 'db-0': 'isolated' } }));
    assert.equal(run(q, fromInstance('shipping-0'), between(d, 'shipping-0', 'db-0', 5432)).outcome.kind, 'dropped');
  });

  test('entries that do not exist are errors, not traces', () => {
    const r = simulatePacket(s, { from: fromInstance('nope-0'), packet: packet('tcp') });
    assert.ok(!r.ok && r.errors[0].code === 'E_SIM_ENTRY' && /nope-0/.test(r.errors[0].message));
    const n = simulatePacket(s, { from: fromOutside('node9'), packet: packet('tcp') });
    assert.ok(!n.ok && /node9/.test(n.errors[0].message));
    const bad = compileSimulation(
      input([], {
        ruleset: {
          ...d.ruleset,
          rules: [...d.ruleset.rules, { ...d.ruleset.rules[0], id: 'rX', peer: { kind: 'cidr', cidr: '10.0.0.300/8', except: [] } }],
        },
      }),
    );
    assert.ok(!bad.ok && bad.errors.some((e) => e.code === 'E_SIM_RULE' && e.message.includes('rX')));
  });

  test("the topology defaults are the orchestrator's", () => {
    assert.equal(DEFAULT_SIM_TOPOLOGY.external, EXTERNAL_IP);
    assert.equal(DEFAULT_SIM_TOPOLOGY.underlay, UNDERLAY_NETWORK);
    assert.equal(DEFAULT_SIM_TOPOLOGY.overlay.replace(/\.0\/24$/, '.1'), overlayIp(0));
    const t = run(s, fromInstance('db-0'), packet(`udp,nw_src=${ip('db-0')},nw_dst=${overlayIp(0)},tp_dst=53`));
    assert.equal(t.hops[0].route?.kind, 'vxlan');
  });
});

function running(): Record<string, 'running'> {
  return Object.fromEntries(d.app.instances.map((i) => [i.name, 'running' as const]));
}

describe('simulated datapath: dvd-rental taps', () => {
  const contracts = dvdContracts(d, 'database', 'forensics', 'public-http', 'message-queue');
  const s = sim(input(contracts));
  const local = (m: string, node: string) => (mon(m).node === node ? mon(m).port : `tt-${mon(m).port}`);

  test('copies go to the monitors the contracts name, at both ends, through tunnels across nodes', () => {
    const t = run(s, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432));
    assert.deepEqual(t.outcome, { kind: 'delivered', instance: 'db-0', node: 'node2' });
    assert.deepEqual(
      copies(t),
      [
        `mon-forensics<-forensics:2@${port('user-create-0')}/ingress`,
        `mon-forensics<-forensics:7@${port('db-0')}/egress`,
        `mon-sql<-database:1@${port('db-0')}/egress`,
      ].sort(),
    );
    const byContract = Object.fromEntries(t.copies.map((c) => [c.contract, c.device]));
    assert.equal(byContract['database:1'], local('mon-sql', 'node2'));
    assert.equal(byContract['forensics:7'], local('mon-forensics', 'node2'));
    assert.ok(byContract['forensics:7'].startsWith('tt-'), 'mon-forensics is on node1: copies from node2 take the tap tunnel');
    // The reply direction is tapped by the mirrored contract on db's sending side.
    const reply = run(s, fromInstance('db-0'), packet(`tcp,nw_src=${ip('db-0')},nw_dst=${ip('user-create-0')},tp_src=5432,tp_dst=40000`), {
      ctState: 'established',
    });
    assert.ok(copies(reply).includes(`mon-sql<-database:1r@${port('db-0')}/ingress`));
  });

  test('a dropped packet is still copied where it was seen; untapped traffic makes no copies', () => {
    const t = run(s, fromInstance('shipping-0'), between(d, 'shipping-0', 'db-0', 5432));
    assert.equal(t.outcome.kind, 'dropped');
    assert.deepEqual(copies(t), [`mon-forensics<-forensics:6@${port('shipping-0')}/ingress`]);
    const bare = sim(input(dvdContracts(d, 'database')));
    const u = run(bare, fromInstance('contract-update-0'), between(d, 'contract-update-0', 'user-update-0', 8080));
    assert.equal(u.outcome.kind, 'delivered');
    assert.deepEqual(u.copies, []);
  });

  test('public HTTP copies come from placement: the tapped port and the chosen monitor agree with the rendered taps', () => {
    const t = run(s, fromOutside(), packet(`tcp,nw_src=${EXTERNAL_IP},nw_dst=${ip('contract-update-0')},tp_src=50000,tp_dst=8080`));
    assert.equal(t.outcome.kind, 'delivered');
    const http = t.copies.find((c) => c.contract.startsWith('public-http'))!;
    const c = contracts.find((x) => x.id === http.contract)!;
    assert.equal(c.src, 'contract-update-0');
    assert.equal(http.monitor, c.dst);
    const text = renderNftTaps(contracts, d.app, d.addressing, 'node1');
    assert.ok(
      text.ok &&
        text.value.includes(`chain ${t.hops[0].egressTap!.chain} {`) &&
        text.value.includes(`dup to "${http.device}" comment "${http.contract}"`),
    );
  });

  test('budgets and sampling: over budget or not sampled, no copy and no effect on delivery', () => {
    const t = run(s, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432), { overBudget: true });
    assert.deepEqual(copies(t), [`mon-sql<-database:1@${port('db-0')}/egress`], 'forensics taps have a budget, database:1 none');
    assert.ok(t.hops[0].ingressTap!.matches.every((m) => m.effect === 'skip' && m.why === 'over budget'));
    const one = run(s, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432), { overBudget: ['forensics:7'] });
    assert.equal(one.copies.filter((c) => c.monitor === 'mon-forensics').length, 1);
    const sampled = contracts.map((c) =>
      c.id === 'database:1' ? { ...c, options: { ...c.options, sample: { every: 10, unit: 'flow' as const } } } : c,
    );
    const ss = sim(input(sampled));
    assert.ok(
      !copies(run(ss, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432), { sampleHit: false })).some((c) =>
        c.startsWith('mon-sql'),
      ),
    );
    assert.ok(
      copies(run(ss, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432))).some((c) => c.startsWith('mon-sql')),
    );
  });

  test('a later fragment has no readable ports: port-based taps miss it, the rest match; conntrack holds it', () => {
    const t = run(s, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432, 'tcp', ',ip_frag=later'));
    assert.deepEqual(copies(t), [`mon-forensics<-forensics:2@${port('user-create-0')}/ingress`]);
    assert.equal(t.outcome.kind === 'dropped' && t.outcome.stage, 'routing');
  });

  test('a monitor that is down: forwards to it are left out', () => {
    const down = sim(input(contracts, { downMonitors: ['mon-sql'] }));
    const t = run(down, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432));
    assert.equal(t.outcome.kind, 'delivered');
    assert.ok(!t.copies.some((c) => c.monitor === 'mon-sql'));
    assert.ok(t.hops[1].egressTap!.matches.some((m) => m.contract === 'database:1' && m.why === 'monitor down'));
  });
});

describe('simulated datapath: redirect and quarantine', () => {
  const contracts = dvdContracts(d, 'honeypot', 'forensics');

  test("honeypot: the suspect's packets go to the honeypot only, copies are made first", () => {
    const s = sim(input(contracts));
    const t = run(s, fromInstance('dvd-return-0'), between(d, 'dvd-return-0', 'dvd-update-0', 8080));
    assert.deepEqual(t.outcome, {
      kind: 'monitor',
      monitor: 'mon-honeypot',
      contract: 'honeypot:1',
      device: `tt-${mon('mon-honeypot').port}`,
      node: 'node1',
    });
    assert.equal(t.hops[0].firewall, undefined, 'diverted before routing and the firewall');
    assert.deepEqual(copies(t), [`mon-forensics<-forensics:3@${port('dvd-return-0')}/ingress`]);
    // What is sent to the suspect passes the firewall, then is diverted at its port.
    const inbound = run(s, fromOutside(), packet(`tcp,nw_src=${EXTERNAL_IP},nw_dst=${ip('dvd-return-0')},tp_src=50000,tp_dst=8080`));
    assert.equal(inbound.hops[0].firewall?.verdict, 'accept');
    assert.equal(inbound.outcome.kind === 'monitor' && inbound.outcome.monitor, 'mon-honeypot');
    // Others are untouched by the redirect.
    assert.equal(
      run(s, fromInstance('contract-update-0'), between(d, 'contract-update-0', 'user-update-0', 8080)).outcome.kind,
      'delivered',
    );
  });

  test('honeypot down: fail closed drops exactly what would have been diverted', () => {
    const s = sim(input(contracts, { downMonitors: ['mon-honeypot'] }));
    const t = run(s, fromInstance('dvd-return-0'), between(d, 'dvd-return-0', 'dvd-update-0', 8080));
    assert.deepEqual(t.outcome, {
      kind: 'dropped',
      stage: 'tap',
      node: 'node1',
      chain: `tap_eg_${port('dvd-return-0')}`,
      rule: 'honeypot:1',
      default: false,
      reason: 'fail-closed redirect to a monitor that is down',
    });
    const open = sim(
      input(
        contracts.map((c) => (c.id === 'honeypot:1' ? { ...c, options: { ...c.options, failMode: 'open' as const } } : c)),
        { downMonitors: ['mon-honeypot'] },
      ),
    );
    assert.equal(run(open, fromInstance('dvd-return-0'), between(d, 'dvd-return-0', 'dvd-update-0', 8080)).outcome.kind, 'delivered');
  });

  test('quarantine cuts the instance off, established traffic included, and its taps still see it', () => {
    const s = sim(input(contracts, { status: { ...running(), 'user-update-0': 'isolated' } }));
    const out = run(s, fromInstance('user-update-0'), between(d, 'user-update-0', 'db-0', 5432), { ctState: 'established' });
    assert.deepEqual(out.outcome, {
      kind: 'dropped',
      stage: 'firewall',
      node: 'node1',
      chain: 'quarantine',
      default: false,
      reason: 'quarantine',
    });
    assert.deepEqual(copies(out), [`mon-forensics<-forensics:4@${port('user-update-0')}/ingress`]);
    const into = run(s, fromInstance('contract-update-0'), between(d, 'contract-update-0', 'user-update-0', 8080));
    assert.equal(into.outcome.kind === 'dropped' && into.outcome.reason, 'quarantine');
    // Everyone else is unaffected.
    assert.equal(run(s, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432)).outcome.kind, 'delivered');
  });

  test('terminated instances have no port and no route', () => {
    const s = sim(input(contracts, { status: { ...running(), 'shipping-0': 'terminated' } }));
    const r = simulatePacket(s, { from: fromInstance('shipping-0'), packet: packet('tcp') });
    assert.ok(!r.ok && r.errors[0].code === 'E_SIM_ENTRY');
    const t = run(s, fromInstance('dvd-update-0'), between(d, 'dvd-update-0', 'shipping-0', 8080));
    assert.equal(t.hops[0].route?.kind, 'none');
    assert.equal(t.outcome.kind === 'dropped' && t.outcome.node, 'node2');
    assert.equal(t.outcome.kind === 'dropped' && t.outcome.reason, 'no route to the destination');
  });

  test("the renderer's refusals are the simulator's: overlapping redirects", () => {
    const twin = { ...contracts.find((c) => c.id === 'honeypot:1')!, id: 'honeypot:twin', dst: 'mon-http' };
    const rendered = renderNftTaps([...contracts, twin], d.app, d.addressing, 'node1');
    const simulated = compileSimulation(input([...contracts, twin]));
    assert.ok(!rendered.ok && !simulated.ok);
    assert.deepEqual([...new Set(simulated.errors.map((e) => e.code))], [...new Set(rendered.errors.map((e) => e.code))]);
  });

  test('a trace reads as text', () => {
    const s = sim(input(contracts));
    const text = formatTrace(run(s, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432)));
    assert.match(text, /from instance user-create-0 \(ct new\)/);
    assert.match(text, /node2 <- vx-ft \(ttl 63\)/);
    assert.match(text, /in_db_0 accept \[r\d+ req\d+ user-create -> db:pg\]/);
    assert.match(text, /=> delivered to db-0 on node2/);
    assert.match(text, /copies: mon-forensics/);
  });

  test('a SimInput is compiled once and reused', () => {
    const i = input(contracts);
    const a = simulatePacket(i, {
      from: fromInstance('db-0'),
      packet: packet(`tcp,nw_src=${ip('db-0')},nw_dst=${ip('mq-0')},tp_dst=4222`),
    });
    const b = simulatePacket(i, {
      from: fromInstance('db-0'),
      packet: packet(`tcp,nw_src=${ip('db-0')},nw_dst=${ip('mq-0')},tp_dst=4222`),
    });
    assert.ok(a.ok && b.ok);
    assert.deepEqual(a.value, b.value);
  });
});

describe('simulated datapath: inline redirects come back through their monitor', () => {
  const inline = policyContracts(d, [{ file: 'inline.dl', text: SAME_NODE_INLINE_POLICY }]);
  const forensics = dvdContracts(d, 'forensics');
  const s = sim(input([...inline, ...forensics]));
  const plain = sim(input(forensics));
  const httpPort = mon('mon-http').port;
  const back = monitorReturnPort(httpPort);
  const mac = (i: string) => d.addressing.instances[i].mac;
  const chain = (dir: 'eg' | 'in', i: string) => `${dir}_${i.replace(/-/g, '_')}`;
  const ruled = (t: SimTrace) =>
    steps(t)
      .filter((x) => x.rule)
      .map((x) => `${x.chain}:${x.rule}`);
  const ruleOf = (target: string, direction: 'ingress' | 'egress', peer: string, p: number) => {
    const r = evaluateChain(
      d.ruleset,
      target,
      direction,
      peer === 'external' ? { ip: EXTERNAL_IP } : { instance: peer, ip: ip(peer) },
      'tcp',
      p,
    );
    assert.equal(r.action, 'accept', `${target} ${direction} ${peer}:${p}`);
    return r.rule!.id;
  };
  const toUserCreate = packet(`tcp,nw_src=${EXTERNAL_IP},nw_dst=${ip('user-create-0')},tp_src=50000,tp_dst=8080,tcp_flags=0x018`);

  test("the fixture redirects to a monitor on the tapped ports' node", () => {
    assert.equal(mon('mon-http').node, 'node1');
    for (const c of inline) assert.equal(d.addressing.instances[c.src].node, 'node1', c.id);
    assert.ok(back.startsWith('fr'));
  });

  test("sent by an instance, passed: back on the return port, then its egress chain (by the tag) and the receiver's chains and taps", () => {
    const pkt = between(d, 'contract-update-0', 'user-update-0', 8080);
    const t = run(s, fromInstance('contract-update-0'), pkt);
    assert.deepEqual(t.outcome, { kind: 'delivered', instance: 'user-update-0', node: 'node1' }, formatTrace(t));
    assert.deepEqual(t.diversions, [
      {
        contract: 'inline:4',
        monitor: 'mon-http',
        device: httpPort,
        node: 'node1',
        instance: 'contract-update-0',
        port: port('contract-update-0'),
        hook: 'ingress',
        tag: redirectTag(mac('contract-update-0'), 'sent', 'open'),
        result: 'passed',
        why: 'the monitor approved it',
        returnPort: back,
      },
    ]);
    assert.equal(t.hops.length, 2);
    assert.equal(t.hops[0].route, undefined, 'diverted before routing');
    assert.equal(t.hops[0].firewall, undefined);
    const h = t.hops[1];
    assert.equal(h.iif, back);
    assert.equal(h.ttl, 64, 'the monitor forwards without routing');
    assert.deepEqual(h.passedBack, { monitor: 'mon-http', contract: 'inline:4' });
    assert.deepEqual(h.route, { kind: 'instance', oif: port('user-update-0'), instance: 'user-update-0' });
    assert.equal(h.firewall!.iif, back);
    assert.deepEqual(ruled(t), [
      `${chain('eg', 'contract-update-0')}:${ruleOf('contract-update-0', 'egress', 'user-update-0', 8080)}`,
      `${chain('in', 'user-update-0')}:${ruleOf('user-update-0', 'ingress', 'contract-update-0', 8080)}`,
    ]);
    // The same checks and copies as without the redirect: the receiver's tap sees it as usual.
    const p = run(plain, fromInstance('contract-update-0'), pkt);
    assert.deepEqual(ruled(t), ruled(p));
    assert.deepEqual(copies(t), copies(p));
    assert.ok(copies(t).includes(`mon-forensics<-forensics:4@${port('user-update-0')}/egress`));
  });

  test('sent, passed, towards another node: egress checked on the way back, ingress on arrival', () => {
    const t = run(s, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432));
    assert.deepEqual(t.outcome, { kind: 'delivered', instance: 'db-0', node: 'node2' }, formatTrace(t));
    assert.deepEqual(
      t.hops.map((h) => `${h.node}<-${h.iif}`),
      [`node1<-${port('user-create-0')}`, `node1<-${back}`, 'node2<-vx-ft'],
    );
    assert.equal(t.diversions[0].contract, 'inline:2');
    assert.equal(t.diversions[0].tag, redirectTag(mac('user-create-0'), 'sent', 'closed'));
    assert.deepEqual(t.hops[1].firewall!.steps.map((x) => x.comment).slice(1), [
      'egress checked (passed back by a monitor); remote node checks ingress',
    ]);
    assert.deepEqual(ruled(t), [
      `${chain('eg', 'user-create-0')}:${ruleOf('user-create-0', 'egress', 'db-0', 5432)}`,
      `${chain('in', 'db-0')}:${ruleOf('db-0', 'ingress', 'user-create-0', 5432)}`,
    ]);
    assert.deepEqual(ruled(t), ruled(run(plain, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432))));
  });

  test('diverted on its way to an instance, passed: straight out of its port, marked, its taps not run twice', () => {
    const t = run(s, fromOutside(), toUserCreate);
    assert.deepEqual(t.outcome, { kind: 'delivered', instance: 'user-create-0', node: 'node1' }, formatTrace(t));
    assert.equal(t.hops.length, 2);
    const [first, ret] = t.hops;
    assert.deepEqual(ruled(t), [`${chain('in', 'user-create-0')}:${ruleOf('user-create-0', 'ingress', 'external', 8080)}`]);
    assert.deepEqual(
      first.egressTap!.matches.map((m) => `${m.contract}:${m.effect}`),
      ['forensics:2:copy', 'inline:1:divert'],
      'copies first, then the diversion',
    );
    assert.deepEqual(
      t.diversions.map((x) => [x.hook, x.result, x.tag, x.returnPort]),
      [['egress', 'passed', redirectTag(mac('user-create-0'), 'delivered', 'closed'), back]],
    );
    assert.equal(ret.iif, back);
    assert.equal(ret.ttl, 63, 'routed once, before the diversion');
    assert.deepEqual(ret.route, { kind: 'fwd', oif: port('user-create-0'), instance: 'user-create-0' });
    assert.equal(ret.firewall, undefined, 'the forward chain already ran');
    assert.deepEqual(ret.egressTap, {
      node: 'node1',
      hook: 'egress',
      port: port('user-create-0'),
      instance: 'user-create-0',
      chain: `tap_in_${port('user-create-0')}`,
      matches: [],
      passedBack: true,
    });
    assert.deepEqual(
      copies(t),
      [`mon-forensics<-forensics:2@${port('user-create-0')}/egress`],
      'one copy: the marked frame skips the chain',
    );
  });

  test('block: a TCP frame is reset at the monitor; what is not TCP passes, and the firewall still decides', () => {
    const t = run(s, fromOutside(), toUserCreate, { inlineVerdict: 'block' });
    assert.deepEqual(t.outcome, { kind: 'monitor', monitor: 'mon-http', contract: 'inline:1', device: httpPort, node: 'node1' });
    assert.equal(t.hops.length, 1);
    assert.deepEqual(
      t.diversions.map((x) => [x.result, x.why]),
      [['blocked', 'the monitor blocked the connection: it answers with a TCP reset']],
    );
    const sent = run(s, fromInstance('contract-update-0'), between(d, 'contract-update-0', 'user-update-0', 8080), {
      inlineVerdict: 'block',
    });
    assert.equal(sent.outcome.kind, 'monitor');
    assert.deepEqual(
      sent.copies.map((c) => c.port),
      [port('contract-update-0')],
      'only the copy made before the diversion',
    );
    const udp = run(s, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432, 'udp'), { inlineVerdict: 'block' });
    assert.deepEqual(
      udp.diversions.map((x) => [x.contract, x.result]),
      [['inline:3', 'passed']],
    );
    assert.match(udp.diversions[0].why, /not TCP/);
    assert.deepEqual(udp.outcome, {
      kind: 'dropped',
      stage: 'firewall',
      node: 'node1',
      chain: chain('eg', 'user-create-0'),
      default: true,
      reason: `${chain('eg', 'user-create-0')} default`,
    });
    assert.equal(udp.hops[1].firewall!.iif, back);
  });

  test("monitor not running: the contract's failMode decides in the monitor's namespace", () => {
    const closed = run(s, fromOutside(), toUserCreate, { inlineVerdict: 'monitor-down' });
    assert.deepEqual(closed.outcome, { kind: 'monitor', monitor: 'mon-http', contract: 'inline:1', device: httpPort, node: 'node1' });
    assert.deepEqual(
      closed.diversions.map((x) => [x.result, x.why]),
      [['dropped', 'monitor not running or overloaded: the contract fails closed']],
    );
    const open = run(s, fromInstance('contract-update-0'), between(d, 'contract-update-0', 'user-update-0', 8080), {
      inlineVerdict: 'monitor-down',
    });
    assert.deepEqual(open.outcome, { kind: 'delivered', instance: 'user-update-0', node: 'node1' });
    assert.deepEqual(
      open.diversions.map((x) => [x.result, x.why]),
      [['passed', 'monitor not running or overloaded: the contract fails open']],
    );
    assert.deepEqual(ruled(open), ruled(run(s, fromInstance('contract-update-0'), between(d, 'contract-update-0', 'user-update-0', 8080))));
    // A redirect without a failMode fails closed.
    const dflt = run(s, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432), { inlineVerdict: 'monitor-down' });
    assert.equal(dflt.diversions[0].result, 'dropped');
    // The controller knowing the monitor is down is another thing: the tap drops and the monitor never sees it.
    const known = run(sim(input([...inline, ...forensics], { downMonitors: ['mon-http'] })), fromOutside(), toUserCreate);
    assert.equal(known.outcome.kind === 'dropped' && known.outcome.stage, 'tap');
    assert.deepEqual(known.diversions, []);
  });

  test("quarantine holds for frames passed back: the sender's by its tag, the receiver's by its port", () => {
    const pkt = between(d, 'contract-update-0', 'user-update-0', 8080);
    const sender = run(
      sim(input([...inline, ...forensics], { status: { ...running(), 'contract-update-0': 'isolated' } })),
      fromInstance('contract-update-0'),
      pkt,
      { ctState: 'established' },
    );
    assert.equal(sender.diversions[0].result, 'passed', 'its taps still see it');
    assert.deepEqual(sender.outcome, {
      kind: 'dropped',
      stage: 'firewall',
      node: 'node1',
      chain: 'quarantine',
      default: false,
      reason: 'quarantine (passed back by a monitor)',
    });
    const receiver = run(
      sim(input([...inline, ...forensics], { status: { ...running(), 'user-update-0': 'isolated' } })),
      fromInstance('contract-update-0'),
      pkt,
    );
    assert.equal(receiver.outcome.kind === 'dropped' && receiver.outcome.reason, 'quarantine');
    assert.equal(receiver.hops[1].firewall!.iif, back);
  });

  test('diverted twice: as sent and as delivered, each monitor passing it back (audit lets the firewall through)', () => {
    const a = sim(input([...inline, ...forensics], { mode: 'audit' }));
    const t = run(a, fromInstance('contract-update-0'), between(d, 'contract-update-0', 'user-create-0', 8080));
    assert.deepEqual(t.outcome, { kind: 'delivered', instance: 'user-create-0', node: 'node1' }, formatTrace(t));
    assert.deepEqual(
      t.diversions.map((x) => `${x.contract}@${x.hook}:${x.result}`),
      ['inline:4@ingress:passed', 'inline:1@egress:passed'],
    );
    assert.deepEqual(
      t.hops.map((h) => h.iif),
      [port('contract-update-0'), back, back],
    );
    assert.deepEqual(
      t.hops[1].firewall!.audited.map((x) => x.chain),
      [chain('eg', 'contract-update-0'), chain('in', 'user-create-0')],
    );
    assert.equal(t.hops[2].route?.kind, 'fwd');
  });

  test('a redirect to a monitor on another node ends there, whatever its verdict, and the trace says why (honeypot)', () => {
    const honeypot = dvdContracts(d, 'honeypot', 'forensics');
    const h = sim(input(honeypot));
    for (const inlineVerdict of ['pass', 'block', 'monitor-down'] as const) {
      const t = run(h, fromInstance('dvd-return-0'), between(d, 'dvd-return-0', 'dvd-update-0', 8080), { inlineVerdict });
      assert.deepEqual(t.outcome, {
        kind: 'monitor',
        monitor: 'mon-honeypot',
        contract: 'honeypot:1',
        device: `tt-${mon('mon-honeypot').port}`,
        node: 'node1',
      });
      assert.equal(t.hops.length, 1);
      assert.equal(t.diversions.length, 1);
      const v = t.diversions[0];
      assert.equal(v.result, 'kept');
      assert.equal(v.tag, redirectTag(mac('dvd-return-0'), 'sent', 'closed'));
      assert.equal(v.returnPort, undefined);
      assert.match(v.why, /mon-honeypot is on node2: .*tap tunnel.*cannot pass it back/);
      assert.match(formatTrace(t), /monitor mon-honeypot \(honeypot:1, tag 02:66:70:[0-9a-f:]+\): kept: mon-honeypot is on node2/);
    }
    const inbound = run(h, fromOutside(), packet(`tcp,nw_src=${EXTERNAL_IP},nw_dst=${ip('dvd-return-0')},tp_src=50000,tp_dst=8080`));
    assert.deepEqual(
      inbound.diversions.map((x) => [x.hook, x.result, x.tag]),
      [['egress', 'kept', redirectTag(mac('dvd-return-0'), 'delivered', 'closed')]],
    );
  });

  test('queue mode: a monitor on another node passes back by the tap tunnel the frame left by, and the walk goes on (honeypot)', () => {
    const honeypot = dvdContracts(d, 'honeypot', 'forensics');
    const q = sim(input(honeypot, { inlineMode: 'queue' }));
    const tunnel = `tt-${mon('mon-honeypot').port}`;
    const passed = run(q, fromInstance('dvd-return-0'), between(d, 'dvd-return-0', 'dvd-update-0', 8080), { inlineVerdict: 'pass' });
    assert.deepEqual(
      passed.diversions.map((x) => [x.result, x.returnPort]),
      [['passed', tunnel]],
    );
    assert.equal(passed.hops[1].iif, tunnel, 'back on node1 by the tunnel');
    assert.deepEqual(passed.hops[1].passedBack, { monitor: 'mon-honeypot', contract: 'honeypot:1' });
    // The same packet without the redirect: where it ends is where the returned frame ends.
    const plain = run(
      sim(input(dvdContracts(d, 'forensics'))),
      fromInstance('dvd-return-0'),
      between(d, 'dvd-return-0', 'dvd-update-0', 8080),
    );
    assert.deepEqual(passed.outcome, plain.outcome);
    const blocked = run(q, fromInstance('dvd-return-0'), between(d, 'dvd-return-0', 'dvd-update-0', 8080), { inlineVerdict: 'block' });
    assert.equal(blocked.diversions[0].result, 'blocked');
    const down = run(q, fromInstance('dvd-return-0'), between(d, 'dvd-return-0', 'dvd-update-0', 8080), { inlineVerdict: 'monitor-down' });
    assert.equal(down.diversions[0].result, 'dropped', 'fail-closed in the monitor namespace, as for a local monitor');
  });

  test('inline off: every diversion ends at its monitor, untagged', () => {
    const off = sim(input([...inline, ...forensics], { inline: false }));
    const t = run(off, fromInstance('contract-update-0'), between(d, 'contract-update-0', 'user-update-0', 8080));
    assert.equal(t.outcome.kind, 'monitor');
    assert.equal(t.diversions.length, 1);
    assert.equal(t.diversions[0].result, 'kept');
    assert.ok(!('tag' in t.diversions[0]));
    assert.match(t.diversions[0].why, /not inline/);
  });

  test('return ports, tags and comments are those of the rendered inline scripts', () => {
    const taps = renderNftTaps([...inline, ...forensics], d.app, d.addressing, 'node1', { inline: true });
    assert.ok(taps.ok);
    const monitors = localMonitorPorts(d.addressing, 'node1');
    const fwOf = (node: string) =>
      unwrap(
        renderNftFirewall(d.ruleset, d.app, d.addressing, node, {
          mode: 'enforce',
          uplinks: NODE_UPLINKS,
          inlineMonitors: localMonitorPorts(d.addressing, node),
        }),
      );
    const fw = fwOf('node1');
    const fwByNode = new Map([
      ['node1', fw],
      ['node2', fwOf('node2')],
    ]);
    const traces = [
      run(s, fromInstance('contract-update-0'), between(d, 'contract-update-0', 'user-update-0', 8080)),
      run(s, fromInstance('user-create-0'), between(d, 'user-create-0', 'db-0', 5432)),
      run(s, fromOutside(), toUserCreate),
    ];
    for (const t of traces) {
      for (const v of t.diversions) {
        assert.ok(taps.value.includes(`ether saddr set ${v.tag} fwd to "${v.device}" comment "${v.contract}"`), `${v.contract} ${v.tag}`);
        assert.ok(monitors.some((m) => m.monitor === v.monitor && m.returnPort === v.returnPort && m.port === v.device));
        assert.ok(taps.value.includes(`chain ret_${v.returnPort} {`));
      }
      for (const h of t.hops.slice(1))
        for (const st of h.firewall?.steps ?? []) assert.ok(fwByNode.get(h.node)!.includes(`comment "${st.comment}"`), st.comment);
    }
    // The tag selects the sender's egress chain on the return port.
    assert.ok(fw.includes(`${redirectTag(mac('contract-update-0'), 'sent', 'closed')} : jump ${chain('eg', 'contract-update-0')}`));
    const q = unwrap(
      renderNftFirewall({ ...d.ruleset, quarantined: ['contract-update-0'] }, d.app, d.addressing, 'node1', {
        mode: 'enforce',
        uplinks: NODE_UPLINKS,
        inlineMonitors: monitors,
      }),
    );
    assert.ok(q.includes('comment "quarantine (passed back by a monitor)"'));
    // An inline tag needs a MAC: the simulator refuses what the renderer refuses.
    const badMac = {
      ...d.addressing,
      instances: { ...d.addressing.instances, 'user-create-0': { ...d.addressing.instances['user-create-0'], mac: 'nope' } },
    };
    const r = compileSimulation({ ...input(inline), addressing: badMac });
    assert.ok(!r.ok && r.errors.some((e) => /MAC/.test(e.message)));
  });

  test('a trace passed back reads as text', () => {
    const text = formatTrace(run(s, fromOutside(), toUserCreate));
    assert.match(
      text,
      new RegExp(
        `tap egress ${port('user-create-0')} \\[tap_in_${port('user-create-0')}\\]: forensics:2 forward: copy .*; inline:1 redirect: divert -> mon-http via ${httpPort}`,
      ),
    );
    assert.match(
      text,
      new RegExp(`monitor mon-http \\(inline:1, tag 02:66:71:[0-9a-f:]+\\): passed, back on ${back}: the monitor approved it`),
    );
    assert.match(text, new RegExp(`node1 <- ${back} \\(ttl 63\\), passed back by mon-http`));
    assert.match(text, new RegExp(`route: straight out of ${port('user-create-0')} \\(user-create-0\\)`));
    assert.match(text, /passed back by a monitor \(marked\)/);
    assert.match(text, /=> delivered to user-create-0 on node1/);
  });
});
