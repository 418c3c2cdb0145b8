/**
 * The local cloud's reactions for real, on a copy of web-sql under its own name: a restriction
 * holds one source outside the application back from a public service while another source
 * goes on, and lifting it lets it in again (through the `flowtap` command line); a quarantine of
 * one instance leaves every other rule counting on; a firewall rule deleted by hand in the node
 * namespace is reported by `reconcile`, put back, and in force afterwards. Needs root.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareDeployment } from '../src/controller/index.js';
import type { RuleCounter } from '../src/dataplane/index.js';
import {
  downCloud,
  externalNs,
  instanceNs,
  localCloud,
  nodeNs,
  type LifecycleEvent,
  type Orchestrator,
  type Prepare,
} from '../src/orchestrator/index.js';
import { needsRoot } from '../src/system/testing.js';
import { flowtap, inNs, ROOT, run, stateDir } from './testing.js';

const skip = needsRoot();
const APP = 'web-sql-react';
const EXT = externalNs(APP);
const NODE = nodeNs(APP, 'node1');
/** The external namespace's own address, and a second source beside it on the same link. */
const EXTERNAL = '10.250.0.254';
const OTHER = '10.250.0.253';

/** The controller's rendering of a spec, as the command line does it (no monitor processes: no policy needs one). */
const prepare: Prepare = (spec, addressing) => {
  const dep = prepareDeployment(
    spec.descriptor,
    { policies: spec.policies, mode: spec.mode, strategy: spec.strategy, downMonitors: spec.downMonitors },
    addressing,
  );
  return { app: dep.app, addressing: dep.addressing, desired: dep.desired };
};

const env = { root: ROOT, stateDir, readyTimeout: 60, monitorSettleMs: 0 };

/** A TCP handshake from `source` in the external namespace. */
async function connects(source: string, ip: string, port: number): Promise<boolean> {
  return (await inNs(EXT, 'nc', ['-z', '-w', '1', '-s', source, ip, String(port)])).code === 0;
}

function countersOf(r: Awaited<ReturnType<Orchestrator['counters']>>): RuleCounter[] {
  assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => e.message).join('\n'));
  return r.value;
}

