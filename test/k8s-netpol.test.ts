/**
 * Kubernetes manifests -> flowtap model -> abstract ruleset -> reachability -> connlist,
 * on the fixtures under test/fixtures/k8s. Every expected list is worked out by hand
 * from the manifests (the comments say how), not taken from the program's output.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { k8sFixture, loadK8sFixture } from './testing.js';
import { computeReachability, formatConnlist, netpolsToRuleset, type NetpolConversionOptions } from '../src/firewall/index.js';
import { k8sWorkloadKinds } from '../src/model/index.js';

const _fixture = k8sFixture;

function connlist(name: string, opts: NetpolConversionOptions = {}): string[] {
  const imp = loadK8sFixture(name);
  const rs = netpolsToRuleset(imp, opts);
  const conns = computeReachability(rs, imp.app, imp.addressing, { externalAs: 'ip-ranges' });
  const text = formatConnlist(conns, 'txt', { kinds: k8sWorkloadKinds(imp) });
  return text === '' ? [] : text.split('\n');
}

const ALL = '0.0.0.0-255.255.255.255';

test('default-deny ingress isolates the namespace; pods no policy selects stay open', () => {
  // shop/web and shop/db accept nothing; their egress and other/client are open.
  // web has 2 replicas, but web -> web is refused by web's ingress.
  assert.deepEqual(connlist('default-deny'), [
    `${ALL} => other/client[Pod] : All Connections`,
    `other/client[Pod] => ${ALL} : All Connections`,
    `shop/db[StatefulSet] => ${ALL} : All Connections`,
    'shop/db[StatefulSet] => other/client[Pod] : All Connections',
    `shop/web[Deployment] => ${ALL} : All Connections`,
    'shop/web[Deployment] => other/client[Pod] : All Connections',
  ]);
  const imp = loadK8sFixture('default-deny');
  const rs = netpolsToRuleset(imp);
  assert.deepEqual(rs.isolated, { ingress: ['shop/db-0', 'shop/web-0', 'shop/web-1'], egress: [] });
  assert.deepEqual(rs.rules, []);
});

test('allow-all rules isolate and allow everything again', () => {
  assert.deepEqual(connlist('allow-all'), [
    `${ALL} => x/a[Deployment] : All Connections`,
    `${ALL} => x/b[Deployment] : All Connections`,
    `x/a[Deployment] => ${ALL} : All Connections`,
    'x/a[Deployment] => x/b[Deployment] : All Connections',
    `x/b[Deployment] => ${ALL} : All Connections`,
    'x/b[Deployment] => x/a[Deployment] : All Connections',
  ]);
  const rs = netpolsToRuleset(loadK8sFixture('allow-all'));
  assert.deepEqual(rs.isolated, { ingress: ['x/a-0', 'x/b-0'], egress: ['x/a-0', 'x/b-0'] });
  assert.ok(rs.rules.every((r) => r.peer.kind === 'any' && r.protocol === 'any' && r.ports === null && r.action === 'accept'));
});

test('podSelector peer: only frontend reaches backend, and only on TCP 9090', () => {
  assert.deepEqual(connlist('pod-selector'), [
    `${ALL} => app/frontend[Deployment] : All Connections`,
    `${ALL} => app/other[Deployment] : All Connections`,
    `app/backend[Deployment] => ${ALL} : All Connections`,
    'app/backend[Deployment] => app/frontend[Deployment] : All Connections',
    'app/backend[Deployment] => app/other[Deployment] : All Connections',
    `app/frontend[Deployment] => ${ALL} : All Connections`,
    'app/frontend[Deployment] => app/backend[Deployment] : TCP 9090',
    'app/frontend[Deployment] => app/other[Deployment] : All Connections',
    `app/other[Deployment] => ${ALL} : All Connections`,
    'app/other[Deployment] => app/frontend[Deployment] : All Connections',
  ]);
});

test('namespaceSelector and podSelector in one peer are ANDed; two peers are ORed', () => {
  // prod/db: {namespaceSelector env=prod AND podSelector app=worker} -> prod/worker only.
  // prod/api: {all of namespace dev} OR {app=worker in prod} -> dev/tool, dev/worker, prod/worker.
  const lines = connlist('namespace-selector');
  assert.deepEqual(
    lines.filter((l) => l.includes('=> prod/db') || l.includes('=> prod/api')),
    [
      'dev/tool[Deployment] => prod/api[Deployment] : All Connections',
      'dev/worker[Deployment] => prod/api[Deployment] : All Connections',
      'prod/worker[Deployment] => prod/api[Deployment] : All Connections',
      'prod/worker[Deployment] => prod/db[Deployment] : All Connections',
    ],
  );
  // Everything else is unrestricted: 5 workloads, each to the outside, to the 3 open
  // workloads other than itself, and from the outside into the 3 open ones.
  assert.equal(lines.length, 4 + 5 + (5 * 3 - 3) + 3);
  assert.ok(lines.includes('prod/db[Deployment] => dev/worker[Deployment] : All Connections'));
  assert.ok(!lines.includes('dev/worker[Deployment] => prod/db[Deployment] : All Connections'));
});

test('ipBlock with except: outside ranges are cut at every block boundary', () => {
  // web accepts TCP 80 from 10.0.0.0/8 except 10.1.0.0/16; egressor may only send to
  // 192.168.0.0/16 (its IPv6 peer is not modelled); client is open. Blocks cut the IPv4
  // space at 10.0.0.0, 10.1.0.0, 10.2.0.0, 11.0.0.0, 192.168.0.0 and 192.169.0.0. The pod
  // network 10.77.0.0/16 lies in 10.2.0.0-10.255.255.255 and cuts nothing.
  const ranges = [
    '0.0.0.0-9.255.255.255',
    '10.0.0.0-10.0.255.255',
    '10.1.0.0-10.1.255.255',
    '10.2.0.0-10.255.255.255',
    '11.0.0.0-192.167.255.255',
    '192.168.0.0-192.168.255.255',
    '192.169.0.0-255.255.255.255',
  ];
  const expected = [
    ...ranges.flatMap((r) => [
      `${r} => net/client[Deployment] : All Connections`,
      `${r} => net/egressor[Deployment] : All Connections`,
      ...(r === '10.0.0.0-10.0.255.255' || r === '10.2.0.0-10.255.255.255' ? [`${r} => net/web[Deployment] : TCP 80`] : []),
    ]),
    ...ranges.map((r) => `net/client[Deployment] => ${r} : All Connections`),
    'net/client[Deployment] => net/egressor[Deployment] : All Connections',
    'net/egressor[Deployment] => 192.168.0.0-192.168.255.255 : All Connections',
    ...ranges.map((r) => `net/web[Deployment] => ${r} : All Connections`),
    'net/web[Deployment] => net/client[Deployment] : All Connections',
    'net/web[Deployment] => net/egressor[Deployment] : All Connections',
  ].sort();
  assert.deepEqual(connlist('ipblock'), expected);

  // The block is for addresses outside the cluster: the pod network becomes an exception.
  const rs = netpolsToRuleset(loadK8sFixture('ipblock'));
  const webRule = rs.rules.find((r) => r.target === 'net/web-0')!;
  assert.deepEqual(webRule.peer, { kind: 'cidr', cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.77.0.0/16'] });
  assert.deepEqual([webRule.protocol, webRule.ports], ['tcp', [{ from: 80, to: 80 }]]);

  // If blocks may match pods, client's address (in 10.77.0.0/16) gets web's TCP 80 too.
  const withPods = connlist('ipblock', { ipBlockMatchesPods: true });
  assert.ok(withPods.includes('net/client[Deployment] => net/web[Deployment] : TCP 80'));
  assert.ok(!expected.includes('net/client[Deployment] => net/web[Deployment] : TCP 80'));
});

test('named ports resolve against the destination pod, per peer pod for egress', () => {
  // Ingress to server/server2 from client, port "http": 8080 on server, 80 on server2;
  // "dns" with protocol TCP resolves nowhere (server's dns is UDP).
  // client's egress: to every pod of np on "http" and UDP "dns"; nothing to the outside
  // (an address has no named ports). client -> server = {TCP 8080, UDP 53} & {TCP 8080}.
  assert.deepEqual(connlist('named-ports'), [
    `${ALL} => np/client[Deployment] : All Connections`,
    'np/client[Deployment] => np/server2[Deployment] : TCP 80',
    'np/client[Deployment] => np/server[Deployment] : TCP 8080',
    `np/server2[Deployment] => ${ALL} : All Connections`,
    'np/server2[Deployment] => np/client[Deployment] : All Connections',
    `np/server[Deployment] => ${ALL} : All Connections`,
    'np/server[Deployment] => np/client[Deployment] : All Connections',
  ]);
  const rs = netpolsToRuleset(loadK8sFixture('named-ports'));
  const egress = rs.rules.filter((r) => r.direction === 'egress').map((r) => [r.peer, r.protocol, r.ports]);
  assert.deepEqual(egress, [
    [{ kind: 'instances', instances: ['np/server-0'] }, 'tcp', [{ from: 8080, to: 8080 }]],
    [{ kind: 'instances', instances: ['np/server-0'] }, 'udp', [{ from: 53, to: 53 }]],
    [{ kind: 'instances', instances: ['np/server2-0'] }, 'tcp', [{ from: 80, to: 80 }]],
  ]);
});

test('port ranges with endPort merge with single ports; UDP is kept apart', () => {
  // TCP 32000-32768 and 32500-33000 overlap into 32000-33000; TCP 80; UDP 53.
  assert.deepEqual(
    connlist('port-range').filter((l) => l.startsWith('pr/caller[Deployment] => pr/svc')),
    ['pr/caller[Deployment] => pr/svc[Deployment] : TCP 80,32000-33000,UDP 53'],
  );
});

test('a connection needs both the egress and the ingress policy', () => {
  // b admits a on 80 and 443; a may send to b on 443 and 8443: only 443 is left.
  // a-egress has egress rules and no policyTypes, so it also isolates a for ingress.
  assert.deepEqual(connlist('ingress-egress'), ['ie/a[Pod] => ie/b[Pod] : TCP 443', `ie/b[Pod] => ${ALL} : All Connections`]);
});

test('UDP-only ingress with no from: every peer, inside and outside, on UDP 53', () => {
  assert.deepEqual(connlist('udp'), [
    `${ALL} => default/app[Deployment] : All Connections`,
    `${ALL} => kube-system/dns[DaemonSet] : UDP 53`,
    `default/app[Deployment] => ${ALL} : All Connections`,
    'default/app[Deployment] => kube-system/dns[DaemonSet] : UDP 53',
    `kube-system/dns[DaemonSet] => ${ALL} : All Connections`,
    'kube-system/dns[DaemonSet] => default/app[Deployment] : All Connections',
  ]);
});

test('matchExpressions: NotIn and DoesNotExist hold for missing keys; In; Exists', () => {
  // e admits pods with tier not "front" and no canary label: b (back) and d (no tier).
  // a (tier In [front]) admits pods with a canary label: c.
  const lines = connlist('match-expressions');
  assert.deepEqual(
    lines.filter((l) => l.includes('=> me/e') || l.includes('=> me/a')),
    ['me/b[Pod] => me/e[Pod] : All Connections', 'me/c[Pod] => me/a[Pod] : All Connections', 'me/d[Pod] => me/e[Pod] : All Connections'],
  );
});

test('JSON connlist carries src, dst and conn', () => {
  const imp = loadK8sFixture('ingress-egress');
  const conns = computeReachability(netpolsToRuleset(imp), imp.app, imp.addressing, { externalAs: 'ip-ranges' });
  assert.deepEqual(JSON.parse(formatConnlist(conns, 'json', { kinds: k8sWorkloadKinds(imp) })), [
    { src: 'ie/a[Pod]', dst: 'ie/b[Pod]', conn: 'TCP 443' },
    { src: 'ie/b[Pod]', dst: ALL, conn: 'All Connections' },
  ]);
});
