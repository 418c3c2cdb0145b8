/**
 * `flowtap connlist` on what clusters produce: API list output, ownerReferences, files that
 * are not manifests, objects the API server would refuse, static pods, SCTP, admin network
 * policies and Ingresses. Every expected list is worked out by hand from the manifests under
 * test/fixtures/k8s (the comments say how), not taken from the program's output. The
 * fixtures of test/k8s-netpol.test.ts must give the same lists as the ruleset analysis did.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { k8sFixture, loadK8sFixture } from './testing.js';
import { main } from '../src/cli/index.js';
import { computeReachability, formatConnlist, k8sConnectivity, netpolsToRuleset, renderConnlist } from '../src/firewall/index.js';
import { generateCluster } from '../src/firewall/k8s/testing.js';
import { k8sWorkloadKinds, parseK8sManifests, type K8sImport } from '../src/model/index.js';

function lines(imp: K8sImport): string[] {
  const text = renderConnlist(k8sConnectivity(imp).entries(), 'txt');
  return text === '' ? [] : text.split('\n');
}

/** The ruleset analysis's list without a workload's lines to itself (it listed replicas reaching each other). */
function rulesetLines(imp: K8sImport): string[] {
  const conns = computeReachability(netpolsToRuleset(imp), imp.app, imp.addressing, { externalAs: 'ip-ranges' });
  const text = formatConnlist(conns, 'txt', { kinds: k8sWorkloadKinds(imp) });
  return (text === '' ? [] : text.split('\n')).filter((l) => {
    const [src, rest] = l.split(' => ');
    return src !== rest.split(' : ')[0];
  });
}

const brief = (d: { code: string; loc?: { file?: string; line?: number; field?: string } }) =>
  `${d.loc?.file?.split('/').pop()}:${d.loc?.line} ${d.code} ${d.loc?.field ?? ''}`.trim();

const ALL = '0.0.0.0-255.255.255.255';

test('API list output: typed lists without item kinds, ownerReferences to the top controller, a mirror pod, stray files', () => {
  const imp = loadK8sFixture('api-list');
  // web: two pods of ReplicaSet web-7d4b9c8f5d, which is not in the dump; its pods' pod-template-hash
  // names its Deployment. api: a pod of ReplicaSet api-6f5d8 (in the dump), owned by Deployment api.
  // db: two StatefulSet pods, whose per-pod labels do not split them. etcd-node1: owned by a Node.
  assert.deepEqual(
    imp.workloads.map((w) => `${w.id}[${w.kind}] x${w.replicas}`),
    ['kube-system/etcd-node1[Pod] x1', 'shop/api[Deployment] x1', 'shop/db[StatefulSet] x2', 'shop/web[Deployment] x2'],
  );
  // README.md is no manifest by its name; notes.yaml and package.json are read and skipped.
  assert.deepEqual(imp.notes.map(brief), ['notes.yaml:2 W_K8S_NOT_OBJECT', 'package.json:1 W_K8S_NOT_OBJECT']);
  assert.deepEqual(
    imp.namespaces.map((n) => [n.name, n.labels.team]),
    [
      ['kube-system', undefined],
      ['shop', 'retail'],
    ],
  );
  // Only db is isolated (ingress, from web on TCP 5432); everything else is open. No workload
  // is listed with itself although web and db have two pods each.
  assert.deepEqual(lines(imp), [
    `${ALL} => kube-system/etcd-node1[Pod] : All Connections`,
    `${ALL} => shop/api[Deployment] : All Connections`,
    `${ALL} => shop/web[Deployment] : All Connections`,
    `kube-system/etcd-node1[Pod] => ${ALL} : All Connections`,
    'kube-system/etcd-node1[Pod] => shop/api[Deployment] : All Connections',
    'kube-system/etcd-node1[Pod] => shop/web[Deployment] : All Connections',
    `shop/api[Deployment] => ${ALL} : All Connections`,
    'shop/api[Deployment] => kube-system/etcd-node1[Pod] : All Connections',
    'shop/api[Deployment] => shop/web[Deployment] : All Connections',
    `shop/db[StatefulSet] => ${ALL} : All Connections`,
    'shop/db[StatefulSet] => kube-system/etcd-node1[Pod] : All Connections',
    'shop/db[StatefulSet] => shop/api[Deployment] : All Connections',
    'shop/db[StatefulSet] => shop/web[Deployment] : All Connections',
    `shop/web[Deployment] => ${ALL} : All Connections`,
    'shop/web[Deployment] => kube-system/etcd-node1[Pod] : All Connections',
    'shop/web[Deployment] => shop/api[Deployment] : All Connections',
    'shop/web[Deployment] => shop/db[StatefulSet] : TCP 5432',
  ]);
});

