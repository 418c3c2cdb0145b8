/**
 * The CiliumNetworkPolicy export, read back and evaluated, allows exactly what the example
 * applications require, down to HTTP method and path; its regexes agree with the monitors'
 * path patterns and stay linear; the AdminNetworkPolicies isolate the examples' tenants.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { main } from '../src/cli/index.js';
import {
  cnpAllowances,
  cnpAllows,
  cnpDecide,
  compileRegex,
  normalizeRequestPath,
  parseCiliumPolicies,
  pathPatternRegex,
  type ReadCnp,
  regexShapeProblems,
  renderCiliumPolicies,
  renderK8sNetworkPolicies,
  tenantIsolationPolicies,
} from '../src/dataplane/index.js';
import { inferFirewall } from '../src/firewall/index.js';
import { type App, EXTERNAL, loadApp, type Requirement } from '../src/model/index.js';
import { pathMatches, requestPath } from '../src/monitor/index.js';
import { seededRng } from '../src/random/index.js';

const EXAMPLES = ['dvd-rental', 'web-sql'];

function example(name: string): App {
  const loaded = loadApp(`examples/${name}/app.yaml`);
  assert.ok(loaded.ok);
  return loaded.value;
}

function exported(app: App): ReadCnp[] {
  const yaml = renderCiliumPolicies(app);
  assert.ok(yaml.ok);
  const read = parseCiliumPolicies(yaml.value, `${app.name}.yaml`);
  assert.ok(read.ok, JSON.stringify(!read.ok && read.errors));
  return read.value;
}

const portOf = (app: App, r: Requirement) => app.services.find((s) => s.name === r.to)!.ports.find((p) => p.name === r.port)!.port;
const ANY_METHODS = ['GET', 'POST', 'DELETE'];

/** Requests a pattern allows: wildcards filled with ordinary segments, with and without a query. */
function samplePaths(pattern: string): string[] {
  if (pattern === '*') return ['/', '/any/thing', '/x?y=1'];
  const fill = (rest: string) => pattern.replace(/\*\*$/, rest).replace(/\*/g, '42');
  const base = pattern.endsWith('/**') ? [fill('').replace(/\/$/, ''), fill(''), fill('a'), fill('a/b.c/d')] : [fill('')];
  return base.flatMap((p) => [p, `${p}?q=1&next=/admin`]);
}

/** Requests outside a pattern: extra or replaced segments, dot segments (plain and encoded). */
function outsidePaths(pattern: string): string[] {
  if (pattern === '*') return [];
  const filled = pattern.replace(/\*\*$/, 'x').replace(/\*/g, '42');
  const out = [`${filled}/../admin`, `${filled}/../../admin`, `/admin${filled}`];
  if (!pattern.endsWith('**')) out.push(`${pattern.replace(/\*/g, 'x')}/extra`);
  if (pattern.includes('*')) {
    out.push(pattern.replace(/\*\*$/, 'x/../../admin').replace(/\*/g, '..'));
    out.push(pattern.replace(/\*\*$/, 'x/%2e%2e/%2e%2e/admin').replace(/\*/g, '%2e%2e'));
    out.push(pattern.replace(/\*\*$/, 'x').replace(/\*/g, 'a/b'));
  }
  return out;
}

