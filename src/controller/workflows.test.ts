/**
 * The controller's configuration workflows without root: a FakeOrchestrator that hands every
 * node to the push it is given, and stand-in agents on the bus that answer each push as the
 * real agent does (a 'config' record with the version, outcome, report and handles).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBroker, type Broker } from '../broker/index.js';
import { modelFacts } from '../model/index.js';
import { repoFile } from '../orchestrator/testing.js';
import { SecurityController } from './controller.js';
import { loadReactionProgram } from './reaction/index.js';
import { FakeOrchestrator } from './testing.js';

const DVD = repoFile('examples/dvd-rental/app.yaml');
const RULES = repoFile('examples/dvd-rental/reactions.dl');

/** Agents that answer every configuration push of the app; `refuse` names a node whose agent fails it. */
async function agents(b: Broker, refuse?: string): Promise<{ version: number; since: boolean }[]> {
  const seen: { version: number; since: boolean }[] = [];
  await b.bus.subscribe('flowtap.acme.dvd-rental.config.*', async (m) => {
    const push = m.data as { version: number; since?: unknown };
    const node = m.subject.split('.').pop()!;
    seen.push({ version: push.version, since: push.since !== undefined });
    const ok = node !== refuse;
    await b.store.append([
      {
        ts: Date.now(),
        kind: 'config',
        tenant: 'acme',
        app: 'dvd-rental',
        node,
        data: {
          what: 'config',
          kind: 'dataplane',
          version: push.version,
          outcome: ok ? 'applied' : 'failed',
          ...(ok
            ? { report: { kind: 'incremental', rulesAdded: 1, rulesRemoved: 0 }, applied: { handles: {}, stamp: 's1' } }
            : { errors: ['nft: syntax error'] }),
        },
      },
    ]);
  });
  return seen;
}

async function controller(o: FakeOrchestrator, b: Broker): Promise<SecurityController> {
  const p = loadReactionProgram(readFileSync(RULES, 'utf8'), RULES, modelFacts(o.app));
  assert.ok(p.ok);
  const c = new SecurityController({
    orchestrator: o,
    broker: b,
    program: p.value,
    workDir: mkdtempSync(join(tmpdir(), 'flowtap-wf-')),
    log: () => {},
    workflows: true,
  });
  await c.start();
  return c;
}

async function broker(): Promise<Broker> {
  const opened = await openBroker({ store: 'sqlite::memory:', bus: 'memory' });
  assert.ok(opened.ok);
  return opened.value;
}

const steps = async (b: Broker) =>
  (await b.store.query({ kinds: ['config'] }))
    .filter((r) => r.data.workflow)
    .map((r) => `${r.data.kind} ${r.data.step}${r.node ? ` ${r.node}` : ''}`);

test('deployed: a new deployment is rendered, every node configured through its agent, then verified by the probe; once', async () => {
  const o = new FakeOrchestrator(DVD);
  const b = await broker();
  const pushes = await agents(b);
  const c = await controller(o, b);
  const out = await c.configured;
  assert.ok(out);
  assert.equal(out.ok, true);
  assert.deepEqual(
    out.pushed.map((p) => [p.node, p.outcome]),
    [
      ['node1', 'applied'],
      ['node2', 'applied'],
    ],
  );
  assert.deepEqual(
    pushes.map((p) => p.version),
    [1, 2],
  );
  assert.ok(out.verified.pairs > 0 && out.verified.open > 0);
  assert.deepEqual([out.verified.missing, out.verified.extra], [[], []]);
  await c.settled();
  assert.deepEqual(await steps(b), ['deployed rendered', 'deployed pushed node1', 'deployed pushed node2', 'deployed verified']);
  const rendered = (await b.store.query({ kinds: ['config'], text: '"step":"rendered"' }))[0];
  assert.ok((rendered.data.rules as number) > 0 && (rendered.data.contracts as number) >= 0);
  // The probe ran inside the controller's own probe window: the calls show the order.
  assert.deepEqual(
    o.calls.filter((x) => /^(deliver|push|probe)/.test(x)),
    ['deliver', 'push node1 v1', 'push node2 v2', 'probe'],
  );
  await c.stop();
  // A restart of the controller for the same deployment does not configure it again.
  const again = await controller(o, b);
  assert.equal(await again.configured, null);
  await again.stop();
  await b.close();
});

test('changed: a reconfigure request goes through the agents and is verified; a probe that finds a hole fails verification', async () => {
  const o = new FakeOrchestrator(DVD);
  const b = await broker();
  await agents(b);
  const c = await controller(o, b);
  await c.configured;
  // The next probe finds shipping reaching the database: the verification names it.
  const probes = await o.probe();
  o.probes = probes.map((p) => (p.from === 'shipping-0' && p.toService === 'db' ? { ...p, open: true } : p));
  await c.admin({ request: 'rq1', op: 'reconfigure', change: { mode: 'enforce', downMonitors: [] }, by: 'test' });
  await c.settled();
  const verified = (await b.store.query({ kinds: ['config'], text: 'rq1' })).filter((r) => r.data.step === 'verified');
  assert.equal(verified.length, 1);
  assert.equal(verified[0].data.ok, false);
  assert.deepEqual(verified[0].data.extra, ['shipping-0 -> db-0:5432']);
  assert.equal(verified[0].data.by, 'test');
  assert.ok(o.calls.some((x) => x.startsWith('reconfigure {"mode":"enforce"')));
  await c.stop();
  await b.close();
});

test('changed: an agent that refuses its configuration fails the workflow, on record with its error', async () => {
  const o = new FakeOrchestrator(DVD);
  const b = await broker();
  await agents(b, 'node2');
  const c = await controller(o, b);
  assert.equal(await c.configured, null, 'the deployed workflow fails too, and says so in the log');
  await assert.rejects(
    c.admin({ request: 'rq2', op: 'reconfigure', change: { strategy: 'per-node' } }),
    /did not apply configuration version/,
  );
  await c.settled();
  const failed = (await b.store.query({ kinds: ['config'], text: 'rq2' })).filter((r) => r.data.step === 'failed');
  assert.equal(failed.length, 1);
  assert.match(String(failed[0].data.error), /agent on node2 did not apply configuration version \d+: nft: syntax error/);
  await c.stop();
  await b.close();
});
