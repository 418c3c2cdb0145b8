/**
 * `flowtap serve APP --kubeconfig FILE` as a process against the stand-in API server (real
 * HTTP, real client-node): the inferred firewall goes on as NetworkPolicies, a Deployment and a
 * requirements change are re-inferred and applied, a deletion too, SIGTERM leaves the policies
 * in force, and `flowtap records` finds the workflows and lifecycle events. No root needed.
 */
import { type TestContext, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowtapArgv } from '../src/cli/testing.js';
import { type ApiServer, startApiServer } from '../src/kubernetes/index.js';

const REQS = 'requirements:\n  - from: external\n    to: web:http\n  - from: web\n    to: db:pg\n';
const WITH_CACHE = `${REQS}  - from: web\n    to: cache:redis\n`;

const NS = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'shop', labels: { 'flowtap.io/app': 'shop', 'flowtap.io/tenant': 'acme' } },
};
const requirements = (text: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'flowtap-requirements', namespace: 'shop' },
  data: { 'requirements.yaml': text },
});
const LB = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
};

function deployment(name: string, replicas: number, port: { name: string; containerPort: number }) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `${name}:1`, ports: [port] }] } },
    },
  };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function flowtap(stateDir: string, ...args: string[]): Promise<Ran> {
  const [cmd, ...rest] = flowtapArgv(...args);
  return new Promise((resolve) => {
    execFile(cmd, rest, { env: { ...process.env, FLOWTAP_STATE_DIR: stateDir }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** A long-running `flowtap` whose output lines a test waits on. */
class Serve {
  readonly out: string[] = [];
  readonly err: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(stateDir: string, args: string[]) {
    const [cmd, ...rest] = flowtapArgv(...args);
    this.child = spawn(cmd, rest, { env: { ...process.env, FLOWTAP_STATE_DIR: stateDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = (into: string[]) => {
      let partial = '';
      return (chunk: Buffer) => {
        const parts = (partial + chunk.toString()).split('\n');
        partial = parts.pop()!;
        into.push(...parts);
      };
    };
    this.child.stdout!.on('data', lines(this.out));
    this.child.stderr!.on('data', lines(this.err));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  signal(s: NodeJS.Signals): void {
    this.child.kill(s);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async line(what: string, re: RegExp, ms = 20_000): Promise<string> {
    await until(
      what,
      () => this.out.some((l) => re.test(l)),
      ms,
      () => `stdout:\n${this.out.join('\n')}\nstderr:\n${this.err.join('\n')}`,
    );
    return this.out.find((l) => re.test(l))!;
  }
}

async function until(what: string, ok: () => boolean, ms = 20_000, show: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${show()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function cluster(t: TestContext): Promise<{ srv: ApiServer; kubeconfig: string; stateDir: string }> {
  const srv = await startApiServer({
    objects: [
      NS,
      requirements(REQS),
      LB,
      deployment('web', 2, { name: 'http', containerPort: 8080 }),
      deployment('db', 1, { name: 'pg', containerPort: 5432 }),
    ],
    bookmarkEveryMs: 1000,
  });
  t.after(() => srv.close());
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-kserve-'));
  const kubeconfig = join(dir, 'kubeconfig');
  srv.writeKubeconfig(kubeconfig);
  return { srv, kubeconfig, stateDir: join(dir, 'state') };
}

type Obj = Record<string, unknown>;

/** `app=db`, `0.0.0.0/0 except 10.244.0.0/16`, `all pods` */
function peer(p: Obj): string {
  if (p.ipBlock) {
    const b = p.ipBlock as { cidr: string; except?: string[] };
    return `${b.cidr}${b.except?.length ? ` except ${b.except.join(',')}` : ''}`;
  }
  const sel = (p.podSelector ?? {}) as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string }[] };
  const parts = [
    ...Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(sel.matchExpressions ?? []).map((e) => (e.operator === 'DoesNotExist' ? `!${e.key}` : `${e.key} ${e.operator}`)),
  ];
  return parts.length ? parts.join(',') : 'all pods';
}

/** Each flowtap firewall policy of the namespace in one line: who it selects, what it lets in and out. */
function firewallOn(srv: ApiServer): string[] {
  return srv.store
    .list('networking.k8s.io/v1', 'NetworkPolicy', 'shop')
    .filter((p) => p.metadata.labels?.['flowtap.io/role'] === 'firewall')
    .map((p) => {
      const spec = p.spec as Obj;
      const rules = (dir: 'ingress' | 'egress', peers: 'from' | 'to') =>
        ((spec[dir] ?? []) as Obj[]).map(
          (r) =>
            `${dir === 'ingress' ? 'in from' : 'out to'} ${((r[peers] ?? []) as Obj[]).map(peer).join(' | ')} ${((r.ports ?? []) as Obj[]).map((x) => `${x.port}/${x.protocol}`).join(',')}`,
        );
      return [
        `${p.metadata.name} [${peer(spec)}] ${(spec.policyTypes as string[]).join('+')}`,
        ...rules('ingress', 'from'),
        ...rules('egress', 'to'),
      ].join('; ');
    })
    .sort();
}

const BASE = [
  'db-flowtap [app=db,!flowtap.io/quarantine] Ingress+Egress; in from app=web 5432/TCP',
  'default-deny [all pods] Ingress+Egress',
  'web-flowtap [app=web,!flowtap.io/quarantine] Ingress+Egress; in from 0.0.0.0/0 except 10.244.0.0/16 8080/TCP; out to app=db 5432/TCP',
];

test('serve --kubeconfig keeps the inferred firewall applied as the cluster changes, and leaves it on SIGTERM', async (t) => {
  const { srv, kubeconfig, stateDir } = await cluster(t);
  const serve = new Serve(stateDir, ['serve', 'shop', '--kubeconfig', kubeconfig]);
  t.after(() => {
    if (serve.running) serve.signal('SIGKILL');
  });

  const first = await serve.line('the first workflow', /^workflow deployed-\w+ \(start\)/);
  assert.match(first, /: \d+ rules; created default-deny, db-flowtap, web-flowtap; 0 unchanged; \d+ ms$/);
  assert.deepEqual(firewallOn(srv), BASE);

  // A third workload and the requirement that uses it, as one `kubectl apply -f` of both would.
  const t0 = performance.now();
  assert.ok(srv.store.create(deployment('cache', 3, { name: 'redis', containerPort: 6379 })).ok);
  const cm = srv.store.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'flowtap-requirements', namespace: 'shop' })!;
  assert.ok(srv.store.update({ ...cm, data: { 'requirements.yaml': WITH_CACHE } }).ok);
  await until('the cache policy', () => firewallOn(srv).some((l) => l.startsWith('cache-flowtap')));
  const inForce = performance.now() - t0;
  t.diagnostic(`Deployment and requirements created -> cache-flowtap on the server: ${inForce.toFixed(0)} ms`);
  // Its line is printed once every write of the workflow is done.
  const added = await serve.line('the workflow of the new Deployment', /^workflow changed-\w+ \(.*Deployment cache added/);
  assert.deepEqual(firewallOn(srv), [
    'cache-flowtap [app=cache,!flowtap.io/quarantine] Ingress+Egress; in from app=web 6379/TCP',
    ...BASE.slice(0, 2),
    'web-flowtap [app=web,!flowtap.io/quarantine] Ingress+Egress; in from 0.0.0.0/0 except 10.244.0.0/16 8080/TCP; out to app=db 5432/TCP; out to app=cache 6379/TCP',
  ]);
  const cachePods = srv.store
    .list('v1', 'Pod', 'shop')
    .map((p) => p.metadata.name)
    .filter((n) => n?.startsWith('cache-'));
  assert.equal(cachePods.length, 3);
  await until('3 deployed events', () => serve.out.filter((l) => /^deployed cache-\S+ \(cache\) on node-\d$/.test(l)).length === 3);
  // The rollout's pod events and both changes are one workflow.
  assert.match(added, /deployed cache-\S+, cache-\S+, cache-\S+; /);
  assert.match(added, /ConfigMap flowtap-requirements changed/);
  assert.match(added, /: \d+ rules; created cache-flowtap; replaced web-flowtap; 2 unchanged; \d+ ms$/);
  assert.equal(serve.out.filter((l) => l.startsWith('workflow ')).length, 2);

  // The Deployment alone goes: the requirements now name a service that is not there.
  assert.ok(srv.store.delete({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'cache', namespace: 'shop' }, 'Background').ok);
  // Named after their Deployment, though it went before them.
  await until('3 terminated events', () => serve.out.filter((l) => /^terminated cache-\S+ \(cache\) on node-\d$/.test(l)).length === 3);
  const refused = await serve.line('the refused workflow', /^workflow changed-\w+ \(Deployment cache removed.*failed after/);
  assert.match(refused, /E_K8S_REQUIREMENTS: the requirements of shop cannot be read/);
  assert.match(refused, /unknown service "cache"/);
  assert.ok(
    firewallOn(srv).some((l) => l.startsWith('cache-flowtap')),
    'what is in force stays while the requirements are broken',
  );
  const cm2 = srv.store.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'flowtap-requirements', namespace: 'shop' })!;
  assert.ok(srv.store.update({ ...cm2, data: { 'requirements.yaml': REQS } }).ok);
  await until('the cache policy gone', () => !firewallOn(srv).some((l) => l.startsWith('cache-flowtap')));
  assert.deepEqual(firewallOn(srv), BASE);
  const fixed = await serve.line('the workflow of the fix', /^workflow changed-\w+ \(ConfigMap flowtap-requirements changed\)/);
  assert.match(fixed, /: \d+ rules; replaced web-flowtap; deleted cache-flowtap; 2 unchanged; \d+ ms$/);

  serve.signal('SIGTERM');
  assert.equal(await serve.exited, 0);
  assert.match(serve.err.join('\n'), /stopped after 4 workflow\(s\), 1 failed; the NetworkPolicies stay in force/);
  assert.deepEqual(firewallOn(srv), BASE);

  // The records of it all, where `flowtap records` looks for an application that is not up locally.
  const r = await flowtap(stateDir, 'records', 'shop', '--json', '--limit', '1000');
  assert.equal(r.code, 0, r.stderr);
  const records = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; tenant: string; service?: string; instance?: string; data: Obj });
  const life = records.filter((x) => x.kind === 'lifecycle' && x.service === 'cache').map((x) => `${x.data.type} ${x.instance}`);
  for (const p of cachePods) {
    assert.ok(life.includes(`deployed ${p}`), `deployed ${p} recorded`);
    assert.ok(life.includes(`terminated ${p}`), `terminated ${p} recorded`);
  }
  const steps = records.filter((x) => x.kind === 'config').map((x) => `${x.data.kind} ${x.data.step}`);
  assert.deepEqual(steps, [
    'deployed rendered',
    'deployed applied',
    'changed rendered',
    'changed applied',
    'changed failed',
    'changed rendered',
    'changed applied',
  ]);
  assert.ok(records.every((x) => x.tenant === 'acme'));
  const text = await flowtap(stateDir, 'records', 'shop', '--kind', 'config');
  assert.match(text.stdout, /config +- +workflow changed-\w+ applied: created cache-flowtap; replaced web-flowtap; 2 unchanged in \d+ ms/);
  assert.match(text.stdout, /workflow changed-\w+ failed: error E_K8S_REQUIREMENTS/);
});

test('serve --kubeconfig --json prints events and workflows as JSON lines', async (t) => {
  const { kubeconfig, stateDir } = await cluster(t);
  const serve = new Serve(stateDir, [
    'serve',
    'shop',
    '--kubeconfig',
    kubeconfig,
    '--json',
    '--store',
    `sqlite:${join(stateDir, '..', 'other.db')}`,
  ]);
  t.after(() => {
    if (serve.running) serve.signal('SIGKILL');
  });
  const line = await serve.line('the first workflow', /^\{"workflow":/);
  const w = (JSON.parse(line) as { workflow: Obj }).workflow;
  assert.equal(w.kind, 'deployed');
  assert.equal(w.ok, true);
  assert.deepEqual(w.policies, { created: ['default-deny', 'db-flowtap', 'web-flowtap'], replaced: [], unchanged: [], deleted: [] });
  assert.match(serve.err.join('\n'), /records to sqlite:.*other\.db/);
  serve.signal('SIGINT');
  assert.equal(await serve.exited, 0);
});

test('bad input: an unreadable kubeconfig, an unreachable server, an application no namespace carries, a wrong option', async (t) => {
  const { kubeconfig, stateDir } = await cluster(t);
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-kserve-bad-'));

  const missing = await flowtap(stateDir, 'serve', 'shop', '--kubeconfig', join(dir, 'nope'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope: error E_K8S_KUBECONFIG: cannot read kubeconfig: no such file/);

  const garbage = join(dir, 'garbage');
  writeFileSync(garbage, 'clusters: [');
  const bad = await flowtap(stateDir, 'serve', 'shop', '--kubeconfig', garbage);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /garbage: error E_K8S_KUBECONFIG: cannot read kubeconfig/);

  // A port nothing listens on: the server that was there has gone.
  const gone = await startApiServer({});
  const closed = join(dir, 'closed');
  gone.writeKubeconfig(closed);
  await gone.close();
  const unreachable = await flowtap(stateDir, 'serve', 'shop', '--kubeconfig', closed, '--connect-timeout', '1');
  assert.equal(unreachable.code, 2);
  assert.match(unreachable.stderr, /error E_K8S_API: kubernetes: the API server did not answer every list within 1 s/);

  const noApp = await flowtap(stateDir, 'serve', 'nothere', '--kubeconfig', kubeconfig);
  assert.equal(noApp.code, 2);
  assert.match(noApp.stderr, /error E_K8S_APP: no namespace is labelled flowtap\.io\/app=nothere/);

  const rules = await flowtap(stateDir, 'serve', 'shop', '--kubeconfig', kubeconfig, '--rules', 'x.dl');
  assert.equal(rules.code, 2);
  assert.match(rules.stderr, /--rules is not available with --kubeconfig/);
  const store = await flowtap(stateDir, 'serve', 'shop', '--rules', 'x.dl', '--store', 'sqlite:/tmp/x.db');
  assert.equal(store.code, 2);
  assert.match(store.stderr, /--store is for an application on a cluster \(with --kubeconfig FILE\)/);
});
