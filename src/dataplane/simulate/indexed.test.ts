import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng, type Rng } from '../../random/index.js';
import type { FirewallRule, IpInterval, Peer, Ruleset } from '../../firewall/index.js';
import { buildChainIndex, lookupChain, PROTO_ANY, PROTO_TCP, PROTO_UDP, type IndexableRule } from './indexed.js';
import { dvdContracts, dvdRental, policyContracts, randomProbes, SAME_NODE_INLINE_POLICY } from './testing.js';
import { compileSimulation, simulatePacket, type SimInput, type SimOptions } from './simulate.js';

const ip = (s: string) => s.split('.').reduce((a, x) => a * 256 + Number(x), 0);
const block = (lo: string, hi: string): IpInterval => ({ lo: ip(lo), hi: ip(hi) });

describe('chain index', () => {
  test('first match in chain order, by protocol, port and peer address', () => {
    const rules: IndexableRule[] = [
      { proto: PROTO_TCP, ports: [{ from: 80, to: 80 }], ips: [block('10.0.0.0', '10.255.255.255')] },
      { proto: PROTO_ANY, ports: [{ from: 53, to: 53 }], ips: [block('10.0.0.5', '10.0.0.5')] },
      { proto: PROTO_UDP, ports: null, ips: [block('192.168.0.0', '192.168.255.255')] },
      { proto: PROTO_ANY, ports: null, ips: [block('0.0.0.0', '255.255.255.255')] },
    ];
    const ix = buildChainIndex(rules);
    assert.equal(lookupChain(ix, PROTO_TCP, 80, true, ip('10.1.2.3')), 0);
    assert.equal(lookupChain(ix, PROTO_TCP, 81, true, ip('10.1.2.3')), 3);
    assert.equal(lookupChain(ix, PROTO_TCP, 80, true, ip('11.0.0.1')), 3);
    assert.equal(lookupChain(ix, PROTO_UDP, 53, true, ip('10.0.0.5')), 1);
    assert.equal(lookupChain(ix, PROTO_TCP, 53, true, ip('10.0.0.5')), 1);
    assert.equal(lookupChain(ix, PROTO_UDP, 53, true, ip('10.0.0.6')), 3);
    assert.equal(lookupChain(ix, PROTO_UDP, 9999, true, ip('192.168.1.1')), 2);
    // A later fragment has no readable port: only port-less rules can match.
    assert.equal(lookupChain(ix, PROTO_TCP, 80, false, ip('10.1.2.3')), 3);
    assert.equal(lookupChain(ix, PROTO_UDP, 53, false, ip('192.168.0.9')), 2);
    // Other protocols match only rules for every protocol without ports.
    assert.equal(lookupChain(ix, 1, 0, true, ip('10.0.0.5')), 3);
    assert.equal(lookupChain(buildChainIndex(rules.slice(0, 3)), 1, 0, true, ip('10.0.0.5')), -1);
    assert.equal(lookupChain(buildChainIndex([]), PROTO_TCP, 80, true, 0), -1);
    // The edges of the address space and of the port space.
    const edge = buildChainIndex([
      {
        proto: PROTO_UDP,
        ports: [
          { from: 0, to: 0 },
          { from: 65535, to: 65535 },
        ],
        ips: [block('255.255.255.255', '255.255.255.255'), block('0.0.0.0', '0.0.0.0')],
      },
    ]);
    for (const [port, addr, want] of [
      [0, '0.0.0.0', 0],
      [65535, '255.255.255.255', 0],
      [1, '0.0.0.0', -1],
      [0, '0.0.0.1', -1],
      [65534, '255.255.255.255', -1],
    ] as const)
      assert.equal(lookupChain(edge, PROTO_UDP, port, true, ip(addr)), want, `${port} ${addr}`);
  });

  test('equals a brute-force first match on random chains', () => {
    const r = seededRng(5);
    const int = (n: number) => Math.floor(r() * n);
    const around = [ip('10.0.0.0'), ip('10.0.0.255'), ip('10.0.1.0'), ip('172.16.0.0'), 0, 0xffffffff - 300];
    const addr = () => Math.min(0xffffffff, around[int(around.length)] + int(300));
    const portOf = () => [0, 1, 53, 80, 443, 8080, 8081, 65535][int(8)] + int(3);
    for (let chain = 0; chain < 60; chain++) {
      const rules: IndexableRule[] = Array.from({ length: 1 + int(25) }, () => {
        const ips: IpInterval[] = [];
        let lo = int(2) ? 0 : addr();
        for (let k = int(4); k >= 0 && lo <= 0xffffffff; k--) {
          const hi = Math.min(0xffffffff, lo + int(k === 0 && r() < 0.2 ? 0xffffffff : 200));
          ips.push({ lo, hi });
          lo = hi + 2 + int(100);
        }
        const ports =
          r() < 0.3
            ? null
            : Array.from({ length: 1 + int(3) }, () => {
                const from = Math.min(65535, portOf());
                return { from, to: Math.min(65535, from + int(3) * int(100)) };
              });
        return { proto: [PROTO_ANY, PROTO_TCP, PROTO_UDP][int(3)], ports, ips };
      });
      const ix = buildChainIndex(rules);
      for (let q = 0; q < 400; q++) {
        const proto = [PROTO_TCP, PROTO_UDP, 1, 132][int(4)];
        const port = Math.min(65535, portOf());
        const readable = r() < 0.9;
        const a = addr();
        const want = rules.findIndex(
          (x) =>
            (x.proto === PROTO_ANY || x.proto === proto) &&
            (x.ports === null ||
              ((proto === PROTO_TCP || proto === PROTO_UDP) && readable && x.ports.some((p) => p.from <= port && port <= p.to))) &&
            x.ips.some((iv) => iv.lo <= a && a <= iv.hi),
        );
        assert.equal(
          lookupChain(ix, proto, port, readable, a),
          want,
          `chain ${chain}: proto ${proto} port ${port} readable ${readable} ip ${a}`,
        );
      }
    }
  });
});