for (const name of EXAMPLES) {
  test(`${name}: every request the requirements allow passes the exported CiliumNetworkPolicies`, () => {
    const app = example(name);
    const policies = exported(app);
    let checked = 0;
    for (const r of app.requirements) {
      const methods = r.http?.methods.length ? r.http.methods : ANY_METHODS;
      const paths = r.http?.paths.length ? r.http.paths.flatMap(samplePaths) : samplePaths('*');
      for (const method of methods)
        for (const path of paths)
          for (const normalize of [false, true]) {
            const req = { from: r.from, to: r.to, port: portOf(app, r), method, path };
            assert.ok(cnpAllows(policies, req, { normalize }), `${JSON.stringify(req)}: ${cnpDecide(policies, req, { normalize }).reason}`);
            checked++;
          }
      // Without L7 constraints the port is L4 only: traffic that is not HTTP passes too.
      if (!r.http) assert.ok(cnpAllows(policies, { from: r.from, to: r.to, port: portOf(app, r) }), `L4 ${r.from} -> ${r.to}`);
    }
    assert.ok(checked >= 2 * app.requirements.length);
  });

  test(`${name}: requests the requirements do not allow are denied`, () => {
    const app = example(name);
    const policies = exported(app);
    const clients = [EXTERNAL, ...app.services.map((s) => s.name)];
    let denied = 0;
    /** Denied with and without path normalisation, unless normalising turns it into a request the requirement allows. */
    const deny = (req: Parameters<typeof cnpAllows>[1], why: string, allowedAfter?: (path: string) => boolean) => {
      for (const normalize of [false, true]) {
        if (normalize && req.path !== undefined && allowedAfter?.(normalizeRequestPath(req.path))) continue;
        assert.equal(cnpAllows(policies, req, { normalize }), false, `${why}: ${JSON.stringify(req)} (normalize ${normalize})`);
        denied++;
      }
    };
    for (const r of app.requirements) {
      const port = portOf(app, r);
      const same = app.requirements.filter((o) => o.to === r.to && o.port === r.port && o.from === r.from);
      const allowedBySame = (method: string, path: string) =>
        same.some(
          (o) =>
            !o.http ||
            ((o.http.methods.length === 0 || o.http.methods.includes(method)) &&
              (o.http.paths.length === 0 || o.http.paths.some((p) => pathMatches(p, requestPath(path))))),
        );
      const good = { method: r.http?.methods[0] ?? 'GET', path: samplePaths(r.http?.paths[0] ?? '*')[0] };
      if (r.http?.methods.length) {
        const wrong = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'].find((m) => !r.http!.methods.includes(m))!;
        if (!allowedBySame(wrong, good.path)) deny({ from: r.from, to: r.to, port, method: wrong, path: good.path }, 'wrong method');
      }
      for (const pattern of r.http?.paths ?? [])
        for (const path of outsidePaths(pattern))
          if (!allowedBySame(good.method, path))
            deny({ from: r.from, to: r.to, port, method: good.method, path }, `outside ${pattern}`, (p) => allowedBySame(good.method, p));
      if (r.http) deny({ from: r.from, to: r.to, port }, 'not HTTP on an HTTP port');
      for (const other of clients) {
        if (other === r.to || app.requirements.some((o) => o.from === other && o.to === r.to && o.port === r.port)) continue;
        deny({ from: other, to: r.to, port, ...good }, 'another client');
      }
      deny({ from: r.from, to: r.to, port: port + 1, ...good }, 'another port');
    }
    assert.ok(denied > app.requirements.length * 3, `${denied} denials checked`);
  });

  test(`${name}: the policies read back into the requirements, and their regexes are anchored and linear`, () => {
    const app = example(name);
    const policies = exported(app);
    const ingress = cnpAllowances(policies).filter((a) => a.direction === 'ingress');
    const expected = app.requirements.flatMap((r) => {
      const methods = r.http?.methods.length ? r.http.methods.map((m) => `^${m}$`) : [null];
      const paths = r.http?.paths.length ? r.http.paths.map((p) => (pathPatternRegex(p) as { regex: string }).regex) : [null];
      return methods.flatMap((m) => paths.map((p) => [r.from, r.to, portOf(app, r), m, p].join(' ')));
    });
    assert.deepEqual(ingress.map((a) => [a.client, a.server, a.port, a.method, a.path].join(' ')).sort(), [...new Set(expected)].sort());
    const egress = cnpAllowances(policies).filter((a) => a.direction === 'egress' && !a.server.startsWith('{'));
    const internal = app.requirements.filter((r) => r.from !== EXTERNAL).map((r) => [r.from, r.to, portOf(app, r)].join(' '));
    assert.deepEqual(egress.map((a) => [a.client, a.server, a.port].join(' ')).sort(), [...new Set(internal)].sort());

    const regexes = ingress.flatMap((a) => [a.method, a.path]).filter((x): x is string => x !== null);
    assert.ok(name !== 'dvd-rental' || regexes.length >= 10);
    for (const source of regexes) {
      const c = compileRegex(source);
      assert.ok(c.ok, source);
      assert.deepEqual(regexShapeProblems(c.regex.node), [], source);
      // A backtracking engine on input built to make it retry stays fast.
      const js = new RegExp(source);
      for (const evil of [`/${'a/'.repeat(30_000)}..`, `/users/${'.'.repeat(50_000)}x/`, `/${'%'.repeat(50_000)}`]) {
        const t0 = process.hrtime.bigint();
        js.test(evil);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        assert.ok(ms < 500, `${source} took ${ms} ms`);
      }
    }
  });
}

