/**
 * The tenant isolation export, read back by flowtap's own AdminNetworkPolicy analysis: two
 * example applications of two tenants, each with its exported NetworkPolicies, and two teams'
 * NetworkPolicies that let every namespace in (web-sql) and out (dvd-rental). Without the AdminNetworkPolicies the other tenant
 * gets through that hole; with them it does not (an ANP Deny comes before NetworkPolicies), and
 * every connection inside a tenant is what it was (Pass leaves it to the NetworkPolicies).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { main } from '../src/cli/index.js';
import { captureIo } from '../src/cli/testing.js';
import { renderK8sNetworkPolicies, tenantIsolationPolicies } from '../src/dataplane/index.js';
import { inferFirewall } from '../src/firewall/index.js';
import { type App, loadApp } from '../src/model/index.js';

function example(name: string): App {
  const loaded = loadApp(`examples/${name}/app.yaml`);
  assert.ok(loaded.ok);
  return loaded.value;
}

/** NetworkPolicies a team might write: every pod of its namespace open to (or out to) every namespace. */
const OPEN = (namespace: string, direction: 'Ingress' | 'Egress') =>
  stringify({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `open-${direction.toLowerCase()}`, namespace },
    spec: {
      podSelector: {},
      policyTypes: [direction],
      ...(direction === 'Ingress'
        ? { ingress: [{ from: [{ namespaceSelector: {} }] }] }
        : { egress: [{ to: [{ namespaceSelector: {} }] }] }),
    },
  });

async function connlist(dir: string): Promise<string[]> {
  const io = captureIo();
  const code = await main(['connlist', dir], io);
  assert.equal(code, 0, io.err_.join('\n'));
  return io.out_
    .join('\n')
    .split('\n')
    .filter((l) => l.includes(' => '));
}

const nsOf = (endpoint: string) => endpoint.split('/')[0];

test('tenant isolation read back: the other tenant is denied through an open NetworkPolicy, each tenant keeps its own connections', async () => {
  const apps = [example('dvd-rental'), example('web-sql')];
  const dir = mkdtempSync(join(tmpdir(), 'ft-anp-'));
  try {
    for (const app of apps) {
      const np = renderK8sNetworkPolicies(inferFirewall(app), app, { withWorkloads: true });
      assert.ok(np.ok);
      writeFileSync(join(dir, `${app.name}.yaml`), np.value);
    }
    writeFileSync(join(dir, 'open.yaml'), `${OPEN('web-sql', 'Ingress')}---\n${OPEN('dvd-rental', 'Egress')}`);
    const without = await connlist(dir);
    const cross = (lines: string[]) =>
      lines.filter((l) => {
        const [src, rest] = l.split(' => ');
        const dst = rest.split(' : ')[0];
        return src.includes('/') && dst.includes('/') && nsOf(src) !== nsOf(dst);
      });
    assert.ok(cross(without).length > 0, 'without the ANPs, dvd-rental reaches web-sql through the open policy');
    assert.ok(cross(without).every((l) => l.startsWith('dvd-rental/') && l.includes('=> web-sql/')));

    const anp = tenantIsolationPolicies(apps);
    assert.ok(anp.ok);
    writeFileSync(join(dir, 'tenants.yaml'), anp.value.map((p) => stringify(p)).join('---\n'));
    const withAnp = await connlist(dir);
    assert.deepEqual(cross(withAnp), [], 'no connection between the tenants');
    const inside = (lines: string[]) => lines.filter((l) => !cross([l]).length);
    assert.deepEqual(inside(withAnp), inside(without), 'inside each tenant, the NetworkPolicies decide as before');
    assert.ok(inside(withAnp).some((l) => l.startsWith('dvd-rental/')) && inside(withAnp).some((l) => l.startsWith('web-sql/')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
