/** ftc end to end on dvd-rental: the six example policies compile, render, and nft accepts them. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { nodeScript } from '../src/controller/index.js';
import { renderNftTaps, renderOpenFlow } from '../src/dataplane/index.js';
import { inferFirewall } from '../src/firewall/index.js';
import { compileTaps, parseFlow, printFlow, type FlowTap } from '../src/flowtap/index.js';
import { unwrap } from '../src/diagnostics/index.js';
import { loadApp, planAddresses, type App } from '../src/model/index.js';
import { needsRoot } from '../src/system/testing.js';

const DIR = 'examples/dvd-rental/policies';
const loaded = loadApp('examples/dvd-rental/app.yaml');
assert.ok(loaded.ok);
const app: App = loaded.value;
const addressing = unwrap(planAddresses(app));
const policy = (name: string) => ({ file: `${DIR}/${name}`, text: readFileSync(`${DIR}/${name}`, 'utf8') });
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.dl'))
  .sort();

test('the six example policies compile for dvd-rental', () => {
  assert.deepEqual(files, ['connection-attempts.dl', 'database.dl', 'forensics.dl', 'honeypot.dl', 'message-queue.dl', 'public-http.dl']);
  const by = (f: string): FlowTap[] => {
    const r = compileTaps(app, addressing, [policy(f)]);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    return r.value.contracts;
  };
  const db = by('database.dl');
  assert.deepEqual(
    db.map((c) => [c.src, c.dst, c.action]),
    [
      ['db-0', 'mon-sql', 'forward'],
      ['db-0', 'mon-sql', 'forward'],
    ],
  );
  const forensics = by('forensics.dl');
  assert.equal(forensics.length, app.instances.length);
  assert.ok(forensics.every((c) => c.dst === 'mon-forensics' && c.options.budget?.rate === 50000));
  const honey = by('honeypot.dl');
  assert.deepEqual(
    honey.map((c) => [c.src, c.dst, c.action, c.options.failMode]),
    [['dvd-return-0', 'mon-honeypot', 'redirect', 'closed']],
  );
  const mq = by('message-queue.dl');
  assert.ok(mq.every((c) => c.src === 'mq-0' && c.dst === 'mon-node2'));
  const pub = by('public-http.dl');
  assert.deepEqual([...new Set(pub.map((c) => c.src))].sort(), ['contract-update-0', 'dvd-return-0', 'user-create-0']);
  assert.ok(
    pub.every((c) => c.dst === 'mon-http'),
    'placed on the HTTP monitor on their own node',
  );
  // The back-office services' connection attempts (SYN without ACK), to an HTTP monitor on their node.
  const attempts = by('connection-attempts.dl');
  assert.deepEqual(attempts.map((c) => [c.src, c.dst, c.action]).sort(), [
    ['dvd-update-0', 'mon-node2', 'forward'],
    ['shipping-0', 'mon-node2', 'forward'],
    ['user-update-0', 'mon-http', 'forward'],
  ]);
  assert.deepEqual([...new Set(attempts.map((c) => printFlow(c.flow)))], ['tcp,tcp_flags=+syn-ack']);
  // Provenance: every contract knows the rule that produced it.
  assert.ok(db.every((c) => c.origin?.line === 3 && /tap_kind/.test(c.origin.derivation ?? '')));
});

test('all policies together compile; forward and redirect on one port coexist, copies first', () => {
  const r = compileTaps(app, addressing, files.map(policy));
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const text = renderNftTaps(r.value.contracts, app, addressing, 'node1', {});
  assert.ok(text.ok);
  const chain = text.value.split('chain ').find((c) => c.startsWith(`tap_eg_${addressing.instances['dvd-return-0'].port}`))!;
  assert.ok(chain.indexOf('dup to') >= 0 && chain.indexOf('dup to') < chain.indexOf('fwd to'), chain);
});

test('overlapping redirects to different monitors are refused with both contracts and a witness packet', () => {
  const extra = { file: 'extra.dl', text: 'tap(I, "mon-forensics", "tcp", "redirect") :- instance(I, "dvd-return", _).\n' };
  const r = compileTaps(app, addressing, [policy('honeypot.dl'), extra]);
  assert.equal(r.ok, false);
  if (!r.ok) {
    const e = r.errors.find((d) => /redirect/.test(d.message))!;
    assert.ok(e, JSON.stringify(r.errors));
    assert.match(e.message, /honeypot:1/);
    assert.match(e.message, /extra:1/);
    assert.match(e.message, /packet "[^"]*tcp/);
  }
});

test("a tap of another tenant's port is refused", () => {
  const r = compileTaps(app, addressing, [{ file: 'evil.dl', text: 'tap("billing-0", "mon-sql", "ip", "forward").\n' }]);
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.errors[0].code, 'E_FTC_TENANCY');
    assert.match(r.errors[0].message, /billing-0.*not a port of acme\/dvd-rental/);
    assert.equal(r.errors[0].loc?.file, 'evil.dl');
  }
});

test('fields and options a backend cannot express are errors naming them and the backend', () => {
  const tun = compileTaps(app, addressing, [{ file: 't.dl', text: 'tap("db-0", "mon-sql", "tcp,tun_id=0x5", "forward").\n' }]);
  assert.ok(tun.ok);
  const nft = renderNftTaps(tun.value.contracts, app, addressing, 'node2', {});
  assert.equal(nft.ok, false);
  if (!nft.ok)
    assert.ok(nft.errors.some((e) => e.code === 'E_BACKEND_UNSUPPORTED' && /tun_id/.test(e.message) && /nftables/.test(e.message)));
  const sampled = compileTaps(app, addressing, [
    { file: 's.dl', text: 'tap("db-0", "mon-sql", "tcp", "forward").\ntap_sample("db-0", "tcp", 10, "packet").\n' },
  ]);
  assert.ok(sampled.ok);
  const ports: Record<string, number> = {};
  for (const [i, n] of [...app.instances.map((i) => i.name), ...app.monitors.map((m) => m.name)].entries()) ports[n] = i + 1;
  const macs = Object.fromEntries(app.instances.map((i) => [i.name, addressing.instances[i.name].mac]));
  const of = renderOpenFlow(sampled.value.contracts, { ports, macs });
  assert.equal(of.ok, false);
  if (!of.ok) assert.ok(of.errors.some((e) => e.code === 'E_BACKEND_UNSUPPORTED' && /sample/.test(e.message)));
  // A bad flow in a policy points at the rule that derived it.
  const bad = compileTaps(app, addressing, [{ file: 'b.dl', text: '\ntap("db-0", "mon-sql", "tcp,tp_dts=80", "forward").\n' }]);
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    assert.equal(bad.errors[0].loc?.file, 'b.dl');
    assert.equal(bad.errors[0].loc?.line, 2);
    assert.match(bad.errors[0].message, /tp_dts/);
  }
  assert.ok(parseFlow('tcp,tp_dst=80').ok);
});

const NS = 'ft-test-ftc-check';
after(() => {
  try {
    execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  } catch {
    /* not created */
  }
});

