/**
 * The simulator against Open vSwitch's own account of the Open vSwitch backend: each node
 * configuration is rendered by OvsBackend and put in force on a real netdev bridge whose ports
 * have the numbers the rules use (no namespaces, no traffic), and thousands of seeded random
 * packets are traced through it with `ofproto/trace` (conntrack resumed in the simulator's
 * state with `--ct-next`). The ports the trace's datapath actions output to, before conntrack
 * and after it, must be the ones the simulator's trace of the same packet, from the same
 * desired state, says the node's switch sends it to: allowed and denied, copied, diverted,
 * quarantined, audited, restricted, a monitor down, to another node. Needs root and Open vSwitch.
 *
 * Intentional differences, not compared:
 * - After conntrack, a fragment: the nftables node holds fragments for reassembly (the
 *   simulator drops one alone); OVS's userspace conntrack reassembles them itself, which a
 *   trace does not run. What an instance's egress taps do with a fragment is compared.
 * - Meters: a trace does not run them, so no probe is over a tap's budget or a restriction's rate.
 * - What never enters the bridge: a packet an instance sends to itself; from outside, whatever
 *   the node's kernel does not route to a local instance (its own addresses, martians, a TTL
 *   spent); packets entering another node first.
 * - ARP: the switch answers on the sender's port where the node's kernel answers; the reply
 *   to the sender is left out.
 * - After routing, the source MAC is the router's on OVS and unknown to the simulator (taken as
 *   0): no contract of these fixtures matches it.
 *
 * Inline scenarios: a redirect tags what it diverts, and what the monitor passes (the simulator's
 * verdict `pass`) comes back by its return port. The trace ends at the monitor's port, so each
 * passed diversion is traced again as the tagged frame entering that return port, and what it
 * outputs is added to what the packet's first pass output after conntrack.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { unwrap } from '../src/diagnostics/index.js';
import {
  GATEWAY_OFPORT,
  ofportOf,
  OvsBackend,
  returnOfportOf,
  routerMac,
  simulatePacket,
  simulatorBackend,
  tunnelOfportOf,
  type InstanceStatus,
  type NodeDesired,
  type SimOptions,
} from '../src/dataplane/index.js';
import { backendFixture, suiteDesired } from '../src/dataplane/testing.js';
import { randomProbes } from '../src/dataplane/simulate/testing.js';
import { needsOvs } from '../src/system/testing.js';
import { inferFirewall } from '../src/firewall/index.js';
import { compileTaps, ETH_TYPE_ARP, ETH_TYPE_IP } from '../src/flowtap/index.js';
import { loadApp, planAddresses } from '../src/model/index.js';
import { seededRng } from '../src/random/index.js';
import { realSystem } from '../src/system/index.js';
import { ctNext, datapathPorts, macWords, simulatedOutputs, traceFlow, tracedOutputs, Unixctl, type BridgeView } from './ovs-trace.js';

const skip = needsOvs();
const PACKETS = Number(process.env.FLOWTAP_OVS_TRACE_PACKETS ?? 1500);
const SEED = Number(process.env.FLOWTAP_OVS_TRACE_SEED ?? 20261207);
const BRIDGE = `ftt${process.pid.toString(36).slice(-5)}`;
/** Requests in flight on the control socket at once. */
const WINDOW = 32;

interface Scenario {
  name: string;
  desired: NodeDesired;
  /** A contract is sampled: OVS's hash picks the flows, so each packet may match the simulator with the sample taken or not. */
  sampled?: true;
}

const inline = (s: Scenario): Scenario => ({ ...s, name: `${s.name}, inline`, desired: { ...s.desired, inline: true } });

