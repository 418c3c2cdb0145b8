import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateChain, type FirewallRule, type Peer, type Ruleset } from '../src/firewall/index.js';
import { parseIpv4 } from '../src/net/index.js';
import { SimpleEvaluator, type Party } from './firewall-baseline.js';

const rule = (
  id: number,
  target: string,
  direction: 'ingress' | 'egress',
  peer: Peer,
  action: 'accept' | 'drop',
  ports: number[] | null,
  protocol: 'tcp' | 'udp' | 'any' = 'tcp',
): FirewallRule => ({
  id: `r${id}`,
  target,
  direction,
  peer,
  protocol,
  ports: ports === null ? null : ports.map((p) => ({ from: p, to: p })),
  action,
});

// Every peer kind, a drop before an accept, an un-isolated chain, a cidr with an exception and one covering all of the outside.
const RULESET: Ruleset = {
  tenant: 't',
  app: 'a',
  network: '10.0.0.0/16',
  isolated: { ingress: ['db-0', 'web-0'], egress: ['web-0'] },
  base: { arp: true, established: true },
  rules: [
    rule(1, 'db-0', 'ingress', { kind: 'instances', instances: ['api-1'] }, 'drop', [5432]),
    rule(2, 'db-0', 'ingress', { kind: 'service', service: 'api' }, 'accept', [5432]),
    rule(3, 'db-0', 'ingress', { kind: 'cidr', cidr: '10.0.2.0/24', except: ['10.0.2.9/32'] }, 'accept', null, 'any'),
    rule(4, 'web-0', 'ingress', { kind: 'external' }, 'accept', [80, 443]),
    rule(5, 'web-0', 'ingress', { kind: 'cidr', cidr: '0.0.0.0/0', except: [] }, 'accept', [8443]),
    rule(6, 'web-0', 'egress', { kind: 'service', service: 'api' }, 'accept', [8080]),
    rule(7, 'api-0', 'egress', { kind: 'any' }, 'drop', [25]),
    rule(8, 'api-1', 'ingress', { kind: 'cidr', cidr: 'not a block', except: [] }, 'accept', null),
  ],
};

const PARTIES: Party[] = [
  { instance: 'api-0', service: 'api', ip: parseIpv4('10.0.1.2')! },
  { instance: 'api-1', service: 'api', ip: parseIpv4('10.0.1.3')! },
  { instance: 'batch-0', service: 'batch', ip: parseIpv4('10.0.2.5')! },
  { instance: 'batch-1', service: 'batch', ip: parseIpv4('10.0.2.9')! },
  { instance: 'web-0', service: 'web', ip: parseIpv4('10.0.3.2')! },
];
const ip = (p: Party) => `${p.ip! >>> 24}.${(p.ip! >>> 16) & 255}.${(p.ip! >>> 8) & 255}.${p.ip! & 255}`;

test('the baseline decides every packet as evaluateChain does', () => {
  const ev = new SimpleEvaluator(RULESET);
  let accepted = 0;
  let dropped = 0;
  for (const target of ['db-0', 'web-0', 'api-0', 'api-1', 'batch-0'])
    for (const direction of ['ingress', 'egress'] as const)
      for (const peer of [null, ...PARTIES])
        for (const protocol of ['tcp', 'udp'] as const)
          for (const port of [25, 80, 443, 5432, 8080, 8443, 9000]) {
            const want = evaluateChain(
              RULESET,
              target,
              direction,
              peer ? { instance: peer.instance, service: peer.service, ip: ip(peer) } : {},
              protocol,
              port,
            );
            const got = ev.accepts(target, direction, peer, protocol, port);
            assert.equal(got, want.action === 'accept', `${direction} ${target} ${peer?.instance ?? 'outside'} ${protocol}/${port}`);
            if (got) accepted++;
            else dropped++;
          }
  // The cases are not all one way: both answers occur often.
  assert.ok(accepted > 100 && dropped > 100, `${accepted} accepted, ${dropped} dropped`);
});

test('first match wins: api-1 is refused by the drop before the service accept, api-0 is let in', () => {
  const ev = new SimpleEvaluator(RULESET);
  assert.equal(ev.accepts('db-0', 'ingress', PARTIES[1], 'tcp', 5432), false);
  assert.equal(ev.accepts('db-0', 'ingress', PARTIES[0], 'tcp', 5432), true);
  assert.equal(ev.accepts('db-0', 'ingress', PARTIES[3], 'udp', 9000), false, 'the excepted address');
  assert.equal(ev.accepts('db-0', 'ingress', PARTIES[2], 'udp', 9000), true);
});
