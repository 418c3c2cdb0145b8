/** The Kubernetes NetworkPolicy export, read back by the importer, allows exactly what is required. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderK8sNetworkPolicies } from '../src/dataplane/index.js';
import { computeReachability, inferFirewall, netpolsToRuleset, requiredConnections, diffConnections } from '../src/firewall/index.js';
import { loadApp, parseK8sManifests } from '../src/model/index.js';

for (const example of ['dvd-rental', 'web-sql']) {
  test(`${example}: exported NetworkPolicies give the required connectivity`, () => {
    const loaded = loadApp(`examples/${example}/app.yaml`);
    assert.ok(loaded.ok);
    const app = loaded.value;
    const yaml = renderK8sNetworkPolicies(inferFirewall(app), app, { withWorkloads: true });
    assert.ok(yaml.ok);
    const imp = parseK8sManifests([{ file: `${example}.yaml`, text: yaml.value }]);
    assert.ok(imp.ok, JSON.stringify(!imp.ok && imp.errors));
    const conns = computeReachability(netpolsToRuleset(imp.value), imp.value.app, imp.value.addressing);
    // Imported workloads are named namespace/name; map them back to the descriptor's services.
    const back = (x: string) => (x === 'external' ? x : x.slice(x.indexOf('/') + 1).replace(/-\d+$/, ''));
    const named = conns.map((c) => ({ ...c, src: back(c.src), dst: back(c.dst) }));
    const { missing, extra } = diffConnections(requiredConnections(app), named, (x) => x);
    assert.deepEqual(missing, []);
    assert.deepEqual(extra, []);
  });
}
