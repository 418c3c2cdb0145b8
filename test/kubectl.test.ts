/**
 * The real kubectl against the stand-in API server: discovery, get (tables and -o json), apply
 * (create, then strategic merge patches), rollout restart, delete with cascade, and errors as
 * kubectl prints them. This is what makes the stand-in a fair substitute for a cluster in
 * flowtap's other tests. Needs `kubectl` (Debian's kubernetes-client, or FLOWTAP_KUBECTL naming
 * one): skipped without it, failed where FLOWTAP_REQUIRE_ROOT=1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ApiServer, startApiServer } from '../src/kubernetes/api-server/index.js';
import { type Loose, loose } from '../src/kubernetes/api-server/testing.js';
import { needs } from '../src/system/testing.js';

/** Debian's kubectl as scripts/setup.sh leaves it in .tools/ (unpacked where another kubectl owns /usr/bin). */
const SETUP_KUBECTL = fileURLToPath(new URL('../../.tools/kubectl', import.meta.url));
const KUBECTL = process.env.FLOWTAP_KUBECTL || (existsSync(SETUP_KUBECTL) ? SETUP_KUBECTL : 'kubectl');

function kubectlMissing(): string | null {
  try {
    execFileSync(KUBECTL, ['version', '--client'], { stdio: 'ignore', timeout: 30_000 });
    return null;
  } catch {
    return `needs ${KUBECTL} (apt-get install kubernetes-client, or run scripts/setup.sh as root)`;
  }
}

const skip = needs(kubectlMissing());

const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - {name: http, containerPort: 80}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {port: 80, targetPort: http}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-allow
spec:
  podSelector:
    matchLabels: {app: web}
  ingress:
  - from:
    - podSelector: {}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 2
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - {name: pg, image: "postgres:16"}
`;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

describe('kubectl against the stand-in API server', { skip }, () => {
  let server: ApiServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  const kubectl = (...args: string[]): Promise<Ran> =>
    new Promise((resolve) => {
      execFile(KUBECTL, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  const ok = async (...args: string[]): Promise<string> => {
    const r = await kubectl(...args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const podsOf = (app: string) => server.store.list('v1', 'Pod', 'default').filter((p) => p.metadata.labels?.app === app);

  before(async () => {
    server = await startApiServer();
    dir = mkdtempSync(join(tmpdir(), 'flowtap-kubectl-'));
    // A home of its own, so kubectl's discovery cache holds only this server.
    mkdirSync(join(dir, 'home'));
    server.writeKubeconfig(join(dir, 'kubeconfig'));
    writeFileSync(join(dir, 'app.yaml'), MANIFEST);
    env = { ...process.env, KUBECONFIG: join(dir, 'kubeconfig'), HOME: join(dir, 'home') };
  });
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('get on an empty namespace, and a missing object as kubectl reports it', async () => {
    const empty = await kubectl('get', 'pods');
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stderr, /No resources found in default namespace/);
    const missing = await kubectl('get', 'pod', 'nope');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Error from server \(NotFound\): pods "nope" not found/);
  });

  test('apply creates every object; the workloads get running pods', async () => {
    const out = await ok('apply', '-f', join(dir, 'app.yaml'));
    assert.match(out, /deployment.apps\/web created/);
    assert.match(out, /service\/web created/);
    assert.match(out, /networkpolicy.networking.k8s.io\/web-allow created/);
    assert.match(out, /statefulset.apps\/db created/);
    assert.equal(podsOf('web').length, 2);
    const table = await ok('get', 'pods', '-o', 'wide');
    const [header, ...rows] = table.trim().split('\n');
    assert.match(header, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
    assert.equal(rows.length, 4);
    for (const row of rows) assert.match(row, /\s1\/1\s+Running\s+0\s+\S+\s+10\.244\.\d+\.\d+\s+node-[12]\s/);
    assert.ok(rows.some((r) => r.startsWith('db-0 ')) && rows.some((r) => r.startsWith('db-1 ')));
  });

  test('get -o json: a List of whole pods', async () => {
    const list = JSON.parse(await ok('get', 'pods', '-o', 'json'));
    assert.equal(list.kind, 'List');
    const web = list.items.filter((p: Loose) => p.metadata.labels.app === 'web');
    assert.equal(web.length, 2);
    for (const p of web) {
      assert.equal(p.kind, 'Pod');
      assert.equal(p.status.phase, 'Running');
      assert.match(p.status.podIP, /^10\.244\./);
      assert.equal(p.metadata.ownerReferences[0].kind, 'ReplicaSet');
    }
  });

  test('get networkpolicies, services and endpoints', async () => {
    const np = await ok('get', 'networkpolicies');
    assert.match(np, /^NAME\s+POD-SELECTOR\s+AGE\n/);
    assert.match(np, /\nweb-allow\s+app=web\s/);
    const svc = await ok('get', 'services', 'web');
    assert.match(svc, /\nweb\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80\/TCP\s/);
    const ep = await ok('get', 'endpoints', 'web');
    assert.match(ep, /\nweb\s+10\.244\.\d+\.\d+:80,10\.244\.\d+\.\d+:80\s/);
  });

  test('apply again: unchanged; with a change: a strategic merge patch, configured', async () => {
    const same = await ok('apply', '-f', join(dir, 'app.yaml'));
    assert.match(same, /deployment.apps\/web unchanged/);
    writeFileSync(join(dir, 'app.yaml'), MANIFEST.replace('replicas: 2', 'replicas: 3').replace('nginx:1.25', 'nginx:1.26'));
    const changed = await ok('apply', '-f', join(dir, 'app.yaml'));
    assert.match(changed, /deployment.apps\/web configured/);
    assert.ok(
      server.requests.some(
        (r) =>
          r.method === 'PATCH' &&
          r.url.startsWith('/apis/apps/v1/namespaces/default/deployments/web') &&
          r.contentType === 'application/strategic-merge-patch+json',
      ),
    );
    const web = podsOf('web');
    assert.equal(web.length, 3);
    assert.ok(web.every((p) => loose(p.spec).containers[0].image === 'nginx:1.26'));
  });

  test('rollout restart replaces every pod of the Deployment', async () => {
    const before = new Set(podsOf('web').map((p) => p.metadata.name));
    const out = await ok('rollout', 'restart', 'deployment', 'web');
    assert.match(out, /deployment.apps\/web restarted/);
    const after = podsOf('web');
    assert.equal(after.length, 3);
    assert.ok(after.every((p) => !before.has(p.metadata.name)));
    const rs = await ok('get', 'replicasets');
    assert.equal(rs.trim().split('\n').length, 1 + 3, 'two old ReplicaSets at zero and the new one');
  });

  test('scale goes through the scale subresource', async () => {
    assert.match(await ok('scale', 'deployment', 'web', '--replicas=1'), /deployment.apps\/web scaled/);
    assert.equal(podsOf('web').length, 1);
  });

  test('delete deployment takes its ReplicaSets and pods with it', async () => {
    const out = await ok('delete', 'deployment', 'web');
    assert.match(out, /deployment.apps "web" deleted/);
    assert.equal(podsOf('web').length, 0);
    assert.equal(server.store.list('apps/v1', 'ReplicaSet', 'default').length, 0);
    assert.equal(podsOf('db').length, 2, 'the StatefulSet is untouched');
    const gone = await kubectl('get', 'deployment', 'web');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /NotFound/);
  });
});
