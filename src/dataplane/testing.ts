/**
 * The one test suite every data-plane backend passes, and its fixture: a one-node app (api-0,
 * api-1 and db-0; api and the outside may send UDP to db's port 5000, nothing else is allowed)
 * with two monitors, m1 and m2, and three contracts:
 * - `copy-api0`: copies of the UDP api-0 sends, to m1;
 * - `copy-db`: copies of the UDP delivered to db-0's port 5000, to m2;
 * - `hold-api1`: api-1's UDP to port 5000, diverted to m2 (fail closed).
 * A backend's harness sends real (or simulated) UDP datagrams from instance to instance, or
 * from an address outside (through the node's uplink), and says how many arrived in each
 * instance and monitor; the suite checks traffic, counters and
 * what apply does with them.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { unwrap } from '../diagnostics/index.js';
import { inferFirewall, type Ruleset } from '../firewall/index.js';
import { parseFlow, type FlowTap } from '../flowtap/index.js';
import { DEFAULT_NETWORK, planAddresses, type Addressing, type App } from '../model/index.js';
import type { DataplaneBackend, InstanceStatus, NodeDesired, RuleCounter, SourceRestriction } from './backend.js';
import { countedRules, monitorReturnPort, renderNodeConfig } from './nft/index.js';

const SUITE_NODE = 'n1';
export const DB_PORT = 5000;
const API_PORT = 7000;
/** Two clients outside the application, on the underlay (the harnesses give them the node's uplink). */
export const OUTSIDE_A = '10.250.0.254';
export const OUTSIDE_B = '10.250.0.253';

export interface BackendFixture {
  app: App;
  addressing: Addressing;
  ruleset: Ruleset;
  contracts: FlowTap[];
  node: string;
  /** The devices the node has: every instance port, and each monitor's port and return port. */
  devices: string[];
}

export function backendFixture(): BackendFixture {
  const app: App = {
    tenant: 'acme',
    name: 'suite',
    network: DEFAULT_NETWORK,
    nodes: [{ name: SUITE_NODE }],
    services: [
      {
        name: 'api',
        exposure: 'internal',
        replicas: 2,
        ports: [{ name: 'rpc', protocol: 'udp', port: API_PORT, app: 'other' }],
        placement: [],
        labels: {},
      },
      {
        name: 'db',
        exposure: 'public',
        replicas: 1,
        ports: [{ name: 'store', protocol: 'udp', port: DB_PORT, app: 'other' }],
        placement: [],
        labels: {},
      },
    ],
    monitors: [
      { name: 'm1', node: SUITE_NODE, capacity: 100, inspects: ['any'] },
      { name: 'm2', node: SUITE_NODE, capacity: 100, inspects: ['any'] },
    ],
    requirements: [
      { id: 0, from: 'api', to: 'db', port: 'store' },
      { id: 1, from: 'external', to: 'db', port: 'store' },
    ],
    instances: [
      { name: 'api-0', service: 'api', ordinal: 0, node: SUITE_NODE },
      { name: 'api-1', service: 'api', ordinal: 1, node: SUITE_NODE },
      { name: 'db-0', service: 'db', ordinal: 0, node: SUITE_NODE },
    ],
  };
  const addressing = unwrap(planAddresses(app));
  const tap = (id: string, src: string, dst: string, flow: string, action: FlowTap['action'], extra: Partial<FlowTap>): FlowTap => {
    const f = parseFlow(flow);
    if (!f.ok) throw new Error(f.errors[0].message);
    return { id, tenant: 'acme', src, dst, flow: f.value, action, options: {}, direction: 'egress', ...extra };
  };
  const contracts = [
    tap('copy-api0', 'api-0', 'm1', 'udp', 'forward', {}),
    tap('copy-db', 'db-0', 'm2', `udp,tp_dst=${DB_PORT}`, 'forward', { direction: 'ingress' }),
    tap('hold-api1', 'api-1', 'm2', `udp,tp_dst=${DB_PORT}`, 'redirect', { options: { failMode: 'closed' } }),
  ];
  const devices = [
    ...Object.values(addressing.instances).map((a) => a.port),
    ...Object.values(addressing.monitors).flatMap((m) => [m.port, monitorReturnPort(m.port)]),
  ];
  return { app, addressing, ruleset: inferFirewall(app), contracts, node: SUITE_NODE, devices };
}