/** Rules of every shape the ruleset allows, on random targets: drops, ranges, any protocol, every peer kind. */
function randomRules(r: Rng, base: Ruleset, instances: string[], services: string[]): FirewallRule[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const peers = (): Peer => {
    switch (pick(['service', 'instances', 'cidr', 'external', 'any'] as const)) {
      case 'service':
        return { kind: 'service', service: pick(services) };
      case 'instances':
        return { kind: 'instances', instances: r() < 0.1 ? [] : [pick(instances), pick(instances)] };
      case 'cidr':
        return {
          kind: 'cidr',
          cidr: pick(['10.77.0.0/24', '10.77.0.0/16', '10.250.0.0/24', '0.0.0.0/0']),
          except: r() < 0.5 ? [pick(['10.77.0.2/32', '10.77.1.0/25'])] : [],
        };
      case 'external':
        return { kind: 'external' };
      case 'any':
        return { kind: 'any' };
    }
  };
  const rules = [...base.rules];
  for (let i = 0; i < 80; i++) {
    const from = pick([53, 80, 4222, 5432, 8000, 8080]);
    rules.splice(Math.floor(r() * rules.length), 0, {
      id: `x${i}`,
      direction: pick(['ingress', 'egress'] as const),
      target: pick(instances),
      peer: peers(),
      protocol: pick(['tcp', 'udp', 'any'] as const),
      ports: r() < 0.25 ? null : [{ from, to: from + pick([0, 0, 10, 200]) }],
      action: r() < 0.3 ? 'drop' : 'accept',
    });
  }
  return rules;
}