describe('local cloud: reactions (restrict, quarantine counters, reconcile)', { skip }, () => {
  let cloud: Orchestrator;
  let web = '';
  let sql = '';

  before(async () => {
    await downCloud(APP, { stateDir });
    // web-sql under a name of its own, so this test never meets another test's deployment.
    const dir = mkdtempSync(join(tmpdir(), 'flowtap-react-'));
    const descriptor = join(dir, 'app.yaml');
    writeFileSync(descriptor, readFileSync(join(ROOT, 'examples/web-sql/app.yaml'), 'utf8').replace(/^app: web-sql$/m, `app: ${APP}`));
    const t0 = Date.now();
    cloud = await localCloud(env).up({ descriptor, policies: [], mode: 'enforce', strategy: 'per-node', downMonitors: [] }, prepare);
    console.log(`up took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    web = cloud.context().addressing.instances['web-0'].ip;
    sql = cloud.context().addressing.instances['sql-0'].ip;
    const added = await run('ip', ['-n', EXT, 'addr', 'add', `${OTHER}/24`, 'dev', 'eth0']);
    assert.equal(added.code, 0, added.stderr);
  });

  after(async () => {
    await downCloud(APP, { stateDir });
  });

  /** The deployment as another process sees it after the command line changed it. */
  async function reattach(): Promise<void> {
    cloud = await localCloud(env).attach(APP, prepare);
  }

  test('a restricted source cannot reach the public service, the other source still can; lifted, it can again', async () => {
    assert.equal(await connects(OTHER, web, 80), true, 'both sources reach the web server at first');
    assert.equal(await connects(EXTERNAL, web, 80), true);
    let r = await flowtap('restrict', APP, '--source', OTHER, '--port', '80', '--id', 'block-other', '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).restriction, { id: 'block-other', source: OTHER, port: 80 });
    assert.equal(await connects(OTHER, web, 80), false, 'the restricted source is dropped');
    assert.equal(await connects(EXTERNAL, web, 80), true, 'the other source is not');
    const web_ = await inNs(EXT, 'curl', ['-sS', '-m', '5', '--interface', EXTERNAL, `http://${web}/`]);
    assert.equal(web_.code, 0, web_.stderr);
    // Bad input changes nothing and says what is wrong.
    const bad = await flowtap('restrict', APP, '--source', '10.250.0.0/33', '--id', 'x', '--json');
    assert.equal(bad.code, 2);
    assert.equal(JSON.parse(bad.stdout).errors[0].code, 'E_RESTRICTION');
    r = await flowtap('unrestrict', APP, 'block-other');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /unrestricted: block-other: 10\.250\.0\.253 to tcp\/80 dropped/);
    assert.equal(await connects(OTHER, web, 80), true, 'lifted: the source reaches the web server again');
    await reattach();
    assert.deepEqual(cloud.context().restrictions, []);
  });

  test('a quarantine of one instance leaves every other rule counting on', async () => {
    // Traffic through the rules: visitors to the web server, which reads its database.
    for (let i = 0; i < 5; i++) assert.equal((await inNs(EXT, 'curl', ['-sS', '-m', '5', `http://${web}/`])).code, 0);
    const about = (c: RuleCounter) => /sql/.test(`${c.chain} ${c.comment}`);
    const before = countersOf(await cloud.counters('node1'));
    await cloud.isolate('sql-0');
    const after_ = countersOf(await cloud.counters('node1'));
    const now = new Map(after_.map((c) => [`${c.table} ${c.chain} ${c.comment}`, c]));
    let counted = 0;
    for (const b of before.filter((c) => !about(c))) {
      const a = now.get(`${b.table} ${b.chain} ${b.comment}`);
      assert.ok(a, `${b.chain} "${b.comment}" is gone after the quarantine of sql-0`);
      assert.ok(a.packets >= b.packets, `${b.chain} "${b.comment}" counted ${b.packets} packets before, ${a.packets} after`);
      if (b.packets > 0) counted++;
    }
    assert.ok(counted >= 2, `only ${counted} rules not about sql-0 had counted anything: the comparison proves little`);
    assert.equal(await connects(EXTERNAL, web, 80), true, 'the web server is still public');
    assert.equal((await inNs(instanceNs(APP, 'web-0'), 'nc', ['-z', '-w', '1', sql, '3306'])).code, 1, 'sql-0 is cut off');
    await cloud.release('sql-0');
  });

  test('a rule deleted by hand is reported by reconcile, put back, and in force afterwards', async () => {
    const seen: LifecycleEvent[] = [];
    const off = cloud.onEvent((e) => seen.push(e));
    const clean = await cloud.reconcile();
    assert.deepEqual(
      clean.map((d) => [d.node, d.inForce]),
      [['node1', true]],
    );
    // The rule that lets visitors in: without it the public service is unreachable.
    const counters = countersOf(await cloud.counters('node1'));
    const allow = counters.find((c) => /external -> web/.test(c.comment));
    assert.ok(allow?.handle, JSON.stringify(counters.map((c) => `${c.chain} ${c.comment}`)));
    const del = await run('ip', [
      'netns',
      'exec',
      NODE,
      'nft',
      'delete',
      'rule',
      allow.family,
      allow.table,
      allow.chain,
      'handle',
      String(allow.handle),
    ]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(await connects(EXTERNAL, web, 80), false, 'the hand edit took the rule out');

    const found = await cloud.reconcile();
    assert.deepEqual(found, [
      { node: 'node1', inForce: false, missing: [{ table: allow.table, chain: allow.chain, comment: allow.comment }], extra: [] },
    ]);
    assert.deepEqual(
      seen.map((e) => [e.type, e.node, e.detail]),
      [['drift', 'node1', `missing: ${allow.table} ${allow.chain}: ${allow.comment}; extra: none`]],
    );
    assert.equal(await connects(EXTERNAL, web, 80), true, 'the rule is back in force');
    const again = await cloud.reconcile();
    assert.deepEqual(again, [{ node: 'node1', inForce: true, missing: [], extra: [] }]);
    assert.equal(seen.length, 1, 'nothing more to repair');
    // The record another process starts from is the repaired configuration: its reconcile agrees.
    off();
    await reattach();
    const fresh = await cloud.reconcile();
    assert.ok(
      fresh.every((d) => d.inForce),
      JSON.stringify(fresh),
    );
  });
});
