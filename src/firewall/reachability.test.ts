import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Addressing, App } from '../model/index.js';
import { evaluateChain } from './chain-eval.js';
import { computeReachability } from './reachability.js';
import type { Connection, FirewallRule, Peer, Ruleset } from './types.js';

/** A small app: services with instance counts; instance k gets 10.77.0.(k+2). */
function appOf(services: Record<string, number>): { app: App; addressing: Addressing } {
  const app: App = {
    tenant: 't',
    name: 'a',
    network: '10.77.0.0/16',
    nodes: [{ name: 'n1' }],
    services: [],
    monitors: [],
    requirements: [],
    instances: [],
  };
  const addressing: Addressing = { instances: {}, monitors: {}, nodes: {} };
  let k = 0;
  for (const [name, replicas] of Object.entries(services)) {
    app.services.push({ name, exposure: 'internal', replicas, ports: [], placement: [], labels: {} });
    for (let i = 0; i < replicas; i++) {
      const inst = `${name}-${i}`;
      app.instances.push({ name: inst, service: name, ordinal: i, node: 'n1' });
      addressing.instances[inst] = { instance: inst, node: 'n1', port: `ft${k}`, ip: `10.77.0.${k + 2}`, mac: '02:00:00:00:00:00' };
      k++;
    }
  }
  return { app, addressing };
}

let nextId = 1;
function rule(
  direction: 'ingress' | 'egress',
  target: string,
  peer: Peer,
  protocol: FirewallRule['protocol'],
  ports: Array<[number, number]> | null,
  action: 'accept' | 'drop' = 'accept',
): FirewallRule {
  return { id: `r${nextId++}`, direction, target, peer, protocol, ports: ports ? ports.map(([from, to]) => ({ from, to })) : null, action };
}
const svc = (service: string): Peer => ({ kind: 'service', service });

/**
 * Inferred style: web, api and db isolated both ways; cache isolated for egress only.
 * Drops placed before accepts must win (first match), and replicas that differ are
 * reported one by one.
 */
function inferredStyle(): { rs: Ruleset; app: App; addressing: Addressing } {
  nextId = 1;
  const { app, addressing } = appOf({ web: 2, api: 2, db: 1, cache: 1 });
  const rules: FirewallRule[] = [
    rule('ingress', 'web-0', { kind: 'external' }, 'tcp', [[80, 80]]), // r1
    rule('ingress', 'web-1', { kind: 'external' }, 'tcp', [[80, 80]]), // r2
    rule('ingress', 'api-0', svc('web'), 'tcp', [[8080, 8080]], 'drop'), // r3
    rule('ingress', 'api-0', svc('web'), 'tcp', [[8000, 9000]]), // r4
    rule('ingress', 'api-1', svc('web'), 'tcp', [[8000, 9000]]), // r5
    rule('ingress', 'db-0', svc('web'), 'any', null, 'drop'), // r6
    rule('ingress', 'db-0', { kind: 'instances', instances: ['api-0'] }, 'tcp', [[5432, 5432]]), // r7
    rule('ingress', 'db-0', svc('web'), 'any', [[5432, 5432]]), // r8: shadowed by r6
    rule('ingress', 'cache-0', svc('web'), 'tcp', [[6379, 6379]], 'drop'), // r9
    rule('egress', 'web-0', svc('api'), 'tcp', null),
    rule('egress', 'web-1', svc('api'), 'tcp', null),
    rule('egress', 'web-0', svc('db'), 'any', null),
    rule('egress', 'web-1', svc('db'), 'any', null),
    rule('egress', 'web-0', svc('cache'), 'tcp', [[6379, 6380]]),
    rule('egress', 'web-1', svc('cache'), 'tcp', [[6379, 6380]]),
    rule('egress', 'api-0', svc('db'), 'tcp', [[5432, 5432]]),
    rule('egress', 'api-1', svc('db'), 'tcp', [[5432, 5432]]),
  ];
  const all = app.instances.map((i) => i.name);
  const rs: Ruleset = {
    tenant: 't',
    app: 'a',
    network: app.network,
    isolated: { ingress: all.filter((i) => i !== 'cache-0'), egress: all },
    rules,
    base: { arp: true, established: true },
  };
  return { rs, app, addressing };
}