describe('indexed classifier equals the linear scan', () => {
  const d = dvdRental();
  const instances = d.app.instances.map((i) => i.name);
  const services = d.app.services.map((s) => s.name);

  function agree(input: SimInput, seed: number, count: number, results?: Map<string, number>): number {
    const c = compileSimulation(input);
    if (!c.ok) assert.fail(c.errors.map((e) => e.message).join('\n'));
    let delivered = 0;
    for (const { probe, opts } of randomProbes(c.value, count, { seed })) {
      const a = simulatePacket(c.value, probe, opts);
      const linear: SimOptions = { ...opts, classifier: 'linear' };
      const b = simulatePacket(c.value, probe, linear);
      assert.deepEqual(b, a);
      if (a.ok && a.value.outcome.kind === 'delivered') delivered++;
      if (a.ok && results) {
        const count = (k: string) => results.set(k, (results.get(k) ?? 0) + 1);
        for (const v of a.value.diversions) count(v.result);
        // Where passed-back frames end: delivered, dropped by the firewall, ...
        if (a.value.diversions.some((v) => v.result === 'passed')) count(`passed, then ${a.value.outcome.kind}`);
      }
    }
    return delivered;
  }

  test('on the inferred firewall with every example policy', () => {
    const contracts = dvdContracts(d, 'database', 'forensics', 'public-http', 'message-queue', 'honeypot');
    assert.ok(agree({ app: d.app, addressing: d.addressing, ruleset: d.ruleset, contracts }, 1, 3000) > 0);
    const status = Object.fromEntries(instances.map((i) => [i, i === 'db-0' ? ('isolated' as const) : ('running' as const)]));
    agree(
      { app: d.app, addressing: d.addressing, ruleset: d.ruleset, contracts, status, mode: 'audit', downMonitors: ['mon-sql'] },
      2,
      1500,
    );
  });

  test('with inline redirects passed back, blocked, failing open and closed, and kept across nodes', () => {
    const inline = policyContracts(d, [{ file: 'inline.dl', text: SAME_NODE_INLINE_POLICY }]);
    // Redirects of whatever user-create and contract-update send, so random packets hit them often.
    const wide = ['user-create-0', 'contract-update-0'].map((src, i) => ({
      ...inline[0],
      id: `wide:${i}`,
      src,
      flow: { dl_type: { value: 0x800, mask: 0xffff } },
      direction: 'egress' as const,
      options: { failMode: i ? ('open' as const) : ('closed' as const) },
    }));
    const contracts = [...inline.filter((c) => c.id.startsWith('inline:1')), ...wide, ...dvdContracts(d, 'forensics', 'honeypot')];
    const results = new Map<string, number>();
    assert.ok(agree({ app: d.app, addressing: d.addressing, ruleset: d.ruleset, contracts }, 3, 3000, results) > 0);
    const status = Object.fromEntries(instances.map((i) => [i, i === 'contract-update-0' ? ('isolated' as const) : ('running' as const)]));
    agree({ app: d.app, addressing: d.addressing, ruleset: d.ruleset, contracts, status, mode: 'audit' }, 4, 1500, results);
    for (const r of ['passed', 'blocked', 'dropped', 'kept', 'passed, then delivered', 'passed, then dropped'])
      assert.ok((results.get(r) ?? 0) >= 10, `only ${results.get(r) ?? 0} ${r}: ${JSON.stringify([...results])}`);
  });

  test('on random rulesets: every peer kind, drops, port ranges, any protocol, a resolver', () => {
    const contracts = dvdContracts(d, 'database', 'forensics');
    let delivered = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const r = seededRng(100 + seed);
      const isolated = instances.filter(() => r() < 0.7);
      const ruleset: Ruleset = {
        ...d.ruleset,
        rules: randomRules(r, d.ruleset, instances, services),
        isolated: { ingress: isolated, egress: instances.filter(() => r() < 0.7) },
        base: {
          ...d.ruleset.base,
          established: seed % 3 !== 0,
          ...(seed % 2 ? { dns: { ip: d.addressing.nodes.node1.gateway, port: 53 } } : {}),
        },
      };
      delivered += agree({ app: d.app, addressing: d.addressing, ruleset, contracts, mode: seed === 4 ? 'audit' : 'enforce' }, seed, 1000);
    }
    assert.ok(delivered > 100, `only ${delivered} random packets were delivered: the rulesets are not exercised`);
  });
});
