import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowTap } from '../../flowtap/index.js';
import { tapTunnelIf } from './inline.js';
import { TAPS_TABLE, renderNftTaps, tapCounterOf, tapDropComment, type NftTapsOptions } from './taps.js';
import { tapOf, tapsAddressing, tapsApp } from './testing.js';

const app = tapsApp();
const addr = tapsAddressing(app);
const port = (instance: string) => addr.instances[instance].port;
const mport = (monitor: string) => addr.monitors[monitor].port;

function render(contracts: FlowTap[], node = 'n1', opts: NftTapsOptions = {}): string {
  const r = renderNftTaps(contracts, app, addr, node, opts);
  if (!r.ok) assert.fail(r.errors.map((e) => `${e.code}: ${e.message}`).join('\n'));
  return r.value;
}

function errorsOf(contracts: FlowTap[], node = 'n1', opts: NftTapsOptions = {}) {
  const r = renderNftTaps(contracts, app, addr, node, opts);
  assert.equal(r.ok, false, 'expected the rendering to fail');
  return r.ok ? [] : r.errors;
}

/** Rule lines of one chain, in order (not its hook line or comments). */
function chainRules(text: string, chain: string): string[] {
  const start = text.indexOf(`  chain ${chain} {\n`);
  assert.ok(start >= 0, `chain ${chain} in\n${text}`);
  const body = text.slice(start, text.indexOf('\n  }', start)).split('\n').slice(1);
  return body.map((l) => l.trim()).filter((l) => !l.startsWith('#') && !l.startsWith('type filter hook'));
}

test('tapTunnelIf names the tunnel device towards a remote monitor', () => {
  assert.equal(tapTunnelIf('fm1'), 'tt-fm1');
  assert.notEqual(tapTunnelIf('fm1'), tapTunnelIf('fm2'));
});

test('no contracts: an empty table, so an atomic replace still removes old chains', () => {
  assert.equal(render([]), `table netdev ${TAPS_TABLE} {\n}\n`);
  assert.equal(render([], 'n1', { table: 'other' }), 'table netdev other {\n}\n');
});