const tcp = (src: string, dst: string, ...ranges: Array<[number, number]>): Connection => ({
  src,
  dst,
  protocol: 'tcp',
  ports: ranges.map(([from, to]) => ({ from, to })),
});

test('inferred-style ruleset: first match, drop rules, defaults and differing replicas', () => {
  const { rs, app, addressing } = inferredStyle();
  const got = computeReachability(rs, app, addressing);
  assert.deepEqual(got, [
    // db accepts api-0 only (r7); api-1 falls to the default drop, so the sources are split.
    tcp('api-0', 'db', [5432, 5432]),
    // cache's ingress is open except r9, which only concerns web.
    { src: 'external', dst: 'cache', protocol: 'any', ports: null },
    tcp('external', 'web', [80, 80]),
    // api-0 drops 8080 before accepting 8000-9000; api-1 does not: destinations are split.
    tcp('web', 'api-0', [8000, 8079], [8081, 9000]),
    tcp('web', 'api-1', [8000, 9000]),
    // web may send 6379-6380 (egress) and cache refuses 6379 from web (ingress): 6380 is left.
    tcp('web', 'cache', [6380, 6380]),
    // web -> db: egress accepts, but db's first rule r6 drops everything from web (r8 is shadowed).
  ]);
});

test('evaluateChain names the deciding rule or the default', () => {
  const { rs } = inferredStyle();
  const ev = (target: string, dir: 'ingress' | 'egress', peer: object, proto: 'tcp' | 'udp', port: number) => {
    const d = evaluateChain(rs, target, dir, peer, proto, port);
    return [d.action, d.rule?.id ?? null, d.defaulted];
  };
  assert.deepEqual(ev('api-0', 'ingress', { instance: 'web-1' }, 'tcp', 8080), ['drop', 'r3', false]);
  assert.deepEqual(ev('api-0', 'ingress', { instance: 'web-1' }, 'tcp', 8081), ['accept', 'r4', false]);
  assert.deepEqual(ev('api-0', 'ingress', { instance: 'web-1' }, 'udp', 8081), ['drop', null, true]);
  assert.deepEqual(ev('db-0', 'ingress', { instance: 'web-0' }, 'tcp', 5432), ['drop', 'r6', false]);
  assert.deepEqual(ev('db-0', 'ingress', { instance: 'api-0' }, 'tcp', 5432), ['accept', 'r7', false]);
  assert.deepEqual(ev('cache-0', 'ingress', { instance: 'api-0' }, 'tcp', 6379), ['accept', null, true]);
  assert.deepEqual(ev('web-0', 'ingress', {}, 'tcp', 80), ['accept', 'r1', false]);
  assert.deepEqual(ev('web-0', 'ingress', { ip: '8.8.8.8' }, 'tcp', 80), ['accept', 'r1', false]);
  // An address inside the application network that is no instance is not `external`.
  assert.deepEqual(ev('web-0', 'ingress', { ip: '10.77.9.9' }, 'tcp', 80), ['drop', null, true]);
});