test('objects the API server would refuse are warned about by file and field, and analysed as written', () => {
  const imp = loadK8sFixture('refused');
  assert.deepEqual(imp.notes.map(brief), [
    'manifests.yaml:5 W_K8S_NAME metadata.name',
    'manifests.yaml:24 W_K8S_NAME spec.template.metadata.labels.tier',
    'manifests.yaml:35 W_K8S_UNKNOWN_FIELD spec.podSelecter',
  ]);
  assert.match(imp.notes[2].message, /did you mean "podSelector"/);
  // Without its podSelector the policy selects both pods of `app`: each accepts only app=web
  // on TCP 5432. web_frontend -> itself is not listed.
  assert.deepEqual(lines(imp), [
    `app/db[Deployment] => ${ALL} : All Connections`,
    `app/web_frontend[Deployment] => ${ALL} : All Connections`,
    'app/web_frontend[Deployment] => app/db[Deployment] : TCP 5432',
  ]);
  // Spelled right, it isolates db only: web_frontend is open to db and to the outside.
  const text = readFileSync(join(k8sFixture('refused'), 'manifests.yaml'), 'utf8').replace('podSelecter', 'podSelector');
  const fixed = parseK8sManifests([{ file: 'fixed.yaml', text }]);
  assert.ok(fixed.ok);
  assert.deepEqual(lines(fixed.value), [
    `${ALL} => app/web_frontend[Deployment] : All Connections`,
    `app/db[Deployment] => ${ALL} : All Connections`,
    'app/db[Deployment] => app/web_frontend[Deployment] : All Connections',
    `app/web_frontend[Deployment] => ${ALL} : All Connections`,
    'app/web_frontend[Deployment] => app/db[Deployment] : TCP 5432',
  ]);
});

test('a workload is never listed with itself; two workloads with the same labels are', () => {
  // worker (3 replicas) and worker-canary share app=worker: one class, which admits itself.
  const imp = loadK8sFixture('self');
  assert.deepEqual(lines(imp), [
    `ns/worker-canary[Deployment] => ${ALL} : All Connections`,
    'ns/worker-canary[Deployment] => ns/worker[Deployment] : All Connections',
    `ns/worker[Deployment] => ${ALL} : All Connections`,
    'ns/worker[Deployment] => ns/worker-canary[Deployment] : All Connections',
  ]);
});

test('SCTP ports, named SCTP ports and SCTP ranges; a named port resolves only with its protocol', () => {
  // mme admits enb on SCTP s1ap (36412) and 38412-38414, and hss on http (TCP 8080) and SCTP
  // diameter (3868). hss admits mme on SCTP "diameter", but its own diameter port is TCP: nothing.
  // enb may send SCTP (any port) to pods of tel only.
  assert.deepEqual(lines(loadK8sFixture('sctp')), [
    `${ALL} => tel/enb[Deployment] : All Connections`,
    'tel/enb[Deployment] => tel/mme[Deployment] : SCTP 36412,38412-38414',
    `tel/hss[Deployment] => ${ALL} : All Connections`,
    'tel/hss[Deployment] => tel/enb[Deployment] : All Connections',
    'tel/hss[Deployment] => tel/mme[Deployment] : SCTP 3868,TCP 8080',
    `tel/mme[Deployment] => ${ALL} : All Connections`,
    'tel/mme[Deployment] => tel/enb[Deployment] : All Connections',
  ]);
});

const R1 = '0.0.0.0-192.0.1.255';
const R2 = '192.0.2.0-192.0.2.255';
const R3 = '192.0.3.0-255.255.255.255';