/** The shared backend suite's node, in the states the data plane must get right. */
function suiteScenarios(): Scenario[] {
  const f = backendFixture();
  const status = (s: Record<string, InstanceStatus>) => suiteDesired(f, s, { inline: false });
  const budgeted = f.contracts.map((c) =>
    c.id === 'copy-api0' ? { ...c, options: { ...c.options, budget: { rate: 100, unit: 'pps' as const } } } : c,
  );
  const sampled = f.contracts.map((c) => (c.id === 'copy-api0' ? { ...c, options: { sample: { every: 3, unit: 'flow' as const } } } : c));
  return [
    { name: 'suite: enforce', desired: status({}) },
    { name: 'suite: a copy sampled by flow, 1 in 3', desired: { ...status({}), contracts: sampled }, sampled: true },
    { name: 'suite: api-0 quarantined', desired: status({ 'api-0': 'isolated' }) },
    { name: 'suite: audit', desired: { ...status({}), mode: 'audit' } },
    { name: 'suite: monitor m2 down', desired: { ...status({}), downMonitors: ['m2'] } },
    { name: 'suite: a budgeted copy', desired: { ...status({}), contracts: budgeted } },
    {
      name: 'suite: the outside restricted',
      desired: (() => {
        const d = status({});
        return {
          ...d,
          context: { ...d.context, restrictions: [{ id: 'ext-store', source: '10.250.0.254', port: 5000, protocol: 'udp' as const }] },
        };
      })(),
    },
  ];
}

/**
 * Each node of the two-node differential fixture (test/fixtures/differential): fail-open
 * redirects (fast-failover groups), copies to the other node's monitor through its tap tunnel,
 * traffic to the other node through the gateway.
 */
function differentialScenarios(): Scenario[] {
  const dir = 'test/fixtures/differential';
  const app = unwrap(loadApp(`${dir}/app.yaml`));
  const addressing = unwrap(planAddresses(app));
  const sources = ['taps.dl', 'inline.dl'].map((p) => ({ file: `${dir}/${p}`, text: readFileSync(`${dir}/${p}`, 'utf8') }));
  const { contracts } = unwrap(compileTaps(app, addressing, sources));
  assert.ok(
    contracts.some((c) => addressing.monitors[c.dst].node !== addressing.instances[c.src].node),
    'a contract to a monitor on another node',
  );
  const status = Object.fromEntries(app.instances.map((i) => [i.name, 'running' as InstanceStatus]));
  const ruleset = inferFirewall(app);
  return app.nodes.map((n) => ({
    name: `differential fixture: ${n.name} of two`,
    desired: { node: n.name, app, ruleset, contracts, mode: 'enforce', inline: false, context: { addressing, status } },
  }));
}

const sh = (argv: string[]) => execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The bridge, with an internal port (up, so fast-failover buckets watching it are live) per number the node uses. */
function makeBridge(desired: NodeDesired): void {
  sh(['ovs-vsctl', '--if-exists', 'del-br', BRIDGE]);
  sh([
    'ovs-vsctl',
    'add-br',
    BRIDGE,
    '--',
    'set',
    'bridge',
    BRIDGE,
    'datapath_type=netdev',
    'fail_mode=secure',
    'protocols=OpenFlow13,OpenFlow14,OpenFlow15',
  ]);
  const { addressing } = desired.context;
  const ports = [
    GATEWAY_OFPORT,
    ...Object.values(addressing.instances)
      .filter((a) => a.node === desired.node)
      .map((a) => unwrap(ofportOf(a.port))),
    ...Object.values(addressing.monitors).map((m) => unwrap(m.node === desired.node ? ofportOf(m.port) : tunnelOfportOf(m.port))),
    ...Object.values(addressing.monitors)
      .filter((m) => m.node === desired.node)
      .map((m) => unwrap(returnOfportOf(m.port))),
  ];
  for (const p of ports) {
    const name = `${BRIDGE}p${p}`;
    sh(['ovs-vsctl', 'add-port', BRIDGE, name, '--', 'set', 'interface', name, 'type=internal', `ofport_request=${p}`]);
    sh(['ip', 'link', 'set', name, 'up']);
  }
}