export function suiteDesired(
  f: BackendFixture,
  status: Record<string, InstanceStatus> = {},
  extra: Partial<NodeDesired> = {},
): NodeDesired {
  const all = Object.fromEntries(f.app.instances.map((i) => [i.name, 'running' as InstanceStatus]));
  return {
    node: f.node,
    app: f.app,
    ruleset: f.ruleset,
    contracts: f.contracts,
    mode: 'enforce',
    context: { addressing: f.addressing, status: { ...all, ...status } },
    ...extra,
  };
}

export interface BackendHarness<C> {
  backend: DataplaneBackend<C>;
  /** Sends one UDP datagram of `payload` bytes from an instance to another instance's address and port. */
  sendUdp(from: string, to: string, port: number, payload: number): Promise<void>;
  /** The same from outside: from address OUTSIDE_A or OUTSIDE_B, entering the node through its uplink. */
  sendUdpFromOutside(source: string, to: string, port: number, payload: number): Promise<void>;
  /** UDP datagrams that arrived so far in an instance's or a monitor's namespace. */
  received(name: string): Promise<number>;
  close(): Promise<void>;
}

const PAYLOAD = 100;
/** IP total length of a datagram with PAYLOAD bytes: what nft counts at netdev ingress and in inet. */
const IP_LEN = 20 + 8 + PAYLOAD;
const FRAME_LEN = IP_LEN + 14;

/**
 * What a backend counts and how, where backends differ in form but not in behaviour. The
 * default is nftables' (and the simulator's, which counts as nft does).
 */
export interface SuiteProfile {
  /** The counting rules of a configuration, as `table chain comment`. */
  counted(d: NodeDesired): string[];
  /** What a counter adds for one of the suite's datagrams where nft counts the IP packet ('ip') or the frame ('frame'). */
  bytes(where: 'ip' | 'frame'): number;
  /** Rules the quarantine of one instance adds. */
  quarantineRules: number;
}

const nftRules = (d: NodeDesired) => countedRules(unwrap(renderNodeConfig(d)).tables).map((r) => `${r.table} ${r.chain} ${r.comment}`);

const NFT_PROFILE: SuiteProfile = {
  counted: nftRules,
  bytes: (where) => (where === 'ip' ? IP_LEN : FRAME_LEN),
  quarantineRules: 3,
};

/**
 * Open vSwitch: the same firewall, tap and inline return rules as nftables, under the same names
 * (an egress tap needs no rule skipping what a monitor passed back: the return flows resubmit past
 * the taps); every flow counts the Ethernet frame; a quarantine is two flows (by input port, by
 * destination).
 */
export const OVS_PROFILE: SuiteProfile = {
  counted: (d) => nftRules(d).filter((r) => !/passed back by a monitor/.test(r)),
  bytes: () => FRAME_LEN,
  quarantineRules: 2,
};

/** The counter of the rule with this chain and comment (the comment as a prefix: firewall rules carry their requirement after the id). */
function counterOf(list: RuleCounter[], chain: string, comment: string | RegExp): RuleCounter {
  const found = list.filter((c) => c.chain === chain && (typeof comment === 'string' ? c.comment === comment : comment.test(c.comment)));
  assert.equal(found.length, 1, `one counter for ${chain} ${comment}, got ${JSON.stringify(found)}`);
  return found[0];
}

/** `to` minus `from`, per counting rule (by table, chain and comment, in order). */
function delta(from: RuleCounter[], to: RuleCounter[]): Map<string, { packets: number; bytes: number }> {
  const key = (c: RuleCounter, n: number) => `${c.table}|${c.chain}|${c.comment}|${n}`;
  const number = (list: RuleCounter[]) => {
    const seen = new Map<string, number>();
    return list.map((c) => {
      const n = seen.get(`${c.table}|${c.chain}|${c.comment}`) ?? 0;
      seen.set(`${c.table}|${c.chain}|${c.comment}`, n + 1);
      return key(c, n);
    });
  };
  const fromKeys = number(from);
  const before = new Map(from.map((c, i) => [fromKeys[i], c]));
  const out = new Map<string, { packets: number; bytes: number }>();
  number(to).forEach((k, i) => {
    const b = before.get(k);
    const d = { packets: to[i].packets - (b?.packets ?? 0), bytes: to[i].bytes - (b?.bytes ?? 0) };
    if (d.packets || d.bytes) out.set(k.replace(/\|\d+$/, ''), d);
  });
  return out;
}

