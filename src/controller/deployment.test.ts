import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderNodeConfig } from '../dataplane/index.js';
import { repoFile } from '../orchestrator/testing.js';
import { prepareDeployment } from './deployment.js';

const P = (f: string) => repoFile(`examples/dvd-rental/policies/${f}`);

test('a sampled monitor gets 1 in N flows of its copies (whole conversations); other monitors and redirects are untouched', () => {
  const opts = { policies: [P('public-http.dl'), P('database.dl'), P('honeypot.dl')], mode: 'enforce' as const };
  const plain = prepareDeployment(repoFile('examples/dvd-rental/app.yaml'), opts);
  const dep = prepareDeployment(repoFile('examples/dvd-rental/app.yaml'), {
    ...opts,
    sampledMonitors: { 'mon-http': 4, 'mon-honeypot': 8 },
  });
  assert.equal(dep.contracts.length, plain.contracts.length);
  for (const c of dep.contracts) {
    if (c.dst === 'mon-http') assert.deepEqual(c.options.sample, { every: 4, unit: 'flow' });
    else assert.equal(c.options.sample, undefined, `${c.id} -> ${c.dst} (${c.action}) is not sampled`);
  }
  assert.ok(
    dep.contracts.some((c) => c.dst === 'mon-honeypot' && c.action === 'redirect'),
    'the redirect is there, whole',
  );
  const ctx = { addressing: dep.addressing, status: Object.fromEntries(dep.app.instances.map((i) => [i.name, 'running' as const])) };
  const config = renderNodeConfig(dep.desired('node1', ctx));
  assert.ok(config.ok);
  const text = JSON.stringify(config.value);
  assert.match(text, /symhash mod 4 == 0/);
  assert.doesNotMatch(JSON.stringify(renderNodeConfig(plain.desired('node1', ctx))), /symhash/);
});