interface Tally {
  compared: number;
  skipped: number;
  delivered: number;
  dropped: number;
  copied: number;
  diverted: number;
  toGateway: number;
  toTunnel: number;
  fromOutside: number;
  notIp: number;
  fragments: number;
  tagged: number;
  sampledIn: number;
  sampledOut: number;
  /** Frames an inline monitor passed back, traced again from its return port. */
  returned: number;
}

const emptyTally = (): Tally => ({
  compared: 0,
  skipped: 0,
  delivered: 0,
  dropped: 0,
  copied: 0,
  diverted: 0,
  toGateway: 0,
  toTunnel: 0,
  fromOutside: 0,
  notIp: 0,
  fragments: 0,
  tagged: 0,
  sampledIn: 0,
  sampledOut: 0,
  returned: 0,
});

describe('ofproto/trace differential: the simulator against the Open vSwitch backend', { skip }, () => {
  let ctl: Unixctl;
  before(async () => {
    ctl = await Unixctl.open();
  });
  after(() => {
    ctl?.close();
    if (!skip) sh(['ovs-vsctl', '--if-exists', 'del-br', BRIDGE]);
  });

  const scenarios = [...suiteScenarios(), ...differentialScenarios()];
  scenarios.push(inline(scenarios[0]), ...differentialScenarios().map(inline));
  const total = emptyTally();

  for (const [k, s] of scenarios.entries())
    test(`${s.name}: ${PACKETS} random packets leave the bridge where the simulator says`, async () => {
      const d = s.desired;
      makeBridge(d);
      const ovs = new OvsBackend({ system: realSystem, bridgeOf: () => BRIDGE });
      const config = ovs.render(d);
      assert.ok(config.ok, config.ok ? '' : config.errors.map((e) => e.message).join('\n'));
      const applied = await ovs.apply(d.node, config.value);
      assert.ok(applied.ok, applied.ok ? '' : applied.errors.map((e) => e.message).join('\n'));
      const simConfig = simulatorBackend().render(d);
      assert.ok(simConfig.ok, simConfig.ok ? '' : simConfig.errors.map((e) => e.message).join('\n'));
      const sim = simConfig.value.simulation;
      const ports = datapathPorts(await ctl.call('dpif/show', []), BRIDGE);

      const { addressing } = d.context;
      const nodeIndex = addressing.nodes[d.node].index;
      const router = macWords(routerMac(nodeIndex));
      const view: BridgeView = {
        node: d.node,
        gateway: GATEWAY_OFPORT,
        portOf: (name) => {
          const m = addressing.monitors[name];
          if (m && m.node !== d.node) return unwrap(tunnelOfportOf(m.port));
          return unwrap(ofportOf((addressing.instances[name] ?? m).port));
        },
      };
      const byIp = new Map(Object.values(addressing.instances).map((a) => [a.ip, a]));
      const ipText = (n: number) => [24, 16, 8, 0].map((b) => (n >>> b) & 0xff).join('.');

      const tally = emptyTally();
      const mismatches: string[] = [];
      let mismatched = 0;
      const tagRng = seededRng(SEED ^ (k + 1));
      const jobs: (() => Promise<void>)[] = [];
      for (const { probe, opts: drawn } of randomProbes(sim, PACKETS, { seed: SEED + k })) {
        const opts: SimOptions = { ctState: drawn.ctState, sampleHit: true, overBudget: false, inlineVerdict: 'pass' };
        const pkt = { ...probe.packet };
        // Now and then a tagged frame (the generator sends none): the node has no VLAN device.
        if (pkt.dl_type === ETH_TYPE_IP && tagRng() < 0.03) pkt.vlan_tci = 0x1000 | Math.floor(tagRng() * 4096);
        let inPort: number;
        let outside = false;
        if (probe.from.kind === 'instance') {
          const at = addressing.instances[probe.from.instance];
          if (at.node !== d.node) {
            tally.skipped++;
            continue;
          }
          // As the instance sends it: from its MAC to its gateway's, the router's.
          pkt.dl_src = macWords(at.mac);
          pkt.dl_dst = router;
          inPort = view.portOf(probe.from.instance);
        } else {
          // As the node's kernel hands it over: from the gateway veth (the router's MAC) to the instance's.
          const to = pkt.dl_type === ETH_TYPE_IP ? byIp.get(ipText(pkt.nw_dst)) : undefined;
          pkt.dl_src = router;
          pkt.dl_dst = to ? macWords(to.mac) : [0, 0, 0];
          inPort = GATEWAY_OFPORT;
          outside = true;
        }
        const traced = simulatePacket(sim, { from: probe.from, packet: pkt }, opts);
        assert.ok(traced.ok, traced.ok ? '' : traced.errors[0].message);
        const t = traced.value;
        const first = t.hops[0];
        if (!first || first.node !== d.node || (outside && (first.route?.kind !== 'instance' || pkt.nw_ttl <= 1))) {
          tally.skipped++;
          continue;
        }
        const want = simulatedOutputs(t, view);
        const unsampled = s.sampled
          ? simulatedOutputs(unwrap(simulatePacket(sim, { from: probe.from, packet: pkt }, { ...opts, sampleHit: false })), view)
          : want;
        const entering = outside ? { ...pkt, nw_ttl: pkt.nw_ttl - 1 } : pkt;
        const flow = traceFlow(entering, inPort);
        const ct = ctNext(opts.ctState ?? 'new');
        // What a local inline monitor passed back: the frame as the redirect sent it, by its return port.
        const returns = t.diversions
          .filter((v) => v.node === d.node && v.result === 'passed' && v.tag && addressing.monitors[v.monitor].node === d.node)
          .map((v) => {
            const sent = v.hook === 'ingress';
            const frame = sent
              ? { ...entering, dl_src: macWords(v.tag!) }
              : {
                  ...entering,
                  nw_ttl: outside ? entering.nw_ttl : entering.nw_ttl - 1,
                  dl_src: macWords(v.tag!),
                  dl_dst: macWords(addressing.instances[v.instance].mac),
                };
            return traceFlow(frame, unwrap(returnOfportOf(addressing.monitors[v.monitor].port)));
          });
        jobs.push(async () => {
          const text = await ctl.call('ofproto/trace', [BRIDGE, flow, '--ct-next', ct]);
          const got = tracedOutputs(text, ports);
          for (const r of returns) {
            const back = tracedOutputs(await ctl.call('ofproto/trace', [BRIDGE, r, '--ct-next', ct]), ports);
            got.after = [...new Set([...got.after, ...back.before, ...back.after])].sort((a, b) => a - b);
            tally.returned++;
          }
          // The switch answers ARP on the sender's own port (see the header).
          if (pkt.dl_type === ETH_TYPE_ARP) got.after = got.after.filter((p) => p !== inPort);
          if (pkt.dl_type === ETH_TYPE_ARP) got.before = got.before.filter((p) => p !== inPort);
          const agrees = (w: typeof want) =>
            String(got.before) === String(w.before) && (!w.afterKnown || String(got.after) === String(w.after));
          const same = agrees(want) || agrees(unsampled);
          if (same && String(want.before) !== String(unsampled.before)) tally[agrees(want) ? 'sampledIn' : 'sampledOut']++;
          if (!same && mismatches.length < 10)
            mismatches.push(
              `${flow} (ct ${ct}): ovs before ct [${got.before}] after [${got.after}], simulator [${want.before}] [${want.after}] (${t.outcome.kind}${
                t.outcome.kind === 'dropped' ? `: ${t.outcome.reason}` : ''
              })`,
            );
          tally.compared++;
          if (!same) mismatched++;
          if (outside) tally.fromOutside++;
          if (pkt.dl_type !== ETH_TYPE_IP) tally.notIp++;
          if (!want.afterKnown) tally.fragments++;
          if (pkt.vlan_tci) tally.tagged++;
          if (t.outcome.kind === 'delivered') tally.delivered++;
          if (t.outcome.kind === 'dropped') tally.dropped++;
          if (t.copies.length) tally.copied++;
          if (t.diversions.length) tally.diverted++;
          if (want.after.includes(GATEWAY_OFPORT)) tally.toGateway++;
          if ([...want.before, ...want.after].some((p) => p >= 34000)) tally.toTunnel++;
        });
      }
      const t0 = performance.now();
      for (let i = 0; i < jobs.length; i += WINDOW) await Promise.all(jobs.slice(i, i + WINDOW).map((j) => j()));
      const ms = performance.now() - t0;
      console.log(
        `${s.name}: ${tally.compared} packets traced in ${ms.toFixed(0)} ms (${((ms / Math.max(1, tally.compared)) * 1000).toFixed(0)} µs each), ${mismatched} differ; ${JSON.stringify(tally)}`,
      );
      for (const key of Object.keys(tally) as (keyof Tally)[]) total[key] += tally[key];
      assert.deepEqual(mismatches, [], `${mismatched} of ${tally.compared} packets differ`);
      // Agreeing proves little unless every path was taken.
      assert.ok(tally.compared >= PACKETS / 3, `only ${tally.compared} of ${PACKETS} packets entered the bridge`);
      for (const what of ['delivered', 'dropped', 'copied'] as const)
        assert.ok(tally[what] > 0, `no packet ${what}: ${JSON.stringify(tally)}`);
      if (s.sampled) {
        // About one flow in three copied (random packets: nearly every one a flow of its own).
        const n = tally.sampledIn + tally.sampledOut;
        assert.ok(n >= 30, `only ${n} packets the sampled contract matched`);
        const share = tally.sampledIn / n;
        assert.ok(share > 0.15 && share < 0.55, `${tally.sampledIn} of ${n} sampled: not about one in three`);
      }
    });

  test('over every scenario: thousands of packets compared, every kind of path among them', () => {
    console.log(`ofproto/trace differential: ${total.compared} packets agree over ${scenarios.length} scenarios: ${JSON.stringify(total)}`);
    assert.ok(total.compared >= 2000 || PACKETS < 1000, `only ${total.compared} packets compared`);
    for (const what of ['diverted', 'toGateway', 'toTunnel', 'fromOutside', 'notIp', 'fragments', 'tagged', 'returned'] as const)
      assert.ok(total[what] > 0, `no packet ${what}: ${JSON.stringify(total)}`);
  });

  test('the control socket answers as ovs-appctl does, for a fraction of the time', async () => {
    const d = scenarios[0].desired;
    makeBridge(d);
    const ovs = new OvsBackend({ system: realSystem, bridgeOf: () => BRIDGE });
    assert.ok((await ovs.apply(d.node, unwrap(ovs.render(d)))).ok);
    const api0 = d.context.addressing.instances['api-0'];
    const db = d.context.addressing.instances['db-0'];
    const flows = Array.from(
      { length: 40 },
      (_, i) => `in_port=${unwrap(ofportOf(api0.port))},udp,nw_src=${api0.ip},nw_dst=${db.ip},nw_ttl=64,udp_src=${40000 + i},udp_dst=5000`,
    );
    const t0 = performance.now();
    const viaAppctl = flows.map((f) => sh(['ovs-appctl', 'ofproto/trace', BRIDGE, f, '--ct-next', 'trk,new']));
    const t1 = performance.now();
    const viaSocket = await Promise.all(flows.map((f) => ctl.call('ofproto/trace', [BRIDGE, f, '--ct-next', 'trk,new'])));
    const t2 = performance.now();
    console.log(
      `ofproto/trace: ${((t1 - t0) / flows.length).toFixed(2)} ms per packet through ovs-appctl, ${((t2 - t1) / flows.length).toFixed(2)} ms through the control socket`,
    );
    // Each trace recirculates under an id of its own.
    const norm = (t: string) => t.replace(/recirc(_id=|\()0x[0-9a-f]+/g, 'recirc$10x_');
    assert.deepEqual(viaSocket.map(norm), viaAppctl.map(norm));
    assert.ok(viaSocket[0].includes('Datapath actions:'));
  });
});