test('admin network policies: priority, rule order, Allow over NetworkPolicies, Deny, Pass to NetworkPolicies and to the baseline', () => {
  const imp = loadK8sFixture('admin');
  assert.deepEqual(
    (imp.adminPolicies ?? []).map((p) => `${p.priority} ${p.name}`),
    ['5 allow-scraper-http', '10 guard-prod', '20 allow-dev-api'],
  );
  assert.equal(imp.baselinePolicy?.name, 'default');
  const got = lines(imp);
  // Into prod (subject of the ANPs at 5 and 10; api also of the one at 20):
  // - dev/tool: guard-prod's first rule allows TCP 9090, its third denies the rest; allow-dev-api
  //   (TCP 8080, priority 20) is never reached. Into db the Allow overrides db's NetworkPolicy.
  // - mon/scraper -> api: TCP 8080 (namedPort http, priority 5); guard-prod passes the rest; api has
  //   no NetworkPolicy, so the baseline allows TCP 9100-9101 and denies the rest.
  // - mon/scraper -> db: db has no port named http; the rest is passed to db's NetworkPolicy,
  //   which admits only api: nothing.
  // - api -> db: no admin rule matches, the NetworkPolicy allows TCP 5432.
  // Into dev/tool (no ANP): the baseline allows scraper TCP 9100-9101, denies the rest of mon.
  // Egress: guard-prod denies prod's pods 192.0.2.0/24, which cuts the outside in three.
  assert.deepEqual(got, [
    `${R1} => dev/tool[Deployment] : All Connections`,
    `${R1} => mon/scraper[Deployment] : All Connections`,
    `${R1} => prod/api[Deployment] : All Connections`,
    `${R2} => dev/tool[Deployment] : All Connections`,
    `${R2} => mon/scraper[Deployment] : All Connections`,
    `${R2} => prod/api[Deployment] : All Connections`,
    `${R3} => dev/tool[Deployment] : All Connections`,
    `${R3} => mon/scraper[Deployment] : All Connections`,
    `${R3} => prod/api[Deployment] : All Connections`,
    `dev/tool[Deployment] => ${R1} : All Connections`,
    `dev/tool[Deployment] => ${R2} : All Connections`,
    `dev/tool[Deployment] => ${R3} : All Connections`,
    'dev/tool[Deployment] => mon/scraper[Deployment] : All Connections',
    'dev/tool[Deployment] => prod/api[Deployment] : TCP 9090',
    'dev/tool[Deployment] => prod/db[Deployment] : TCP 9090',
    `mon/scraper[Deployment] => ${R1} : All Connections`,
    `mon/scraper[Deployment] => ${R2} : All Connections`,
    `mon/scraper[Deployment] => ${R3} : All Connections`,
    'mon/scraper[Deployment] => dev/tool[Deployment] : TCP 9100-9101',
    'mon/scraper[Deployment] => prod/api[Deployment] : TCP 8080,9100-9101',
    `prod/api[Deployment] => ${R1} : All Connections`,
    `prod/api[Deployment] => ${R3} : All Connections`,
    'prod/api[Deployment] => dev/tool[Deployment] : All Connections',
    'prod/api[Deployment] => mon/scraper[Deployment] : All Connections',
    'prod/api[Deployment] => prod/db[Deployment] : TCP 5432',
    `prod/db[Deployment] => ${R1} : All Connections`,
    `prod/db[Deployment] => ${R3} : All Connections`,
    'prod/db[Deployment] => dev/tool[Deployment] : All Connections',
    'prod/db[Deployment] => mon/scraper[Deployment] : All Connections',
    'prod/db[Deployment] => prod/api[Deployment] : All Connections',
  ]);
});

test('admin policy priority decides: moved first, the dev Allow on TCP 8080 takes effect; equal priorities go by name, with a warning', () => {
  const dir = k8sFixture('admin');
  const files = ['workloads.yaml', 'admin-policies.yaml'].map((f) => ({ file: f, text: readFileSync(join(dir, f), 'utf8') }));
  const withPriority = (p: string) =>
    files.map((f) => (f.file === 'admin-policies.yaml' ? { ...f, text: f.text.replace('priority: 20', `priority: ${p}`) } : f));
  const toApi = (r: ReturnType<typeof parseK8sManifests>) => {
    assert.ok(r.ok);
    return lines(r.value).filter((l) => l.startsWith('dev/tool[Deployment] => prod/'));
  };
  // allow-dev-api at 1 comes before guard-prod's Deny: dev reaches api on 8080 too, db is unchanged.
  assert.deepEqual(toApi(parseK8sManifests(withPriority('1'))), [
    'dev/tool[Deployment] => prod/api[Deployment] : TCP 8080,9090',
    'dev/tool[Deployment] => prod/db[Deployment] : TCP 9090',
  ]);
  // At 10, tied with guard-prod: allow-dev-api sorts first by name.
  const tied = parseK8sManifests(withPriority('10'));
  assert.deepEqual(toApi(tied), [
    'dev/tool[Deployment] => prod/api[Deployment] : TCP 8080,9090',
    'dev/tool[Deployment] => prod/db[Deployment] : TCP 9090',
  ]);
  assert.ok(tied.ok && tied.value.notes.some((n) => n.code === 'W_K8S_ANP_PRIORITY' && /allow-dev-api and guard-prod/.test(n.message)));
});

