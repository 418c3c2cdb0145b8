import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkContracts, checkTenancy, formatContract, matchesPacket, parseFlow, parsePacketSpec, type FlowTap } from './index.js';

function tap(id: string, src: string, dst: string, flow: string, action: FlowTap['action'], extra: Partial<FlowTap> = {}): FlowTap {
  const r = parseFlow(flow);
  if (!r.ok) assert.fail(r.errors[0].message);
  return { id, tenant: 'acme', src, dst, flow: r.value, action, options: {}, direction: 'both', ...extra };
}

test('formatContract prints FlowTap(SRC, DST, "flow", action)', () => {
  const c = tap('c1', 'web-1', 'ids-a', 'http', 'forward');
  assert.equal(formatContract(c), 'FlowTap(web-1, ids-a, "tcp,tp_dst=80", forward)');
  const d = tap('c2', 'db-1', 'ids-a', 'postgres', 'redirect', {
    direction: 'ingress',
    options: { sample: { every: 10, unit: 'packet' }, budget: { rate: 1000, unit: 'pps' }, failMode: 'open' },
  });
  assert.equal(
    formatContract(d, { details: true }),
    'FlowTap(db-1, ids-a, "tcp,tp_dst=5432", redirect) [direction=ingress sample=1/10packets budget=1000pps failMode=open]',
  );
});

test('two redirects of one port whose flows intersect are an error with a witness packet', () => {
  const a = tap('r1', 'web-1', 'ids-a', 'tcp,tp_dst=1000-2000', 'redirect', { origin: { policyFile: 'p.dl', line: 3 } });
  const b = tap('r2', 'web-1', 'ids-b', 'tcp,nw_src=10.0.0.0/8,tp_dst=0x0400/0xfc00', 'redirect', {
    origin: { policyFile: 'p.dl', line: 7 },
  });
  const errs = checkContracts([a, b]);
  assert.equal(errs.length, 1);
  const e = errs[0];
  assert.equal(e.code, 'E_CONTRACT_OVERLAP');
  assert.ok(e.message.includes('contract r1 FlowTap(web-1, ids-a, "tcp,tp_dst=1000-2000", redirect)'));
  assert.ok(e.message.includes('contract r2 FlowTap(web-1, ids-b,'));
  assert.deepEqual(e.loc, { file: 'p.dl', line: 7 });
  const quoted = /packet "([^"]+)"/.exec(e.message);
  assert.ok(quoted, e.message);
  const pkt = parsePacketSpec(quoted[1]);
  assert.ok(pkt.ok, quoted[1]);
  assert.ok(matchesPacket(a.flow, pkt.value) && matchesPacket(b.flow, pkt.value), `witness ${quoted[1]} matches both`);
});

test('redirects that cannot meet are fine: other port, disjoint flows, opposite directions', () => {
  const base = tap('r1', 'web-1', 'ids-a', 'tcp,tp_dst=80', 'redirect', { direction: 'ingress' });
  assert.deepEqual(checkContracts([base, tap('r2', 'web-2', 'ids-a', 'tcp,tp_dst=80', 'redirect')]), []);
  assert.deepEqual(checkContracts([base, tap('r2', 'web-1', 'ids-a', 'tcp,tp_dst=443', 'redirect')]), []);
  assert.deepEqual(checkContracts([base, tap('r2', 'web-1', 'ids-a', 'tcp,tp_dst=80', 'redirect', { direction: 'egress' })]), []);
  const both = checkContracts([base, tap('r2', 'web-1', 'ids-b', 'tcp', 'redirect', { direction: 'both' })]);
  assert.equal(both.length, 1, 'both overlaps ingress');
  assert.match(both[0].message, /arriving at it/);
});

test('forwards may overlap each other and a redirect of the same flow', () => {
  const list = [
    tap('f1', 'web-1', 'ids-a', 'tcp', 'forward'),
    tap('f2', 'web-1', 'ids-b', 'tcp,tp_dst=80', 'forward'),
    tap('r1', 'web-1', 'ids-c', 'tcp,tp_dst=80', 'redirect'),
  ];
  assert.deepEqual(checkContracts(list), []);
});

