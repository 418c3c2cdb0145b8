import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowTap } from '../../flowtap/index.js';
import { TAPS_TABLE, renderNftTaps, tapTunnelIf, type NftTapsOptions } from './taps.js';
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

test('sampling and budgets come before the counter', () => {
  const eg = `tap_eg_${port('web-1')}`;
  const rule = (options: FlowTap['options'], action: FlowTap['action'] = 'forward') =>
    chainRules(render([tapOf('s', 'web-1', 'm1', 'tcp', action, { options })]), eg)[0];
  const m = `meta protocol ip meta l4proto tcp`;
  assert.equal(rule({ sample: { every: 10, unit: 'packet' } }), `${m} numgen random mod 10 == 0 counter dup to "fm0" comment "s"`);
  assert.equal(rule({ sample: { every: 4, unit: 'flow' } }), `${m} symhash mod 4 == 0 counter dup to "fm0" comment "s"`);
  assert.equal(rule({ sample: { every: 1, unit: 'packet' } }), `${m} counter dup to "fm0" comment "s"`);
  assert.equal(rule({ budget: { rate: 500, unit: 'pps' } }), `${m} limit rate 500/second counter dup to "fm0" comment "s"`);
  assert.equal(rule({ budget: { rate: 8_000_000, unit: 'bps' } }), `${m} limit rate 1000000 bytes/second counter dup to "fm0" comment "s"`);
  // Whole counts only: fractional rates move to a larger time unit, never above the budget.
  assert.equal(rule({ budget: { rate: 2.5, unit: 'pps' } }), `${m} limit rate 150/minute counter dup to "fm0" comment "s"`);
  assert.equal(rule({ budget: { rate: 0.01, unit: 'pps' } }), `${m} limit rate 36/hour counter dup to "fm0" comment "s"`);
  assert.equal(rule({ budget: { rate: 4, unit: 'bps' } }), `${m} limit rate 30 bytes/minute counter dup to "fm0" comment "s"`);
  assert.equal(
    rule({ sample: { every: 3, unit: 'packet' }, budget: { rate: 10, unit: 'pps' }, failMode: 'closed' }, 'redirect'),
    `${m} numgen random mod 3 == 0 limit rate 10/second counter fwd to "fm0" comment "s"`,
  );
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
    'meta protocol ip meta l4proto udp symhash mod 2 == 0 counter drop comment "closed"',
    'meta protocol ip meta l4proto 47 counter drop comment "dflt"',
    `meta protocol arp counter fwd to "${tapTunnelIf(mport('m2'))}" comment "other"`,
  ]);
  assert.match(down, /# f left out: monitor m1 is down/);
  assert.match(down, /# open left out: monitor m1 is down and the redirect fails open/);
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