async function countersOf<C>(h: BackendHarness<C>, node: string): Promise<RuleCounter[]> {
  const r = await h.backend.counters(node);
  assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => e.message).join('\n'));
  return r.value;
}

async function applyDesired<C>(h: BackendHarness<C>, d: NodeDesired) {
  const config = h.backend.render(d);
  assert.ok(config.ok, config.ok ? '' : config.errors.map((e) => e.message).join('\n'));
  const r = await h.backend.apply(d.node, config.value);
  assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => e.message).join('\n'));
  return r.value;
}

/** The desired state with these source restrictions in its context. */
function restricted(d: NodeDesired, restrictions: SourceRestriction[]): NodeDesired {
  return { ...d, context: { ...d.context, restrictions } };
}

/** The counters of `before` that are in `after` with the same counts (by chain and comment). */
function keptCounters(before: RuleCounter[], after: RuleCounter[], skip: (c: RuleCounter) => boolean = () => false): void {
  for (const c of before.filter((x) => !skip(x)))
    assert.ok(
      after.some(
        (x) => x.table === c.table && x.chain === c.chain && x.comment === c.comment && x.packets === c.packets && x.bytes === c.bytes,
      ),
      `${c.table} ${c.chain} ${c.comment} kept its counter`,
    );
}

/** Every datagram's arrivals, as `name: count` of what changed. */
async function arrivals<C>(h: BackendHarness<C>, send: () => Promise<void>): Promise<Record<string, number>> {
  const names = ['api-0', 'api-1', 'db-0', 'm1', 'm2'];
  const before = await Promise.all(names.map((n) => h.received(n)));
  await send();
  const after = await Promise.all(names.map((n) => h.received(n)));
  return Object.fromEntries(names.map((n, i) => [n, after[i] - before[i]]).filter(([, d]) => d !== 0));
}

/**
 * Registers the shared backend tests. `make` builds a harness for the fixture (namespaces for
 * nftables, nothing for the simulator); the tests share it, in order.
 */