test('option errors name the contract and the option', () => {
  const cases: Array<[Partial<FlowTap>, FlowTap['action'], RegExp]> = [
    [{ options: { failMode: 'open' } }, 'forward', /failMode applies to redirect only/],
    [{ options: { sample: { every: 0, unit: 'packet' } } }, 'forward', /sample.every must be a whole number of at least 1/],
    [{ options: { sample: { every: 2.5, unit: 'flow' } } }, 'forward', /sample.every/],
    [{ options: { budget: { rate: 0, unit: 'pps' } } }, 'redirect', /budget.rate must be a number above 0/],
    [{ options: { budget: { rate: -5, unit: 'bps' } } }, 'redirect', /budget.rate/],
    [{ options: { budget: { rate: Number.NaN, unit: 'bps' } } }, 'redirect', /budget.rate/],
  ];
  for (const [extra, action, re] of cases) {
    const c = tap('c9', 'web-1', 'ids-a', 'tcp', action, extra);
    const errs = checkContracts([c]);
    assert.equal(errs.length, 1, re.source);
    assert.equal(errs[0].code, 'E_CONTRACT_OPTION');
    assert.match(errs[0].message, re);
    assert.match(errs[0].message, /^contract c9 FlowTap\(web-1, ids-a, "tcp", /);
  }
  const fine = tap('ok', 'web-1', 'ids-a', 'tcp', 'redirect', {
    options: { failMode: 'closed', sample: { every: 1, unit: 'packet' }, budget: { rate: 1, unit: 'bps' } },
  });
  assert.deepEqual(checkContracts([fine]), []);
});

test('malformed contracts and duplicate ids are reported', () => {
  const self = tap('s', 'web-1', 'web-1', 'tcp', 'forward');
  assert.equal(checkContracts([self])[0].code, 'E_CONTRACT_INVALID');
  const weird = { ...tap('w', 'web-1', 'ids', 'tcp', 'forward'), action: 'copy' } as unknown as FlowTap;
  assert.match(checkContracts([weird])[0].message, /action must be forward or redirect/);
  const dup = checkContracts([tap('x', 'web-1', 'ids', 'tcp', 'forward'), tap('x', 'web-2', 'ids', 'udp', 'forward')]);
  assert.deepEqual(
    dup.map((d) => d.code),
    ['E_CONTRACT_DUPLICATE_ID'],
  );
});

test('tenancy: a tenant taps only its own ports into its own (or shared) monitors', () => {
  const ownership = {
    ports: { 'web-1': 'acme', 'db-1': 'acme', 'shop-1': 'globex' },
    monitors: { 'ids-acme': 'acme', 'ids-globex': 'globex', 'ids-shared': 'ops', 'ids-open': 'ops' },
    sharedMonitors: { 'ids-shared': ['acme'], 'ids-open': '*' as const },
  };
  const good = [
    tap('a', 'web-1', 'ids-acme', 'tcp', 'forward'),
    tap('b', 'db-1', 'ids-shared', 'tcp', 'forward'),
    tap('c', 'db-1', 'ids-open', 'tcp', 'forward'),
  ];
  assert.deepEqual(checkTenancy(good, ownership), []);

  const cases: Array<[FlowTap, string, RegExp]> = [
    [tap('x1', 'shop-1', 'ids-acme', 'tcp', 'forward'), 'E_TENANCY', /tenant acme may not tap port shop-1, which belongs to tenant globex/],
    [
      tap('x2', 'web-1', 'ids-globex', 'tcp', 'forward'),
      'E_TENANCY',
      /monitor ids-globex belongs to tenant globex and is not shared with tenant acme/,
    ],
    [tap('x3', 'ghost-1', 'ids-acme', 'tcp', 'forward'), 'E_TENANCY_UNKNOWN_PORT', /source port ghost-1 is not a port of any application/],
    [
      tap('x4', 'web-1', 'db-1', 'tcp', 'forward'),
      'E_TENANCY_NOT_MONITOR',
      /destination db-1 is an application port of tenant acme, not a monitor/,
    ],
    [tap('x5', 'web-1', 'nowhere', 'tcp', 'forward'), 'E_TENANCY_UNKNOWN_PORT', /destination nowhere is not a known monitor port/],
    [tap('x6', 'ids-acme', 'ids-acme', 'tcp', 'forward'), 'E_TENANCY_UNKNOWN_PORT', /source port ids-acme is a monitor port/],
    [{ ...tap('x7', 'web-1', 'ids-shared', 'tcp', 'forward'), tenant: 'globex' }, 'E_TENANCY', /tenant globex may not tap port web-1/],
  ];
  for (const [c, code, re] of cases) {
    const errs = checkTenancy([c], ownership);
    assert.ok(errs.length >= 1, c.id);
    assert.equal(errs[0].code, code, `${c.id}: ${errs[0].message}`);
    assert.match(errs[0].message, re);
    assert.ok(errs[0].message.startsWith(`contract ${c.id} `), 'names the contract');
  }
  // Prototype keys are not ports.
  assert.equal(checkTenancy([tap('p', 'constructor', 'toString', 'tcp', 'forward')], ownership).length, 2);
});