test('cidr rules match instances by address and cut the outside into ranges', () => {
  nextId = 1;
  const { app, addressing } = appOf({ x: 1, y: 1 });
  const rs: Ruleset = {
    tenant: 't',
    app: 'a',
    network: app.network,
    isolated: { ingress: ['x-0'], egress: [] },
    rules: [
      // y-0 is 10.77.0.3: matched by its address, although no rule names it.
      rule('ingress', 'x-0', { kind: 'cidr', cidr: '10.77.0.3/32', except: [] }, 'tcp', [[22, 22]]),
      rule('ingress', 'x-0', { kind: 'cidr', cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] }, 'tcp', [[443, 443]]),
      rule('ingress', 'x-0', { kind: 'cidr', cidr: '10.0.0.0/8', except: [] }, 'udp', null),
    ],
    base: { arp: true, established: true },
  };
  const got = computeReachability(rs, app, addressing, { externalAs: 'ip-ranges' });
  const all = (src: string, dst: string): Connection => ({ src, dst, protocol: 'any', ports: null });
  const udp = (src: string, dst: string): Connection => ({ src, dst, protocol: 'udp', ports: null });
  // 10.77.0.3/32 lies inside the application network: it cuts no outside range.
  assert.deepEqual(got, [
    tcp('0.0.0.0-9.255.255.255', 'x', [443, 443]),
    all('0.0.0.0-9.255.255.255', 'y'),
    udp('10.0.0.0-10.255.255.255', 'x'),
    all('10.0.0.0-10.255.255.255', 'y'),
    tcp('11.0.0.0-255.255.255.255', 'x', [443, 443]),
    all('11.0.0.0-255.255.255.255', 'y'),
    all('x', '0.0.0.0-9.255.255.255'),
    all('x', '10.0.0.0-10.255.255.255'),
    all('x', '11.0.0.0-255.255.255.255'),
    all('x', 'y'),
    all('y', '0.0.0.0-9.255.255.255'),
    all('y', '10.0.0.0-10.255.255.255'),
    all('y', '11.0.0.0-255.255.255.255'),
    // y-0's address is in 10.0.0.0/8 (udp, all ports) and in 10.77.0.3/32 (tcp 22).
    tcp('y', 'x', [22, 22]),
    udp('y', 'x'),
  ]);
  // One abstract peer: the union over the ranges.
  const abstract = computeReachability(rs, app, addressing).filter((c) => c.src === 'external' && c.dst === 'x');
  assert.deepEqual(abstract, [tcp('external', 'x', [443, 443]), udp('external', 'x')]);
});

test('open instances reach each other, replicas of one service included', () => {
  const { app, addressing } = appOf({ a: 2, b: 1 });
  const rs: Ruleset = {
    tenant: 't',
    app: 'a',
    network: app.network,
    isolated: { ingress: [], egress: [] },
    rules: [],
    base: { arp: true, established: true },
  };
  const got = computeReachability(rs, app, addressing).map((c) => `${c.src}>${c.dst}:${c.protocol}`);
  assert.deepEqual(got, ['a>a:any', 'a>b:any', 'a>external:any', 'b>a:any', 'b>external:any', 'external>a:any', 'external>b:any']);
});

test('large isolated rulesets are evaluated without comparing every pair', () => {
  // 3,000 services of 2 instances in a chain of requirements s_i -> s_{i+1}; a quadratic
  // algorithm would touch 36 million instance pairs.
  const n = 3000;
  const services: Record<string, number> = {};
  for (let i = 0; i < n; i++) services[`s${i}`] = 2;
  const { app, addressing } = appOf({});
  for (const [name, replicas] of Object.entries(services)) {
    app.services.push({ name, exposure: 'internal', replicas, ports: [], placement: [], labels: {} });
    for (let r = 0; r < replicas; r++) {
      const inst = `${name}-${r}`;
      app.instances.push({ name: inst, service: name, ordinal: r, node: 'n1' });
      const k = app.instances.length;
      addressing.instances[inst] = { instance: inst, node: 'n1', port: 'p', ip: `10.77.${k >> 8}.${k & 255}`, mac: 'm' };
    }
  }
  const rules: FirewallRule[] = [];
  for (let i = 0; i + 1 < n; i++) {
    for (let r = 0; r < 2; r++) {
      rules.push(rule('egress', `s${i}-${r}`, svc(`s${i + 1}`), 'tcp', [[80, 80]]));
      rules.push(rule('ingress', `s${i + 1}-${r}`, svc(`s${i}`), 'tcp', [[80, 80]]));
    }
  }
  const all = app.instances.map((i) => i.name);
  const rs: Ruleset = {
    tenant: 't',
    app: 'a',
    network: app.network,
    isolated: { ingress: all, egress: all },
    rules,
    base: { arp: true, established: true },
  };
  const started = performance.now();
  const got = computeReachability(rs, app, addressing);
  const ms = performance.now() - started;
  assert.equal(got.length, n - 1);
  assert.deepEqual(got[0], tcp('s0', 's1', [80, 80]));
  assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
});