test('malformed admin policies are positioned errors', () => {
  const text = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: bad}
spec:
  priority: 1001
  subject: {namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}
  ingress:
    - action: Reject
      from: [{namespaces: {}}]
    - action: Allow
      from: []
    - action: Allow
      from: [{namespaces: {}}]
      ports: [{portNumber: {port: 80}, namedPort: http}]
`;
  const r = parseK8sManifests([{ file: 'anp.yaml', text }]);
  assert.equal(r.ok, false);
  if (!r.ok)
    assert.deepEqual(r.errors.map(brief), [
      'anp.yaml:5 E_K8S_ADMIN_POLICY spec.priority',
      'anp.yaml:6 E_K8S_ADMIN_POLICY spec.subject',
      'anp.yaml:8 E_ENUM spec.ingress[0].action',
      'anp.yaml:11 E_K8S_ADMIN_POLICY spec.ingress[1].from',
      'anp.yaml:14 E_K8S_ADMIN_POLICY spec.ingress[2].ports[0]',
    ]);
});

test('Ingress: {ingress-controller} reaches the backends on their target ports, where the policies admit an arbitrary pod', () => {
  const imp = loadK8sFixture('ingress');
  const connectivity = k8sConnectivity(imp);
  // frontend: Service port "web" -> targetPort http -> 8080; its policy admits every namespace.
  // admin: Service port 443 -> 8443; no policy. api: port 9000, but its policy admits only
  // outside addresses (an ipBlock), which the ingress controller, a pod, is not. legacy: no Service.
  assert.deepEqual(lines(imp), [
    `${ALL} => web/admin[Deployment] : All Connections`,
    `${ALL} => web/api[Deployment] : TCP 9000`,
    `web/admin[Deployment] => ${ALL} : All Connections`,
    'web/admin[Deployment] => web/frontend[Deployment] : TCP 8080',
    `web/api[Deployment] => ${ALL} : All Connections`,
    'web/api[Deployment] => web/admin[Deployment] : All Connections',
    'web/api[Deployment] => web/frontend[Deployment] : TCP 8080',
    `web/frontend[Deployment] => ${ALL} : All Connections`,
    'web/frontend[Deployment] => web/admin[Deployment] : All Connections',
    '{ingress-controller} => web/admin[Deployment] : TCP 8443',
    '{ingress-controller} => web/frontend[Deployment] : TCP 8080',
  ]);
  assert.deepEqual(connectivity.notes.map(brief), [
    'manifests.yaml:77 W_K8S_INGRESS_BACKEND spec.rules[1].http.paths[1].backend',
    'manifests.yaml:66 W_K8S_INGRESS_BLOCKED spec.rules[0].http.paths[0].backend',
  ]);
  assert.match(connectivity.notes[1].message, /web\/api\[Deployment\]/);
  assert.equal(connectivity.size, 11);
});

test('the fixtures of the NetworkPolicy tests list what the ruleset analysis listed', () => {
  for (const name of [
    'allow-all',
    'default-deny',
    'ingress-egress',
    'ipblock',
    'match-expressions',
    'named-ports',
    'namespace-selector',
    'pod-selector',
    'port-range',
    'udp',
  ]) {
    const imp = loadK8sFixture(name);
    assert.deepEqual(lines(imp), rulesetLines(imp), name);
  }
});

test('a generated cluster (API lists, 300 pods, 120 policies) lists what the ruleset analysis lists', () => {
  // Without SCTP workloads and the ingress controller the two analyses model the same things.
  const g = generateCluster({ pods: 300, policies: 120 }, { sctp: false, seed: 3 });
  const r = parseK8sManifests(g.files.filter((f) => f.name.endsWith('.json')).map((f) => ({ file: f.name, text: f.text })));
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors.slice(0, 3)));
  const got = lines(r.value).filter((l) => !l.startsWith('{ingress-controller}'));
  const expected = rulesetLines(r.value);
  assert.ok(expected.length > 1000, `only ${expected.length} lines: the cluster is too closed to compare much`);
  assert.deepEqual(got, expected);
});

test('flowtap connlist prints warnings with file and field, and the list; --json gives the same entries', async () => {
  let out = '';
  let err = '';
  const io = { out: (s: string) => (out += `${s}\n`), err: (s: string) => (err += `${s}\n`) };
  assert.equal(await main(['connlist', k8sFixture('refused')], io, {}), 0);
  assert.match(err, /refused\/manifests\.yaml:35:3 \(spec\.podSelecter\): warning W_K8S_UNKNOWN_FIELD/);
  assert.equal(
    out,
    `app/db[Deployment] => ${ALL} : All Connections\napp/web_frontend[Deployment] => ${ALL} : All Connections\napp/web_frontend[Deployment] => app/db[Deployment] : TCP 5432\n`,
  );
  out = '';
  assert.equal(await main(['connlist', k8sFixture('sctp'), '--json'], io, {}), 0);
  const entries = JSON.parse(out) as Array<{ src: string; dst: string; conn: string }>;
  assert.equal(entries.length, 7);
  assert.deepEqual(entries[1], { src: 'tel/enb[Deployment]', dst: 'tel/mme[Deployment]', conn: 'SCTP 36412,38412-38414' });
});