test('path regexes allow nothing the monitors’ patterns refuse, and every canonical path they allow', () => {
  const patterns = [
    ...new Set([
      ...EXAMPLES.flatMap((n) => example(n).requirements.flatMap((r) => r.http?.paths ?? [])),
      '/a/*/b',
      '/a/**',
      '/**',
      '/*',
      '/a/*/**',
      '/',
      '/v1.0/x',
    ]),
  ].filter((p) => p !== '*');
  const segments = ['a', 'b', 'x', 'users', 'bill', '.', '..', '.h', '...', '%2e', '%2E%2e', '', 'a.b', 'v1.0', '42'];
  const rng = seededRng(7);
  const pick = <T>(xs: T[]) => xs[Math.floor(rng() * xs.length)];
  let allowed = 0;
  let refused = 0;
  for (const pattern of patterns) {
    const r = pathPatternRegex(pattern);
    assert.ok(r.ok && r.regex);
    const compiled = compileRegex(r.regex);
    assert.ok(compiled.ok);
    const js = new RegExp(r.regex);
    // Paths shaped like the pattern, with segments swapped at random, and free-form ones.
    const shaped = Array.from({ length: 400 }, () =>
      pattern
        .split('/')
        .map((s, i) =>
          i === 0
            ? ''
            : s.includes('*') || rng() < 0.3
              ? Array.from({ length: s === '**' ? Math.floor(rng() * 3) : 1 }, () => pick(segments)).join('/')
              : s,
        )
        .join('/'),
    );
    const free = Array.from({ length: 200 }, () => `/${Array.from({ length: Math.floor(rng() * 4) }, () => pick(segments)).join('/')}`);
    for (const base of [...shaped, ...free]) {
      const path = rng() < 0.2 ? `${base}?x=${pick(segments)}` : base;
      const ours = compiled.regex.test(path);
      assert.equal(js.test(path), ours, `JavaScript and flowtap read ${r.regex} alike on ${path}`);
      const monitor = pathMatches(pattern, requestPath(path));
      if (ours) assert.ok(monitor, `${pattern}: CNP allows ${path}, the monitor refuses it`);
      // Where nothing is encoded and no segment is empty the two must agree exactly.
      const canonical = !requestPath(path).includes('%') && !requestPath(path).slice(1).split('/').slice(0, -1).includes('');
      if (monitor && canonical) assert.ok(ours, `${pattern}: the monitor allows ${path}, the CNP refuses it`);
      if (ours) allowed++;
      else refused++;
    }
  }
  assert.ok(allowed > 500 && refused > 500, `${allowed} allowed, ${refused} refused`);
});

test('the examples’ tenants are isolated from each other by AdminNetworkPolicies', () => {
  const apps = EXAMPLES.map(example);
  const r = tenantIsolationPolicies(apps);
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.map((p) => [
      p.metadata.name,
      p.spec.subject.namespaces.matchLabels,
      p.spec.ingress.map((i) => i.action),
      p.spec.egress.map((e) => e.action),
    ]),
    [
      ['flowtap-tenant-acme', { 'flowtap.io/tenant': 'acme' }, ['Deny', 'Pass'], ['Deny', 'Pass']],
      ['flowtap-tenant-demo', { 'flowtap.io/tenant': 'demo' }, ['Deny', 'Pass'], ['Deny', 'Pass']],
    ],
  );
  assert.deepEqual(r.value[1].spec.ingress[0].from[0].namespaces.matchExpressions?.[1], {
    key: 'flowtap.io/tenant',
    operator: 'NotIn',
    values: ['demo'],
  });
  // The NetworkPolicy export labels its namespace with the tenant, so the ANP selects it.
  const app = apps[0];
  const np = renderK8sNetworkPolicies(inferFirewall(app), app, { withWorkloads: true });
  assert.ok(np.ok);
  const ns = parseAllDocuments(np.value)
    .map((d) => d.toJS())
    .find((d) => d.kind === 'Namespace');
  assert.equal(ns.metadata.labels['flowtap.io/tenant'], 'acme');
});

test('the command line prints both formats', async () => {
  let out = '';
  const io = { out: (s: string) => (out += `${s}\n`), err: (s: string) => (out += s) };
  assert.equal(await main(['firewall', 'examples/dvd-rental/app.yaml', '--format', 'cilium'], io), 0);
  const read = parseCiliumPolicies(out, 'stdout');
  assert.ok(read.ok);
  assert.equal(read.value.length, 8);
  assert.equal(cnpAllows(read.value, { from: 'dvd-return', to: 'dvd-update', port: 8080, method: 'POST', path: '/returns' }), true);
  out = '';
  assert.equal(await main(['firewall', 'examples/web-sql/app.yaml', '--format', 'anp'], io), 0);
  assert.deepEqual(
    parseAllDocuments(out).map((d) => d.toJS().kind),
    ['Namespace', 'AdminNetworkPolicy'],
  );
});