test('egress taps hook the port ingress; copies come before the diversion', () => {
  const p = port('web-1');
  const text = render([
    tapOf('r1', 'web-1', 'm1', 'tcp,tp_dst=5432', 'redirect', { options: { failMode: 'open' } }),
    tapOf('f1', 'web-1', 'm1', 'tcp', 'forward'),
    tapOf('f2', 'web-1', 'm1', 'udp', 'forward'),
  ]);
  assert.match(text, new RegExp(`chain tap_eg_${p} \\{\\n    type filter hook ingress device "${p}" priority 0;`));
  assert.doesNotMatch(text, /tap_in_/);
  assert.deepEqual(chainRules(text, `tap_eg_${p}`), [
    `meta protocol ip meta l4proto tcp counter dup to "${mport('m1')}" comment "f1"`,
    `meta protocol ip meta l4proto udp counter dup to "${mport('m1')}" comment "f2"`,
    `meta protocol ip meta l4proto tcp th dport 5432 counter fwd to "${mport('m1')}" comment "r1"`,
  ]);
  assert.match(text, /# FlowTap\(web-1, m1, "tcp,tp_dst=5432", redirect\).*; fail-open when m1 is down\n/);
});

test('direction picks the chain: ingress hooks the port egress, both gives both chains', () => {
  const p1 = port('web-1');
  const p2 = port('web-2');
  const text = render([
    tapOf('in', 'web-1', 'm1', 'ip', 'forward', { direction: 'ingress' }),
    tapOf('both', 'web-2', 'm1', 'arp', 'forward', { direction: 'both' }),
  ]);
  assert.match(text, new RegExp(`chain tap_in_${p1} \\{\\n    type filter hook egress device "${p1}" priority 0;`));
  assert.doesNotMatch(text, new RegExp(`tap_eg_${p1}`));
  assert.deepEqual(chainRules(text, `tap_in_${p1}`), [`meta protocol ip counter dup to "${mport('m1')}" comment "in"`]);
  assert.deepEqual(chainRules(text, `tap_eg_${p2}`), [`meta protocol arp counter dup to "${mport('m1')}" comment "both"`]);
  assert.deepEqual(chainRules(text, `tap_in_${p2}`), [`meta protocol arp counter dup to "${mport('m1')}" comment "both"`]);
});

test('a monitor on another node is reached through its tap tunnel device', () => {
  const text = render([tapOf('f', 'web-1', 'm2', 'ip', 'forward'), tapOf('r', 'web-2', 'm2', 'ip', 'redirect')]);
  assert.ok(addr.monitors.m2.node !== 'n1');
  assert.deepEqual(chainRules(text, `tap_eg_${port('web-1')}`), [
    `meta protocol ip counter dup to "${tapTunnelIf(mport('m2'))}" comment "f"`,
  ]);
  assert.deepEqual(chainRules(text, `tap_eg_${port('web-2')}`), [
    `meta protocol ip counter fwd to "${tapTunnelIf(mport('m2'))}" comment "r"`,
  ]);
  // On the monitor's own node the same monitor is its port itself.
  const there = render([tapOf('d', 'db-1', 'm2', 'ip', 'forward')], 'n2');
  assert.deepEqual(chainRules(there, `tap_eg_${port('db-1')}`), [`meta protocol ip counter dup to "${mport('m2')}" comment "d"`]);
});

test('only local, live ports get chains', () => {
  const contracts = [
    tapOf('a', 'web-1', 'm1', 'ip', 'forward'),
    tapOf('b', 'db-1', 'm1', 'ip', 'forward'),
    tapOf('c', 'web-2', 'm1', 'ip', 'forward'),
  ];
  const n1 = render(contracts);
  assert.match(n1, new RegExp(`tap_eg_${port('web-1')}`));
  assert.match(n1, new RegExp(`tap_eg_${port('web-2')}`));
  assert.doesNotMatch(n1, new RegExp(`tap_eg_${port('db-1')}`));
  const live = render(contracts, 'n1', { live: new Set(['web-2']) });
  assert.doesNotMatch(live, new RegExp(`tap_eg_${port('web-1')}`));
  assert.match(live, new RegExp(`tap_eg_${port('web-2')}`));
  const n2 = render(contracts, 'n2');
  assert.deepEqual(chainRules(n2, `tap_eg_${port('db-1')}`), [`meta protocol ip counter dup to "${tapTunnelIf(mport('m1'))}" comment "b"`]);
});

test('sampling comes before the counter; a budget sends the rule to a chain of its own that counts what is over it', () => {
  const eg = `tap_eg_${port('web-1')}`;
  const text = (options: FlowTap['options'], action: FlowTap['action'] = 'forward') =>
    render([tapOf('s', 'web-1', 'm1', 'tcp', action, { options })]);
  const rule = (options: FlowTap['options'], action: FlowTap['action'] = 'forward') => chainRules(text(options, action), eg)[0];
  const m = `meta protocol ip meta l4proto tcp`;
  assert.equal(rule({ sample: { every: 10, unit: 'packet' } }), `${m} numgen random mod 10 == 0 counter dup to "fm0" comment "s"`);
  assert.equal(rule({ sample: { every: 4, unit: 'flow' } }), `${m} symhash mod 4 == 0 counter dup to "fm0" comment "s"`);
  assert.equal(rule({ sample: { every: 1, unit: 'packet' } }), `${m} counter dup to "fm0" comment "s"`);
  const sub = `tapb_eg_${port('web-1')}_s`;
  /** The port chain's jump, then the budget chain's two rules. */
  const budgeted = (options: FlowTap['options'], action: FlowTap['action'] = 'forward') => {
    const t = text(options, action);
    assert.ok(t.indexOf(`chain ${sub} {`) < t.indexOf(`chain ${eg} {`), 'the budget chain is defined before the chain that jumps to it');
    assert.doesNotMatch(t, new RegExp(`chain ${sub} \\{\\n    type`), 'a regular chain: no hook');
    return [...chainRules(t, eg), ...chainRules(t, sub)];
  };
  const over = (limit: string) => `limit rate over ${limit} counter return comment "s over-budget"`;
  assert.deepEqual(budgeted({ budget: { rate: 500, unit: 'pps' } }), [
    `${m} jump ${sub}`,
    over('500/second'),
    'counter dup to "fm0" comment "s"',
  ]);
  assert.deepEqual(budgeted({ budget: { rate: 8_000_000, unit: 'bps' } })[1], over('1000000 bytes/second'));
  // Whole counts only: fractional rates move to a larger time unit, never above the budget.
  assert.equal(budgeted({ budget: { rate: 2.5, unit: 'pps' } })[1], over('150/minute'));
  assert.equal(budgeted({ budget: { rate: 0.01, unit: 'pps' } })[1], over('36/hour'));
  assert.equal(budgeted({ budget: { rate: 4, unit: 'bps' } })[1], over('30 bytes/minute'));
  // Sampling is decided once, in the port chain: the budget chain never draws again.
  assert.deepEqual(budgeted({ sample: { every: 3, unit: 'packet' }, budget: { rate: 10, unit: 'pps' }, failMode: 'closed' }, 'redirect'), [
    `${m} numgen random mod 3 == 0 jump ${sub}`,
    over('10/second'),
    'counter fwd to "fm0" comment "s"',
  ]);
});

test('budget chains are named after their contract: ids nft would fold together stay apart, and others do not rename them', () => {
  const budget = { budget: { rate: 10, unit: 'pps' as const } };
  const p = port('web-1');
  const two = render([
    tapOf('a:1', 'web-1', 'm1', 'tcp', 'forward', { options: budget }),
    tapOf('a.1', 'web-1', 'm1', 'udp', 'forward', { options: budget }),
    tapOf('a_1', 'web-1', 'm1', 'icmp', 'forward', { options: budget }),
  ]);
  const names = [...two.matchAll(/chain (tapb_\S+) \{/g)].map((x) => x[1]);
  assert.deepEqual(names, [`tapb_eg_${p}_a_003a1`, `tapb_eg_${p}_a_002e1`, `tapb_eg_${p}_a__1`]);
  const alone = render([tapOf('a.1', 'web-1', 'm1', 'udp', 'forward', { options: budget })]);
  assert.match(alone, new RegExp(`chain tapb_eg_${p}_a_002e1 \\{`));
  // Both directions: one budget chain per side, each with its own bucket and counters.
  const both = render([tapOf('b', 'web-2', 'm1', 'ip', 'forward', { direction: 'both', options: budget })]);
  assert.deepEqual(
    [...both.matchAll(/chain (tapb_\S+) \{/g)].map((x) => x[1]),
    [`tapb_eg_${port('web-2')}_b`, `tapb_in_${port('web-2')}_b`],
  );
  const long = render([tapOf('x'.repeat(300), 'web-1', 'm1', 'tcp', 'forward', { options: budget })]);
  const longName = /chain (tapb_\S+) \{/.exec(long)![1];
  assert.ok(longName.length <= 200, `${longName.length} characters`);
});

test('drop counters: comments name the contract and the reason, and map back to it', () => {
  assert.equal(tapDropComment('database:1', 'over-budget'), 'database:1 over-budget');
  const long = tapDropComment('y'.repeat(200), 'monitor-down');
  assert.ok(long.length <= 128 && long.endsWith(' monitor-down'));
  const of = tapCounterOf([{ id: 'database:1' }, { id: 'y'.repeat(200) }]);
  assert.deepEqual(of('database:1'), { contract: { id: 'database:1' }, reason: null });
  assert.deepEqual(of('database:1 over-budget'), { contract: { id: 'database:1' }, reason: 'over-budget' });
  assert.equal(of(long)?.reason, 'monitor-down');
  assert.equal(of(long)?.contract.id.length, 200);
  assert.equal(of('quarantine'), null);
});

test('options nft cannot express are E_BACKEND_UNSUPPORTED errors naming option and backend', () => {
  const cases: Array<[FlowTap['options'], string]> = [
    [{ budget: { rate: 1e-6, unit: 'pps' } }, 'budget'],
    [{ budget: { rate: 2e12, unit: 'bps' } }, 'budget'],
    [{ sample: { every: 2 ** 33, unit: 'packet' } }, 'sample'],
  ];
  for (const [options, option] of cases) {
    const errs = errorsOf([tapOf('x', 'web-1', 'm1', 'ip', 'forward', { options })]);
    assert.equal(errs.length, 1, errs.map((e) => e.message).join('; '));
    assert.equal(errs[0].code, 'E_BACKEND_UNSUPPORTED');
    assert.match(errs[0].message, new RegExp(`contract x .*option ${option} cannot be expressed by the nftables backend`));
  }
});

test('a down monitor: forwards and fail-open redirects left out, fail-closed redirects drop', () => {
  const contracts = [
    tapOf('f', 'web-1', 'm1', 'icmp', 'forward'),
    tapOf('open', 'web-1', 'm1', 'tcp', 'redirect', { options: { failMode: 'open' } }),
    tapOf('closed', 'web-1', 'm1', 'udp', 'redirect', { options: { failMode: 'closed', sample: { every: 2, unit: 'flow' } } }),
    tapOf('dflt', 'web-1', 'm1', 'ip,nw_proto=47', 'redirect'),
    tapOf('other', 'web-1', 'm2', 'arp', 'redirect', { options: { failMode: 'open' } }),
  ];
  const eg = `tap_eg_${port('web-1')}`;
  const up = chainRules(render(contracts), eg);
  assert.equal(up.length, 5);
  assert.ok(up.slice(1).every((l) => / fwd to /.test(l)));
  const down = render(contracts, 'n1', { downMonitors: ['m1'] });
  assert.deepEqual(chainRules(down, eg), [
    'meta protocol ip meta l4proto udp symhash mod 2 == 0 counter drop comment "closed monitor-down"',
    'meta protocol ip meta l4proto 47 counter drop comment "dflt monitor-down"',
    `meta protocol arp counter fwd to "${tapTunnelIf(mport('m2'))}" comment "other"`,
  ]);
  assert.match(down, /# f left out: monitor m1 is down/);
  assert.match(down, /# open left out: monitor m1 is down and the redirect fails open/);
  // Over budget still passes untouched while the monitor is down; only what it would divert drops.
  const budgeted = render([tapOf('closed', 'web-1', 'm1', 'udp', 'redirect', { options: { budget: { rate: 5, unit: 'pps' } } })], 'n1', {
    downMonitors: ['m1'],
  });
  assert.deepEqual(chainRules(budgeted, `tapb_eg_${port('web-1')}_closed`), [
    'limit rate over 5/second counter return comment "closed over-budget"',
    'counter drop comment "closed monitor-down"',
  ]);
});

test('unexpressible fields fail the rendering, naming contract, field and backend', () => {
  const errs = errorsOf([tapOf('bad', 'web-1', 'm1', 'in_port=2,ip', 'forward', { origin: { policyFile: 'p.dl', line: 7 } })]);
  assert.equal(errs.length, 1);
  assert.equal(errs[0].code, 'E_BACKEND_UNSUPPORTED');
  assert.match(errs[0].message, /^contract bad FlowTap\(web-1, m1, .*field in_port cannot be expressed by the nftables backend/);
  assert.deepEqual(errs[0].loc, { file: 'p.dl', line: 7, field: 'flow.in_port' });
  // An error stays an error when the port is not live: it must not come and go with restarts.
  assert.equal(errorsOf([tapOf('bad', 'web-1', 'm1', 'tun_id=1', 'forward')], 'n1', { live: new Set() }).length, 1);
});

test('unknown ports, foreign tenants, overlapping redirects and bad options are all reported', () => {
  const errs = errorsOf(
    [
      tapOf('nosrc', 'web-9', 'm1', 'ip', 'forward'),
      tapOf('nomon', 'web-1', 'm9', 'ip', 'forward'),
      tapOf('foreign', 'web-1', 'm1', 'ip', 'forward', { tenant: 'evil' }),
      tapOf('r1', 'web-2', 'm1', 'tcp', 'redirect'),
      tapOf('r2', 'web-2', 'm2', 'tcp,tp_dst=80', 'redirect'),
    ],
    'n1',
    { table: 'bad name' },
  );
  const text = errs.map((e) => `${e.code} ${e.message}`).join('\n');
  assert.match(text, /E_NFT_TAP_PORT contract nosrc .*source port web-9/);
  assert.match(text, /E_NFT_TAP_PORT contract nomon .*monitor port m9/);
  assert.match(text, /E_NFT_TAP_PORT contract foreign .*tenant evil/);
  assert.match(text, /E_NFT_TAP_OPTIONS table name "bad name"/);
  assert.ok(
    errs.some((e) => /r1/.test(e.message) && /r2/.test(e.message)),
    text,
  );
  assert.equal(errs.length, 5, text);
});

test('comments are contract ids, stripped of anything that would end the string', () => {
  const text = render([tapOf('a"b\nc', 'web-1', 'm1', 'ip', 'forward')]);
  assert.match(text, /comment "abc"\n/);
  assert.equal(text.split('\n').filter((l) => l.includes('dup to')).length, 1);
});