export function backendSuite<C>(
  name: string,
  make: (f: BackendFixture) => Promise<BackendHarness<C>>,
  opts: { skip?: false | string; profile?: SuiteProfile } = {},
): void {
  describe(`data-plane backend: ${name}`, { skip: opts.skip ?? false }, () => {
    const f = backendFixture();
    const node = f.node;
    const profile = opts.profile ?? NFT_PROFILE;
    const IP = profile.bytes('ip');
    let h: BackendHarness<C>;
    const db = (from: string) => () => h.sendUdp(from, 'db-0', DB_PORT, PAYLOAD);
    before(async () => {
      h = await make(f);
    });
    after(async () => {
      await h?.close();
    });

    test('apply puts every rule in force with a counter named by its chain and comment; traffic counts on the rules it meets', async () => {
      const first = await applyDesired(h, suiteDesired(f));
      assert.equal(first.kind, 'full', 'nothing was applied before');
      const zero = await countersOf(h, node);
      const expected = profile.counted(suiteDesired(f));
      assert.deepEqual(zero.map((c) => `${c.table} ${c.chain} ${c.comment}`).sort(), expected.sort());
      assert.ok(zero.every((c) => c.packets === 0 && c.bytes === 0));

      // Allowed: api-0 -> db-0:5000, through api-0's egress and db-0's ingress rule; copied at both ends.
      assert.deepEqual(await arrivals(h, db('api-0')), { 'db-0': 1, m1: 1, m2: 1 });
      const one = await countersOf(h, node);
      assert.deepEqual(
        Object.fromEntries(delta(zero, one)),
        Object.fromEntries([
          [`flowtap|eg_api_0|${counterOf(one, 'eg_api_0', /^r\d+ req0 /).comment}`, { packets: 1, bytes: IP }],
          [`flowtap|in_db_0|${counterOf(one, 'in_db_0', /^r\d+ req0 /).comment}`, { packets: 1, bytes: IP }],
          [`flowtap_taps|tap_eg_${f.addressing.instances['api-0'].port}|copy-api0`, { packets: 1, bytes: IP }],
          // At netdev egress nft counts the Ethernet frame.
          [`flowtap_taps|tap_in_${f.addressing.instances['db-0'].port}|copy-db`, { packets: 1, bytes: profile.bytes('frame') }],
        ]),
      );

      // Denied: db-0 may send nothing; its egress chain's default drops it.
      assert.deepEqual(await arrivals(h, () => h.sendUdp('db-0', 'api-0', API_PORT, PAYLOAD)), {});
      const two = await countersOf(h, node);
      assert.deepEqual([...delta(one, two)], [['flowtap|eg_db_0|eg_db_0 default', { packets: 1, bytes: IP }]]);
    });

    test('taps deliver to the right monitor: copies go on, a redirect diverts', async () => {
      await applyDesired(h, suiteDesired(f));
      const before = await countersOf(h, node);
      // api-1's datagram to db is diverted to m2 (which, failing closed with no monitor process, keeps it).
      assert.deepEqual(await arrivals(h, db('api-1')), { m2: 1 });
      const after = await countersOf(h, node);
      assert.deepEqual(
        [...delta(before, after)],
        [[`flowtap_taps|tap_eg_${f.addressing.instances['api-1'].port}|hold-api1`, { packets: 1, bytes: IP }]],
      );
      // Its other traffic is not diverted (and api -> api is not allowed).
      assert.deepEqual(await arrivals(h, () => h.sendUdp('api-1', 'api-0', API_PORT, PAYLOAD)), {});
    });

    test('a configuration the backend refuses leaves the previous one in force, counters included', async () => {
      await applyDesired(h, suiteDesired(f));
      const before = await countersOf(h, node);
      // A contract to a monitor whose namespace was never plugged: its port does not exist on the node.
      const app: App = { ...f.app, monitors: [...f.app.monitors, { name: 'm9', node, capacity: 100, inspects: ['any'] }] };
      const addressing = { ...f.addressing, monitors: unwrap(planAddresses(app)).monitors };
      const tcp = parseFlow('tcp');
      assert.ok(tcp.ok);
      const contracts = [...f.contracts, { ...f.contracts[0], id: 'copy-api0-tcp', dst: 'm9', flow: tcp.value }];
      const bad = h.backend.render({ ...suiteDesired(f), app, contracts, context: { ...suiteDesired(f).context, addressing } });
      assert.ok(bad.ok, 'the renderers take it: only the node lacks the device');
      const checked = await h.backend.check(node, bad.value);
      assert.equal(checked.ok, false, 'check refuses it');
      const r = await h.backend.apply(node, bad.value);
      assert.equal(r.ok, false, 'apply refuses it');
      assert.deepEqual(await countersOf(h, node), before, 'the same rules, the same counts');
      assert.deepEqual(await arrivals(h, db('api-0')), { 'db-0': 1, m1: 1, m2: 1 }, 'the old rules still forward');
    });

    test('quarantine cuts one instance off, its taps still see it, and the other rules keep their counters', async () => {
      await applyDesired(h, suiteDesired(f));
      const before = await countersOf(h, node);
      const q = await applyDesired(h, suiteDesired(f, { 'api-0': 'isolated' }));
      assert.equal(q.kind, 'incremental', `only the quarantine's rules change (${q.reason ?? ''})`);
      // In: quarantine by input port, by output port, and by the tag of a frame a monitor passes back,
      // in the quarantine chain; api-0's own chains stay as they were (the quarantine drops first).
      assert.deepEqual([q.rulesAdded, q.rulesRemoved], [profile.quarantineRules, 0]);
      const quarantined = await countersOf(h, node);
      for (const c of before)
        assert.ok(
          quarantined.some((x) => x.chain === c.chain && x.comment === c.comment && x.packets === c.packets && x.bytes === c.bytes),
          `${c.chain} ${c.comment} kept its counter`,
        );
      assert.ok(
        before.some((c) => c.packets > 0),
        'some of them had counted',
      );
      assert.deepEqual(await arrivals(h, db('api-0')), { m1: 1 }, 'dropped in the forward chain; copied before it');
      const cut = await countersOf(h, node);
      const d = delta(quarantined, cut);
      assert.deepEqual(d.get('flowtap|quarantine|quarantine'), { packets: 1, bytes: IP });
      assert.deepEqual(d.get(`flowtap_taps|tap_eg_${f.addressing.instances['api-0'].port}|copy-api0`), { packets: 1, bytes: IP });
      assert.equal(d.size, 2);
      assert.deepEqual(await arrivals(h, db('api-1')), { m2: 1 }, 'the others are untouched');
      const held = await countersOf(h, node);
      const released = await applyDesired(h, suiteDesired(f));
      assert.equal(released.kind, 'incremental');
      assert.deepEqual(
        [released.rulesAdded, released.rulesRemoved],
        [0, profile.quarantineRules],
        'the quarantine rules out, nothing else',
      );
      const after = await countersOf(h, node);
      for (const c of held.filter((x) => x.chain !== 'quarantine'))
        assert.ok(
          after.some((x) => x.chain === c.chain && x.comment === c.comment && x.packets === c.packets),
          `${c.chain} ${c.comment}`,
        );
      assert.deepEqual(await arrivals(h, db('api-0')), { 'db-0': 1, m1: 1, m2: 1 });
    });

    test('a terminated instance loses its taps, incrementally; they come back with it', async () => {
      await applyDesired(h, suiteDesired(f));
      const before = await countersOf(h, node);
      const gone = await applyDesired(h, suiteDesired(f, { 'api-1': 'terminated' }));
      assert.equal(gone.kind, 'incremental', gone.reason);
      const without = await countersOf(h, node);
      // Its port is gone: no chain may hook it (its firewall chains follow the addressing, which still has it).
      const api1 = (c: RuleCounter) => c.comment === 'hold-api1';
      assert.ok(before.some(api1) && !without.some(api1), "api-1's tap is gone");
      for (const c of before.filter((x) => x.chain === 'in_db_0' || x.comment === 'copy-api0'))
        assert.ok(
          without.some((x) => x.chain === c.chain && x.comment === c.comment && x.packets === c.packets),
          `${c.chain} ${c.comment} kept its counter`,
        );
      assert.deepEqual(await arrivals(h, db('api-0')), { 'db-0': 1, m1: 1, m2: 1 });
      const back = await applyDesired(h, suiteDesired(f));
      assert.equal(back.kind, 'incremental', back.reason);
      assert.deepEqual(await arrivals(h, db('api-1')), { m2: 1 }, 'its redirect is back');
    });

    const outside = (source: string) => () => h.sendUdpFromOutside(source, 'db-0', DB_PORT, PAYLOAD);

    test('a restricted source outside is dropped before the firewall lets it in, another still passes; lifting it restores it; other counters survive', async () => {
      await applyDesired(h, suiteDesired(f));
      // The public service takes both outside clients (copied to m2 on delivery).
      assert.deepEqual(await arrivals(h, outside(OUTSIDE_A)), { 'db-0': 1, m2: 1 });
      assert.deepEqual(await arrivals(h, outside(OUTSIDE_B)), { 'db-0': 1, m2: 1 });
      const before = await countersOf(h, node);
      assert.ok(
        before.some((c) => c.packets > 0),
        'some rules had counted',
      );
      const r = await applyDesired(h, restricted(suiteDesired(f), [{ id: 'flood-a', source: `${OUTSIDE_A}/32` }]));
      assert.deepEqual([r.kind, r.rulesAdded, r.rulesRemoved], ['incremental', 1, 0], r.reason);
      const on = await countersOf(h, node);
      keptCounters(before, on);
      assert.deepEqual(await arrivals(h, outside(OUTSIDE_A)), {}, 'dropped before the tap: no copy either');
      assert.deepEqual(await arrivals(h, outside(OUTSIDE_B)), { 'db-0': 1, m2: 1 });
      assert.deepEqual(await arrivals(h, db('api-0')), { 'db-0': 1, m1: 1, m2: 1 }, 'the application is untouched');
      const after = await countersOf(h, node);
      assert.deepEqual(delta(on, after).get('flowtap|forward|restrict flood-a'), { packets: 1, bytes: IP });

      const lifted = await applyDesired(h, suiteDesired(f));
      assert.deepEqual([lifted.kind, lifted.rulesAdded, lifted.rulesRemoved], ['incremental', 0, 1], lifted.reason);
      keptCounters(after, await countersOf(h, node), (c) => c.comment === 'restrict flood-a');
      assert.deepEqual(await arrivals(h, outside(OUTSIDE_A)), { 'db-0': 1, m2: 1 });
    });

    test('a rate restriction lets the burst of new connections through and drops the rest, counting only what it drops', async () => {
      await applyDesired(h, suiteDesired(f));
      const rate = { id: 'rate-a', source: OUTSIDE_A, port: DB_PORT, protocol: 'udp' as const, rate: { perSecond: 1, burst: 2 } };
      await applyDesired(h, restricted(suiteDesired(f), [rate]));
      const before = await countersOf(h, node);
      // Each datagram from a new source port is a new connection; four come well within a second.
      const got = await arrivals(h, async () => {
        for (let i = 0; i < 4; i++) await outside(OUTSIDE_A)();
      });
      assert.equal(got['db-0'], 2, JSON.stringify(got));
      assert.deepEqual(delta(before, await countersOf(h, node)).get('flowtap|forward|restrict rate-a'), { packets: 2, bytes: 2 * IP });
      assert.deepEqual(await arrivals(h, outside(OUTSIDE_B)), { 'db-0': 1, m2: 1 }, 'another source is not limited');
    });

    test('a restriction that cannot be rendered names itself, and nothing is rendered', () => {
      for (const [bad, why] of [
        [{ id: 'in-app', source: f.addressing.instances['api-0'].ip }, /overlaps the application's network/],
        [{ id: 'garbled', source: '10.250.0.0/33' }, /not an address or block/],
        [{ id: 'rate0', source: OUTSIDE_A, rate: { perSecond: 0, burst: 1 } }, /rate 0\/second/],
      ] as const) {
        const r = h.backend.render(restricted(suiteDesired(f), [{ id: 'fine', source: '2001:db8::/32' }, bad]));
        assert.ok(!r.ok, `${bad.id} is refused`);
        assert.equal(r.errors.length, 1);
        assert.equal(r.errors[0].code, 'E_DATAPLANE_RESTRICT');
        assert.match(r.errors[0].message, new RegExp(`restriction "${bad.id}"`));
        assert.match(r.errors[0].message, why);
      }
    });

    test('drift: nothing applied is not in force; after an apply, what is in force is what was applied', async () => {
      const none = await h.backend.drift('n9');
      assert.ok(none.ok && !none.value.inForce && /nothing applied/.test(none.value.reason ?? ''));
      await applyDesired(h, restricted(suiteDesired(f), [{ id: 'flood-b', source: OUTSIDE_B }]));
      const d = await h.backend.drift(node);
      assert.ok(d.ok);
      assert.deepEqual(d.value, { node, inForce: true, missing: [], extra: [] });
      await applyDesired(h, suiteDesired(f));
    });

    test('the same configuration again changes nothing; a configuration for another node is refused', async () => {
      await applyDesired(h, suiteDesired(f));
      const again = await applyDesired(h, suiteDesired(f));
      assert.deepEqual(again, { kind: 'unchanged', rulesAdded: 0, rulesRemoved: 0 });
      const config = h.backend.render(suiteDesired(f));
      assert.ok(config.ok);
      const wrong = await h.backend.apply('n2', config.value);
      assert.equal(wrong.ok, false);
      const unknown = h.backend.render({ ...suiteDesired(f), node: 'n9' });
      assert.ok(!unknown.ok && unknown.errors.some((e) => e.code === 'E_DATAPLANE_NODE' && /n9/.test(e.message)));
    });
  });
}