test("nft accepts every node's full script (firewall + taps) for each policy (nft -c in a namespace with the ports)", {
  skip: needsRoot(),
}, () => {
  execFileSync('ip', ['netns', 'add', NS]);
  const ports = [
    ...Object.values(addressing.instances).map((a) => a.port),
    ...Object.values(addressing.monitors).map((m) => m.port),
    ...Object.values(addressing.monitors).map((m) => `tt-${m.port}`),
  ];
  for (const p of ports) execFileSync('ip', ['-n', NS, 'link', 'add', p, 'type', 'veth', 'peer', 'name', `x${p}`.slice(0, 15)]);
  const ruleset = inferFirewall(app);
  const status = Object.fromEntries(app.instances.map((i) => [i.name, 'running' as const]));
  for (const f of files) {
    const r = compileTaps(app, addressing, [policy(f)]);
    assert.ok(r.ok);
    for (const node of app.nodes) {
      const script = unwrap(nodeScript({ app, ruleset, contracts: r.value.contracts, mode: 'enforce' }, node.name, { addressing, status }));
      execFileSync('ip', ['netns', 'exec', NS, 'nft', '-c', '-f', '-'], { input: script });
    }
  }
  assert.throws(() =>
    execFileSync('ip', ['netns', 'exec', NS, 'nft', '-c', '-f', '-'], {
      input: 'table netdev t { chain c { type filter hook ingress device "ft0" priority 0; dup to "nosuchdev" } }',
      stdio: 'pipe',
    }),
  );
});

test('when a load grows past its monitor, re-placement moves only that flow group, sliced by source ports', () => {
  const first = compileTaps(app, addressing, [policy('public-http.dl')]);
  assert.ok(first.ok);
  const same = compileTaps(app, addressing, [policy('public-http.dl')], { previous: first.value.placement! });
  assert.ok(same.ok);
  assert.deepEqual(same.value.moved, [], 'nothing changed, nothing moves');
  const grown = compileTaps(app, addressing, [policy('public-http.dl')], {
    previous: first.value.placement!,
    loads: { 'contract-update-0': 2500 },
  });
  assert.ok(grown.ok, JSON.stringify(!grown.ok && grown.errors));
  assert.ok(grown.value.moved.length >= 1);
  assert.ok(
    grown.value.moved.every((m) => m.flow.startsWith('contract-update-0|')),
    JSON.stringify(grown.value.moved),
  );
  const cap = Object.fromEntries(app.monitors.map((m) => [m.name, m.capacity]));
  for (const [m, load] of Object.entries(grown.value.placement!.monitorLoad)) assert.ok(load <= cap[m], `${m} over capacity`);
  // The contract-update taps now cover the source-port space in slices, each on one monitor.
  const cu = grown.value.contracts.filter((c) => c.src === 'contract-update-0' && !c.id.endsWith('r'));
  assert.ok(cu.length >= 2);
  const ranges = cu.map((c) => c.flow.tp_src!.range!).sort((a, b) => a.from - b.from);
  assert.equal(ranges[0].from, 1024);
  assert.equal(ranges[ranges.length - 1].to, 65535);
  for (let i = 1; i < ranges.length; i++) assert.equal(ranges[i].from, ranges[i - 1].to + 1);
  // Others stay where they were.
  const where = (r: typeof first) =>
    r.ok ? r.value.contracts.filter((c) => c.src !== 'contract-update-0').map((c) => `${c.id}>${c.dst}`) : [];
  assert.deepEqual(where(grown), where(first));
});
